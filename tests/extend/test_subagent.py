"""The task tool: a subagent's sub-loop with the scripted model (one script serves parent and child in turn):
its tool set, its limits within the parent's, its report, its transcript, and how the front-ends show it."""

from __future__ import annotations

import io
import json

from rich.console import Console

from luban.agent import loop
from luban.agent.subagent import task_tool
from luban.config import Settings
from luban.extend.agents import EXPLORE, AgentDef, discover
from luban.models.scripted import assistant, script
from luban.session import Transcript, read_records
from luban.tools import default_tools, todo
from luban.types import (ApprovalNeeded, Decision, Message, Outcome, SubagentEvent, ToolCall, ToolFinished,
                         ToolStarted, TurnEnded, Usage)
from luban.ui.headless import StreamJson
from luban.ui.tui_render import Screen
from luban.workspace import Workspace

SYSTEM = Message("system", "be useful")
READ_ONLY = ["read_file", "grep", "glob", "list_dir"]


def tools_for(agents=(EXPLORE,)):
    base = (*default_tools(), todo.TOOL)
    return (*base, task_tool(agents, base))


def run(tmp_path, model, settings=Settings(), agents=(EXPLORE,), decisions=(), transcript=None):
    ws = Workspace.open(tmp_path, tmp_path / ".out")
    gen = loop.run("find the answer", model=model, tools=tools_for(agents), ws=ws, settings=settings,
                   history=[SYSTEM], transcript=transcript)
    events, answers = [], list(decisions)
    try:
        event = next(gen)
        while True:
            events.append(event)
            event = gen.send(answers.pop(0) if isinstance(event, ApprovalNeeded) else None)
    except StopIteration as stop:
        return events, stop.value


def delegate(prompt="Where is ANSWER defined?", agent="explore"):
    return assistant(calls=[ToolCall("t1", "task", {"agent": agent, "prompt": prompt})])


def test_a_subagent_searches_read_only_in_a_fresh_context_and_reports(tmp_path):
    (tmp_path / "deep.py").write_text("ANSWER = 42\n")
    model = script(delegate(),
                   assistant(calls=[ToolCall("s1", "grep", {"pattern": "ANSWER"})]),
                   assistant("ANSWER is defined in deep.py line 1 as 42."),
                   assistant("The answer is 42 (deep.py:1)."))
    sessions = tmp_path / "sessions"
    parent = Transcript.create(sessions, tmp_path, "scripted")
    events, outcome = run(tmp_path, model, transcript=parent)
    parent.close()
    child_request = model.requests[1]
    assert [s.name for s in child_request.tools] == READ_ONLY  # no write, bash, todo or task
    assert child_request.messages[0].content.endswith(EXPLORE.prompt)
    assert child_request.messages[1:] == (Message("user", "Where is ANSWER defined?"),)  # fresh context
    report = next(e.result for e in events if isinstance(e, ToolFinished) and e.call.name == "task")
    assert (report.content, report.error) == ("ANSWER is defined in deep.py line 1 as 42.", False)
    assert model.requests[3].messages[-1].content == report.content  # the parent sees only the report
    assert "ANSWER = 42" not in json.dumps([m.content for m in model.requests[3].messages])
    nested = [e for e in events if isinstance(e, SubagentEvent)]
    assert [type(e.event).__name__ for e in nested if not type(e.event).__name__ == "ModelReplied"] == [
        "ToolStarted", "ToolFinished", "AssistantText", "TurnEnded"]
    assert {e.call_id for e in nested} == {"t1"} and {e.agent for e in nested} == {"explore"}
    assert (outcome.status, outcome.steps, outcome.usage.requests) == ("done", 4, 4)  # the child's count too
    children = list((sessions / parent.id).glob("*.jsonl"))
    assert [c.stem for c in children] == [nested[0].session]
    records, _ = read_records(children[0])
    assert records[0]["parent"] == {"session": parent.id, "call": "t1", "agent": "explore"}
    assert [r["kind"] for r in records if r["type"] == "event" and r["kind"] != "ModelReplied"] == [
        "ToolStarted", "ToolFinished", "AssistantText"]
    assert not any(r.get("kind") == "SubagentEvent" for r in read_records(parent.path)[0])


def test_the_subagents_limits_count_toward_the_parents(tmp_path):
    (tmp_path / "a.py").write_text("x = 1\n")
    looping = [assistant(calls=[ToolCall(f"s{i}", "read_file", {"path": "a.py", "offset": i})]) for i in range(5)]
    model = script(delegate(), *looping)
    events, outcome = run(tmp_path, model, Settings(max_steps=4))  # the parent keeps a step to answer
    report = next(e.result for e in events if isinstance(e, ToolFinished) and e.call.name == "task")
    assert report.error and report.content == (
        "The explore subagent stopped before finishing (max_steps): Stopped after 2 steps (max_steps).\n"
        "What it saw before stopping (its last distinct tool results):\n"
        "Error: Argument 'offset' of read_file must be at least 1, not 0.\n---\n     1\tx = 1")
    assert (outcome.status, outcome.steps) == ("max_steps", 4)
    assert len(model.requests) == 4


def test_a_custom_agent_never_gets_more_than_the_parent_has(tmp_path):
    agents_dir = tmp_path / "user" / "agents"
    agents_dir.mkdir(parents=True)
    (agents_dir / "fixer.md").write_text("---\nname: fixer\ndescription: Fixes one bug.\ntools: Read, bash, "
                                         "write_file, mcp__x__y\n---\nFix the bug you are given.\n")
    (agents_dir / "broken.md").write_text("no front matter\n")
    agents, warnings = discover(tmp_path / "user", None)
    assert [a.name for a in agents] == ["explore", "fixer"]
    assert agents[1] == AgentDef("fixer", "Fixes one bug.", "Fix the bug you are given.",
                                 ("Read", "bash", "write_file", "mcp__x__y"), str(agents_dir / "fixer.md"))
    assert warnings == [f"Skipped the agent file {agents_dir / 'broken.md'} does not start with front matter (a "
                        "--- line, name: and description:, ---)."]
    base = tuple(t for t in default_tools() if t.spec.name != "bash")  # a parent without bash
    tool = task_tool(agents, base)
    assert tool.effect == "write"  # the widest its agents can do: the mode judges the delegation by it
    model = script(delegate("fix it", "fixer"), assistant("nothing to fix"), assistant("ok"))
    ws = Workspace.open(tmp_path, tmp_path / ".out")
    gen = loop.run("go", model=model, tools=(*base, tool), ws=ws, settings=Settings(permission_mode="auto-edit"),
                   history=[SYSTEM])
    list(gen)
    assert [s.name for s in model.requests[1].tools] == ["read_file", "write_file"]


def test_a_subagents_approval_reaches_the_driver_and_its_answer_counts(tmp_path):
    agent = AgentDef("writer", "Writes.", "Write what you are asked.", ("write_file",))
    model = script(delegate("write it", "writer"),
                   assistant(calls=[ToolCall("s1", "write_file", {"path": "out.txt", "content": "x"})]),
                   assistant("could not write"), assistant("ok"))
    events, _ = run(tmp_path, model, agents=(EXPLORE, agent), decisions=[Decision(True), Decision(False)])
    asked = [e for e in events if isinstance(e, ApprovalNeeded)]
    assert [a.call.name for a in asked] == ["task", "write_file"]
    assert not (tmp_path / "out.txt").exists()


def test_stream_json_and_the_terminal_show_the_subagents_work():
    call = ToolCall("s1", "grep", {"pattern": "ANSWER"})
    out = io.StringIO()
    uuids = iter(["u1", "u2"])
    render = StreamJson(out, "p1", "qwen", new_uuid=lambda: next(uuids))
    render(SubagentEvent("t1", "explore", ToolStarted(call), "c1"))
    render(SubagentEvent("t1", "explore", TurnEnded(Outcome("done", "found", 2, Usage(10, 2, 0, 0, 0, 2))), "c1"))
    assert [json.loads(line) for line in out.getvalue().splitlines()] == [
        {"type": "assistant", "message": {
            "id": "msg_p1_0", "type": "message", "role": "assistant", "model": "qwen", "content": [
                {"type": "tool_use", "id": "s1", "name": "grep", "input": {"pattern": "ANSWER"}}],
            "stop_reason": None, "stop_sequence": None, "usage": {
                "input_tokens": 0, "output_tokens": 0, "cache_read_input_tokens": 0, "cache_creation_input_tokens": 0}},
         "parent_tool_use_id": "t1", "session_id": "p1", "uuid": "u1"},
        {"type": "system", "subtype": "subagent_result", "parent_tool_use_id": "t1", "agent": "explore",
         "subagent_session_id": "c1", "status": "done", "num_turns": 2, "usage": {
             "input_tokens": 10, "output_tokens": 2, "cache_read_input_tokens": 0, "cache_share": 0.0,
             "requests": 2}, "session_id": "p1", "uuid": "u2"}]
    console = Console(width=60, record=True, color_system=None, force_terminal=False, highlight=False)
    Screen(console).event(SubagentEvent("t1", "explore", ToolStarted(call), "c1"))
    assert console.export_text() == "  ↳ explore ● grep(ANSWER)\n"


def test_a_project_agent_counts_only_once_trusted(tmp_path):
    from luban.extend.extensions import open_extensions
    from luban.extend.project import project_extensions
    from luban.safety.trust import set_trust

    home, work = tmp_path / "home", tmp_path / "work"
    (work / ".claude" / "agents").mkdir(parents=True)
    (work / ".claude" / "agents" / "wide.md").write_text("---\nname: wide\ndescription: Does anything.\ntools: bash\n"
                                                         "---\nRun whatever you like.\n")
    settings, env = Settings(cwd=str(work), data_dir=str(home / "data")), {"LUBAN_HOME": str(home)}
    assert [a.name for a in open_extensions(settings, env).agents] == ["explore"]
    set_trust(home / "data", project_extensions(work), True)
    assert [a.name for a in open_extensions(settings, env).agents] == ["explore", "wide"]


def test_the_session_tools_follow_the_mode(tmp_path):
    from luban.extend.extensions import Extensions
    from luban.extend.mcp_client import McpServers
    from luban.ui.runtime import session_tools

    fixer = AgentDef("fixer", "Fixes.", "Fix it.", ("read_file", "bash"))
    extensions = Extensions(McpServers({}), agents=(EXPLORE, fixer))
    plan = session_tools(Settings(permission_mode="plan"), extensions)
    ask = session_tools(Settings(permission_mode="ask"), extensions)
    assert [t.spec.name for t in plan] == ["read_file", "grep", "glob", "list_dir", "todo", "task"]
    assert plan[-1].effect == "read"  # in plan mode the fixer gets no bash, so delegating only reads
    assert [t.spec.name for t in ask] == ["read_file", "edit_file", "write_file", "bash", "grep", "glob", "list_dir",
                                          "todo", "task"]
    assert ask[-1].effect == "exec"
