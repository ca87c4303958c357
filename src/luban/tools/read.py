"""read_file: a text file's lines, numbered, one page at a time."""

from __future__ import annotations

import re
import stat
from dataclasses import dataclass
from typing import Any, BinaryIO, Iterable, Mapping

from ..types import Effect, ToolResult, ToolSpec, Touched
from ..workspace import Workspace
from ..workspace.boundary import Place
from . import path_argument
from ._input import BINARY_PROBE, Deadline, Tick, ToolError, answer, fault, looks_binary, not_found

MAX_LINES = 2000
MAX_CHARS = 100_000
# Minified files can hold a whole program on one line; cut such lines so one page stays readable.
MAX_LINE_CHARS = 2000
TIME_LIMIT_S = 30.0  # reading a file's lines to count them; a file so big it takes longer is for grep or bash
MIN_LINES = 40  # the fewest lines a read shows, whatever limit is asked
TICK_EVERY = 4096  # lines between looks at the clock

SPEC = ToolSpec(
    name="read_file",
    description=(
        "Read a text file. Returns its lines, each starting with the line number and a tab "
        "(the number and tab are not part of the file). Shows 40 to 2000 lines at a time; "
        "to see more, call again with offset (the first line to show) and limit (how many lines)."
    ),
    parameters={
        "type": "object",
        "properties": {
            "path": {"type": "string", "x-existing": "file", "description": "The file to read, relative to the workspace root."},
            "offset": {
                "type": "integer",
                "minimum": 1,
                "default": 1,
                "description": "First line to show; 1 is the first line.",
            },
            "limit": {"type": "integer", "minimum": 1, "default": MAX_LINES, "description": "How many lines to show."},
        },
        "required": ["path"],
        "additionalProperties": False,
    },
)


def numbered(lines: Iterable[str], first: int) -> str:
    """Lines as `cat -n` shows them: the number right-aligned in six columns, a tab, the text."""
    return "\n".join(f"{number:>6}\t{line}" for number, line in enumerate(lines, first))


# A line `numbered` made: six or more columns of number, then a tab or, for a blank line whose trailing tab
# the model dropped, the end of the line.
_NUMBERED_LINE = re.compile(r"^(?P<number> *\d+)(?:\t|$)")


def unnumbered(text: str) -> str:
    """`text` without the line numbers `numbered` put before its lines, where a model copied them into content."""
    def bare(line: str) -> str:
        found = _NUMBERED_LINE.match(line)
        return line[found.end():] if found and len(found["number"]) >= 6 else line

    return "\n".join(bare(line) for line in text.split("\n"))


@dataclass(frozen=True)
class ReadFile:
    spec: ToolSpec = SPEC
    effect: Effect = "read"
    time_limit_s: float = TIME_LIMIT_S

    def touches(self, args: Mapping[str, Any]) -> Touched:
        return path_argument(args)

    def __call__(self, args: Mapping[str, Any], ws: Workspace) -> ToolResult:
        return answer(self.spec, args, "read", lambda checked: self._read(ws, checked))

    def _read(self, ws: Workspace, checked: Mapping[str, Any]) -> ToolResult:
        where = ws.files.place(checked["path"])
        deadline = Deadline.start("read_file", where.shown, self.time_limit_s)
        # Weak models page a file one line at a time (offset 1098 limit 1, 1099 limit 1, ...), a step each, never
        # seeing a whole function; a short window costs a few hundred tokens and saves those steps.
        return _read(ws, where, checked["offset"], max(checked["limit"], MIN_LINES), deadline.check)


TOOL = ReadFile()


@dataclass(frozen=True)
class _Page:
    lines: tuple[str, ...]
    total: int
    lossy: bool


def _read(ws: Workspace, where: Place, offset: int, limit: int, tick: Tick) -> ToolResult:
    rel = where.shown
    info = ws.files.stat(where)
    if info is None:
        raise not_found(ws, where)
    if stat.S_ISDIR(info.st_mode):
        raise ToolError(f"{rel} is a folder, not a file; use list_dir to see what is in it.")
    if not stat.S_ISREG(info.st_mode):
        raise ToolError(f"{rel} is not a regular file; read_file only reads files.")
    try:
        with ws.files.open_read(where) as f:
            if looks_binary(f.read(BINARY_PROBE)):
                raise ToolError(f"{rel} is a binary file (it contains NUL bytes); read_file only shows text.")
            f.seek(0)
            page = _page(f, offset, limit, tick)
    except OSError as error:
        raise fault(error, "read", rel) from None
    if page.total == 0:
        return ToolResult(f"{rel} is empty (0 lines).")
    if offset > page.total:
        raise ToolError(f"offset {offset} is past the end of {rel}, which has {page.total} lines.")
    parts = [numbered(page.lines, offset)]
    if page.lossy:
        parts.append("[some bytes are not valid UTF-8; they are shown as \ufffd]")
    last = offset + len(page.lines) - 1
    if offset > 1 or last < page.total:
        more = f"; call read_file with offset={last + 1} to continue" if last < page.total else ""
        parts.append(f"[showing lines {offset}-{last} of {page.total}{more}]")
    return ToolResult("\n".join(parts))


def _page(f: BinaryIO, offset: int, limit: int, tick: Tick) -> _Page:
    """Decode the lines from `offset` on until `limit` lines or MAX_CHARS; count the rest without decoding."""
    shown: list[str] = []
    chars, lossy, full, total = 0, False, False, 0
    for total, raw in enumerate(f, 1):
        if not total % TICK_EVERY:
            tick()
        if total < offset or full:
            continue
        text, bad = _decode(raw)
        if shown and chars + len(text) > MAX_CHARS:
            full = True
            continue
        shown.append(text)
        chars += len(text)
        lossy = lossy or bad
        full = len(shown) >= limit
    return _Page(tuple(shown), total, lossy)


def _decode(raw: bytes) -> tuple[str, bool]:
    line = raw.removesuffix(b"\n").removesuffix(b"\r")
    try:
        text, bad = line.decode("utf-8"), False
    except UnicodeDecodeError:
        text, bad = line.decode("utf-8", errors="replace"), True
    return cut_line(text), bad


def cut_line(text: str) -> str:
    if len(text) <= MAX_LINE_CHARS:
        return text
    return f"{text[:MAX_LINE_CHARS]} [... {len(text) - MAX_LINE_CHARS} more characters on this line]"
