"""Long tool output cut to a head and a tail around a marker that names a file holding all of it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

MAX_LINE_CHARS = 1_000


@dataclass(frozen=True)
class Limits:
    """Output over either limit is cut; the tail gets more room than the head because errors end up there."""

    chars: int
    lines: int

    @property
    def head(self) -> tuple[int, int]:
        return self.chars // 4, self.lines // 4

    @property
    def tail(self) -> tuple[int, int]:
        return self.chars * 5 // 8, self.lines * 5 // 8


def fit(text: str, limits: Limits, save: Callable[[str], str]) -> str:
    """`text` without its final newline if it fits; otherwise head, marker and tail, with the whole text
    handed to `save`, which keeps it and returns the path to name in the marker."""
    lines = text.splitlines(keepends=True)
    if len(text) <= limits.chars and len(lines) <= limits.lines:
        return text.removesuffix("\n")
    lines = [_shorten(line) for line in lines]
    head = _take(lines, *reversed(limits.head))
    tail = _take(lines[len(head):][::-1], *reversed(limits.tail))[::-1]
    cut = len(lines) - len(head) - len(tail)
    what = f"{cut} lines cut" if cut else "long lines shortened"
    marker = f"[... {what}; full output in {save(text)} — read it with read_file (offset, limit) or grep ...]"
    parts = ["".join(head).removesuffix("\n"), marker, "".join(tail).removesuffix("\n")]
    return "\n".join(part for part in parts if part)


def _shorten(line: str) -> str:
    body = line.removesuffix("\n")
    if len(body) <= MAX_LINE_CHARS:
        return line
    return f"{body[:MAX_LINE_CHARS]} [... {len(body) - MAX_LINE_CHARS} characters cut]{line[len(body):]}"


def _take(lines: list[str], max_lines: int, max_chars: int) -> list[str]:
    taken, used = [], 0
    for line in lines[:max_lines]:
        if used + len(line) > max_chars:
            break
        taken.append(line)
        used += len(line)
    return taken
