"""GLM tool calls (GLM-4.5, 4.6, 4.7, 5): `<tool_call>NAME` then `<arg_key>`/`<arg_value>` pairs; a string value
is written raw, any other value as JSON.

Source: the chat templates of zai-org/GLM-4.5 and GLM-4.6 (one pair per line) and GLM-4.7 (no newlines), as
llama.cpp keeps them in models/templates/, and vLLM's `glm45` tool parser. Both layouts parse with either FORMAT.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Collection, Sequence

from ...tools.arguments import coerce
from ...types import ToolCall, ToolSpec
from .parsed import Found, ParsedText, dumps, parsed, schema_of, wire_tool

_TOOL_CALL = re.compile(r"<tool_call>(.*?)(?:</tool_call>|(?=<tool_call>)|$)", re.DOTALL)
_HEAD = re.compile(r"\s*([^\s<>{}\[\]\"']+)\s*(?=<arg_key>|$)")
_ARG = re.compile(r"<arg_key>(.*?)</arg_key>\s*<arg_value>(.*?)(?:</arg_value>|(?=<arg_key>)|$)", re.DOTALL)

_HEADER = ("# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
           "You are provided with function signatures within <tools></tools> XML tags:\n<tools>")
_LAYOUT = ["<tool_call>{function-name}", "<arg_key>{arg-key-1}</arg_key>", "<arg_value>{arg-value-1}</arg_value>",
           "<arg_key>{arg-key-2}</arg_key>", "<arg_value>{arg-value-2}</arg_value>", "...", "</tool_call>"]


@dataclass(frozen=True)
class Glm:
    """`newlines`: GLM-4.5/4.6 put each tag on a line of its own; GLM-4.7 and later write them back to back."""

    name: str = "glm"
    newlines: bool = True

    def render_tools(self, specs: Sequence[ToolSpec]) -> str:
        layout = ("\n" if self.newlines else "").join(_LAYOUT)
        return "\n".join([_HEADER, *(dumps(wire_tool(s)) for s in specs), "</tools>", "",
                          "For each function call, output the function name and arguments within the following "
                          f"XML format:\n{layout}"])

    def render_call(self, call: ToolCall) -> str:
        nl = "\n" if self.newlines else ""
        pairs = "".join(f"<arg_key>{key}</arg_key>{nl}<arg_value>{_text(value)}</arg_value>{nl}"
                        for key, value in call.arguments.items())
        return f"<tool_call>{call.name}{nl}{pairs}</tool_call>"

    def render_result(self, name: str, content: str) -> str:
        nl = "\n" if self.newlines else ""
        return f"<tool_response>{nl}{content}{nl}</tool_response>"

    def parse(self, text: str, tool_names: Collection[str], id_prefix: str = "call",
              specs: Sequence[ToolSpec] = ()) -> ParsedText:
        found = []
        for match in _TOOL_CALL.finditer(text):
            head = _HEAD.match(match.group(1))
            if head:  # not a Hermes JSON body or a Qwen3-Coder <function=...>
                found.append(Found(match.span(), head.group(1), _arguments(head.group(1), match.group(1), specs)))
        return parsed(text, found, id_prefix)


def _arguments(name: str, body: str, specs: Sequence[ToolSpec]) -> dict[str, Any]:
    args = {}
    for key, value in _ARG.findall(body):
        key = key.strip()
        schema = schema_of(specs, name, key)
        args[key] = value if schema is None else coerce(value, schema)
    return args


def _text(value: Any) -> str:
    return value if isinstance(value, str) else dumps(value)


FORMAT = Glm()
FORMAT_47 = Glm("glm47", newlines=False)
