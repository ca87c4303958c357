"""How tool use is spoken with a model: native function calling, or one schema-constrained JSON object a turn.

A protocol decides what the frozen system prompt says about tools, how a request is shaped, how a reply
becomes tool calls or a final answer, and how a tool result goes back. The loop only sees `Turn`s.

- native: tools go in the request's `tools`; calls come back as `tool_calls`, or as text we parse.
- text: the tools are described in the system prompt in the model family's own format (from its profile),
  and calls are parsed from the reply's text; for servers whose function calling is missing or broken.
- json: every reply is constrained by a JSON schema (llama.cpp grammar, vLLM structured outputs) to
  {"thought", "tool", "args"} where args are valid for that tool, or the `finish` pseudo-tool. A malformed
  call cannot be produced, and weak models do not drift into prose or stray markup.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Protocol, Sequence

from ..tools import EXISTING
from ..types import Message, Request, ToolCall, ToolResult, ToolSpec
from .formats import FORMATS, Format, attempted_call, parse_any

FINISH = "finish"
THOUGHT_MAX_CHARS = 400
# Small models re-run a call they have the answer to unless told what a result is for.
NEXT_STEP = "Use this result for the next step. If the task is done, call finish."
UNREADABLE = ("Your reply tries to call {name}, but the call could not be read, so nothing ran. Send the call "
              'again, written exactly as the tool format asks; inside JSON strings write a double quote as \\" and '
              "a line break as \\n.")


@dataclass(frozen=True)
class TurnHints:
    """Per-reply constraints; they change the response schema only, never the cached prompt.

    avoid: tools to leave out of this one reply (their last call only repeated an earlier one; or, after a
    refused finish, everything but the tools that change files — and `finish` itself).
    files, dirs: what exists now, so a path that must exist can only name a real one (empty: no limit);
    writable: the files among them the agent may change.
    final: the run's last step; avoid then holds every tool, so the reply is the answer.
    """

    avoid: frozenset[str] = frozenset()
    files: tuple[str, ...] = ()
    dirs: tuple[str, ...] = ()
    writable: tuple[str, ...] = ()
    final: bool = False


@dataclass(frozen=True)
class Turn:
    """A reply read by a protocol: what history keeps, calls to run, a final answer, or a format error."""

    message: Message
    calls: tuple[ToolCall, ...] = ()
    answer: str | None = None
    error: str | None = None
    thought: str = ""


class ToolProtocol(Protocol):
    name: str

    def system_text(self, specs: Sequence[ToolSpec]) -> str: ...

    def request(self, messages: Sequence[Message], specs: Sequence[ToolSpec], temperature: float | None,
                max_tokens: int | None, hints: TurnHints = TurnHints()) -> Request: ...

    def read(self, reply: Message, specs: Sequence[ToolSpec], call_prefix: str) -> Turn: ...

    def result(self, call: ToolCall, view: str) -> Message: ...

    def turn_for(self, thought: str, call: ToolCall) -> Turn:
        """The turn in which the assistant makes `call`, written as this protocol would have read it (for a
        call the harness had the model write in a separate request: history stays in one voice)."""


def _answer_or_unreadable(message: Message, names: Sequence[str], answer: str | None = None) -> Turn:
    """A reply without a readable call is the final answer, unless it was a call that could not be read."""
    name = attempted_call(message.content, names)
    if name:
        return Turn(message, error=UNREADABLE.format(name=name))
    return Turn(message, answer=message.content if answer is None else answer)


def view(result: ToolResult) -> str:
    return f"Error: {result.content}" if result.error else result.content


@dataclass(frozen=True)
class NativeProtocol:
    name: str = "native"

    def system_text(self, specs: Sequence[ToolSpec]) -> str:
        return ""  # the server's chat template renders the tools

    def request(self, messages, specs, temperature, max_tokens, hints=None) -> Request:
        # The tool list is part of the cached prompt prefix, so hints cannot be honoured here.
        return Request(tuple(messages), tuple(specs), temperature, max_tokens)

    def read(self, reply: Message, specs: Sequence[ToolSpec], call_prefix: str) -> Turn:
        if reply.tool_calls:
            return Turn(reply, reply.tool_calls, thought=reply.content)
        names = [s.name for s in specs]
        parsed = parse_any(reply.content, names, call_prefix, specs)
        message = Message("assistant", parsed.text, parsed.calls, reasoning=reply.reasoning)
        if parsed.calls:
            return Turn(message, parsed.calls, thought=parsed.text)
        return _answer_or_unreadable(message, names)

    def result(self, call: ToolCall, view: str) -> Message:
        return Message("tool", view, tool_call_id=call.id)

    def turn_for(self, thought: str, call: ToolCall) -> Turn:
        return Turn(Message("assistant", thought, (call,)), (call,), thought=thought)


@dataclass(frozen=True)
class TextProtocol:
    """Tool use in the model's own text format; history keeps the reply as written, so the prompt the
    server caches is the text the model produced."""

    format: Format
    name: str = "text"

    def system_text(self, specs: Sequence[ToolSpec]) -> str:
        return self.format.render_tools(specs)

    def request(self, messages, specs, temperature, max_tokens, hints=None) -> Request:
        return Request(tuple(messages), (), temperature, max_tokens)

    def read(self, reply: Message, specs: Sequence[ToolSpec], call_prefix: str) -> Turn:
        names = [s.name for s in specs]
        parsed = self.format.parse(reply.content, names, call_prefix, specs)
        if not parsed.calls:  # the model may drift into another family's markup: accept it rather than lose it
            parsed = parse_any(reply.content, names, call_prefix, specs)
        kept = Message("assistant", reply.content, reasoning=reply.reasoning)
        if parsed.calls:
            return Turn(kept, parsed.calls, thought=parsed.text)
        return _answer_or_unreadable(kept, names, parsed.text)

    def result(self, call: ToolCall, view: str) -> Message:
        return Message("user", self.format.render_result(call.name, view))

    def turn_for(self, thought: str, call: ToolCall) -> Turn:
        return Turn(Message("assistant", f"{thought}\n{self.format.render_call(call)}"), (call,), thought=thought)


@dataclass(frozen=True)
class JsonProtocol:
    name: str = "json"

    def system_text(self, specs: Sequence[ToolSpec]) -> str:
        lines = ["Answer every message with exactly one JSON object and nothing else:",
                 '{"thought": "<one short sentence: what you do next and why>", "tool": "<tool name>", '
                 '"args": {<the tool\'s arguments>}}', "", "Tools:"]
        for spec in (*specs, _FINISH_SPEC):
            lines.append(f"- {spec.name}({_signature(spec)}): {spec.description}")
        lines += ["", "The tool's result comes back in the next message."]
        return "\n".join(lines)

    def request(self, messages, specs, temperature, max_tokens, hints=None) -> Request:
        hints = hints or TurnHints()
        allowed = [s for s in specs if s.name not in hints.avoid]
        return Request(tuple(messages), (), temperature, max_tokens, response_format=turn_format(allowed, hints))

    def read(self, reply: Message, specs: Sequence[ToolSpec], call_prefix: str) -> Turn:
        kept = Message("assistant", reply.content)
        try:
            obj = json.loads(reply.content)
        except json.JSONDecodeError as exc:
            return Turn(kept, error=f"Your reply was not one valid JSON object ({exc.msg} at character "
                                    f"{exc.pos}). Reply with a single JSON object as described.")
        names = [s.name for s in specs]
        if not isinstance(obj, dict) or obj.get("tool") not in (*names, FINISH) or not isinstance(obj.get("args"), dict):
            return Turn(kept, error=f'Your reply must be {{"thought": ..., "tool": ..., "args": {{...}}}} with tool '
                                    f"one of: {', '.join((*names, FINISH))}.")
        thought = str(obj.get("thought", ""))
        if obj["tool"] == FINISH:
            return Turn(kept, answer=str(obj["args"].get("answer", thought)), thought=thought)
        return Turn(kept, (ToolCall(f"{call_prefix}_0", obj["tool"], obj["args"]),), thought=thought)

    def result(self, call: ToolCall, view: str) -> Message:
        return Message("user", f"Result of {call.name}:\n{view}\n\n{NEXT_STEP}")

    def turn_for(self, thought: str, call: ToolCall) -> Turn:
        content = json.dumps({"thought": thought, "tool": call.name, "args": dict(call.arguments)},
                             ensure_ascii=False)
        return Turn(Message("assistant", content), (call,), thought=thought)


_FINISH_SPEC = ToolSpec(FINISH, "End the task. answer: your final answer to the user: what you found or changed, or why you stopped.",
                        {"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"],
                         "additionalProperties": False})


def turn_format(specs: Sequence[ToolSpec], hints: TurnHints = TurnHints()) -> dict[str, Any]:
    """An OpenAI-style response_format whose schema admits exactly one valid call (or finish) per reply."""
    finish = () if FINISH in hints.avoid and specs else (_FINISH_SPEC,)
    branches = [_branch(spec, hints) for spec in (*specs, *finish)]
    return {"type": "json_schema", "json_schema": {"name": "turn", "schema": {"anyOf": branches}}}


def _branch(spec: ToolSpec, hints: TurnHints) -> dict[str, Any]:
    return {"type": "object", "additionalProperties": False, "required": ["thought", "tool", "args"],
            "properties": {"thought": {"type": "string", "maxLength": THOUGHT_MAX_CHARS},
                           "tool": {"const": spec.name}, "args": _strict(spec.parameters, hints)}}


def _strict(schema: Any, hints: TurnHints) -> dict[str, Any]:
    """The tool's schema without what a grammar does not need, and existing-path parameters as enums."""
    props = {k: _property(v, hints) for k, v in schema.get("properties", {}).items()}
    return {"type": "object", "properties": props, "required": list(schema.get("required", [])),
            "additionalProperties": False}


def _property(prop: dict[str, Any], hints: TurnHints) -> dict[str, Any]:
    choices = {"file": hints.files, "writable": hints.writable, "dir": hints.dirs,
               "any": (*hints.dirs, *hints.files)}.get(prop.get(EXISTING))
    if choices:
        return {"enum": list(choices)}
    return {k: v for k, v in prop.items() if k not in ("description", "default", EXISTING)}


def _signature(spec: ToolSpec) -> str:
    required = set(spec.parameters.get("required", []))
    return ", ".join(n if n in required else f"{n}?" for n in spec.parameters.get("properties", {}))


def protocol_named(name: str, tool_format: str) -> ToolProtocol:
    """`native`, `json`, or `text` in the given format (a profile's `tool_format`; hermes when it has none)."""
    if name == "text":
        return TextProtocol(FORMATS.get(tool_format, FORMATS["hermes"]))
    return NativeProtocol() if name == "native" else JsonProtocol()


def label(protocol: ToolProtocol) -> str:
    """How a session header names the protocol: native, json, or text:FORMAT (protocol_labelled reads it)."""
    return f"text:{protocol.format.name}" if isinstance(protocol, TextProtocol) else protocol.name


def protocol_labelled(text: str) -> ToolProtocol:
    name, _, tool_format = text.partition(":")
    return protocol_named(name, tool_format)
