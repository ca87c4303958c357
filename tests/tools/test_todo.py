"""The todo tool: a short list of steps with their status, checked, shown, kept through compaction and resume."""

from rich.console import Console

from luban.agent import loop
from luban.config import Settings
from luban.context.compact import PLAN_HEAD, SUMMARISER, SUMMARY_HEAD
from luban.models import ModelInfo
from luban.models.scripted import ScriptedModel, assistant
from luban.session import Transcript
from luban.tools import read, todo
from luban.types import Message, ToolCall, ToolFinished, ToolResult
from luban.ui.headless import drive
from luban.ui.tui_render import Screen
from luban.workspace import Workspace

PLAN = [{"content": "Read big.py", "status": "completed"}, {"content": "Fix the bug", "status": "in_progress"},
        {"content": "Run the tests", "status": "pending"}]
SHOWN = "Task list (1 of 3 done):\n[x] Read big.py\n[>] Fix the bug\n[ ] Run the tests"
SUMMARY = "Task: fix big.py. Done so far: read it."


def test_the_list_is_checked_and_rendered(ws):
    assert todo.TOOL({"todos": PLAN}, ws) == ToolResult(SHOWN)
    assert todo.TOOL({"todos": []}, ws) == ToolResult("Task list cleared.")
    two = [{"content": "a", "status": "in_progress"}, {"content": "b", "status": "in_progress"}]
    assert todo.TOOL({"todos": two}, ws) == ToolResult(
        "Only one step may be in_progress at a time; mark the others pending or completed.", error=True)
    assert todo.TOOL({"todos": [{"content": "a", "status": "done"}]}, ws) == ToolResult(
        "The status of 'a' must be one of pending, in_progress, completed, not 'done'.", error=True)
    assert todo.TOOL({"todos": "read it"}, ws).error


def test_the_terminal_shows_the_whole_list():
    console = Console(width=60, record=True, color_system=None, force_terminal=False, highlight=False)
    call = ToolCall("t", "todo", {"todos": PLAN})
    Screen(console).event(ToolFinished(call, ToolResult(SHOWN)))
    assert console.export_text() == ("  ⎿ Task list (1 of 3 done):\n    [x] Read big.py\n    [>] Fix the bug\n"
                                     "    [ ] Run the tests\n")


def _agent(steps, summaries):
    def reply(request):
        if request.messages[0].content == SUMMARISER:
            summaries.append(request)
            return assistant(SUMMARY)
        return steps.pop(0)
    return reply


def test_the_list_survives_compaction_and_resume(tmp_path):
    root = tmp_path / "repo"
    root.mkdir()
    (root / "big.py").write_text("".join(f"value_{i} = {i}  # a line long enough to matter {i:04}\n"
                                         for i in range(600)))
    ws = Workspace.open(root, tmp_path / "scratch")
    steps = [assistant(calls=[ToolCall("t0", "todo", {"todos": PLAN})])]
    steps += [assistant(calls=[ToolCall(f"r{i}", "read_file", {"path": "big.py", "offset": 1 + 40 * i, "limit": 200})])
              for i in range(12)] + [assistant("Done.")]
    summaries: list = []
    sent: list = []
    agent = _agent(steps, summaries)
    model = ScriptedModel([lambda r: sent.append(r) or agent(r)] * 40, ModelInfo("scripted", 8192))
    transcript = Transcript.create(tmp_path / "sessions", root, "scripted")
    outcome = drive(loop.run("Fix big.py.", model=model, tools=(read.TOOL, todo.TOOL), ws=ws,
                             settings=Settings(permission_mode="full-auto", max_steps=60),
                             history=[Message("system", "test")], transcript=transcript), lambda e: None)
    transcript.close()
    assert outcome.status == "done" and summaries, "the run was long enough to be summarised"
    last = [r for r in sent if r.messages[0].content != SUMMARISER][-1].messages
    assert last[2] == Message("user", f"{SUMMARY_HEAD}\n{SUMMARY}\n\n{PLAN_HEAD}\n{SHOWN}")
    assert not any(m.content == SHOWN for m in last)  # its turn was summarised: the note carries it
    _, resumed, _ = Transcript.resume(transcript.path)
    assert resumed[2] == last[2]
