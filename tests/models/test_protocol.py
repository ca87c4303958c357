import json

import pytest

from luban.models.formats import FORMATS
from luban.models.protocol import NEXT_STEP, JsonProtocol, NativeProtocol, TextProtocol, Turn, TurnHints, turn_format
from luban.types import Message, Request, ToolCall, ToolSpec

READ = ToolSpec("read", "Read a file.", {
    "type": "object",
    "properties": {
        "path": {"type": "string", "x-existing": "file", "description": "The file."},
        "limit": {"type": "integer", "minimum": 1, "default": 50, "description": "How many lines."},
    },
    "required": ["path"],
    "additionalProperties": False,
})
BASH = ToolSpec("bash", "Run a command.", {
    "type": "object", "properties": {"command": {"type": "string"}}, "required": ["command"]})
SPECS = (READ, BASH)

THOUGHT = {"type": "string", "maxLength": 400}
FINISH_BRANCH = {
    "type": "object", "additionalProperties": False, "required": ["thought", "tool", "args"],
    "properties": {"thought": THOUGHT, "tool": {"const": "finish"},
                   "args": {"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"],
                            "additionalProperties": False}},
}
BASH_BRANCH = {
    "type": "object", "additionalProperties": False, "required": ["thought", "tool", "args"],
    "properties": {"thought": THOUGHT, "tool": {"const": "bash"},
                   "args": {"type": "object", "properties": {"command": {"type": "string"}}, "required": ["command"],
                            "additionalProperties": False}},
}


def read_branch(path_schema):
    return {
        "type": "object", "additionalProperties": False, "required": ["thought", "tool", "args"],
        "properties": {"thought": THOUGHT, "tool": {"const": "read"},
                       "args": {"type": "object",
                                "properties": {"path": path_schema, "limit": {"type": "integer", "minimum": 1}},
                                "required": ["path"], "additionalProperties": False}},
    }


def response_format(*branches):
    return {"type": "json_schema", "json_schema": {"name": "turn", "schema": {"anyOf": list(branches)}}}


def path_spec(existing):
    return ToolSpec("look", "Look.", {"type": "object", "properties": {
        "path": {"type": "string", "x-existing": existing, "default": "."}}, "required": []})


def look_branch(path_schema):
    return {
        "type": "object", "additionalProperties": False, "required": ["thought", "tool", "args"],
        "properties": {"thought": THOUGHT, "tool": {"const": "look"},
                       "args": {"type": "object", "properties": {"path": path_schema}, "required": [],
                                "additionalProperties": False}},
    }


HINTS = TurnHints(files=("a.py", "b.py"), dirs=("src",), writable=("a.py",))

# ---- JsonProtocol.read ----


def test_json_read_a_valid_call():
    reply = Message("assistant", '{"thought": "look first", "tool": "read", "args": {"path": "a.py"}}')
    assert JsonProtocol().read(reply, SPECS, "c3") == Turn(
        Message("assistant", reply.content), (ToolCall("c3_0", "read", {"path": "a.py"}),), thought="look first")


def test_json_read_keeps_only_the_content_of_the_reply():
    reply = Message("assistant", '{"thought": "", "tool": "bash", "args": {"command": "ls"}}', reasoning="hmm")
    assert JsonProtocol().read(reply, SPECS, "c").message == Message("assistant", reply.content)


def test_json_read_finish_is_the_answer():
    reply = Message("assistant", '{"thought": "all done", "tool": "finish", "args": {"answer": "Fixed calc.py."}}')
    assert JsonProtocol().read(reply, SPECS, "c") == Turn(
        Message("assistant", reply.content), answer="Fixed calc.py.", thought="all done")


def test_json_read_finish_without_answer_falls_back_to_the_thought():
    reply = Message("assistant", '{"thought": "nothing to do", "tool": "finish", "args": {}}')
    assert JsonProtocol().read(reply, SPECS, "c").answer == "nothing to do"


def test_json_read_invalid_json_is_a_format_error():
    reply = Message("assistant", '{"tool": ')
    assert JsonProtocol().read(reply, SPECS, "c") == Turn(
        Message("assistant", '{"tool": '),
        error="Your reply was not one valid JSON object (Expecting value at character 9). "
              "Reply with a single JSON object as described.")


@pytest.mark.parametrize("content", [
    '{"thought": "x", "tool": "write", "args": {"path": "a.py"}}',  # not a tool
    '{"thought": "x", "tool": "bash", "args": "ls"}',  # args not an object
    '["bash"]',  # not an object
])
def test_json_read_wrong_shape_or_tool_name_lists_the_tools(content):
    assert JsonProtocol().read(Message("assistant", content), SPECS, "c") == Turn(
        Message("assistant", content),
        error='Your reply must be {"thought": ..., "tool": ..., "args": {...}} with tool one of: read, bash, finish.')


# ---- JsonProtocol.request / turn_format ----


def test_json_request_constrains_the_reply_and_sends_no_tools():
    messages = [Message("system", "s"), Message("user", "u")]
    assert JsonProtocol().request(messages, SPECS, 0.2, 300, HINTS) == Request(
        tuple(messages), (), 0.2, 300,
        response_format=response_format(read_branch({"enum": ["a.py", "b.py"]}), BASH_BRANCH, FINISH_BRANCH))


def test_json_request_without_hints_keeps_plain_path_schemas():
    request = JsonProtocol().request([], SPECS, None, None)
    assert request.response_format == response_format(read_branch({"type": "string"}), BASH_BRANCH, FINISH_BRANCH)


@pytest.mark.parametrize("existing, enum", [
    ("file", ["a.py", "b.py"]),
    ("writable", ["a.py"]),
    ("dir", ["src"]),
    ("any", ["src", "a.py", "b.py"]),
])
def test_existing_paths_become_enums_of_what_the_hints_name(existing, enum):
    assert turn_format([path_spec(existing)], HINTS) == response_format(look_branch({"enum": enum}), FINISH_BRANCH)


def test_an_existing_path_with_nothing_to_choose_from_stays_a_string():
    hints = TurnHints(files=("a.py",))
    assert turn_format([path_spec("dir")], hints) == response_format(look_branch({"type": "string"}), FINISH_BRANCH)


def test_avoid_removes_that_tool_branch():
    request = JsonProtocol().request([], SPECS, None, None, TurnHints(avoid=frozenset({"read"})))
    assert request.response_format == response_format(BASH_BRANCH, FINISH_BRANCH)


def test_avoid_never_removes_finish():
    request = JsonProtocol().request([], SPECS, None, None, TurnHints(avoid=frozenset({"read", "bash", "finish"})))
    assert request.response_format == response_format(FINISH_BRANCH)


def test_strict_schema_drops_descriptions_defaults_and_the_existing_marker():
    args = turn_format([READ])["json_schema"]["schema"]["anyOf"][0]["properties"]["args"]
    assert args == {"type": "object", "properties": {"path": {"type": "string"},
                                                     "limit": {"type": "integer", "minimum": 1}},
                    "required": ["path"], "additionalProperties": False}
    assert READ.parameters["properties"]["path"] == {"type": "string", "x-existing": "file",
                                                     "description": "The file."}  # the spec is not changed


# ---- JsonProtocol.system_text / result ----


def test_json_system_text():
    assert JsonProtocol().system_text([READ]) == (
        "Answer every message with exactly one JSON object and nothing else:\n"
        '{"thought": "<one short sentence: what you do next and why>", "tool": "<tool name>", '
        '"args": {<the tool\'s arguments>}}\n'
        "\n"
        "Tools:\n"
        "- read(path, limit?): Read a file.\n"
        "- finish(answer): End the task. answer: your final answer to the user: what you found or changed, "
        "or why you stopped.\n"
        "\n"
        "The tool's result comes back in the next message.")


def test_json_result_is_a_user_message():
    call = ToolCall("c_0", "bash", {"command": "ls"})
    assert JsonProtocol().result(call, "a.py\nb.py") == Message(
        "user", "Result of bash:\na.py\nb.py\n\nUse this result for the next step. If the task is done, call finish.")
    assert NEXT_STEP == "Use this result for the next step. If the task is done, call finish."


# ---- NativeProtocol ----


def test_native_read_native_tool_calls():
    calls = (ToolCall("x1", "bash", {"command": "ls"}),)
    reply = Message("assistant", "Listing.", calls)
    assert NativeProtocol().read(reply, SPECS, "c") == Turn(reply, calls, thought="Listing.")


def test_native_read_a_fenced_json_call_in_text():
    reply = Message("assistant", 'Let me look.\n```json\n{"name": "read", "arguments": {"path": "a.py"}}\n```',
                    reasoning="think")
    calls = (ToolCall("c7_0", "read", {"path": "a.py"}),)
    assert NativeProtocol().read(reply, SPECS, "c7") == Turn(
        Message("assistant", "Let me look.", calls, reasoning="think"), calls, thought="Let me look.")


def test_native_read_prose_is_the_answer():
    reply = Message("assistant", "The bug is in calc.py line 3.")
    assert NativeProtocol().read(reply, SPECS, "c") == Turn(
        Message("assistant", "The bug is in calc.py line 3."), answer="The bug is in calc.py line 3.")


def test_native_request_passes_tools_and_ignores_hints():
    assert NativeProtocol().request([Message("user", "u")], SPECS, 0.0, 10, HINTS) == Request(
        (Message("user", "u"),), SPECS, 0.0, 10)
    assert NativeProtocol().system_text(SPECS) == ""
    assert NativeProtocol().result(ToolCall("x1", "bash", {}), "out") == Message("tool", "out", tool_call_id="x1")


def test_text_protocol_in_the_glm_format_keeps_the_reply_as_written():
    from luban.models.formats import FORMATS
    from luban.models.protocol import TextProtocol

    spec = ToolSpec("read_file", "Read a file.", {"type": "object", "properties": {"path": {"type": "string"}},
                                                  "required": ["path"]})
    protocol = TextProtocol(FORMATS["glm"])
    assert protocol.system_text([spec]) == FORMATS["glm"].render_tools([spec])
    reply = "I will read it.\n<tool_call>read_file\n<arg_key>path</arg_key>\n<arg_value>a.py</arg_value>\n</tool_call>"
    turn = protocol.read(Message("assistant", reply), [spec], "c1")
    assert turn == Turn(Message("assistant", reply), (ToolCall("c1_0", "read_file", {"path": "a.py"}),),
                        thought="I will read it.")
    assert protocol.read(Message("assistant", "All done."), [spec], "c2") == Turn(
        Message("assistant", "All done."), answer="All done.")
    assert protocol.result(ToolCall("c1_0", "read_file", {}), "x = 1") == Message(
        "user", FORMATS["glm"].render_result("read_file", "x = 1"))
    request = protocol.request([Message("user", "hi")], [spec], 0.0, 100)
    assert (request.tools, request.response_format) == ((), None)


@pytest.mark.parametrize("protocol", [NativeProtocol(), JsonProtocol(), *(TextProtocol(f) for f in FORMATS.values())],
                         ids=lambda p: getattr(getattr(p, "format", None), "name", p.name))
def test_a_turn_made_for_a_call_reads_back_as_that_call(protocol):
    call = ToolCall("call_3_0", "bash", {"command": 'grep -n "x" a.py'})
    made = protocol.turn_for("Look for x.", call)
    again = protocol.read(made.message, SPECS, "call_3")
    assert (made.calls, made.thought) == ((call,), "Look for x.")
    assert [(c.name, c.arguments) for c in again.calls] == [("bash", {"command": 'grep -n "x" a.py'})]
    assert made.message.role == "assistant" and again.answer is None


def test_json_turn_for_is_the_object_a_constrained_reply_would_be():
    made = JsonProtocol().turn_for("Fix it.", ToolCall("c", "bash", {"command": "ls"}))
    assert json.loads(made.message.content) == {"thought": "Fix it.", "tool": "bash", "args": {"command": "ls"}}


# A call cut off mid-string, outside any fence or tag: no format can read it.
UNREADABLE_CALL = 'I will list it: {"name": "bash", "arguments": {"command": "ls'


@pytest.mark.parametrize("protocol", [NativeProtocol(), TextProtocol(FORMATS["hermes"])], ids=["native", "text"])
def test_a_call_that_cannot_be_read_is_an_error_that_says_so_not_the_answer(protocol):
    turn = protocol.read(Message("assistant", UNREADABLE_CALL), SPECS, "c")
    assert (turn.calls, turn.answer) == ((), None)
    assert turn.error.startswith("Your reply tries to call bash, but the call could not be read, so nothing ran.")
    markup = protocol.read(Message("assistant", "<tool_call>\n{oops\n</tool_call>"), SPECS, "c")
    assert markup.error.startswith("Your reply tries to call a tool, but")


def test_prose_that_names_no_known_tool_stays_the_answer():
    reply = Message("assistant", 'The config has {"name": "shop"} in it; nothing to change.')
    assert NativeProtocol().read(reply, SPECS, "c").answer == reply.content


def test_a_fenced_call_with_unescaped_quotes_is_salvaged_and_repaired():
    from luban.models.repair import repair_call

    # What the embedded 1.5B wrote in native mode on the example: a docstring's quotes unescaped in a string.
    reply = ('```json\n{\n  "name": "bash",\n  "arguments": {\n    "command": "echo """done"""",\n'
             '    "timeout": 5\n  }\n}\n```')
    turn = NativeProtocol().read(Message("assistant", reply), SPECS, "c")
    fixed = repair_call(turn.calls[0].name, turn.calls[0].written, SPECS)
    assert (fixed.arguments, fixed.repaired, fixed.error) == ({"command": 'echo """done"""', "timeout": 5}, True, None)
