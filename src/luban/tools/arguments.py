"""Tool arguments against the tool's JSON schema, the one validator: whether a value has its parameter's type,
the value converted to that type where nothing is lost ("5" -> 5 for an integer, "true" -> true, 7 -> "7" for a
string), and the sentences that say what is wrong. The tools' own check (_input.parse_args), call repair
(models/repair.py) and the text formats that write values as raw text (Qwen3-Coder, GLM) all use it.
"""

from __future__ import annotations

import json
import re
from typing import Any, Mapping

from ..types import ToolSpec

_INTEGER = re.compile(r"-?(?:0|[1-9]\d*)")
_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?")
_NO = object()


def types_of(schema: Any) -> tuple[str, ...]:
    """The JSON types a schema names: "type" as one name or a list; none means any type."""
    kind = schema.get("type") if isinstance(schema, Mapping) else None
    if isinstance(kind, str):
        return (kind,)
    if isinstance(kind, list):
        return tuple(k for k in kind if isinstance(k, str))
    return ()


def matches(value: Any, schema: Any) -> bool:
    types = types_of(schema)
    return not types or any(_has_type(value, kind) for kind in types)


def coerce(value: Any, schema: Any) -> Any:
    """`value` as the schema's type when it converts without loss; otherwise `value` unchanged."""
    if matches(value, schema):
        return value
    for kind in types_of(schema):
        converted = _convert(value, kind)
        if converted is not _NO:
            return converted
    return value


def type_name(schema: Any) -> str:
    """The schema's type as a message names it: "an integer", "a string or null"."""
    names = [_ARTICLES.get(kind, kind) for kind in types_of(schema)]
    return " or ".join(names) if names else "any value"


def describe(value: Any) -> str:
    """A value as a message names it: `the string "x"`, `the number 3`, `null`."""
    if value is None:
        return "null"
    kinds = ((bool, "boolean"), ((int, float), "number"), (str, "string"), ((list, tuple), "list"), (Mapping, "object"))
    kind = next((name for types, name in kinds if isinstance(value, types)), type(value).__name__)
    text = json.dumps(value, ensure_ascii=False, default=str)
    return f"the {kind} {text[:37] + '...' if len(text) > 40 else text}"


def wrong_type(tool: str, key: str, schema: Any, value: Any) -> str:
    return f"Argument {key!r} of {tool} must be {type_name(schema)}, not {describe(value)}."


def keys(spec: ToolSpec) -> str:
    """The tool's arguments as a message lists them: `path (required), offset`."""
    required = spec.parameters.get("required") or ()
    return ", ".join(f"{key} (required)" if key in required else key for key in spec.parameters.get("properties") or {})


_ARTICLES = {"string": "a string", "integer": "an integer", "number": "a number", "boolean": "true or false",
             "object": "a JSON object", "array": "a JSON array", "null": "null"}


def _has_type(value: Any, kind: str) -> bool:
    if kind == "string":
        return isinstance(value, str)
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "object":
        return isinstance(value, Mapping)
    if kind == "array":
        return isinstance(value, (list, tuple))
    if kind == "null":
        return value is None
    return True  # a type we do not know: not ours to refuse


def _convert(value: Any, kind: str) -> Any:
    if isinstance(value, str):
        return _from_text(value.strip(), kind)
    if kind == "string" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    if kind == "integer" and isinstance(value, float) and value.is_integer():
        return int(value)  # JSON Schema counts 3.0 as an integer
    return _NO


def _from_text(text: str, kind: str) -> Any:
    if kind == "integer" and _INTEGER.fullmatch(text):
        return int(text)
    if kind == "number" and _NUMBER.fullmatch(text):
        return int(text) if _INTEGER.fullmatch(text) else float(text)
    if kind == "boolean" and text.lower() in ("true", "false"):
        return text.lower() == "true"  # Qwen3-Coder's template writes Python's True and False
    if kind == "null" and text == "null":
        return None
    if kind in ("object", "array") and text.startswith(("{", "[")):
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError:
            return _NO
        return parsed if _has_type(parsed, kind) else _NO
    return _NO
