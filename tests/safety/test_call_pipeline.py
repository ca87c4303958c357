"""What the call pipeline adds around every tool: secrets redacted from results, redaction markers never
written back, the user's after-edit hooks, and a snapshot before an approved risky command."""

import json
from dataclasses import replace
from pathlib import Path

from luban.agent import loop
from luban.workspace.checkpoints import Checkpoints
from luban.config import Settings
from luban.harness import Harness
from luban.harness.hooks import Hooks
from luban.models.scripted import assistant, script
from luban.safety.redact import Redactor
from luban.session import Transcript, read_records
from luban.tools import default_tools
from luban.types import ApprovalNeeded, Decision, Message, ToolCall, ToolFinished, ToolResult

SETTINGS = Settings(permission_mode="full-auto", edit_samples=1, read_before_write=False)
TOKEN = "ghp_" + "k3Y9" * 9  # made up, in GitHub's format


def run(tmp_path: Path, calls, harness=Harness(), answer=Decision(True), checkpoints=None):
    from luban.workspace import Workspace

    ws = Workspace.open(tmp_path / "ws", tmp_path / "out")
    transcript = Transcript.create(tmp_path / "sessions", ws.root, "scripted")
    model = script(*[assistant(calls=[ToolCall(f"c{i}", name, args)]) for i, (name, args) in enumerate(calls)],
                   assistant("done"))
    events, asked = [], []
    gen = loop.run("do it", model=model, tools=default_tools(), ws=ws, settings=SETTINGS,
                   history=[Message("system", "s")], transcript=transcript, harness=harness, checkpoints=checkpoints)
    try:
        event = next(gen)
        while True:
            events.append(event)
            asked += [event] if isinstance(event, ApprovalNeeded) else []
            event = gen.send(answer if isinstance(event, ApprovalNeeded) else None)
    except StopIteration:
        pass
    transcript.close()
    results = [e.result for e in events if isinstance(e, ToolFinished)]
    return results, asked, model, transcript.path


def test_secrets_in_tool_output_reach_neither_the_model_nor_the_transcript(tmp_path):
    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / "creds.txt").write_text(f"github {TOKEN}\ndb hunter2hunter2\n")
    harness = replace(Harness(), redactor=Redactor.from_environ({"DB_PASSWORD": "hunter2hunter2"}))
    results, _, model, path = run(tmp_path, [("read_file", {"path": "creds.txt"}),
                                             ("bash", {"command": "cat creds.txt"})], harness)
    assert results == [ToolResult("     1\tgithub [REDACTED:github-token]\n     2\tdb [REDACTED:environment-secret]"),
                       ToolResult("github [REDACTED:github-token]\ndb [REDACTED:environment-secret]\nexit code: 0")]
    sent = json.dumps([str(m) for r in model.requests for m in r.messages])
    assert TOKEN not in sent and "hunter2hunter2" not in sent
    assert TOKEN not in path.read_text() and "hunter2hunter2" not in path.read_text()


def test_a_redaction_marker_is_never_written_into_a_file(tmp_path):
    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / "conf.py").write_text(f"KEY = '{TOKEN}'\nDEBUG = True\n")
    results, _, _, _ = run(tmp_path, [("edit_file", {"path": "conf.py", "old_string": "KEY = '[REDACTED:github-token]'",
                                                     "new_string": "KEY = '[REDACTED:github-token]'  # prod"})])
    assert results == [ToolResult(
        "old_string contains a [REDACTED:…] marker: that is where a secret was hidden from you, and writing it would "
        "destroy the secret. Change the text around it instead.", error=True)]
    assert (tmp_path / "ws" / "conf.py").read_text() == f"KEY = '{TOKEN}'\nDEBUG = True\n"


def test_a_failing_after_edit_hook_is_reported_with_the_edit(tmp_path):
    (tmp_path / "ws").mkdir()
    # JSON: Luban's own syntax check knows no JSON, so the hook is what finds the error.
    harness = replace(Harness(), hooks=Hooks.parse({"after_edit": ["python3 -m json.tool {path}"]}))
    results, _, _, _ = run(tmp_path, [("write_file", {"path": "ok.json", "content": "{}\n"}),
                                      ("write_file", {"path": "bad.json", "content": "{\n"})], harness)
    assert not results[0].error and "hook" not in results[0].content
    assert "[hook `python3 -m json.tool {path}` failed after this edit:" in results[1].content
    assert "Expecting property name" in results[1].content and results[1].content.endswith("exit code: 1]")


def test_an_approved_risky_command_runs_after_a_snapshot(tmp_path):
    root = tmp_path / "ws"
    root.mkdir()
    (root / "a.txt").write_text("mine\n")
    results, asked, _, path = run(tmp_path, [("bash", {"command": "rm -rf ~/x"}),
                                             ("write_file", {"path": "a.txt", "content": "edited\n"}),
                                             ("bash", {"command": "git reset --hard"})],
                                  checkpoints=Checkpoints.open(root, tmp_path / "data"))
    assert [a.risky for a in asked] == [True, True]
    records, _ = read_records(path)
    order = [r["note"] if r["type"] == "checkpoint" else r["call"]["arguments"].get("command", "write")
             for r in records if r["type"] == "checkpoint" or r.get("kind") == "ToolFinished"]
    # The turn's snapshot comes first; the second risky command gets its own, after the edit.
    assert order == ["do it", "rm -rf ~/x", "write", "before: git reset --hard", "git reset --hard"]
