import pytest

from luban.models.repair import Repair, repair_call
from luban.types import ToolSpec

READ = ToolSpec("read_file", "Read a text file.", {
    "type": "object",
    "properties": {
        "path": {"type": "string"},
        "offset": {"type": "integer", "minimum": 1},
        "numbered": {"type": "boolean"},
    },
    "required": ["path"],
    "additionalProperties": False,
})
BASH = ToolSpec("bash", "Run a shell command.", {
    "type": "object",
    "properties": {"command": {"type": "string"}, "timeout": {"type": "number"}},
    "required": ["command"],
})
EDIT = ToolSpec("edit_file", "Replace text in a file.", {
    "type": "object",
    "properties": {"path": {"type": "string"}, "edits": {"type": "array"}, "options": {"type": ["object", "null"]}},
    "required": ["path", "edits"],
    "additionalProperties": False,
})
SPECS = (READ, BASH, EDIT)
READ_SCHEMA = ('{"type": "object", "properties": {"path": {"type": "string"}, "offset": {"type": "integer", '
               '"minimum": 1}, "numbered": {"type": "boolean"}}, "required": ["path"], "additionalProperties": false}')


def test_a_valid_call_is_left_alone():
    assert repair_call("read_file", '{"path": "a.py", "offset": 2}', SPECS) == Repair(
        "read_file", {"path": "a.py", "offset": 2}, repaired=False, error=None)
    assert repair_call("bash", {"command": "ls"}, SPECS) == Repair("bash", {"command": "ls"}, False, None)


def test_empty_arguments_text_means_no_arguments():
    assert repair_call("bash", "", SPECS) == Repair("bash", {}, False, (
        "Your bash call is missing the required argument 'command'. The parameters of bash: "
        '{"type": "object", "properties": {"command": {"type": "string"}, "timeout": {"type": "number"}}, '
        '"required": ["command"]}.'))


# ---- arguments that are not quite JSON ----


@pytest.mark.parametrize("raw", [
    '{"path": "a.py"',  # the closing brace is missing
    '{"path": "a.py",',  # cut after a complete value and its comma
    '{"path": "a.py"} I will read it now.',  # prose after the object
    'Arguments: {"path": "a.py"}',  # prose before it
    '```json\n{"path": "a.py"}\n```',  # in a code fence
    "{'path': 'a.py'}",  # a Python dict literal
    '"{\\"path\\": \\"a.py\\"}"',  # double-encoded: a JSON string holding the object
])
def test_arguments_text_repaired_when_the_object_is_unambiguous(raw):
    assert repair_call("read_file", raw, SPECS) == Repair("read_file", {"path": "a.py"}, True, None)


@pytest.mark.parametrize(("raw", "path"), [
    ('{"path": "say "hi".py"}', 'say "hi".py'),  # quotes inside a string, unescaped
    ('{"path": "x """a.py"""", "limit": 3}', 'x """a.py"""'),  # a docstring's quotes: the last one closes it
    ('{\n  "path": "a "b" c"\n}', 'a "b" c'),
])
def test_unescaped_quotes_inside_strings_are_read_as_text(raw, path):
    fixed = repair_call("read_file", raw, SPECS)
    assert (fixed.arguments["path"], fixed.repaired, fixed.error) == (path, True, None)


def test_nested_brackets_are_closed_in_order():
    raw = '{"path": "a.py", "edits": [{"old": "x", "new": "y"}'
    assert repair_call("edit_file", raw, SPECS) == Repair(
        "edit_file", {"path": "a.py", "edits": [{"old": "x", "new": "y"}]}, True, None)


def test_python_literals_and_single_quoted_json_words_become_json():
    assert repair_call("read_file", "{'path': 'a.py', 'numbered': True, 'offset': None}", SPECS) == Repair(
        "read_file", {"path": "a.py", "numbered": True, "offset": None}, True, None)
    assert repair_call("read_file", "{'path': 'it\\'s.py', 'numbered': false}", SPECS) == Repair(
        "read_file", {"path": "it's.py", "numbered": False}, True, None)


def test_python_values_that_are_not_json_are_refused():
    raw = "{'path': b'a.py'}"
    assert repair_call("read_file", raw, SPECS) == Repair("read_file", {}, False, (
        "The arguments of your read_file call are not a valid JSON object (Expecting property name enclosed in "
        "double quotes at character 1): \"{'path': b'a.py'}\". Send one JSON object with the keys path (required), "
        "offset, numbered."))


@pytest.mark.parametrize("raw, tail", [
    ('{"command": "rm -rf build/ && ma', '{"command": "rm -rf build/ && ma'),  # inside a string
    ('{"command": "ls", "timeout": 1', '{"command": "ls", "timeout": 1'),  # a number that may go on
    ('{"command": "ls", "timeout"', '{"command": "ls", "timeout"'),  # a key without its value
    ('{"command": "ls", "timeout":', '{"command": "ls", "timeout":'),
])
def test_cut_off_arguments_are_refused_where_the_rest_is_unknown(raw, tail):
    assert repair_call("bash", raw, SPECS) == Repair("bash", {}, False, (
        "Your bash call was cut off: its arguments end before the JSON object is complete "
        f"(they end with {tail!r}). Send the whole call again."))


def test_invalid_json_is_refused_with_the_parse_error_and_the_keys():
    raw = "{path: a.py}"
    assert repair_call("read_file", raw, SPECS) == Repair("read_file", {}, False, (
        "The arguments of your read_file call are not a valid JSON object (Expecting property name enclosed in "
        "double quotes at character 1): '{path: a.py}'. Send one JSON object with the keys path (required), offset, "
        "numbered."))


def test_arguments_that_are_not_an_object_are_refused():
    assert repair_call("bash", '["ls", "-la"]', SPECS) == Repair("bash", {}, False, (
        'The arguments of your bash call must be a JSON object with the keys command (required), timeout, not the '
        'list ["ls", "-la"].'))
    assert repair_call("bash", '"ls -la"', SPECS).error == (
        'The arguments of your bash call must be a JSON object with the keys command (required), timeout, not the '
        'string "ls -la".')


# ---- value types ----


def test_values_of_a_near_miss_type_are_coerced_when_nothing_is_lost():
    assert repair_call("read_file", {"path": "a.py", "offset": "5", "numbered": "true"}, SPECS) == Repair(
        "read_file", {"path": "a.py", "offset": 5, "numbered": True}, True, None)
    assert repair_call("read_file", {"path": 7, "offset": 5.0, "numbered": "False"}, SPECS) == Repair(
        "read_file", {"path": "7", "offset": 5, "numbered": False}, True, None)
    assert repair_call("bash", {"command": "sleep 1", "timeout": "2.5"}, SPECS) == Repair(
        "bash", {"command": "sleep 1", "timeout": 2.5}, True, None)
    args = {"path": "a.py", "edits": '[{"old": "x"}]', "options": '{"all": true}'}
    assert repair_call("edit_file", args, SPECS) == Repair(
        "edit_file", {"path": "a.py", "edits": [{"old": "x"}], "options": {"all": True}}, True, None)


def test_a_value_that_does_not_convert_is_refused():
    assert repair_call("read_file", {"path": "a.py", "offset": "2.5"}, SPECS) == Repair(
        "read_file", {"path": "a.py", "offset": "2.5"}, False,
        "Argument 'offset' of read_file must be an integer, not the string \"2.5\".")
    assert repair_call("read_file", {"path": ["a.py"], "numbered": "yes"}, SPECS).error == (
        "Argument 'path' of read_file must be a string, not the list [\"a.py\"]. "
        "Argument 'numbered' of read_file must be true or false, not the string \"yes\".")


def test_null_is_an_optional_argument_left_out_and_a_missing_required_one():
    assert repair_call("read_file", {"path": "a.py", "offset": None}, SPECS) == Repair(
        "read_file", {"path": "a.py", "offset": None}, False, None)
    assert repair_call("edit_file", {"path": "a.py", "edits": [], "options": None}, SPECS) == Repair(
        "edit_file", {"path": "a.py", "edits": [], "options": None}, False, None)
    assert repair_call("read_file", {"path": None}, SPECS).error == (
        f"Your read_file call is missing the required argument 'path'. The parameters of read_file: {READ_SCHEMA}.")


# ---- required and unknown arguments ----


def test_missing_required_arguments_are_named_with_the_schema():
    assert repair_call("edit_file", {"options": {}}, SPECS) == Repair("edit_file", {"options": {}}, False, (
        "Your edit_file call is missing the required arguments 'path', 'edits'. The parameters of edit_file: "
        '{"type": "object", "properties": {"path": {"type": "string"}, "edits": {"type": "array"}, "options": '
        '{"type": ["object", "null"]}}, "required": ["path", "edits"], "additionalProperties": false}.'))


def test_unknown_arguments_are_dropped_when_the_schema_forbids_them_and_the_rest_is_valid():
    assert repair_call("read_file", {"path": "a.py", "encoding": "utf-8"}, SPECS) == Repair(
        "read_file", {"path": "a.py"}, True, None)


def test_unknown_arguments_stay_where_the_schema_allows_them():
    assert repair_call("bash", {"command": "ls", "cwd": "src"}, SPECS) == Repair(
        "bash", {"command": "ls", "cwd": "src"}, False, None)


def test_unknown_arguments_are_named_with_the_other_mistakes():
    assert repair_call("read_file", {"file": "a.py"}, SPECS) == Repair("read_file", {"file": "a.py"}, False, (
        f"Your read_file call is missing the required argument 'path'. The parameters of read_file: {READ_SCHEMA}. "
        "read_file has no argument 'file'; its arguments are path (required), offset, numbered."))


# ---- the tool name ----


@pytest.mark.parametrize("name", ["Read_File", "READ_FILE", "readFile", "read-file", "readfile", "read_flie"])
def test_a_misspelt_tool_name_that_means_one_tool_is_repaired(name):
    assert repair_call(name, {"path": "a.py"}, SPECS) == Repair("read_file", {"path": "a.py"}, True, None)


def test_an_unknown_tool_is_refused_with_the_valid_names():
    assert repair_call("write_file", '{"path": "a.py"}', SPECS) == Repair(
        "write_file", {}, False,
        "Unknown tool 'write_file'. Available tools: read_file, bash, edit_file.")
    assert repair_call("cat", {"path": "a.py"}, SPECS).error == (
        "Unknown tool 'cat'. Available tools: read_file, bash, edit_file.")


def test_a_name_close_to_two_tools_is_refused():
    specs = (ToolSpec("grep_files", "", {"type": "object"}), ToolSpec("grep_filez", "", {"type": "object"}))
    assert repair_call("grep_filex", {}, specs) == Repair(
        "grep_filex", {}, False, "Unknown tool 'grep_filex'. Available tools: grep_files, grep_filez.")


def test_a_repaired_name_and_repaired_arguments_are_reported_together():
    assert repair_call("Bash", "{'command': 'ls'}", SPECS) == Repair("bash", {"command": "ls"}, True, None)
    assert repair_call("Bash", '{"command": "ls', SPECS) == Repair("bash", {}, True, (
        "Your bash call was cut off: its arguments end before the JSON object is complete (they end with "
        "'{\"command\": \"ls'). Send the whole call again."))


@pytest.mark.parametrize("command", ["read_file out/bash-1.txt", "bash -c 'read_file out/bash-1.txt'"])
def test_a_tool_sent_to_the_shell_with_its_one_required_argument_becomes_that_tools_call(command):
    assert repair_call("bash", {"command": command}, SPECS) == Repair("read_file", {"path": "out/bash-1.txt"}, True)


def test_a_tool_sent_to_the_shell_otherwise_is_refused_with_what_it_is():
    command = "edit_file a.py 'x' 'y'"
    found = repair_call("bash", {"command": command}, SPECS)
    assert found.call_name == "bash" and found.error == (
        "`edit_file` is one of your tools, not a shell command: call the edit_file tool itself, with the arguments "
        "path (required), edits (required), options.")


@pytest.mark.parametrize("command", ["grep -rn read_file src", "cat read_file", "echo 'read_file x", "ls"])
def test_other_commands_are_left_alone(command):
    assert repair_call("bash", {"command": command}, SPECS) == Repair("bash", {"command": command})
