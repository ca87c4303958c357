"""Qwen3-Coder tool calls: XML-ish `<function=NAME>` with one `<parameter=KEY>` block per argument, values as
raw text (typed by the tool's schema when we know it).

Source: Qwen3-Coder's chat_template.jinja (Qwen/Qwen3-Coder-480B-A35B-Instruct; vLLM ships the same file as
examples/tool_chat_template_qwen3coder.jinja) and vLLM's `qwen3_coder` tool parser.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Collection, Mapping, Sequence

from ...tools.arguments import coerce
from ...types import ToolCall, ToolSpec
from .parsed import Found, ParsedText, dumps, parsed, schema_of

_TOOL_CALL = re.compile(r"<tool_call>(.*?)(?:</tool_call>|(?=<tool_call>)|$)", re.DOTALL)
_FUNCTION = re.compile(r"<function=([^>\n]*)>(.*?)(?:</function>|(?=<function=)|$)", re.DOTALL)
_PARAMETER = re.compile(r"<parameter=([^>\n]*)>(.*?)(?:</parameter>|(?=<parameter=)|(?=</function>)|$)", re.DOTALL)

_INSTRUCTIONS = """If you choose to call a function ONLY reply in the following format with NO suffix:

<tool_call>
<function=example_function_name>
<parameter=example_parameter_1>
value_1
</parameter>
<parameter=example_parameter_2>
This is the value for the second parameter
that can span
multiple lines
</parameter>
</function>
</tool_call>

<IMPORTANT>
Reminder:
- Function calls MUST follow the specified format: an inner <function=...></function> block must be nested within \
<tool_call></tool_call> XML tags
- Required parameters MUST be specified
- You may provide optional reasoning for your function call in natural language BEFORE the function call, but NOT after
- If there is no function call available, answer the question like normal with your current knowledge and do not \
tell the user about function calls
</IMPORTANT>"""


@dataclass(frozen=True)
class Qwen3Coder:
    name: str = "qwen3_coder"

    def render_tools(self, specs: Sequence[ToolSpec]) -> str:
        tools = "".join(_function(spec) for spec in specs)
        return f"# Tools\n\nYou have access to the following functions:\n\n<tools>{tools}\n</tools>\n\n{_INSTRUCTIONS}"

    def render_call(self, call: ToolCall) -> str:
        params = "".join(f"<parameter={key}>\n{_text(value)}\n</parameter>\n" for key, value in call.arguments.items())
        return f"<tool_call>\n<function={call.name}>\n{params}</function>\n</tool_call>"

    def render_result(self, name: str, content: str) -> str:
        return f"<tool_response>\n{content}\n</tool_response>"

    def parse(self, text: str, tool_names: Collection[str], id_prefix: str = "call",
              specs: Sequence[ToolSpec] = ()) -> ParsedText:
        blocks = [m for m in _TOOL_CALL.finditer(text) if "<function=" in m.group(1)]
        if blocks:
            found = [Found(b.span(), *_call(f, specs)) for b in blocks for f in _FUNCTION.finditer(b.group(1))]
        else:  # the tags left out altogether, as vLLM also accepts
            found = [Found(f.span(), *_call(f, specs)) for f in _FUNCTION.finditer(text)]
        return parsed(text, found, id_prefix)


def _call(function: re.Match[str], specs: Sequence[ToolSpec]) -> tuple[str, dict[str, Any]]:
    name = function.group(1).strip()
    args = {}
    for param in _PARAMETER.finditer(function.group(2)):
        key, value = param.group(1).strip(), param.group(2)
        value = value[1:] if value.startswith("\n") else value  # the template puts the value on lines of its own
        value = value[:-1] if value.endswith("\n") else value
        schema = schema_of(specs, name, key)
        args[key] = value if schema is None else coerce(value, schema)
    return name, args


def _function(spec: ToolSpec) -> str:
    params = spec.parameters
    props = params.get("properties", {})
    out = f"\n<function>\n<name>{spec.name}</name>\n<description>{spec.description.strip()}</description>\n<parameters>"
    for key, field in props.items():
        out += f"\n<parameter>\n<name>{key}</name>"
        if "type" in field:
            out += f"\n<type>{_jinja_string(field['type'])}</type>"
        if "description" in field:
            out += f"\n<description>{str(field['description']).strip()}</description>"
        out += _extra_keys(field, ("name", "type", "description")) + "\n</parameter>"
    return out + _extra_keys(params, ("type", "properties")) + "\n</parameters>\n</function>"


def _extra_keys(fields: Mapping[str, Any], handled: tuple[str, ...]) -> str:
    return "".join(f"\n<{key}>{_text(value)}</{key}>" for key, value in fields.items() if key not in handled)


def _text(value: Any) -> str:
    """A value as the template writes it: objects and lists as JSON, anything else as Jinja's `string`."""
    if isinstance(value, (Mapping, list, tuple)):
        return dumps(value)
    return _jinja_string(value)


def _jinja_string(value: Any) -> str:
    return str(value)  # Python's str, as Jinja's `string` filter: True, not true


FORMAT = Qwen3Coder()
