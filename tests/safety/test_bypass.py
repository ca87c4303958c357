"""Every shape that hides a command inside another is caught: a deny rule still denies it and an allow rule for
the harmless part does not let it through. Destructive commands ask in every mode and are denied in plan mode."""

import pytest

from luban.agent import loop
from luban.config import Settings
from luban.models.scripted import assistant, script
from luban.safety.policy import Rules, Ruling, decide
from luban.tools import default_tools
from luban.types import ApprovalNeeded, Decision, Message, Notice, ToolCall, ToolFinished, ToolResult
from luban.ui.headless import drive
from luban.workspace import Workspace

DENY_CURL = Rules.parse({"deny": ["bash(curl:*)"]})
ALLOW_LS = Rules.parse({"allow": ["bash(ls:*)"]})
SHAPES = [
    "ls && curl x", "ls; curl x", "ls || curl x", "ls | curl x", "echo $(curl x)", "echo `curl x`",
    "ls > $(curl x)", "cat <(curl x)", 'bash -c "curl x"', "sh -c 'ls; curl x'", "echo x | xargs curl",
    "find . -exec curl {} \\;", "env X=1 curl x", "timeout 5 curl x", "/usr/bin/curl x", '"curl" x', "\\curl x",
    "true && " * 60 + "curl x", 'eval "curl x"', "$CMD x",
    "ls & curl x", "(ls; curl x)", "{ ls; curl x; }", "ls $(echo $(curl x))", "sudo -u me nohup curl x",
    "ls <<< $(curl x)", "f() { curl x; }; f", "if ls; then curl x; fi", "for f in a; do curl $f; done",
    "ls > >(curl x)", "xargs -I{} curl {} < list", "command curl x", "exec curl x", "c'u'rl x", "PATH=. ls",
    "echo 'curl x' | sh", "ls\ncurl x", "cu\\\nrl x", "ls \\\\\ncurl x",
]
UNJUDGEABLE = {'eval "curl x"', "$CMD x", "PATH=. ls", "echo 'curl x' | sh"}
DENIED_BY_TEXT = {'eval "curl x"', "echo 'curl x' | sh"}  # unreadable, but the denied program is named


def bash(command):
    return ToolCall("c1", "bash", {"command": command})


@pytest.mark.parametrize("mode", ["ask", "auto-edit", "full-auto"])
@pytest.mark.parametrize("command", SHAPES)
def test_a_deny_rule_catches_every_shape(command, mode):
    verdict = decide(bash(command), "exec", mode, DENY_CURL).verdict
    expected = "ask" if command in UNJUDGEABLE - DENIED_BY_TEXT else "deny"
    assert verdict == expected


@pytest.mark.parametrize("command", SHAPES)
def test_an_allow_rule_for_ls_lets_none_of_them_through(command):
    assert decide(bash(command), "exec", "ask", ALLOW_LS).verdict == "ask"


def test_the_reason_names_the_hidden_command():
    assert decide(bash("ls && echo $(curl x)"), "exec", "ask", ALLOW_LS) == Ruling(
        "ask", "bash: `echo $(curl x)` is not covered by an allow rule in ask mode.")
    assert decide(bash("true && " * 60 + "curl x"), "exec", "full-auto", DENY_CURL) == Ruling(
        "deny", "bash: `curl x` is denied by the rule `bash(curl:*)`.")


RISKY = {
    "rm -rf ~": "a recursive delete outside the workspace or of all of it",
    "rm -r $HOME/x": "a recursive delete outside the workspace or of all of it",
    'rm -fr "$HOME"': "a recursive delete outside the workspace or of all of it",
    "rm -R /": "a recursive delete outside the workspace or of all of it",
    "rm --recursive ../other": "a recursive delete outside the workspace or of all of it",
    "rm -rf *": "a recursive delete outside the workspace or of all of it",
    "rm -rf -- ./*": "a recursive delete outside the workspace or of all of it",
    "rm -rf /etc/x": "a recursive delete outside the workspace or of all of it",
    "cd / && rm -rf usr": "a recursive delete outside the workspace or of all of it",
    "sudo rm -rf /": "a recursive delete outside the workspace or of all of it",
    "find / -name x -delete": "it deletes files outside the workspace or all of them",
    "find -delete": "it deletes files outside the workspace or all of them",
    "git reset --hard": "it discards uncommitted work",
    "git reset --hard HEAD~3": "it discards uncommitted work",
    "git -C sub reset --hard": "it discards uncommitted work",
    "git clean -fdx": "it deletes untracked files",
    "git clean --force": "it deletes untracked files",
    "git push --force": "it can overwrite the remote's history",
    "git push -f origin main": "it can overwrite the remote's history",
    "git push --force-with-lease": "it can overwrite the remote's history",
    "git push origin +main": "it can overwrite the remote's history",
    "git checkout -- .": "it discards uncommitted changes",
    "git restore .": "it discards uncommitted changes",
    "git branch -D topic": "it deletes a branch that may not be merged",
    "mkfs.ext4 /dev/sda1": "it formats a file system",
    "dd if=/dev/zero of=/dev/sda": "it writes a device or file directly",
}


SHOWN = {'rm -fr "$HOME"': "rm -fr $HOME", "sudo rm -rf /": "rm -rf /", "cd / && rm -rf usr": "rm -rf usr"}


@pytest.mark.parametrize("command, what", RISKY.items())
def test_risky_commands_ask_even_in_full_auto_with_everything_allowed(command, what):
    ruling = decide(bash(command), "exec", "full-auto", Rules.parse({"allow": ["*"]}))
    assert ruling == Ruling("ask", f"bash: `{SHOWN.get(command, command)}` is risky ({what}), so it needs "
                                   "approval in every mode.", risky=True)


@pytest.mark.parametrize("command", RISKY)
def test_risky_commands_are_denied_in_plan_mode(command):
    assert decide(bash(command), "exec", "plan") == Ruling("deny", "bash runs commands, which plan mode does not "
                                                                   "allow.", risky=True)


@pytest.mark.parametrize("command", [
    "rm -rf build", "rm -r src/old dist/*", "rm x.txt", "git reset HEAD~1", "git reset --soft HEAD~1",
    "git clean -n", "git push origin main", "git checkout main", "git checkout -b topic", "git restore src/a.py",
    "git branch -d topic", "dd if=a.img", "find . -name '*.pyc' -delete", "rm -rf ./build",
])
def test_everyday_commands_are_not_risky(command):
    assert decide(bash(command), "exec", "full-auto") == Ruling(
        "allow", "bash runs commands, which full-auto mode allows without asking.")


# ---- through the loop: a denied call never runs ----


def run_loop(tmp_path, command, settings, answer=None):
    ws = Workspace.open(tmp_path, tmp_path / ".out")
    model = script(assistant(calls=[bash(command)]), assistant("done"))
    run = loop.run("do it", model=model, tools=default_tools(), ws=ws, settings=settings,
                   history=[Message("system", "s")])
    rendered = []
    if answer is None:
        drive(run, rendered.append)
    else:
        event = next(run)
        try:
            while True:
                rendered.append(event)
                event = run.send(answer if isinstance(event, ApprovalNeeded) else None)
        except StopIteration:
            pass
    return rendered, model


def test_a_denied_command_never_runs(tmp_path):
    settings = Settings(permission_mode="full-auto", permissions={"deny": ["bash(curl:*)"]})
    rendered, model = run_loop(tmp_path, "touch pwned && curl x", settings)
    assert not (tmp_path / "pwned").exists()
    assert model.requests[1].messages[-1] == Message(
        "tool", "Error: bash: `curl x` is denied by the rule `bash(curl:*)`.", tool_call_id="c1")
    assert not any(isinstance(e, ApprovalNeeded) for e in rendered)


def test_headless_denies_what_would_ask_and_it_never_runs(tmp_path):
    rendered, model = run_loop(tmp_path, "touch pwned", Settings(permission_mode="auto-edit"))
    assert not (tmp_path / "pwned").exists()
    reason = "bash: `touch pwned` is not covered by an allow rule in auto-edit mode."
    hint = ("Headless runs deny what would need approval; allow it with --permission-mode full-auto or with an allow "
            "rule in the permissions config")
    assert [e for e in rendered if isinstance(e, (ApprovalNeeded, Notice))] == [
        ApprovalNeeded(bash("touch pwned"), reason, looser_mode="full-auto", rule_would=True),
        Notice(f"Denied: {reason} {hint}, such as \"bash(touch pwned)\".")]
    assert model.requests[1].messages[-1] == Message(
        "tool", f"Error: The user declined this bash call. {hint}.", tool_call_id="c1")


def test_a_risky_command_is_marked_for_a_snapshot_and_runs_only_when_approved(tmp_path):
    (tmp_path / "keep").mkdir()
    rendered, _ = run_loop(tmp_path, "git clean -fdx", Settings(permission_mode="full-auto"),
                           answer=Decision(False, "no"))
    assert [e for e in rendered if isinstance(e, ApprovalNeeded)] == [ApprovalNeeded(
        bash("git clean -fdx"), "bash: `git clean -fdx` is risky (it deletes untracked files), so it needs approval "
                                "in every mode.", risky=True)]
    assert (tmp_path / "keep").is_dir()


def test_a_declined_call_is_not_asked_again_and_always_allow_is_remembered(tmp_path):
    ws = Workspace.open(tmp_path, tmp_path / ".out")
    calls = [bash("touch a"), bash("touch a"), bash("touch b"), bash("touch b")]
    model = script(*[assistant(calls=[ToolCall(f"c{i}", c.name, c.arguments)]) for i, c in enumerate(calls)],
                   assistant("done"))
    run = loop.run("do it", model=model, tools=default_tools(), ws=ws, settings=Settings(),
                   history=[Message("system", "s")])
    answers, asked, results = [Decision(False), Decision(True, always=True)], [], []
    event = next(run)
    try:
        while True:
            asked += [event.call.id] if isinstance(event, ApprovalNeeded) else []
            results += [event.result] if isinstance(event, ToolFinished) else []
            event = run.send(answers.pop(0) if isinstance(event, ApprovalNeeded) else None)
    except StopIteration:
        pass
    assert asked == ["c0", "c2"]
    assert results[:2] == [ToolResult("The user declined this bash call.", error=True), ToolResult(
        "The user already declined this bash call in this run, and a rejected call is not asked again; do "
        "something else.", error=True)]
    assert (not (tmp_path / "a").exists(), (tmp_path / "b").exists()) == (True, True)
    assert [r.error for r in results[2:]] == [False, False]
