"""Llama 3.1-3.3 JSON tool calls: a bare `{"name": ..., "parameters": {...}}` object, sometimes after the
`<|python_tag|>` token; several calls may follow one another, separated by `;`.

Source: Meta's Llama 3.1/3.2 chat template (tools in the system message, tool results in the `ipython` role)
and vLLM's `llama3_json` tool parser and its examples/tool_chat_template_llama3.1_json.jinja.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Collection, Sequence

from ...types import ToolCall, ToolSpec
from .parsed import ParsedText, arguments_json, bare_calls, dumps, parsed, wire_tool

PYTHON_TAG = "<|python_tag|>"
_INSTRUCTIONS = ("You have access to the following functions. To call a function, please respond with JSON for a "
                 'function call. Respond in the format {"name": function name, "parameters": dictionary of argument '
                 "name and its value}. Do not use variables.")


@dataclass(frozen=True)
class Llama3Json:
    name: str = "llama3_json"

    def render_tools(self, specs: Sequence[ToolSpec]) -> str:
        tools = (json.dumps(wire_tool(s), indent=4, ensure_ascii=False) for s in specs)
        return "\n\n".join([_INSTRUCTIONS, *tools])

    def render_call(self, call: ToolCall) -> str:
        return f'{{"name": "{call.name}", "parameters": {arguments_json(call)}}}'

    def render_result(self, name: str, content: str) -> str:
        return dumps(content)  # Meta's template: a string result goes through tojson

    def parse(self, text: str, tool_names: Collection[str], id_prefix: str = "call",
              specs: Sequence[ToolSpec] = ()) -> ParsedText:
        tag = text.find(PYTHON_TAG)
        start = tag + len(PYTHON_TAG) if tag >= 0 else 0
        found = bare_calls(text, tool_names, start)
        between = [(a.span[1], b.span[0]) for a, b in zip(found, found[1:])]
        separators = [(s, e) for s, e in between if not text[s:e].strip("; \n")]  # the `;` between two calls
        return parsed(text, found, id_prefix, [*([(tag, start)] if tag >= 0 else []), *separators])


FORMAT = Llama3Json()
