"""What a text-format parser returns, and the pieces the parsers share: finding call-shaped JSON in prose,
reading an arguments text, and cutting the calls out of the prose they were written in."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Collection, Iterable, Iterator, Mapping, Sequence

from ...types import ToolCall, ToolSpec


@dataclass(frozen=True)
class ParsedText:
    """The prose left once calls are taken out, and the calls found."""

    text: str
    calls: tuple[ToolCall, ...]


@dataclass(frozen=True)
class Found:
    """One call in a reply: the span of text it takes, the tool name and the arguments as written."""

    span: tuple[int, int]
    name: str
    arguments: Mapping[str, Any] | str  # the text itself where it did not read as an object


def parsed(text: str, found: Sequence[Found], id_prefix: str,
           extra_spans: Iterable[tuple[int, int]] = ()) -> ParsedText:
    """The reply with every found call (and any wrapper tokens in `extra_spans`) cut out, calls numbered in order."""
    if not found:
        return ParsedText(text, ())
    calls = tuple(ToolCall(f"{id_prefix}_{i}", f.name, {}, f.arguments) if isinstance(f.arguments, str)
                  else ToolCall(f"{id_prefix}_{i}", f.name, f.arguments) for i, f in enumerate(found))
    return ParsedText(cut(text, [*(f.span for f in found), *extra_spans]), calls)


def cut(text: str, spans: Iterable[tuple[int, int]]) -> str:
    out, pos = [], 0
    for start, end in sorted(set(spans)):
        out.append(text[pos:max(pos, start)])
        pos = max(pos, end)
    out.append(text[pos:])
    return "".join(out).strip()


def arguments_from(raw: str) -> dict[str, Any] | str:
    """Arguments written as JSON text: the object, or the text itself for repair to read (ToolCall.raw)."""
    if not raw.strip():
        return {}
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        return raw
    if isinstance(value, str):  # double-encoded: a JSON string holding the object
        return arguments_from(value)
    return value if isinstance(value, dict) else raw


def call_in(obj: Any, names: Collection[str], tagged: bool = False) -> tuple[str, dict[str, Any] | str] | None:
    """The (name, arguments) of a call-shaped JSON value, or None when it is just data.

    A known name, or the unmistakable {"name", "arguments"|"parameters"} shape: an unknown tool then gets an
    error that lists the real ones, instead of the attempt ending the run as if it were the answer. Inside a
    format's call tags (`tagged`) any object with a name is a call.
    """
    if not isinstance(obj, dict):
        return None
    if isinstance(obj.get("function"), dict):  # OpenAI-shaped {"type": "function", "function": {...}}
        obj = obj["function"]
    name = obj.get("name")
    has_args = "arguments" in obj or "parameters" in obj
    if not isinstance(name, str) or (name not in names and not has_args and not tagged):
        return None
    args = obj.get("arguments", obj.get("parameters", {}))
    if isinstance(args, str):
        return name, arguments_from(args)
    return name, args if isinstance(args, dict) else json.dumps(args)


def json_values(text: str, start: int = 0) -> Iterator[tuple[int, int, Any]]:
    """Every JSON object in `text` (from `start`) as (start, end, value), outermost first, never overlapping."""
    decoder = json.JSONDecoder()
    pos = text.find("{", start)
    while pos != -1:
        try:
            value, end = decoder.raw_decode(text, pos)
        except json.JSONDecodeError:
            pos = text.find("{", pos + 1)
            continue
        yield pos, end, value
        pos = text.find("{", end)


def bare_calls(text: str, names: Collection[str], start: int = 0) -> list[Found]:
    """Call-shaped JSON objects written straight into prose."""
    found = []
    for begin, end, value in json_values(text, start):
        call = call_in(value, names)
        if call:
            found.append(Found((begin, end), *call))
    return found


def schema_of(specs: Sequence[ToolSpec], tool: str, parameter: str) -> Mapping[str, Any] | None:
    """The JSON schema of one parameter of one tool, when the specs know it."""
    for spec in specs:
        if spec.name == tool:
            props = spec.parameters.get("properties", {})
            return props.get(parameter) if isinstance(props, Mapping) else None
    return None


def arguments_json(call: ToolCall) -> str:
    """A call's arguments as JSON text; arguments that were never JSON go back exactly as the model wrote them."""
    return call.raw if call.raw is not None else dumps(dict(call.arguments))


def dumps(value: Any) -> str:
    """JSON as the chat templates' `tojson` writes it (transformers: ", " and ": ", non-ASCII kept)."""
    return json.dumps(value, ensure_ascii=False)


def wire_tool(spec: ToolSpec) -> dict[str, Any]:
    """A tool as the OpenAI-style object chat templates receive in `tools`."""
    return {"type": "function", "function": {"name": spec.name, "description": spec.description,
                                             "parameters": dict(spec.parameters)}}
