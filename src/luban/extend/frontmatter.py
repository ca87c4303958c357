"""The front matter of SKILL.md and agent files: `---`, `key: value` lines, `---`, then the body. Only what those
files use is read (strings, and lists written `[a, b]` or `a, b`); no YAML library needed."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Mapping


class Unreadable(ValueError):
    """The file is not `---` front matter `---` body; str() says why in one sentence."""


@dataclass(frozen=True)
class Document:
    fields: Mapping[str, str]
    body: str


def read_document(path: Path) -> Document:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise Unreadable(f"{path} cannot be read ({exc})") from None
    lines = text.lstrip("\ufeff").splitlines()
    if not lines or lines[0].strip() != "---":
        raise Unreadable(f"{path} does not start with front matter (a --- line, name: and description:, ---)")
    end = next((i for i in range(1, len(lines)) if lines[i].strip() == "---"), None)
    if end is None:
        raise Unreadable(f"{path} has front matter without its closing --- line")
    fields: dict[str, str] = {}
    key = None
    for line in lines[1:end]:
        if line[:1] in (" ", "\t") and key:  # a folded continuation line
            fields[key] = f"{fields[key]} {line.strip()}".strip()
            continue
        name, sep, value = line.partition(":")
        if sep and name.strip() and not name.startswith("#"):
            key = name.strip()
            fields[key] = _unquoted(value.strip())
    return Document(fields, "\n".join(lines[end + 1:]).strip() + "\n")


def listed(value: str) -> tuple[str, ...]:
    """`[a, b]`, `a, b` or `a b` as a tuple of names."""
    value = value.strip().removeprefix("[").removesuffix("]")
    return tuple(_unquoted(v.strip()) for v in value.replace(",", " ").split() if v.strip())


def _unquoted(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value.lstrip(">|").strip() if value in (">", "|") else value
