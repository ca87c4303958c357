"""The calls a small model writes as text (fenced, tagged, bare), read by trying every format."""

from luban.models.formats import ParsedText, parse_any
from luban.types import ToolCall

TOOLS = ("read_file", "edit_file", "bash")


def test_fenced_json_as_the_qwen_ggufs_write_it():
    text = 'Let me look.\n```json\n{\n  "name": "read_file",\n  "arguments": {\n    "path": "calc.py"\n  }\n}\n```'
    assert parse_any(text, TOOLS) == ParsedText("Let me look.", (ToolCall("call_0", "read_file", {"path": "calc.py"}),))


def test_hermes_tags_several_calls():
    text = ('<tool_call>\n{"name": "read_file", "arguments": {"path": "a.py"}}\n</tool_call>\n'
            '<tool_call>\n{"name": "bash", "arguments": {"command": "ls"}}\n</tool_call>')
    assert parse_any(text, TOOLS, "c") == ParsedText("", (
        ToolCall("c_0", "read_file", {"path": "a.py"}), ToolCall("c_1", "bash", {"command": "ls"})))


def test_unclosed_tag_at_end_of_reply():
    text = '<tool_call>\n{"name": "bash", "arguments": {"command": "pytest"}}'
    assert parse_any(text, TOOLS).calls == (ToolCall("call_0", "bash", {"command": "pytest"}),)


def test_bare_json_object_in_prose():
    text = 'I will run the tests {"name": "bash", "arguments": {"command": "pytest -q"}} now.'
    assert parse_any(text, TOOLS) == ParsedText(
        "I will run the tests  now.", (ToolCall("call_0", "bash", {"command": "pytest -q"}),))


def test_openai_shaped_object_and_double_encoded_arguments():
    text = '```json\n{"type": "function", "function": {"name": "bash", "arguments": "{\\"command\\": \\"ls\\"}"}}\n```'
    assert parse_any(text, TOOLS).calls == (ToolCall("call_0", "bash", {"command": "ls"}),)


def test_plain_json_and_code_stay_text():
    text = 'Here is code:\n```json\n{"name": "Ada", "age": 36}\n```\n```python\nprint(1)\n```'
    assert parse_any(text, TOOLS) == ParsedText(text, ())


def test_call_shaped_object_with_an_unknown_name_is_a_call_so_the_model_hears_the_valid_names():
    text = '{"name": "test_pricing", "arguments": {"path": "."}}'
    assert parse_any(text, TOOLS).calls == (ToolCall("call_0", "test_pricing", {"path": "."}),)


def test_undecodable_string_arguments_are_kept_raw_for_an_error():
    text = '```json\n{"name": "bash", "arguments": "ls -la"}\n```'
    assert parse_any(text, TOOLS).calls == (ToolCall("call_0", "bash", {}, raw="ls -la"),)


def test_truncated_call_is_not_a_call():
    text = '```json\n{"name": "edit_file", "arguments": {"path": "a.py", "old_string": "x'
    assert parse_any(text, TOOLS) == ParsedText(text, ())
