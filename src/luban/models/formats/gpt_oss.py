"""gpt-oss tool calls in OpenAI's harmony format: a message on the commentary channel addressed
`to=functions.NAME` whose body is the JSON arguments, ended by `<|call|>`; tools are TypeScript-like types.

Source: the chat template of openai/gpt-oss-120b (llama.cpp models/templates/openai-gpt-oss-120b.jinja) and
OpenAI's harmony format guide (the `<|channel|>commentary to=functions.x <|constrain|>json` order).
Nested objects and oneOf are written `object` and `any`; the template spells them out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Collection, Mapping, Sequence

from ...types import ToolCall, ToolSpec
from .parsed import Found, ParsedText, arguments_from, arguments_json, dumps, parsed

_CALL = re.compile(r"(?:<\|start\|>assistant)?(?:<\|channel\|>\w+)?\s*to=functions\.(?P<name>[^\s<]+)\s*"
                   r"(?:<\|channel\|>\w+)?\s*(?:<\|constrain\|>)?\s*\w*\s*<\|message\|>"
                   r"(?P<body>.*?)(?:<\|call\|>|<\|end\|>|(?=<\|start\|>)|$)", re.DOTALL)
_SCALARS = {"string": "string", "number": "number", "integer": "number", "boolean": "boolean"}


@dataclass(frozen=True)
class GptOss:
    name: str = "gpt_oss"

    def render_tools(self, specs: Sequence[ToolSpec]) -> str:
        types = "".join(_tool_type(spec) for spec in specs)
        return f"# Tools\n\n## functions\n\nnamespace functions {{\n\n{types}}} // namespace functions"

    def render_call(self, call: ToolCall) -> str:
        return (f"<|start|>assistant<|channel|>commentary to=functions.{call.name} <|constrain|>json<|message|>"
                f"{arguments_json(call)}<|call|>")

    def render_result(self, name: str, content: str) -> str:
        return f"<|start|>functions.{name} to=assistant<|channel|>commentary<|message|>{dumps(content)}<|end|>"

    def parse(self, text: str, tool_names: Collection[str], id_prefix: str = "call",
              specs: Sequence[ToolSpec] = ()) -> ParsedText:
        found = [Found(m.span(), m.group("name"), arguments_from(m.group("body").strip()))
                 for m in _CALL.finditer(text)]
        return parsed(text, found, id_prefix)


def _tool_type(spec: ToolSpec) -> str:
    props: Mapping[str, Any] = spec.parameters.get("properties") or {}
    if not props:
        return f"// {spec.description}\ntype {spec.name} = () => any;\n\n"
    required = spec.parameters.get("required") or []
    fields = "".join(_field(key, schema, key in required) for key, schema in props.items())
    return f"// {spec.description}\ntype {spec.name} = (_: {{\n{fields}}}) => any;\n\n"


def _field(key: str, schema: Mapping[str, Any], required: bool) -> str:
    comment = f"// {schema['description']}\n" if schema.get("description") else ""
    default = ""
    if "default" in schema:
        value = schema["default"]
        default = f", // default: {value if schema.get('enum') else dumps(value)}"
    return f"{comment}{key}{'' if required else '?'}: {_ts_type(schema)}{default},\n"


def _ts_type(schema: Mapping[str, Any]) -> str:
    kind = schema.get("type")
    null = " | null" if schema.get("nullable") else ""
    if kind == "array":
        items = schema.get("items")
        return (f"{_ts_type(items)}[]" if isinstance(items, Mapping) else "any[]") + null
    if isinstance(kind, list) and kind:
        return " | ".join(kind)
    if kind == "string" and schema.get("enum"):
        return " | ".join(f'"{v}"' for v in schema["enum"])
    if kind in _SCALARS:
        return _SCALARS[kind] + (null if kind == "string" else "")
    return "object" if kind == "object" else "any"


FORMAT = GptOss()
