import io
import itertools
import json
import os
from typing import get_args

from luban import __version__
from luban.agent import loop
from luban.config import Settings
from luban.models.scripted import assistant, script
from luban.tools import default_tools
from luban.types import (ApprovalNeeded, AssistantText, CallStats, Decision, Denial, Event, Message, ModelReplied,
                         Notice, Outcome, OutcomeStatus, ToolCall, ToolFinished, ToolResult, ToolStarted, TurnEnded,
                         Usage)
from luban.ui.cli import main
from luban.ui.headless import EXIT_CODES, FinalJson, PlainText, StreamJson, drive, progress_printer
from luban.workspace import Workspace
from tui_harness import ScriptedServer, call, text

READ = ToolCall("c1_0", "read_file", {"path": "calc.py", "limit": 5})
BASH = ToolCall("c2_0", "bash", {"command": "echo hi\n" + "a" * 70})
DONE = Outcome("done", "Fixed it.\n", steps=2, usage=Usage(200, 40, 150, 900.0, 4000.0, 2), wall_s=12.3456,
               model_s=9.87, calls=CallStats(valid=1, repaired=1))
EVENTS = [
    AssistantText("Let me look.", reasoning="think"),
    ToolStarted(READ),
    ToolFinished(READ, ToolResult("     1\tx = 1\n     2\ty = 2"), 0.01),
    ModelReplied(Usage(100, 20, 80, 50.0, 300.0, 1), 1.2345),
    Notice("Your edit repeated an earlier one."),
    ToolStarted(BASH),
    ToolFinished(BASH, ToolResult("boom\nexit code: 1", error=True), 0.2),
    AssistantText("Done — see calc.py."),
    TurnEnded(DONE),
]
RESULT_DONE = ('{"type": "result", "subtype": "success", "is_error": false, "status": "done", "result": "Fixed it.\\n", '
               '"duration_ms": 12346, "duration_api_ms": 9870, "num_turns": 2, "session_id": "s1", '
               '"usage": {"input_tokens": 200, "output_tokens": 40, "cache_read_input_tokens": 150, "cache_share": 0.75, "requests": 2}, '
               '"tool_calls": {"valid": 1, "repaired": 1, "rejected": 0}, "permission_denials": [], "total_cost_usd": 0.0}')


def feed(render, events=EVENTS):
    for event in events:
        render(event)


def counter(prefix: str = "u"):
    n = itertools.count(1)
    return lambda: f"{prefix}{next(n)}"


USAGE_0 = '"usage": {"input_tokens": 0, "output_tokens": 0, "cache_read_input_tokens": 0, "cache_creation_input_tokens": 0}'
USAGE_1 = ('"usage": {"input_tokens": 100, "output_tokens": 20, "cache_read_input_tokens": 80, '
           '"cache_creation_input_tokens": 0}')


def assistant_line(reply: int, content: str, usage: str, uuid: str) -> str:
    return ('{"type": "assistant", "message": {"id": "msg_s1_%d", "type": "message", "role": "assistant", "model": "qwen", '
            '"content": %s, "stop_reason": null, "stop_sequence": null, %s}, "parent_tool_use_id": null, '
            '"session_id": "s1", "uuid": "%s"}' % (reply, content, usage, uuid))


def test_stream_json_lines():
    out = io.StringIO()
    render = StreamJson(out, "s1", new_uuid=counter())
    render.init("/w", "qwen", ["read_file", "bash"], "ask")
    feed(render)
    assert out.getvalue().splitlines() == [
        '{"type": "system", "subtype": "init", "cwd": "/w", "model": "qwen", "tools": ["read_file", "bash"], '
        '"permissionMode": "ask", "claude_code_version": "2.0.0", "luban_version": "%s", "apiKeySource": "none", '
        '"mcp_servers": [], "slash_commands": [], "output_style": "default", "session_id": "s1", "uuid": "u1"}'
        % __version__,
        assistant_line(0, '[{"type": "thinking", "thinking": "think", "signature": ""}, '
                          '{"type": "text", "text": "Let me look."}]', USAGE_0, "u2"),
        assistant_line(0, '[{"type": "tool_use", "id": "c1_0", "name": "read_file", "input": {"path": "calc.py", '
                          '"limit": 5}}]', USAGE_0, "u3"),
        '{"type": "user", "message": {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "c1_0", '
        '"content": "     1\\tx = 1\\n     2\\ty = 2", "is_error": false}]}, "parent_tool_use_id": null, '
        '"session_id": "s1", "uuid": "u4"}',
        '{"type": "system", "subtype": "model_usage", "duration_ms": 1234, "usage": {"input_tokens": 100, '
        '"output_tokens": 20, "cache_read_input_tokens": 80, "cache_share": 0.8, "requests": 1}, "session_id": "s1", '
        '"uuid": "u5"}',
        '{"type": "system", "subtype": "notice", "text": "Your edit repeated an earlier one.", "session_id": "s1", '
        '"uuid": "u6"}',
        assistant_line(1, '[{"type": "tool_use", "id": "c2_0", "name": "bash", "input": {"command": "echo hi\\n'
                          + "a" * 70 + '"}}]', USAGE_1, "u7"),
        '{"type": "user", "message": {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "c2_0", '
        '"content": "boom\\nexit code: 1", "is_error": true}]}, "parent_tool_use_id": null, "session_id": "s1", '
        '"uuid": "u8"}',
        assistant_line(1, '[{"type": "text", "text": "Done — see calc.py."}]', USAGE_1, "u9"),
        RESULT_DONE[:-1] + ', "uuid": "u10"}',
    ]


def test_stream_json_result_for_a_run_that_hit_its_limit():
    out = io.StringIO()
    StreamJson(out, "s2", new_uuid=counter())(TurnEnded(Outcome("max_steps", "Stopped after 40 steps.", steps=40)))
    assert out.getvalue() == (
        '{"type": "result", "subtype": "error_max_turns", "is_error": true, "status": "max_steps", '
        '"result": "Stopped after 40 steps.", "duration_ms": 0, "duration_api_ms": 0, "num_turns": 40, '
        '"session_id": "s2", "usage": {"input_tokens": 0, "output_tokens": 0, "cache_read_input_tokens": 0, '
        '"cache_share": 0.0, "requests": 0}, "tool_calls": {"valid": 0, "repaired": 0, "rejected": 0}, '
        '"permission_denials": [], "total_cost_usd": 0.0, "uuid": "u1"}\n')


def test_final_json_writes_only_the_result():
    out = io.StringIO()
    feed(FinalJson(out, "s1"))
    assert out.getvalue() == RESULT_DONE + "\n"


def test_final_json_subtype_of_other_failures():
    out = io.StringIO()
    FinalJson(out, "s3")(TurnEnded(Outcome("stuck", "The model repeated itself.")))
    # Claude Code's name for every failure but the turn limit; `status` keeps Luban's own.
    assert out.getvalue().startswith('{"type": "result", "subtype": "error_during_execution", "is_error": true, '
                                     '"status": "stuck", ')


def test_plain_text_activity_on_stderr_answer_on_stdout():
    out, err = io.StringIO(), io.StringIO()
    feed(PlainText(out, err))
    assert out.getvalue() == "Fixed it.\n"
    assert err.getvalue().splitlines() == [
        "◆ Let me look.",
        "● read_file(path=calc.py, limit=5)",
        "  ⎿      1\tx = 1  (+1 lines)",
        "! Your edit repeated an earlier one.",
        "● bash(command=echo hi⏎" + "a" * 51 + "…)",  # cut to 60 characters
        "  ✗ boom  (+1 lines)",
        "◆ Done — see calc.py.",
        "── done: 2 steps, 12 s (model 10 s); prompt tokens 200 (75% from cache), completion tokens 40; "
        "tool calls 2 (1 repaired, 0 rejected)",
    ]


def test_plain_text_run_that_did_not_finish():
    out, err = io.StringIO(), io.StringIO()
    feed(PlainText(out, err), [ToolFinished(READ, ToolResult("")),
                               TurnEnded(Outcome("max_steps", "Stopped after 40 steps.", steps=40, wall_s=61.0))])
    assert out.getvalue() == ""
    assert err.getvalue() == ("  ⎿ \n"
                              "── max_steps: 40 steps, 61 s (model 0 s); prompt tokens 0 (n/a from cache), "
                              "completion tokens 0; tool calls 0 (0 repaired, 0 rejected)\n"
                              "Stopped after 40 steps.\n")


DENIED = Outcome("done", "I could not change anything.", steps=3, calls=CallStats(valid=2), denials=(
    Denial(ToolCall("c1", "bash", {"command": "touch x"}), "bash: `touch x` is not covered by an allow rule in ask mode."),
    Denial(ToolCall("c2", "write_file", {"path": "y.txt", "content": "y"}), "write_file on `y.txt` is denied by the "
                                                                            "rule `write_file`."),
))
DENIALS = ('"permission_denials": [{"tool_name": "bash", "tool_use_id": "c1", "tool_input": {"command": "touch x"}}, '
           '{"tool_name": "write_file", "tool_use_id": "c2", "tool_input": {"path": "y.txt", "content": "y"}}]')


def test_a_done_run_with_denials_is_still_success_and_lists_them_as_claude_code_does():
    json_out, stream_out = io.StringIO(), io.StringIO()
    FinalJson(json_out, "s4")(TurnEnded(DENIED))
    StreamJson(stream_out, "s4", new_uuid=counter())(TurnEnded(DENIED))
    assert json_out.getvalue() == (
        '{"type": "result", "subtype": "success", "is_error": false, "status": "done", '
        '"result": "I could not change anything.", "duration_ms": 0, "duration_api_ms": 0, "num_turns": 3, '
        '"session_id": "s4", "usage": {"input_tokens": 0, "output_tokens": 0, "cache_read_input_tokens": 0, '
        '"cache_share": 0.0, "requests": 0}, "tool_calls": {"valid": 2, "repaired": 0, "rejected": 0}, '
        f'{DENIALS}, "total_cost_usd": 0.0}}\n')
    # stream-json's result line is the same object, with its uuid
    assert stream_out.getvalue() == json_out.getvalue()[:-2] + ', "uuid": "u1"}\n'


def test_plain_text_says_each_denial_on_its_own_line():
    out, err = io.StringIO(), io.StringIO()
    PlainText(out, err)(TurnEnded(DENIED))
    assert out.getvalue() == "I could not change anything.\n"
    assert err.getvalue().splitlines() == [
        "── done: 3 steps, 0 s (model 0 s); prompt tokens 0 (n/a from cache), completion tokens 0; "
        "tool calls 2 (0 repaired, 0 rejected, 2 denied)",
        "denied bash(touch x): bash: `touch x` is not covered by an allow rule in ask mode.",
        "denied write_file(y.txt): write_file on `y.txt` is denied by the rule `write_file`.",
    ]


def test_drive_denies_what_would_ask_shows_the_denial_and_returns_the_outcome():
    asked = ApprovalNeeded(ToolCall("c3", "bash", {"command": "curl x"}), "bash: `curl x` is not covered.",
                           looser_mode="full-auto", rule_would=True)
    sent = []

    def run():
        sent.append((yield AssistantText("Running it.")))
        sent.append((yield asked))
        sent.append((yield TurnEnded(DONE)))
        return DONE

    rendered = []
    assert drive(run(), rendered.append) == DONE
    hint = ("Headless runs deny what would need approval; allow it with --permission-mode full-auto or with an allow "
            "rule in the permissions config")
    assert rendered == [AssistantText("Running it."), asked, Notice(
        f'Denied: bash: `curl x` is not covered. {hint}, such as "bash(curl x)".'), TurnEnded(DONE)]
    assert sent == [None, Decision(False, f"{hint}."), None]


def test_drive_leaves_out_an_example_rule_too_long_to_read():
    asked = ApprovalNeeded(BASH, "bash: it is not covered.", looser_mode="full-auto", rule_would=True)

    def run():
        yield asked
        return DONE

    rendered = []
    drive(run(), rendered.append)
    assert rendered[1] == Notice("Denied: bash: it is not covered. Headless runs deny what would need approval; "
                                 "allow it with --permission-mode full-auto or with an allow rule in the "
                                 "permissions config.")


def hints(tmp_path, mode: str, call: ToolCall, **permissions: list[str]) -> list[str]:
    """The denial notices of a headless run in `mode` whose model makes `call`, with real tools and rules."""
    ws = Workspace.open(tmp_path, tmp_path / ".out")
    model = script(assistant(calls=[call]), assistant("done"))
    notices: list[Event] = []
    drive(loop.run("do it", model=model, tools=default_tools(), ws=ws, history=[Message("system", "s")],
                   settings=Settings(permission_mode=mode, permissions=permissions)),
          lambda e: notices.append(e.text) if isinstance(e, Notice) and e.text.startswith("Denied") else None)
    return notices


WRITE = ToolCall("c1", "write_file", {"path": "a.txt", "content": "x"})
TOUCH = ToolCall("c1", "bash", {"command": "touch a.txt"})
SAYS = "Headless runs deny what would need approval"


def test_the_denial_hint_fits_the_mode_that_asked(tmp_path):
    assert hints(tmp_path, "ask", WRITE) == [
        "Denied: write_file on `a.txt` is not covered by an allow rule in ask mode. " + SAYS + "; allow it with "
        '--permission-mode auto-edit or with an allow rule in the permissions config, such as "write_file(a.txt)".']
    assert hints(tmp_path, "ask", TOUCH) == [
        "Denied: bash: `touch a.txt` is not covered by an allow rule in ask mode. " + SAYS + "; allow it with "
        '--permission-mode full-auto or with an allow rule in the permissions config, such as "bash(touch a.txt)".']
    assert hints(tmp_path, "auto-edit", TOUCH) == [
        "Denied: bash: `touch a.txt` is not covered by an allow rule in auto-edit mode. " + SAYS + "; allow it with "
        '--permission-mode full-auto or with an allow rule in the permissions config, such as "bash(touch a.txt)".']


def test_a_hint_names_only_what_would_help(tmp_path):
    outside = ToolCall("c1", "bash", {"command": "echo x > /tmp/out.txt"})
    assert hints(tmp_path, "auto-edit", outside, allow=["bash(echo:*)"]) == [
        "Denied: bash: `echo x` writes to `/tmp/out.txt` outside the workspace, which the rule "
        "`bash(echo:*)` does not cover. " + SAYS + "; allow it with --permission-mode full-auto."]
    assert hints(tmp_path, "ask", WRITE, ask=["write_file"]) == [
        "Denied: write_file on `a.txt` needs approval by the rule `write_file`. " + SAYS + ", and this call needs a "
        "person's approval in every mode."]
    risky = ToolCall("c1", "bash", {"command": "git clean -fdx"})
    assert hints(tmp_path, "full-auto", risky) == [
        "Denied: bash: `git clean -fdx` is risky (it deletes untracked files), so it needs approval in every mode. "
        + SAYS + ", and this call needs a person's approval in every mode."]


def test_a_headless_run_in_which_every_edit_and_command_was_denied_reports_each_of_them(tmp_path, monkeypatch,
                                                                                        capsys):
    for name in [n for n in os.environ if n.startswith("LUBAN_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("LUBAN_HOME", str(tmp_path / "home"))
    repo = tmp_path / "repo"
    repo.mkdir()
    denied = [{"tool_name": "bash", "tool_use_id": "call_bash", "tool_input": {"command": "touch by_bash"}},
              {"tool_name": "write_file", "tool_use_id": "call_write_file",
               "tool_input": {"path": "by_edit.txt", "content": "x\n"}}]
    results = []
    for output in ("json", "stream-json", "text"):
        server = ScriptedServer([call("bash", command="touch by_bash"),
                                 call("write_file", path="by_edit.txt", content="x\n"), text("Nothing was allowed.")])
        try:
            code = main(["-p", "tidy up", "--base-url", server.url, "--tool-protocol", "native", "--cwd", str(repo),
                         "--output-format", output])
        finally:
            server.close()
        results.append((code, capsys.readouterr()))
    for code, captured in results[:2]:
        result = json.loads(captured.out.splitlines()[-1])
        assert (code, result["subtype"], result["is_error"], result["permission_denials"]) == (
            0, "success", False, denied)
    code, captured = results[2]
    assert (code, [line for line in captured.err.splitlines() if line.startswith("denied ")]) == (0, [
        "denied bash(touch by_bash): bash: `touch by_bash` is not covered by an allow rule in ask mode.",
        "denied write_file(by_edit.txt): write_file on `by_edit.txt` is not covered by an allow rule in ask mode."])
    assert list(repo.iterdir()) == []
