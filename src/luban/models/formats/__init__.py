"""Text tool-call formats: how each model family is told about tools, writes a call, and reads a result.

Every format is a frozen dataclass with the same five members (see `Format`), its module named after the
family. `FORMATS` names them for profiles; `parse_any` tries them all when a reply used another family's format.
"""

from __future__ import annotations

from typing import Collection, Protocol, Sequence

from ...types import ToolCall, ToolSpec
from . import deepseek, fenced_json, glm, gpt_oss, hermes, llama3_json, qwen3_coder
from .parsed import ParsedText


class Format(Protocol):
    name: str

    def render_tools(self, specs: Sequence[ToolSpec]) -> str:
        """The instruction block for the system prompt (no trailing newline)."""

    def render_call(self, call: ToolCall) -> str:
        """An assistant tool call as the model writes it, for history sent back as text."""

    def render_result(self, name: str, content: str) -> str:
        """A tool's result as the model expects to read it."""

    def parse(self, text: str, tool_names: Collection[str], id_prefix: str = "call",
              specs: Sequence[ToolSpec] = ()) -> ParsedText:
        """The prose left and the calls found; `specs`, when given, type raw-text argument values."""


FORMATS: dict[str, Format] = {f.name: f for f in (
    hermes.FORMAT, qwen3_coder.FORMAT, glm.FORMAT, glm.FORMAT_47, deepseek.FORMAT_V3, deepseek.FORMAT_V31,
    llama3_json.FORMAT, fenced_json.FORMAT, gpt_oss.FORMAT)}

# Most specific markup first; the bare-JSON formats last, since any reply that quotes JSON could match them.
# (deepseek_v3 and glm47 parse exactly as deepseek_v31 and glm do.)
_ANY_ORDER = ("deepseek_v31", "gpt_oss", "qwen3_coder", "glm", "hermes", "fenced_json", "llama3_json")


def parse_any(text: str, tool_names: Collection[str], id_prefix: str = "call",
              specs: Sequence[ToolSpec] = ()) -> ParsedText:
    """The first format's reading that finds calls: for repair when the expected format found none."""
    for name in _ANY_ORDER:
        parsed = FORMATS[name].parse(text, tool_names, id_prefix, specs)
        if parsed.calls:
            return parsed
    return ParsedText(text, ())


# Signs of a call that no format could read: call markup, or a known tool named as a JSON "name".
_CALL_MARKUP = ("<tool_call>", "<function=", "tool▁call", "<|start|>assistant<|channel|>commentary to=")


def attempted_call(text: str, tool_names: Collection[str]) -> str | None:
    """The tool a reply tried to call although no format could read the call (say, a JSON string with an
    unescaped quote), or "a tool" for bare call markup; None when the reply is prose. Weak models do this
    often, and taking the attempt for a final answer ends the work."""
    for match in hermes.CALL_NAME.finditer(text):
        if match.group(1) in tool_names:
            return match.group(1)
    return "a tool" if any(marker in text for marker in _CALL_MARKUP) else None


__all__ = ["FORMATS", "Format", "ParsedText", "attempted_call", "parse_any"]
