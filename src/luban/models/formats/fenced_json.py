"""Calls written as plain JSON in a reply: in a ```json fence, in `<tools>` tags, or bare in the prose.

What Qwen2.5-Coder GGUFs actually write when no server-side parser matches (vLLM notes the same, and ships
examples/tool_chat_template_qwen2_5_coder.jinja for the `<tools>` variant). The instruction block is ours:
the Hermes tool list, asking for the fence the model writes anyway.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Collection, Sequence

from ...types import ToolCall, ToolSpec
from .hermes import FORMAT as HERMES, salvage
from .parsed import Found, ParsedText, arguments_json, bare_calls, call_in, json_values, parsed

_FENCED = re.compile(r"```[a-zA-Z0-9_-]*\s*\n(.*?)```", re.DOTALL)
_TOOLS_TAG = re.compile(r"<tools>(.*?)(?:</tools>|$)", re.DOTALL)
_ASK = ("For each function call, return a json object with function name and arguments within a ```json "
        'fenced block:\n```json\n{"name": <function-name>, "arguments": <args-json-object>}\n```')


@dataclass(frozen=True)
class FencedJson:
    name: str = "fenced_json"

    def render_tools(self, specs: Sequence[ToolSpec]) -> str:
        hermes = HERMES.render_tools(specs)
        return hermes[:hermes.rindex("</tools>") + len("</tools>")] + "\n\n" + _ASK

    def render_call(self, call: ToolCall) -> str:
        return f'```json\n{{"name": "{call.name}", "arguments": {arguments_json(call)}}}\n```'

    def render_result(self, name: str, content: str) -> str:
        return HERMES.render_result(name, content)

    def parse(self, text: str, tool_names: Collection[str], id_prefix: str = "call",
              specs: Sequence[ToolSpec] = ()) -> ParsedText:
        for pattern in (_FENCED, _TOOLS_TAG):
            found = [Found(m.span(), *call) for m in pattern.finditer(text) for call in _calls(m.group(1), tool_names)]
            if found:
                return parsed(text, found, id_prefix)
        found = bare_calls(text, tool_names)
        return parsed(text, found or _salvaged(text, tool_names), id_prefix)


def _salvaged(text: str, names: Collection[str]) -> list[Found]:
    """Fenced calls to known tools whose JSON does not parse (say, an unescaped quote in a string), with the
    arguments text kept raw for repair to read or to explain."""
    found = []
    for match in _FENCED.finditer(text):
        call = salvage(match.group(1).strip())
        if call and call[0] in names:
            found.append(Found(match.span(), *call))
    return found


def _calls(body: str, names: Collection[str]) -> list[tuple[str, dict]]:
    """The calls in one block: an object, a list of objects, or several objects one after another."""
    return [call for call in (call_in(value, names) for _, _, value in json_values(body)) if call]


FORMAT = FencedJson()
