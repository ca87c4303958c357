"""Long tool output cut to a head and a tail around a marker that names a file holding all of it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

MAX_LINE_CHARS = 1_000
_NUMBERED = re.compile(r" *(\d+)\t")  # a file's line as read_file shows it, `cat -n` style
_NOTE = re.compile(r"\[.*\]$")  # what read_file says after the lines: [showing lines 1-40 of 90; ...]
_TOTAL = re.compile(r"\bof (\d+)\b")


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


def page(text: str, limits: Limits) -> str | None:
    """A file's numbered lines over `limits` cut at a whole line, with where to read on; None for other text.

    Why not a head and a tail: a read of lines 510-1062 then showed 510-569 and 891-1062, and the 1.5B asked for
    the same read twice more, never seeing the lines between."""
    lines = text.splitlines(keepends=True)
    if len(text) <= limits.chars and len(lines) <= limits.lines:
        return None
    numbered = [line for line in lines if _NUMBERED.match(line)]
    notes = [line.strip() for line in lines if not _NUMBERED.match(line)]
    if not numbered or not all(_NOTE.match(note) for note in notes):
        return None
    kept = _take(numbered, max(limits.lines - 1, 1), max(limits.chars - 200, 1))
    if not kept or len(kept) == len(numbered):
        return None
    first, last = (int(_NUMBERED.match(line)[1]) for line in (kept[0], kept[-1]))  # type: ignore[index]
    total = next((found[1] for note in notes if (found := _TOTAL.search(note))), None)
    of = f" of {total}" if total else ""
    return (f"{''.join(kept)}[showing lines {first}-{last}{of}, as many as one result holds; call read_file with "
            f"offset={last + 1} to continue]")


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
