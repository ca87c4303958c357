"""The Claude Agent SDK's own parser over a recorded Luban stream: every line parses into the SDK's types, and
Luban still writes exactly that stream, so a field change on either side fails here first."""

import io
import itertools
import json
from pathlib import Path

from claude_agent_sdk import AssistantMessage, ResultMessage, SystemMessage, ThinkingBlock, UserMessage
from claude_agent_sdk._internal.message_parser import parse_message

from luban import __version__
from luban.types import (AssistantText, CallStats, Compacted, Denial, ModelReplied, Notice, Outcome, SubagentEvent,
                         ToolCall, ToolFinished, ToolResult, ToolStarted, TurnEnded, Usage)
from luban.ui.headless import StreamJson

RECORDED = Path(__file__).parents[1] / "fixtures" / "sdk" / "luban-stream.jsonl"
READ = ToolCall("call_1_0", "read_file", {"path": "calc.py"})
TOUCH = ToolCall("call_2_0", "bash", {"command": "touch x"})
TASK = ToolCall("call_3_0", "task", {"agent": "explore", "prompt": "Where is add?"})
GREP = ToolCall("call_1_0", "grep", {"pattern": "def add"})
EVENTS = [
    ModelReplied(Usage(1480, 31, 1302, 50.0, 300.0, 1), 5.12),
    AssistantText("Let me read the file.", reasoning="The bug is probably in add."),
    ToolStarted(READ),
    ToolFinished(READ, ToolResult("     1\tdef add(a, b):\n     2\t    return a - b")),
    ModelReplied(Usage(1600, 20, 1480, 40.0, 200.0, 1), 2.0),
    Notice("Denied: bash: `touch x` is not covered by an allow rule in ask mode."),
    ToolFinished(TOUCH, ToolResult("The user declined this bash call.", error=True)),
    Compacted(10240, 4410, 6, 9),
    ToolStarted(TASK),
    SubagentEvent("call_3_0", "explore", ToolStarted(GREP), "20261205-080001-def456"),
    SubagentEvent("call_3_0", "explore", ToolFinished(GREP, ToolResult("calc.py:2:    return a - b")),
                  "20261205-080001-def456"),
    SubagentEvent("call_3_0", "explore", TurnEnded(Outcome("done", "add is in calc.py", 2)), "20261205-080001-def456"),
    ToolFinished(TASK, ToolResult("add is in calc.py")),
    ModelReplied(Usage(4500, 12, 4400, 30.0, 100.0, 1), 1.0),
    AssistantText("Fixed."),
    TurnEnded(Outcome("done", "Fixed.", 3, Usage(7580, 63, 7182, 120.0, 600.0, 3), 9.5, 8.12, CallStats(valid=2),
                      (Denial(TOUCH, "not covered"),))),
    TurnEnded(Outcome("max_steps", "Stopped after 40 steps.", 40)),
    TurnEnded(Outcome("stuck", "The model repeated the same bash call 5 times.", 7)),
]


def luban_stream() -> str:
    out, n = io.StringIO(), itertools.count(1)
    render = StreamJson(out, "20261205-080000-abc123", new_uuid=lambda: f"00000000-0000-4000-8000-{next(n):012d}")
    render.init("/repo", "qwen2.5-coder-1.5b", ["read_file", "edit_file", "bash"], "auto-edit")
    for event in EVENTS:
        render(event)
    return out.getvalue()


def test_luban_still_writes_the_recorded_stream():
    recorded = RECORDED.read_text().replace('"luban_version": "0.1.0"', f'"luban_version": "{__version__}"')
    assert luban_stream() == recorded


def test_the_sdk_parser_reads_every_recorded_line_into_its_types():
    parsed = [parse_message(json.loads(line)) for line in RECORDED.read_text().splitlines()]
    assert [type(m).__name__ for m in parsed] == [
        "SystemMessage", "SystemMessage", "AssistantMessage", "AssistantMessage", "UserMessage", "SystemMessage",
        "SystemMessage", "UserMessage", "SystemMessage",
        "AssistantMessage", "AssistantMessage", "UserMessage", "SystemMessage", "UserMessage",  # a subagent's work
        "SystemMessage", "AssistantMessage", "ResultMessage", "ResultMessage", "ResultMessage"]
    init, thought, result = parsed[0], parsed[2], parsed[16]
    assert [(type(m).__name__, m.parent_tool_use_id) for m in parsed[9:12]] == [
        ("AssistantMessage", None), ("AssistantMessage", "call_3_0"), ("UserMessage", "call_3_0")]
    assert (parsed[12].subtype, parsed[12].data["parent_tool_use_id"]) == ("subagent_result", "call_3_0")
    assert isinstance(init, SystemMessage) and init.data["claude_code_version"] == "2.0.0"
    assert isinstance(thought, AssistantMessage) and (thought.model, thought.message_id, thought.usage) == (
        "qwen2.5-coder-1.5b", "msg_20261205-080000-abc123_1",
        {"input_tokens": 1480, "output_tokens": 31, "cache_read_input_tokens": 1302, "cache_creation_input_tokens": 0})
    assert thought.content[0] == ThinkingBlock("The bug is probably in add.", signature="")
    assert isinstance(parsed[4], UserMessage) and parsed[4].uuid == "00000000-0000-4000-8000-000000000005"
    assert isinstance(result, ResultMessage) and (
        result.subtype, result.is_error, result.num_turns, result.total_cost_usd, result.permission_denials) == (
        "success", False, 3, 0.0, [{"tool_name": "bash", "tool_use_id": "call_2_0", "tool_input": {"command": "touch x"}}])
    assert [(r.subtype, r.is_error) for r in parsed[17:]] == [("error_max_turns", True), ("error_during_execution", True)]
