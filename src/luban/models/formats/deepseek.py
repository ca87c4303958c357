"""DeepSeek tool calls, between special tokens written with U+FF5C (｜) and U+2581 (▁).

V3 and R1: `<｜tool▁call▁begin｜>function<｜tool▁sep｜>NAME` then the arguments in a ```json fence;
V3.1 (and its terminus): `<｜tool▁call▁begin｜>NAME<｜tool▁sep｜>{json}`. Either parses with either FORMAT.
Sources: the DeepSeek-V3.1 model card's tool prompt and chat template, vLLM's
examples/tool_chat_template_deepseekv3.jinja, DeepSeek-R1's chat template, vLLM's `deepseek_v3`/`deepseek_v31`
tool parsers. (V3.2 moved to a different, DSML markup that this module does not speak.)
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Collection, Literal, Sequence

from ...types import ToolCall, ToolSpec
from .parsed import Found, ParsedText, arguments_from, arguments_json, dumps, parsed, wire_tool

CALLS_BEGIN, CALLS_END = "<｜tool▁calls▁begin｜>", "<｜tool▁calls▁end｜>"
CALL_BEGIN, CALL_END, SEP = "<｜tool▁call▁begin｜>", "<｜tool▁call▁end｜>", "<｜tool▁sep｜>"
OUTPUTS_BEGIN, OUTPUTS_END = "<｜tool▁outputs▁begin｜>", "<｜tool▁outputs▁end｜>"
OUTPUT_BEGIN, OUTPUT_END = "<｜tool▁output▁begin｜>", "<｜tool▁output▁end｜>"


def _token(words: str) -> str:
    """A token's pattern that also takes ASCII | and _ or spaces, as some servers and GGUFs detokenize them."""
    return "<[｜|]" + "[▁_ ]".join(words.split()) + "[｜|]>"


_CALL = re.compile(f"{_token('tool call begin')}(.*?){_token('tool sep')}(.*?)"
                   f"(?:{_token('tool call end')}|(?={_token('tool call begin')})|(?={_token('tool calls end')})|$)",
                   re.DOTALL)
_WRAPPER = re.compile(f"{_token('tool calls begin')}|{_token('tool calls end')}")
_FENCE_OPEN, _FENCE_CLOSE = re.compile(r"^```[a-zA-Z]*[ \t]*\n?"), re.compile(r"\n?```$")

_V3_TOOLS = ("# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
             "You are provided with function signatures within <tools></tools> XML tags:\n<tools>")
_V3_FOOTER = (f"</tools>\n\nFor function call returns, you should first print {CALLS_BEGIN}\n"
              "For each function call, you should return object like:\n"
              f"{CALL_BEGIN}function{SEP}<function_name>\n```json\n<function_arguments_in_json_format>\n```{CALL_END}\n"
              f"At the end of function call returns, you should print {CALLS_END}<｜end▁of▁sentence｜>")
_V31_FOOTER = ("IMPORTANT: ALWAYS adhere to this exact format for tool use:\n"
               f"{CALLS_BEGIN}{CALL_BEGIN}tool_call_name{SEP}tool_call_arguments{CALL_END}{{additional_tool_calls}}"
               f"{CALLS_END}\n\nWhere:\n"
               "- `tool_call_name` must be an exact match to one of the available tools\n"
               "- `tool_call_arguments` must be valid JSON that strictly follows the tool's Parameters Schema\n"
               "- For multiple tool calls, chain them directly without separators or spaces")


@dataclass(frozen=True)
class DeepSeek:
    name: str
    variant: Literal["v3", "v31"]

    def render_tools(self, specs: Sequence[ToolSpec]) -> str:
        if self.variant == "v3":
            return "\n".join([_V3_TOOLS, *(dumps(wire_tool(s)) for s in specs), _V3_FOOTER])
        tools = "\n\n".join(f"### {s.name}\nDescription: {s.description}\n\n"
                            f"Parameters: {json.dumps(dict(s.parameters))}" for s in specs)
        return f"## Tools\nYou have access to the following tools:\n\n{tools}\n\n{_V31_FOOTER}"

    def render_call(self, call: ToolCall) -> str:
        args = arguments_json(call)
        if self.variant == "v3":
            return f"{CALLS_BEGIN}{CALL_BEGIN}function{SEP}{call.name}\n```json\n{args}\n```{CALL_END}{CALLS_END}"
        return f"{CALLS_BEGIN}{CALL_BEGIN}{call.name}{SEP}{args}{CALL_END}{CALLS_END}"

    def render_result(self, name: str, content: str) -> str:
        if self.variant == "v3":
            return f"{OUTPUTS_BEGIN}{OUTPUT_BEGIN}{content}{OUTPUT_END}{OUTPUTS_END}"
        return f"{OUTPUT_BEGIN}{content}{OUTPUT_END}"

    def parse(self, text: str, tool_names: Collection[str], id_prefix: str = "call",
              specs: Sequence[ToolSpec] = ()) -> ParsedText:
        found = [Found(m.span(), *_call(m.group(1), m.group(2))) for m in _CALL.finditer(text)]
        wrappers = [m.span() for m in _WRAPPER.finditer(text)] if found else []
        return parsed(text, found, id_prefix, wrappers)


def _call(head: str, body: str) -> tuple[str, dict]:
    head, body = head.strip(), body.strip()
    if head == "function" or ("\n" in body and not body.startswith("{")):  # V3: function<sep>NAME\n```json...
        name, _, rest = body.partition("\n")
        rest = _FENCE_CLOSE.sub("", _FENCE_OPEN.sub("", rest.strip()))  # either fence may be missing
        return name.strip(), arguments_from(rest)
    return head, arguments_from(body)  # V3.1: "NAME<sep>{...}"


FORMAT_V3 = DeepSeek("deepseek_v3", "v3")
FORMAT_V31 = DeepSeek("deepseek_v31", "v31")
FORMAT = FORMAT_V31
