"""A read too long for one result: its first lines, then an outline of the rest (each definition's line and
signature), instead of a head and a tail.

Why: weak models read whole modules. In bf-30 and bf-36 nine of fifteen reads were read_file(path) of a source
file of 37k-71k characters; cut to a head and a tail, such a read showed the licence, the imports and the last
150 lines of the file, while the function the briefing named sat in the middle (boltons' remap at line 1206 of
1659). A long range fared no better: lines 510-1062 of jinja2's runtime.py showed as 510-569 and 891-1062, and the
model asked for the same range twice more. The outline costs the same share of the window and says where every
function is, so the next read can ask for the lines that matter. Output with no definitions after its first
lines (data, prose) is cut as before.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any, Mapping

from .output import Limits
from .tags import Definition, extract, language_for

_NUMBERED = re.compile(r"^ *(\d+)\t(.*)$")  # a line as read_file numbers it
_NOTE = re.compile(r"^\[.*\]$")  # read_file's own closing note, e.g. [showing lines 1-2000 of 2500]
_TOTAL = re.compile(r"^\[showing lines \d+-\d+ of (\d+)")
FIRST_SHARE = 4  # the first lines get a quarter of the output budget, as a cut's head does
COMPACT_WIDTH = 100  # characters of a line of the compact outline, several definitions to a line
MORE_CHARS = 60  # room kept for the closing count


def outlined(arguments: Mapping[str, Any], view: str, limits: Limits) -> str | None:
    """The read's first lines and an outline of the others; None where the read is not of source code, fits,
    or has no definitions after its first lines."""
    path = arguments.get("path")
    language = language_for(path) if isinstance(path, str) else None
    lines = view.splitlines()
    if language is None or (len(view) <= limits.chars and len(lines) <= limits.lines):
        return None
    numbered = [found for line in lines if (found := _NUMBERED.match(line))]
    notes = [line for line in lines if not _NUMBERED.match(line)]
    if not numbered or not all(_NOTE.match(note.strip()) for note in notes):
        return None
    first, last = int(numbered[0][1]), int(numbered[-1][1])
    head = _first([found[0] for found in numbered], limits.chars // FIRST_SHARE, limits.lines // FIRST_SHARE)
    source = "\n".join(found[2] for found in numbered)
    every = extract(source.encode("utf-8", errors="surrogateescape"), language).definitions
    rest = [(replace(d, line=d.line + first - 1), name) for d, name in zip(every, _qualified(every))
            if d.line > len(head)]
    if not rest:
        return None
    total = next((int(found[1]) for note in notes if (found := _TOTAL.search(note))), last)
    whole = first == 1
    what, end = ((f"{path} has {total} lines, more", total) if whole
                 else (f"Lines {first}-{last} of {path} are more", last))
    beyond = f" (the outline ends at line {last})" if end > last else ""
    note = (f"[{what} than one result shows. Lines {first + len(head)}-{end} are not shown; below, by line "
            f"number, are the definitions in them{beyond}. To read one, call read_file with offset=<its line> and "
            "limit=<how many lines>.]")
    room = limits.chars - sum(len(line) + 1 for line in head) - len(note) - 1
    return "\n".join([*head, note, _outline(rest, room, limits.lines - len(head) - 1)])


def _qualified(definitions: tuple[Definition, ...]) -> list[str]:
    """`Class.method` for each definition, from the index of its enclosing one."""
    names: list[str] = []
    for d in definitions:
        names.append(d.name if d.parent is None else f"{names[d.parent]}.{d.name}")
    return names


def _first(lines: list[str], max_chars: int, max_lines: int) -> list[str]:
    taken, used = [], 0
    for line in lines[:max_lines]:
        used += len(line) + 1
        if used > max_chars:
            break
        taken.append(line)
    return taken


def _outline(rest: list[tuple[Definition, str]], max_chars: int, max_lines: int) -> str:
    """One line per definition with its signature, nested ones indented; where that does not fit, each
    definition's line and qualified name, several to a line, as many as fit and how many more there are (a
    method's name matters as much as a module's function: the bug may be in either)."""
    rows = [f"{d.line:>6}  {'    ' * d.depth}{d.signature}" for d, _ in rest]
    if len(rows) <= max_lines and sum(len(row) + 1 for row in rows) <= max_chars:
        return "\n".join(rows)
    rows, row, used = [], "", 0
    for at, (d, name) in enumerate(rest):
        entry = f"{d.line} {name}"
        if row and len(row) + len(entry) + 2 > COMPACT_WIDTH:
            rows.append(row)
            used += len(row) + 1
            row = ""
        if used + len(row) + len(entry) + MORE_CHARS > max_chars or len(rows) + 2 > max_lines:
            return "\n".join([*rows, *([row] if row else []),
                              f"[... {len(rest) - at} more definitions after line {d.line - 1}]"])
        row = f"{row}, {entry}" if row else entry
    return "\n".join([*rows, row])
