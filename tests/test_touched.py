"""Tools declare what a call touches (Tool.touches): permission rules, guards, checkpoints and the context engine
ask the tool, so a tool Luban does not know by name (an MCP server's) is judged by what it declares."""

import subprocess
from dataclasses import dataclass
from typing import Any, Mapping

from luban.agent import loop
from luban.config import Settings
from luban.harness import Harness
from luban.models.scripted import assistant, script
from luban.session import Transcript, read_records
from luban.types import (ApprovalNeeded, Decision, Denial, Message, ToolCall, ToolFinished, ToolResult, ToolSpec,
                         Touched)
from luban.workspace import Workspace
from luban.workspace.checkpoints import Checkpoints, writing_turns

SYSTEM = Message("system", "s")


@dataclass(frozen=True)
class Shell:
    """Runs a command line, under an argument name and a tool name Luban has never seen."""

    spec: ToolSpec = ToolSpec("run_shell", "Run a command.", {"type": "object", "properties": {"cmd": {"type": "string"}}})
    effect: str = "exec"

    def touches(self, args: Mapping[str, Any]) -> Touched:
        return Touched(command=args.get("cmd"))

    def __call__(self, args: Mapping[str, Any], ws: Workspace) -> ToolResult:
        done = subprocess.run(["bash", "-c", args["cmd"]], cwd=ws.root, capture_output=True, text=True)
        return ToolResult(done.stdout, done.returncode != 0)


@dataclass(frozen=True)
class Copy:
    """Copies one file to another: both are paths it touches, neither argument is called `path`."""

    spec: ToolSpec = ToolSpec("copy", "Copy a file.", {"type": "object", "properties": {
        "source": {"type": "string"}, "target": {"type": "string"}}})
    effect: str = "write"

    def touches(self, args: Mapping[str, Any]) -> Touched:
        return Touched((args["source"], args["target"]))

    def __call__(self, args: Mapping[str, Any], ws: Workspace) -> ToolResult:
        (ws.root / args["target"]).write_bytes((ws.root / args["source"]).read_bytes())
        return ToolResult(f"copied {args['source']} to {args['target']}")


def run(tmp_path, *calls, settings, harness=Harness(), transcript=None, checkpoints=None):
    """Drive the loop over `calls`, approving whatever asks."""
    ws = Workspace.open(tmp_path / "ws", tmp_path / "out")
    model = script(*(assistant(calls=[c]) for c in calls), assistant("done"))
    gen = loop.run("go", model=model, tools=(Shell(), Copy()), ws=ws, settings=settings, history=[SYSTEM],
                   transcript=transcript, harness=harness, checkpoints=checkpoints)
    results, event = [], next(gen)
    try:
        while True:
            results += [event.result] if isinstance(event, ToolFinished) else []
            event = gen.send(Decision(True) if isinstance(event, ApprovalNeeded) else None)
    except StopIteration as stop:
        return stop.value, results


def workspace(tmp_path):
    (tmp_path / "ws" / "secrets").mkdir(parents=True)
    (tmp_path / "ws" / "a.txt").write_text("a\n")
    return tmp_path / "ws"


def test_a_command_any_tool_declares_is_judged_subcommand_by_subcommand(tmp_path):
    workspace(tmp_path)
    settings = Settings(permission_mode="full-auto", permissions={"deny": ["run_shell(curl:*)"]})
    hidden = ToolCall("c1", "run_shell", {"cmd": "ls && curl example.com"})
    outcome, results = run(tmp_path, hidden, ToolCall("c2", "run_shell", {"cmd": "echo ok"}), settings=settings)
    assert outcome.denials == (Denial(hidden, "run_shell: `curl example.com` is denied by the rule "
                                              "`run_shell(curl:*)`."),)
    assert results == [ToolResult("run_shell: `curl example.com` is denied by the rule `run_shell(curl:*)`.", True),
                       ToolResult("ok\n")]


def test_every_path_a_tool_declares_meets_the_rules_and_the_guards(tmp_path):
    root = workspace(tmp_path)
    settings = Settings(permission_mode="full-auto", permissions={"deny": ["copy(secrets/**)"]})
    into_secrets = ToolCall("c1", "copy", {"source": "a.txt", "target": "secrets/a.txt"})
    over_a_test = ToolCall("c2", "copy", {"source": "a.txt", "target": "test_a.py"})
    (root / "test_a.py").write_text("assert True\n")
    outcome, results = run(tmp_path, into_secrets, over_a_test, settings=settings,
                           harness=Harness(protected=("test_*.py",)))
    assert outcome.denials == (Denial(into_secrets, "copy on `a.txt, secrets/a.txt` is denied by the rule "
                                                    "`copy(secrets/**)`."),)
    assert results == [
        ToolResult("copy on `a.txt, secrets/a.txt` is denied by the rule `copy(secrets/**)`.", True),
        ToolResult("test_a.py is protected and must not be changed; change the code it tests instead.", True)]
    assert sorted(p.name for p in root.rglob("*")) == ["a.txt", "secrets", "test_a.py"]


def test_a_risky_command_of_any_tool_is_snapshotted_first_and_listed_by_rewind(tmp_path):
    root = workspace(tmp_path)
    transcript = Transcript.create(tmp_path / "sessions", root, "scripted")
    copy = ToolCall("c1", "copy", {"source": "a.txt", "target": "b.txt"})
    reset = ToolCall("c2", "run_shell", {"cmd": "git reset --hard"})
    try:
        outcome, _ = run(tmp_path, copy, reset, settings=Settings(permission_mode="full-auto"),
                         transcript=transcript, checkpoints=Checkpoints.open(root, tmp_path / "data"))
    finally:
        transcript.close()
    records, _ = read_records(transcript.path)
    assert (outcome.status, [r["note"] for r in records if r["type"] == "checkpoint"]) == (
        "done", ["go", "before: git reset --hard"])
    assert [t.commands for t in writing_turns(records, (Shell(), Copy()))] == [["git reset --hard"]]
