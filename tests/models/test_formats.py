"""Golden vectors for the text tool-call formats, both directions.

The render_* vectors were checked by rendering each family's own chat template with Jinja2 (trim_blocks and
lstrip_blocks, `tojson` as transformers defines it) for these SPECS; the parse vectors are the families' real
output as their templates write it, or as vLLM's tool-parser tests record it. Each test names its source.
"""

import pytest

from luban.models.formats import FORMATS, ParsedText, parse_any
from luban.types import ToolCall, ToolSpec

READ = ToolSpec("read_file", "Read a text file.", {
    "type": "object",
    "properties": {
        "path": {"type": "string", "description": "The file to read."},
        "offset": {"type": "integer", "minimum": 1, "default": 1, "description": "First line to show."},
    },
    "required": ["path"],
    "additionalProperties": False,
})
BASH = ToolSpec("bash", "Run a shell command.", {
    "type": "object", "properties": {"command": {"type": "string", "description": "The command."}},
    "required": ["command"]})
SPECS = (READ, BASH)
NAMES = ("read_file", "bash")
CALL = ToolCall("c", "read_file", {"path": "a.py", "offset": 3})
RESULT = "1\tprint('hi')"

# The tools as `tool | tojson` writes them (Qwen3, GLM and vLLM's DeepSeek-V3 templates list them this way).
READ_JSON = ('{"type": "function", "function": {"name": "read_file", "description": "Read a text file.", '
             '"parameters": {"type": "object", "properties": {"path": {"type": "string", "description": '
             '"The file to read."}, "offset": {"type": "integer", "minimum": 1, "default": 1, "description": '
             '"First line to show."}}, "required": ["path"], "additionalProperties": false}}}')
BASH_JSON = ('{"type": "function", "function": {"name": "bash", "description": "Run a shell command.", '
             '"parameters": {"type": "object", "properties": {"command": {"type": "string", "description": '
             '"The command."}}, "required": ["command"]}}}')


def calls(*pairs):
    return tuple(ToolCall(f"call_{i}", name, args) for i, (name, args) in enumerate(pairs))


def test_the_registry_names_every_format():
    assert sorted(FORMATS) == ["deepseek_v3", "deepseek_v31", "fenced_json", "glm", "glm47", "gpt_oss", "hermes",
                               "llama3_json", "qwen3_coder"]
    assert all(name == fmt.name for name, fmt in FORMATS.items())


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_a_rendered_call_parses_back_to_the_same_call(name):
    fmt = FORMATS[name]
    call = ToolCall("x", "read_file", {"path": "src/a b.py", "offset": 3})
    assert fmt.parse(fmt.render_call(call), NAMES, "x", SPECS) == ParsedText(
        "", (ToolCall("x_0", "read_file", {"path": "src/a b.py", "offset": 3}),))


# ---- hermes: Qwen2.5 / Qwen3 ----


def test_hermes_render_tools_is_the_qwen3_template_tool_section():
    # Qwen3 tokenizer_config.json chat template (llama.cpp models/templates/Qwen-Qwen3-0.6B.jinja).
    assert FORMATS["hermes"].render_tools(SPECS) == (
        "# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
        "You are provided with function signatures within <tools></tools> XML tags:\n<tools>\n"
        f"{READ_JSON}\n{BASH_JSON}\n</tools>\n\n"
        "For each function call, return a json object with function name and arguments within <tool_call></tool_call>"
        ' XML tags:\n<tool_call>\n{"name": <function-name>, "arguments": <args-json-object>}\n</tool_call>')


def test_hermes_render_call_and_result():
    # Qwen3 chat template: assistant tool_calls and the tool role.
    fmt = FORMATS["hermes"]
    assert fmt.render_call(CALL) == (
        '<tool_call>\n{"name": "read_file", "arguments": {"path": "a.py", "offset": 3}}\n</tool_call>')
    assert fmt.render_result("read_file", RESULT) == "<tool_response>\n1\tprint('hi')\n</tool_response>"


def test_hermes_two_calls_with_prose_before_as_qwen3_writes_them():
    # Qwen3 template: content, then "\n" before each <tool_call>.
    text = ("I'll look first.\n<tool_call>\n{\"name\": \"read_file\", \"arguments\": {\"path\": \"a.py\"}}\n"
            "</tool_call>\n<tool_call>\n{\"name\": \"bash\", \"arguments\": {\"command\": \"ls\"}}\n</tool_call>")
    assert FORMATS["hermes"].parse(text, NAMES, "call") == ParsedText(
        "I'll look first.", calls(("read_file", {"path": "a.py"}), ("bash", {"command": "ls"})))


def test_hermes_missing_closing_tag_extra_whitespace_and_prose_after():
    text = '<tool_call>   {"name": "bash",\n  "arguments": {"command": "pytest"}}  \n\nRunning the tests.'
    assert FORMATS["hermes"].parse(text, NAMES) == ParsedText(
        "Running the tests.", calls(("bash", {"command": "pytest"})))
    text = '<tool_call>{"name": "bash", "arguments": {"command": "ls"}}</tool_call> Then I read.'
    assert FORMATS["hermes"].parse(text, NAMES) == ParsedText("Then I read.", calls(("bash", {"command": "ls"})))


def test_hermes_unknown_tool_and_broken_json_are_calls_kept_for_repair():
    text = ("<tool_call>\n{\"name\": \"run\", \"arguments\": {}}\n</tool_call>"
            "<tool_call>\n{\"name\": \"bash\", \"arguments\": {'command': 'ls'}}\n</tool_call>"
            "<tool_call>\n{\"name\": \"read_file\", \"arguments\": {\"path\": \"a.p")
    assert FORMATS["hermes"].parse(text, NAMES).calls == (
        ToolCall("call_0", "run", {}), ToolCall("call_1", "bash", {}, raw="{'command': 'ls'}"),
        ToolCall("call_2", "read_file", {}, raw='{"path": "a.p'))


def test_hermes_leaves_other_families_tool_call_bodies_alone():
    text = "<tool_call>\n<function=bash>\n<parameter=command>\nls\n</parameter>\n</function>\n</tool_call>"
    assert FORMATS["hermes"].parse(text, NAMES) == ParsedText(text, ())


# ---- qwen3_coder ----


def test_qwen3_coder_render_tools_is_the_qwen3_coder_template_tool_section():
    # Qwen3-Coder chat_template.jinja (vLLM examples/tool_chat_template_qwen3coder.jinja); Jinja's `string` of
    # False is "False".
    assert FORMATS["qwen3_coder"].render_tools(SPECS) == (
        "# Tools\n\nYou have access to the following functions:\n\n<tools>\n<function>\n<name>read_file</name>\n"
        "<description>Read a text file.</description>\n<parameters>\n<parameter>\n<name>path</name>\n"
        "<type>string</type>\n<description>The file to read.</description>\n</parameter>\n<parameter>\n"
        "<name>offset</name>\n<type>integer</type>\n<description>First line to show.</description>\n"
        "<minimum>1</minimum>\n<default>1</default>\n</parameter>\n<required>[\"path\"]</required>\n"
        "<additionalProperties>False</additionalProperties>\n</parameters>\n</function>\n<function>\n"
        "<name>bash</name>\n<description>Run a shell command.</description>\n<parameters>\n<parameter>\n"
        "<name>command</name>\n<type>string</type>\n<description>The command.</description>\n</parameter>\n"
        "<required>[\"command\"]</required>\n</parameters>\n</function>\n</tools>\n\n"
        "If you choose to call a function ONLY reply in the following format with NO suffix:\n\n<tool_call>\n"
        "<function=example_function_name>\n<parameter=example_parameter_1>\nvalue_1\n</parameter>\n"
        "<parameter=example_parameter_2>\nThis is the value for the second parameter\nthat can span\nmultiple lines\n"
        "</parameter>\n</function>\n</tool_call>\n\n<IMPORTANT>\nReminder:\n"
        "- Function calls MUST follow the specified format: an inner <function=...></function> block must be nested "
        "within <tool_call></tool_call> XML tags\n- Required parameters MUST be specified\n"
        "- You may provide optional reasoning for your function call in natural language BEFORE the function call, "
        "but NOT after\n- If there is no function call available, answer the question like normal with your current "
        "knowledge and do not tell the user about function calls\n</IMPORTANT>")


def test_qwen3_coder_render_call_and_result():
    # Qwen3-Coder chat template: objects as JSON, other values through Jinja's `string` (True, not true).
    fmt = FORMATS["qwen3_coder"]
    call = ToolCall("c", "edit", {"path": "a.py", "n": 3, "all": True, "opts": {"a": [1]}})
    assert fmt.render_call(call) == (
        "<tool_call>\n<function=edit>\n<parameter=path>\na.py\n</parameter>\n<parameter=n>\n3\n</parameter>\n"
        "<parameter=all>\nTrue\n</parameter>\n<parameter=opts>\n{\"a\": [1]}\n</parameter>\n</function>\n</tool_call>")
    assert fmt.render_result("edit", "done") == "<tool_response>\ndone\n</tool_response>"


AREA = ToolSpec("calculate_area", "Calculate area of a shape", {"type": "object", "properties": {
    "shape": {"type": "string"}, "dimensions": {"type": "object"}, "precision": {"type": "integer"}}})


def test_qwen3_coder_values_take_the_schema_type():
    # vLLM tests/tool_use/test_qwen3coder_tool_parser.py, "single_tool_multiline_param".
    text = ("<tool_call>\n<function=calculate_area>\n<parameter=shape>\nrectangle\n</parameter>\n"
            "<parameter=dimensions>\n{\"width\": 10, \n \"height\": 20}\n</parameter>\n<parameter=precision>\n2\n"
            "</parameter>\n</function>\n</tool_call>")
    assert FORMATS["qwen3_coder"].parse(text, ["calculate_area"], "call", [AREA]) == ParsedText("", calls(
        ("calculate_area", {"shape": "rectangle", "dimensions": {"width": 10, "height": 20}, "precision": 2})))
    assert FORMATS["qwen3_coder"].parse(text, ["calculate_area"]).calls == calls(
        ("calculate_area",
         {"shape": "rectangle", "dimensions": "{\"width\": 10, \n \"height\": 20}", "precision": "2"}))


def test_qwen3_coder_two_calls_with_prose_and_multiline_value():
    # vLLM qwen3coder parser tests: "single_tool_with_content" and "parallel_tools" shapes.
    text = ("Sure! Let me check.<tool_call>\n<function=bash>\n<parameter=command>\ncd src &&\n  ls -la\n</parameter>\n"
            "</function>\n</tool_call>\n<tool_call>\n<function=read_file>\n<parameter=path>\na.py\n</parameter>\n"
            "</function>\n</tool_call>")
    assert FORMATS["qwen3_coder"].parse(text, NAMES, "call", SPECS) == ParsedText("Sure! Let me check.", calls(
        ("bash", {"command": "cd src &&\n  ls -la"}), ("read_file", {"path": "a.py"})))


def test_qwen3_coder_missing_closing_tags_and_no_tool_call_tags():
    # vLLM accepts a <function=...> without <tool_call> ("fallback_no_tags") and values cut at the next tag.
    text = "<function=read_file>\n<parameter=path>\na.py\n<parameter=offset>\n7\n</function>"
    assert FORMATS["qwen3_coder"].parse(text, NAMES, "call", SPECS) == ParsedText(
        "", calls(("read_file", {"path": "a.py", "offset": 7})))
    text = "Reading.\n<tool_call>\n<function=reed>\n<parameter=path>\na.py\n</parameter>\n"
    assert FORMATS["qwen3_coder"].parse(text, NAMES) == ParsedText("Reading.", calls(("reed", {"path": "a.py"})))


# ---- glm: GLM-4.5 / 4.6 / 4.7 ----


GLM_TOOLS = (
    "# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
    "You are provided with function signatures within <tools></tools> XML tags:\n"
    f"<tools>\n{READ_JSON}\n{BASH_JSON}\n</tools>\n\n"
    "For each function call, output the function name and arguments within the following XML format:\n")


def test_glm_render_tools_is_the_glm_template_tool_section():
    # zai-org GLM-4.5/4.6 chat template (llama.cpp models/templates/glm_4_5.jinja) and GLM-4.7-Flash's.
    assert FORMATS["glm"].render_tools(SPECS) == GLM_TOOLS + (
        "<tool_call>{function-name}\n<arg_key>{arg-key-1}</arg_key>\n<arg_value>{arg-value-1}</arg_value>\n"
        "<arg_key>{arg-key-2}</arg_key>\n<arg_value>{arg-value-2}</arg_value>\n...\n</tool_call>")
    assert FORMATS["glm47"].render_tools(SPECS) == GLM_TOOLS + (
        "<tool_call>{function-name}<arg_key>{arg-key-1}</arg_key><arg_value>{arg-value-1}</arg_value>"
        "<arg_key>{arg-key-2}</arg_key><arg_value>{arg-value-2}</arg_value>...</tool_call>")


def test_glm_render_call_and_result():
    # GLM-4.5 template: `v | tojson if v is not string else v`; tool results in <tool_response> after <|observation|>.
    call = ToolCall("c", "edit", {"path": "a.py", "n": 3, "all": True})
    assert FORMATS["glm"].render_call(call) == (
        "<tool_call>edit\n<arg_key>path</arg_key>\n<arg_value>a.py</arg_value>\n<arg_key>n</arg_key>\n"
        "<arg_value>3</arg_value>\n<arg_key>all</arg_key>\n<arg_value>true</arg_value>\n</tool_call>")
    assert FORMATS["glm47"].render_call(call) == ("<tool_call>edit<arg_key>path</arg_key><arg_value>a.py</arg_value>"
                                                  "<arg_key>n</arg_key><arg_value>3</arg_value><arg_key>all</arg_key>"
                                                  "<arg_value>true</arg_value></tool_call>")
    assert FORMATS["glm"].render_result("edit", "ok") == "<tool_response>\nok\n</tool_response>"
    assert FORMATS["glm47"].render_result("edit", "ok") == "<tool_response>ok</tool_response>"


def test_glm_two_indented_calls_with_prose_before():
    # vLLM tests/tool_use/test_glm4_moe_tool_parser.py, "multiple_tool_calls" with content before.
    text = ("I'll help you check the weather. <tool_call>get_current_weather\n    <arg_key>city</arg_key>\n"
            "    <arg_value>Dallas</arg_value>\n    <arg_key>state</arg_key>\n    <arg_value>TX</arg_value>\n"
            "    </tool_call>\n    <tool_call>get_current_weather\n    <arg_key>city</arg_key>\n"
            "    <arg_value>Orlando</arg_value>\n    </tool_call>")
    assert FORMATS["glm"].parse(text, ["get_current_weather"]) == ParsedText("I'll help you check the weather.", calls(
        ("get_current_weather", {"city": "Dallas", "state": "TX"}), ("get_current_weather", {"city": "Orlando"})))


def test_glm47_compact_call_no_arguments_and_unclosed_tag():
    # GLM-4.7 template layout; vLLM glm4_moe tests "empty_arguments" and "incomplete_tool_call".
    text = ("<tool_call>read_file<arg_key>path</arg_key><arg_value>a.py</arg_value><arg_key>offset</arg_key>"
            "<arg_value>5</arg_value></tool_call><tool_call>get_current_time\n</tool_call>"
            "<tool_call>bash\n<arg_key>command</arg_key>\n<arg_value>ls</arg_value>")
    assert FORMATS["glm47"].parse(text, NAMES, "call", SPECS) == ParsedText("", calls(
        ("read_file", {"path": "a.py", "offset": 5}), ("get_current_time", {}), ("bash", {"command": "ls"})))


def test_glm_json_values_take_the_schema_type_and_strings_stay_raw():
    spec = ToolSpec("t", "", {"type": "object", "properties": {
        "tags": {"type": "array"}, "deep": {"type": "boolean"}, "note": {"type": "string"}}})
    text = '<tool_call>t\n<arg_key>tags</arg_key>\n<arg_value>["a", "b"]</arg_value>\n<arg_key>deep</arg_key>\n' \
           '<arg_value>false</arg_value>\n<arg_key>note</arg_key>\n<arg_value> 42 </arg_value>\n</tool_call>'
    assert FORMATS["glm"].parse(text, ["t"], "call", [spec]).calls == calls(
        ("t", {"tags": ["a", "b"], "deep": False, "note": " 42 "}))


# ---- deepseek: V3 / R1 and V3.1 ----


def test_deepseek_v3_render_tools_is_vllms_deepseek_v3_tool_prompt():
    # vLLM examples/tool_chat_template_deepseekv3.jinja (DeepSeek's own V3 template renders no tools).
    assert FORMATS["deepseek_v3"].render_tools(SPECS) == (
        "# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
        "You are provided with function signatures within <tools></tools> XML tags:\n"
        f"<tools>\n{READ_JSON}\n{BASH_JSON}\n</tools>\n\n"
        "For function call returns, you should first print <｜tool▁calls▁begin｜>\n"
        "For each function call, you should return object like:\n"
        "<｜tool▁call▁begin｜>function<｜tool▁sep｜><function_name>\n```json\n<function_arguments_in_json_format>\n"
        "```<｜tool▁call▁end｜>\nAt the end of function call returns, you should print "
        "<｜tool▁calls▁end｜><｜end▁of▁sentence｜>")


def test_deepseek_v31_render_tools_is_the_model_cards_tool_prompt():
    # DeepSeek-V3.1 model card, "ToolCall" section: one "### name" block per tool, json.dumps(parameters).
    assert FORMATS["deepseek_v31"].render_tools(SPECS) == (
        "## Tools\nYou have access to the following tools:\n\n### read_file\nDescription: Read a text file.\n\n"
        'Parameters: {"type": "object", "properties": {"path": {"type": "string", "description": "The file to read."}, '
        '"offset": {"type": "integer", "minimum": 1, "default": 1, "description": "First line to show."}}, '
        '"required": ["path"], "additionalProperties": false}\n\n### bash\nDescription: Run a shell command.\n\n'
        'Parameters: {"type": "object", "properties": {"command": {"type": "string", "description": "The command."}}, '
        '"required": ["command"]}\n\n'
        "IMPORTANT: ALWAYS adhere to this exact format for tool use:\n<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>"
        "tool_call_name<｜tool▁sep｜>tool_call_arguments<｜tool▁call▁end｜>{additional_tool_calls}<｜tool▁calls▁end｜>"
        "\n\nWhere:\n- `tool_call_name` must be an exact match to one of the available tools\n"
        "- `tool_call_arguments` must be valid JSON that strictly follows the tool's Parameters Schema\n"
        "- For multiple tool calls, chain them directly without separators or spaces")


def test_deepseek_render_call_and_result_per_variant():
    # DeepSeek-R1 / vLLM deepseekv3 templates (fenced arguments, tool outputs block) and the V3.1 template.
    assert FORMATS["deepseek_v3"].render_call(CALL) == (
        "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>read_file\n```json\n"
        '{"path": "a.py", "offset": 3}\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜>')
    assert FORMATS["deepseek_v31"].render_call(CALL) == (
        '<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>read_file<｜tool▁sep｜>{"path": "a.py", "offset": 3}'
        "<｜tool▁call▁end｜><｜tool▁calls▁end｜>")
    assert FORMATS["deepseek_v3"].render_result("read_file", "ok") == (
        "<｜tool▁outputs▁begin｜><｜tool▁output▁begin｜>ok<｜tool▁output▁end｜><｜tool▁outputs▁end｜>")
    assert FORMATS["deepseek_v31"].render_result("read_file", "ok") == "<｜tool▁output▁begin｜>ok<｜tool▁output▁end｜>"


def test_deepseek_v31_two_calls_with_prose_around():
    # vLLM tests/tool_use/test_deepseekv31_tool_parser.py, "with_multiple_tools".
    text = ('some prefix text<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>foo<｜tool▁sep｜>{"x":1}<｜tool▁call▁end｜>'
            '<｜tool▁call▁begin｜>bar<｜tool▁sep｜>{"y":2}<｜tool▁call▁end｜><｜tool▁calls▁end｜> some suffix text')
    assert FORMATS["deepseek_v31"].parse(text, ["foo", "bar"]) == ParsedText(
        "some prefix text some suffix text", calls(("foo", {"x": 1}), ("bar", {"y": 2})))


def test_deepseek_v3_fenced_calls_parse_with_either_variant():
    # DeepSeek-R1 chat template: a second call follows the first after "\n".
    text = ("<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>read_file\n```json\n{\"path\": \"a.py\"}\n"
            "```<｜tool▁call▁end｜>\n<｜tool▁call▁begin｜>function<｜tool▁sep｜>bash\n```json\n{\"command\": \"ls\"}\n```"
            "<｜tool▁call▁end｜><｜tool▁calls▁end｜>")
    expected = ParsedText("", calls(("read_file", {"path": "a.py"}), ("bash", {"command": "ls"})))
    assert FORMATS["deepseek_v3"].parse(text, NAMES) == expected
    assert FORMATS["deepseek_v31"].parse(text, NAMES) == expected


def test_deepseek_cut_off_and_ascii_spelled_tokens():
    text = 'Let me run it.<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>bash<｜tool▁sep｜>{"command": "ls'
    assert FORMATS["deepseek_v31"].parse(text, NAMES) == ParsedText(
        "Let me run it.", (ToolCall("call_0", "bash", {}, raw='{"command": "ls'),))
    text = '<|tool_calls_begin|><|tool_call_begin|>bash<|tool_sep|>{"command": "ls"}<|tool_call_end|><|tool_calls_end|>'
    assert FORMATS["deepseek_v31"].parse(text, NAMES) == ParsedText("", calls(("bash", {"command": "ls"})))
    text = "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>bash\n```json\n{\"command\": \"ls\"}"
    assert FORMATS["deepseek_v3"].parse(text, NAMES) == ParsedText("", calls(("bash", {"command": "ls"})))
    text = "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>bash"
    assert FORMATS["deepseek_v3"].parse(text, NAMES) == ParsedText("", calls(("bash", {})))


# ---- llama3_json: Llama 3.1-3.3 ----


def test_llama3_render_tools_call_and_result():
    # vLLM examples/tool_chat_template_llama3.1_json.jinja with tools in the system message (Meta's template
    # has the same words without the spaces between sentences); results: Meta's template, `content | tojson`.
    fmt = FORMATS["llama3_json"]
    assert fmt.render_tools([BASH]) == (
        "You have access to the following functions. To call a function, please respond with JSON for a function "
        'call. Respond in the format {"name": function name, "parameters": dictionary of argument name and its '
        'value}. Do not use variables.\n\n{\n    "type": "function",\n    "function": {\n        "name": "bash",\n'
        '        "description": "Run a shell command.",\n        "parameters": {\n            "type": "object",\n'
        '            "properties": {\n                "command": {\n                    "type": "string",\n'
        '                    "description": "The command."\n                }\n            },\n'
        '            "required": [\n                "command"\n            ]\n        }\n    }\n}')
    assert fmt.render_call(CALL) == '{"name": "read_file", "parameters": {"path": "a.py", "offset": 3}}'
    assert fmt.render_result("read_file", RESULT) == "\"1\\tprint('hi')\""


def test_llama3_bare_call_in_prose_and_calls_separated_by_semicolons():
    # vLLM tests for the llama3_json parser: "simple" and "multiple_json".
    text = 'Here is the result: {"name": "getOpenIncidentsTool", "parameters": {}} Would you like to know more?'
    assert FORMATS["llama3_json"].parse(text, ["getOpenIncidentsTool"]) == ParsedText(
        "Here is the result:  Would you like to know more?", calls(("getOpenIncidentsTool", {})))
    text = ('{"name": "searchTool", "parameters": {"query": "test1"}}; {"name": "getOpenIncidentsTool", '
            '"parameters": {}}; {"name": "searchTool", "parameters": {"query": "test2"}}')
    assert FORMATS["llama3_json"].parse(text, []) == ParsedText("", calls(
        ("searchTool", {"query": "test1"}), ("getOpenIncidentsTool", {}), ("searchTool", {"query": "test2"})))


def test_llama3_python_tag_arguments_spelling_and_plain_json():
    text = '<|python_tag|>{"name": "bash", "arguments": {"command": "ls"}}'
    assert FORMATS["llama3_json"].parse(text, NAMES) == ParsedText("", calls(("bash", {"command": "ls"})))
    text = 'The config is {"name": "Ada", "age": 36}.'
    assert FORMATS["llama3_json"].parse(text, NAMES) == ParsedText(text, ())


# ---- fenced_json: what Qwen2.5-Coder GGUFs write ----


def test_fenced_json_render_tools_call_and_result():
    fmt = FORMATS["fenced_json"]
    assert fmt.render_tools([BASH]) == (
        "# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
        "You are provided with function signatures within <tools></tools> XML tags:\n"
        f"<tools>\n{BASH_JSON}\n</tools>\n\n"
        "For each function call, return a json object with function name and arguments within a ```json fenced "
        'block:\n```json\n{"name": <function-name>, "arguments": <args-json-object>}\n```')
    assert fmt.render_call(CALL) == '```json\n{"name": "read_file", "arguments": {"path": "a.py", "offset": 3}}\n```'
    assert fmt.render_result("read_file", "ok") == "<tool_response>\nok\n</tool_response>"


def test_fenced_json_two_fences_and_the_tools_tag_variant():
    text = ('First:\n```json\n{"name": "read_file", "arguments": {"path": "a.py"}}\n```\nThen:\n```json\n'
            '{"name": "bash", "arguments": {"command": "ls"}}\n```')
    assert FORMATS["fenced_json"].parse(text, NAMES) == ParsedText(
        "First:\n\nThen:", calls(("read_file", {"path": "a.py"}), ("bash", {"command": "ls"})))
    # vLLM examples/tool_chat_template_qwen2_5_coder.jinja: calls in <tools> tags.
    text = '<tools>\n{"name": "bash", "arguments": {"command": "ls"}}\n</tools>'
    assert FORMATS["fenced_json"].parse(text, NAMES) == ParsedText("", calls(("bash", {"command": "ls"})))


# ---- gpt_oss: harmony ----


def test_gpt_oss_render_tools_is_the_templates_functions_namespace():
    # openai/gpt-oss-120b chat template (llama.cpp models/templates/openai-gpt-oss-120b.jinja), trailing comma and all.
    assert FORMATS["gpt_oss"].render_tools(SPECS) == (
        "# Tools\n\n## functions\n\nnamespace functions {\n\n// Read a text file.\ntype read_file = (_: {\n"
        "// The file to read.\npath: string,\n// First line to show.\noffset?: number, // default: 1,\n}) => any;\n\n"
        "// Run a shell command.\ntype bash = (_: {\n// The command.\ncommand: string,\n}) => any;\n\n"
        "} // namespace functions")


def test_gpt_oss_render_call_and_result():
    # Harmony guide for the call; gpt-oss template for the tool message (content | tojson).
    assert FORMATS["gpt_oss"].render_call(CALL) == (
        "<|start|>assistant<|channel|>commentary to=functions.read_file <|constrain|>json<|message|>"
        '{"path": "a.py", "offset": 3}<|call|>')
    assert FORMATS["gpt_oss"].render_result("read_file", RESULT) == (
        "<|start|>functions.read_file to=assistant<|channel|>commentary<|message|>\"1\\tprint('hi')\"<|end|>")


def test_gpt_oss_calls_in_both_header_orders_after_analysis():
    # Harmony guide (recipient after the channel) and the gpt-oss template (recipient after the role).
    text = ("<|channel|>analysis<|message|>Need the file.<|end|><|start|>assistant<|channel|>commentary "
            'to=functions.read_file <|constrain|>json<|message|>{"path":"a.py"}<|call|>'
            '<|start|>assistant to=functions.bash<|channel|>commentary json<|message|>{"command": "ls"}<|call|>')
    assert FORMATS["gpt_oss"].parse(text, NAMES) == ParsedText(
        "<|channel|>analysis<|message|>Need the file.<|end|>",
        calls(("read_file", {"path": "a.py"}), ("bash", {"command": "ls"})))


# ---- parse_any and the old entry point ----


@pytest.mark.parametrize("text, expected", [
    ("<tool_call>\n<function=bash>\n<parameter=command>\nls\n</parameter>\n</function>\n</tool_call>",
     ParsedText("", calls(("bash", {"command": "ls"})))),
    ("Ok.\n<tool_call>bash\n<arg_key>command</arg_key>\n<arg_value>ls</arg_value>\n</tool_call>",
     ParsedText("Ok.", calls(("bash", {"command": "ls"})))),
    ('<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>bash<｜tool▁sep｜>{"command": "ls"}<｜tool▁call▁end｜><｜tool▁calls▁end｜>',
     ParsedText("", calls(("bash", {"command": "ls"})))),
    ('<|channel|>commentary to=functions.bash <|constrain|>json<|message|>{"command": "ls"}<|call|>',
     ParsedText("", calls(("bash", {"command": "ls"})))),
    ('<tool_call>\n{"name": "bash", "arguments": {"command": "ls"}}\n</tool_call>',
     ParsedText("", calls(("bash", {"command": "ls"})))),
    ('Run {"name": "bash", "parameters": {"command": "ls"}}', ParsedText("Run", calls(("bash", {"command": "ls"})))),
    ("All done: the tests pass.", ParsedText("All done: the tests pass.", ())),
])
def test_parse_any_finds_a_call_in_any_familys_format(text, expected):
    assert parse_any(text, NAMES) == expected


def test_parse_any_reads_hermes_before_fences():
    text = ('```json\n{"name": "read_file", "arguments": {"path": "b.py"}}\n```\n'
            '<tool_call>\n{"name": "bash", "arguments": {"command": "ls"}}\n</tool_call>')
    assert parse_any(text, NAMES) == ParsedText(
        '```json\n{"name": "read_file", "arguments": {"path": "b.py"}}\n```', calls(("bash", {"command": "ls"})))
