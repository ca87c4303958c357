"""Repair of one tool call against the tool specs, before it runs: a misspelt tool name, arguments that are not
quite a JSON object, values of a near-miss type, extra keys a strict schema forbids.

A repair is made only where the intended call is unambiguous; otherwise the result carries one message telling
the model exactly what to fix. Pure: no I/O, nothing raised.
"""

from __future__ import annotations

import ast
import difflib
import json
import shlex
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from ..tools.arguments import coerce, describe, keys, matches, wrong_type
from ..types import ToolSpec

NAME_CUTOFF = 0.85  # difflib ratio for a misspelt tool name: "read_flie" -> "read_file", not "read" -> "bash"
_LITERAL_MAX = 200_000  # ast.literal_eval is safe, but slow and deep on huge input
_CLOSED_VALUE = ('"', "}", "]", "e", "l")  # what a complete JSON value can end with (string, object, list, true, null)


@dataclass(frozen=True)
class Repair:
    """The call to run (`error` is None), or the message for the model; `repaired`: something was changed."""

    call_name: str
    arguments: Mapping[str, Any] = field(default_factory=dict)
    repaired: bool = False
    error: str | None = None


def repair_call(name: str, raw_arguments: str | Mapping[str, Any], specs: Sequence[ToolSpec]) -> Repair:
    spec, renamed = _resolve(name, specs)
    if spec is None:
        known = dict(raw_arguments) if isinstance(raw_arguments, Mapping) else {}
        return Repair(name, known, False, f"Unknown tool {name!r}. Available tools: {', '.join(s.name for s in specs)}.")
    if isinstance(raw_arguments, Mapping):
        args, fixed = dict(raw_arguments), False
    else:
        value, fixed, problem = _read(raw_arguments)
        if problem:
            return Repair(spec.name, {}, renamed, _read_error(spec, raw_arguments, problem))
        if not isinstance(value, dict):
            message = f"The arguments of your {spec.name} call must be a JSON object with the keys {keys(spec)}, " \
                      f"not {describe(value)}."
            return Repair(spec.name, {}, renamed, message)
        args = value
    args, typed, error = _check(spec, args)
    if error is None and (meant := _tool_as_command(spec, args, specs)):
        return meant
    return Repair(spec.name, args, renamed or fixed or typed, error)


# ---- a tool called as a shell command ----


def _tool_as_command(spec: ToolSpec, args: Mapping[str, Any], specs: Sequence[ToolSpec]) -> Repair | None:
    """A shell command that is one of the other tools' names (`read_file out/bash-1.txt`, also inside
    `bash -c '…'`): with just the one argument such a tool requires, that tool's call; else a message saying what
    it is. None for any other command. Only names with an underscore count: `grep` or `ls` are programs too.

    Why: told that a test run's whole output "is in out/bash-1.txt; read it with read_file", the 1.5B sent
    `read_file out/bash-1.txt` to bash, and `bash -c 'read_file …'`, four times: "command not found"."""
    command = args.get("command")
    words = _words(command) if spec.name == "bash" and isinstance(command, str) else []
    if len(words) == 3 and words[0] in ("bash", "sh") and words[1] == "-c":
        words = _words(words[2])
    named = next((s for s in specs if words and s.name == words[0] and "_" in s.name and s is not spec), None)
    if named is None:
        return None
    required = [k for k in named.parameters.get("required") or () if isinstance(k, str)]
    schema = (named.parameters.get("properties") or {}).get(required[0], {}) if len(required) == 1 else {}
    if len(words) == 2 and schema.get("type") == "string":
        return Repair(named.name, {required[0]: words[1]}, True)
    return Repair(spec.name, args, False, f"`{named.name}` is one of your tools, not a shell command: call the "
                                          f"{named.name} tool itself, with the arguments {keys(named)}.")


def _words(command: str) -> list[str]:
    try:
        return shlex.split(command)
    except ValueError:
        return []


# ---- the tool name ----


def _resolve(name: str, specs: Sequence[ToolSpec]) -> tuple[ToolSpec | None, bool]:
    """The spec the name means, and whether it had to be repaired to find it."""
    for spec in specs:
        if spec.name == name:
            return spec, False
    for key in (str.lower, _squash):
        hits = [s for s in specs if key(s.name) == key(name)]
        if len(hits) == 1:
            return hits[0], True
    close = [s for s in specs if difflib.SequenceMatcher(None, name.lower(), s.name.lower()).ratio() >= NAME_CUTOFF]
    return (close[0], True) if len(close) == 1 else (None, False)


def _squash(name: str) -> str:
    return name.lower().replace("_", "").replace("-", "")


# ---- the arguments text ----


def read_arguments(text: str) -> dict | None:
    """The arguments object an arguments text means, repaired where that is unambiguous, or None."""
    value, _, problem = _read(text)
    return value if problem is None and isinstance(value, dict) else None


def _read(text: str) -> tuple[Any, bool, str | None]:
    """(value, repaired, problem): strict JSON, else the first reading that works; problem "cut" or a JSON error."""
    if not text.strip():
        return {}, False, None  # servers send "" for a call without arguments
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        problem = f"{exc.msg} at character {exc.pos}"
    else:
        return _unwrap(value, repaired=False)
    for reading in (_with_prose_around, _python_literal, _stray_quotes, _closed):
        value = reading(text)
        if value == "cut":
            return None, False, "cut"
        if value is not None:
            return _unwrap(value, repaired=True)
    return None, False, problem


def _unwrap(value: Any, repaired: bool) -> tuple[Any, bool, str | None]:
    """A JSON string that holds the object (double-encoded arguments) is read once more."""
    if isinstance(value, str) and value.strip().startswith("{"):
        inner, _, problem = _read(value)
        return (inner, True, None) if problem is None else (value, repaired, None)
    return value, repaired, None


def _with_prose_around(text: str) -> dict | None:
    """The object when words or a code fence come before or after it."""
    start = text.find("{")
    if start < 0:
        return None
    try:
        value, _ = json.JSONDecoder().raw_decode(text, start)
    except json.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def _python_literal(text: str) -> dict | None:
    """A Python dict literal (single quotes, True/None), or single-quoted JSON (true/null), when it holds only
    JSON values."""
    start = text.find("{")
    end, _, _ = _scan(text, start, "'\"") if start >= 0 else (None, [], None)
    if end is None or end - start > _LITERAL_MAX:
        return None
    source = text[start:end]
    for candidate in (source, _python_words(source)):
        try:
            value = ast.literal_eval(candidate)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            continue
        if isinstance(value, dict) and _is_json(value):
            return json.loads(json.dumps(value))  # tuples become lists
    return None


def _stray_quotes(text: str) -> dict | None:
    """JSON whose strings hold unescaped double quotes (a docstring's \"\"\" inside "new_string"): a quote ends
    a string only where a comma, colon or closing bracket follows; every other one is taken as text."""
    start = text.find("{")
    if start < 0:
        return None
    out, in_string, escaped = [], False, False
    for i in range(start, len(text)):
        ch = text[i]
        if in_string and escaped:
            escaped = False
        elif in_string and ch == "\\":
            escaped = True
        elif ch == '"' and in_string and text[i + 1:].lstrip(" \t")[:1] not in (",", ":", "}", "]", "\n", ""):
            ch = '\\"'
        elif ch == '"':
            in_string = not in_string
        out.append(ch)
    try:
        value, _ = json.JSONDecoder().raw_decode("".join(out))
    except json.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def _closed(text: str) -> dict | str | None:
    """A JSON object cut off after a complete value, with its brackets closed; "cut" where the missing rest
    cannot be known (inside a string, after a key, in a number that may have had more digits)."""
    start = text.find("{")
    if start < 0:
        return None
    end, stack, quote = _scan(text, start, '"')
    if end is not None or not stack:
        return None  # the brackets close: a different mistake
    body = text[start:].rstrip()
    body = body[:-1].rstrip() if body.endswith(",") else body
    if quote or not body.endswith(_CLOSED_VALUE):
        return "cut"
    closing = "".join("}" if bracket == "{" else "]" for bracket in reversed(stack))
    try:
        value = json.loads(body + closing)
    except json.JSONDecodeError:
        return "cut"
    return value if isinstance(value, dict) else None


def _scan(text: str, start: int, quotes: str) -> tuple[int | None, list[str], str | None]:
    """Walk from the bracket at `start`: (the index after its match or None, brackets left open, open quote)."""
    stack: list[str] = []
    quote, escaped = None, False
    for i in range(start, len(text)):
        ch = text[i]
        if quote:
            escaped, quote = (False, quote) if escaped else (ch == "\\", None if ch == quote else quote)
        elif ch in quotes:
            quote = ch
        elif ch in "{[":
            stack.append(ch)
        elif ch in "}]" and stack:
            stack.pop()
            if not stack:
                return i + 1, [], None
    return None, stack, quote


def _python_words(source: str) -> str:
    """true, false and null outside strings as Python's True, False and None."""
    out, word, quote, escaped = [], "", None, False
    for ch in source + " ":
        if quote is None and (ch.isalnum() or ch == "_"):
            word += ch
            continue
        out.append({"true": "True", "false": "False", "null": "None"}.get(word, word))
        word = ""
        if quote:
            escaped, quote = (False, quote) if escaped else (ch == "\\", None if ch == quote else quote)
        elif ch in "'\"":
            quote = ch
        out.append(ch)
    return "".join(out)[:-1]


def _is_json(value: Any) -> bool:
    if isinstance(value, dict):
        return all(isinstance(k, str) and _is_json(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return all(_is_json(v) for v in value)
    return value is None or isinstance(value, (str, bool, int)) or (isinstance(value, float) and value == value)


def _read_error(spec: ToolSpec, text: str, problem: str) -> str:
    if problem == "cut":
        return (f"Your {spec.name} call was cut off: its arguments end before the JSON object is complete "
                f"(they end with {text[-40:]!r}). Send the whole call again.")
    return (f"The arguments of your {spec.name} call are not a valid JSON object ({problem}): {text[:200]!r}. "
            f"Send one JSON object with the keys {keys(spec)}.")


# ---- the arguments against the schema ----


def _check(spec: ToolSpec, args: dict[str, Any]) -> tuple[dict[str, Any], bool, str | None]:
    """Arguments with lossless type fixes, whether any was made, and what is still wrong."""
    props: Mapping[str, Any] = spec.parameters.get("properties") or {}
    required = [k for k in spec.parameters.get("required") or () if isinstance(k, str)]
    fixed, repaired, errors = {}, False, []
    for key, value in args.items():
        schema = props.get(key)
        if schema is None or (value is None and key not in required and not matches(None, schema)):
            fixed[key] = value  # unknown key, or an optional one sent as null (the tools read that as left out)
            continue
        fixed[key] = coerce(value, schema)
        repaired = repaired or type(fixed[key]) is not type(value) or fixed[key] != value
        if not matches(fixed[key], schema) and value is not None:
            errors.append(wrong_type(spec.name, key, schema, value))
    missing = [k for k in required if fixed.get(k) is None and not (k in fixed and matches(None, props.get(k)))]
    if missing:
        errors.append(_missing(spec, missing))
    extra = [k for k in fixed if k not in props] if props else []
    if extra and spec.parameters.get("additionalProperties") is False:
        if errors:  # the call goes back anyway: name every mistake at once
            unknown = ", ".join(map(repr, extra))
            errors.append(f"{spec.name} has no argument {unknown}; its arguments are {keys(spec)}.")
        else:
            fixed, repaired = {k: v for k, v in fixed.items() if k in props}, True
    return fixed, repaired, " ".join(errors) or None


def _missing(spec: ToolSpec, missing: list[str]) -> str:
    plural = "s" if len(missing) > 1 else ""
    return (f"Your {spec.name} call is missing the required argument{plural} {', '.join(map(repr, missing))}. "
            f"The parameters of {spec.name}: {json.dumps(dict(spec.parameters))}.")
