"""Hermes tool calls, as Qwen2.5 and Qwen3 write them: one JSON object per `<tool_call>` tag.

Source: the tool section of Qwen3's chat template (`Qwen/Qwen3-*` tokenizer_config.json; the same text is in
Qwen2.5's), and vLLM's `hermes` tool parser.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Collection, Sequence

from ...types import ToolCall, ToolSpec
from .parsed import Found, ParsedText, arguments_from, arguments_json, call_in, dumps, json_values, parsed, wire_tool

# A tag left open runs to the next tag or the end of the reply.
TAGGED = re.compile(r"<tool_call>(.*?)(?:</tool_call>|(?=<tool_call>)|$)", re.DOTALL)
CALL_NAME = re.compile(r'"name"\s*:\s*"([^"]+)"')
_ARGUMENTS = re.compile(r'"(?:arguments|parameters)"\s*:\s*(.*)', re.DOTALL)

_HEADER = ("# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
           "You are provided with function signatures within <tools></tools> XML tags:\n<tools>")
_FOOTER = ("</tools>\n\nFor each function call, return a json object with function name and arguments within "
           '<tool_call></tool_call> XML tags:\n<tool_call>\n{"name": <function-name>, "arguments": '
           "<args-json-object>}\n</tool_call>")


@dataclass(frozen=True)
class Hermes:
    name: str = "hermes"

    def render_tools(self, specs: Sequence[ToolSpec]) -> str:
        return "\n".join([_HEADER, *(dumps(wire_tool(s)) for s in specs), _FOOTER])

    def render_call(self, call: ToolCall) -> str:
        return f'<tool_call>\n{{"name": "{call.name}", "arguments": {arguments_json(call)}}}\n</tool_call>'

    def render_result(self, name: str, content: str) -> str:
        return f"<tool_response>\n{content}\n</tool_response>"

    def parse(self, text: str, tool_names: Collection[str], id_prefix: str = "call",
              specs: Sequence[ToolSpec] = ()) -> ParsedText:
        found = []
        for match in TAGGED.finditer(text):
            if not match.group(1).lstrip().startswith(("{", "[")):
                continue  # other formats share the tag: Qwen3-Coder, GLM
            calls, used = _calls_in(match.group(1), tool_names)
            # An unclosed tag ends where its JSON does: what follows is the model's prose.
            end = match.end() if match.group(0).endswith("</tool_call>") else match.start(1) + used
            found += [Found((match.start(), end), *call) for call in calls]
        return parsed(text, found, id_prefix)


def _calls_in(body: str, names: Collection[str]) -> tuple[list[tuple[str, dict[str, Any]]], int]:
    """The calls at the start of one tag's body (an object, a list of them, or one per line) and where they end;
    a broken object is kept whole for repair."""
    calls, used = [], 0
    for start, end, value in json_values(body):
        if body[used:start].strip(" \t\r\n,["):
            break  # words between: the calls are over
        call = call_in(value, names, tagged=True)
        if call:
            calls.append(call)
        used = end
    if calls:
        return calls, used
    salvaged = salvage(body.strip())
    return ([salvaged], len(body)) if salvaged else ([], 0)


def salvage(body: str) -> tuple[str, dict[str, Any]] | None:
    """A call whose JSON does not parse (cut off, single quotes, a stray brace): its name, and its arguments
    text kept raw so that repair can read it or tell the model what is wrong."""
    name = CALL_NAME.search(body)
    if not name:
        return None
    args = _ARGUMENTS.search(body)
    raw = args.group(1).strip() if args else "{}"
    if raw.endswith("}") and raw.count("}") > raw.count("{"):
        raw = raw[:-1].rstrip()  # the closing brace of the outer {"name": ..., "arguments": ...}
    return name.group(1), arguments_from(raw)


FORMAT = Hermes()
