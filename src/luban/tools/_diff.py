"""The diff an edit shows, built from the replaced spans alone: unified hunks with three lines of context, in
time linear in the file (difflib over a whole file is quadratic, and took minutes for 20k replacements)."""

from __future__ import annotations

import difflib
import itertools
from dataclasses import dataclass
from typing import Callable, Iterator, Sequence

CONTEXT = 3


@dataclass(frozen=True)
class Change:
    """Lines old[start:stop] (0-based, of the whole file) become `new`, which starts at line `at` of the result."""

    start: int
    stop: int
    at: int
    removed: tuple[str, ...]
    new: tuple[str, ...]


def changes(text: str, spans: Sequence[tuple[int, int, str]], tick: Callable[[], None]) -> list[Change]:
    """The line changes of replacing text[start:end] with each span's text (sorted, not overlapping), each
    narrowed by difflib to the lines that differ within it. Spans on one line make one change."""
    out: list[Change] = []
    line, at, delta = 0, 0, 0  # the line number of offset `at`; new lines minus old lines so far
    i = 0
    while i < len(spans):
        tick()
        first = text.rfind("\n", 0, spans[i][0]) + 1
        line += text.count("\n", at, first)
        parts, end, last = [], first, -1
        # Take in every span that starts on a line the region holds. `last` (where its last line ends) is looked
        # for again only when a span runs past it: a minified file is one long line with every match on it.
        while i < len(spans) and (last < 0 or spans[i][0] <= last):
            start, stop, new = spans[i]
            parts += [text[end:start], new]
            end, i = stop, i + 1
            if end > last:
                found = text.find("\n", end)
                last = len(text) if found == -1 else found
        parts.append(text[end:last])
        at_end = last == len(text)
        old_lines = _lines(text[first:last], at_end, first)
        new_lines = _lines("".join(parts), at_end, first)
        out += _narrowed(old_lines, new_lines, line, line + delta)
        delta += len(new_lines) - len(old_lines)
        at = first
    return out


def _lines(region: str, at_end: bool, first: int) -> list[str]:
    """A region's lines as the whole file's were split for difflib: on LF, with the file's last newline starting
    no line. At the end of a file the newline before the region (at first - 1) counts too: a last line deleted
    whole is gone."""
    lines = region.split("\n")
    return lines[:-1] if at_end and (region.endswith("\n") or (not region and first > 0)) else lines


def _narrowed(old: list[str], new: list[str], line: int, new_line: int) -> Iterator[Change]:
    if not set(old) & set(new):  # nothing in common (the usual case): one change, without asking difflib
        yield Change(line, line + len(old), new_line, tuple(old), tuple(new))
        return
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
        if tag != "equal":
            yield Change(line + i1, line + i2, new_line + j1, tuple(old[i1:i2]), tuple(new[j1:j2]))


def unified(text: str, found: list[Change], limit: int) -> tuple[list[str], int]:
    """The first `limit` lines of the unified diff (no file header) and how many lines are left out; the lines
    left out are counted, never built."""
    old_total = text.count("\n") + (0 if text.endswith("\n") else 1)
    lines = _Lines(text)
    shown: list[str] = []
    more = 0
    for hunk in _hunks(_merged(found)):
        head, tail = max(hunk[0].start - CONTEXT, 0), min(hunk[-1].stop + CONTEXT, old_total)
        size = 1 + (tail - head) + sum(len(c.new) for c in hunk)  # header, old lines (context or removed), added
        taken = list(itertools.islice(_body(lines, hunk, head, tail), max(limit - len(shown), 0)))
        shown += taken
        more += size - len(taken)
    return shown, more


def _body(lines: _Lines, hunk: list[Change], head: int, tail: int) -> Iterator[str]:
    yield _header(head, tail, hunk)
    at = head
    for change in hunk:
        yield from (f" {line}" for line in lines.get(at, change.start))
        yield from (f"-{line}" for line in change.removed)
        yield from (f"+{line}" for line in change.new)
        at = change.stop
    yield from (f" {line}" for line in lines.get(at, tail))


def _merged(found: list[Change]) -> list[Change]:
    """Changes that touch (one ends where the next starts) as one, as difflib shows a replaced block."""
    out: list[Change] = []
    for change in found:
        if out and out[-1].stop == change.start:
            last = out[-1]
            change = Change(last.start, change.stop, last.at, last.removed + change.removed, last.new + change.new)
            out[-1] = change
        else:
            out.append(change)
    return out


def _hunks(found: list[Change]) -> Iterator[list[Change]]:
    """Changes grouped as difflib groups them: apart by more than twice the context, another hunk."""
    hunk: list[Change] = []
    for change in found:
        if hunk and change.start - hunk[-1].stop > 2 * CONTEXT:
            yield hunk
            hunk = []
        hunk.append(change)
    if hunk:
        yield hunk


def _header(head: int, tail: int, hunk: list[Change]) -> str:
    new_head = hunk[0].at - (hunk[0].start - head)
    new_size = (tail - head) + sum(len(c.new) - (c.stop - c.start) for c in hunk)
    return f"@@ -{_range(head, tail - head)} +{_range(new_head, new_size)} @@"


def _range(start: int, length: int) -> str:
    """As difflib writes a range: 1-based, the length left out when 1, the line before an empty one."""
    if length == 1:
        return f"{start + 1}"
    return f"{start + 1 if length else start},{length}"


class _Lines:
    """The file's lines by number, read forward only (hunks come in order), so a huge file is never split whole."""

    def __init__(self, text: str) -> None:
        self.text, self.line, self.at = text, 0, 0

    def get(self, start: int, stop: int) -> list[str]:
        while self.line < start:
            self._next()
        out = []
        while self.line < stop:
            out.append(self._next())
        return out

    def _next(self) -> str:
        end = self.text.find("\n", self.at)
        end = len(self.text) if end == -1 else end
        line, self.at, self.line = self.text[self.at:end], end + 1, self.line + 1
        return line
