"""edit_file: replace one exact piece of a file. When the text is not there exactly, a cascade of forgiving
matches (trailing whitespace, then indentation, then Unicode punctuation) may find it, but only in one place."""

from __future__ import annotations

import difflib
import heapq
import re
import stat
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from ..types import Effect, ToolResult, ToolSpec, Touched
from ..workspace import Workspace
from ..workspace.boundary import Place
from . import path_argument
from ._diff import changes, unified
from ._input import Deadline, Tick, ToolError, answer, fault, looks_binary, not_found
from ._syntax import judge
from .read import cut_line, numbered
from .write import plural, write_text

MAX_DIFF_LINES = 60
LISTED_LINES = 10  # line numbers an error lists for an ambiguous old_string; the rest it counts
# Bigger files are for bash: the whole text is held, matched and diffed in memory.
MAX_BYTES = 32 << 20
TIME_LIMIT_S = 30.0  # as a command has its timeout: a call past this stops with an error, the file unchanged
TICK_EVERY = 4096  # lines between looks at the clock in the loops over a file's lines
# Below this difflib ratio the "most similar lines" would mislead more than help.
NEAREST_MIN_RATIO = 0.5
NEAREST_CANDIDATES = 20
_WORD = re.compile(r"\w+")

SPEC = ToolSpec(
    name="edit_file",
    description=(
        "Replace text in a file. old_string must be copied exactly from the file (without the line numbers "
        "that read_file adds) and must match only one place; include a few nearby lines to make it unique. "
        "new_string is the text to put in its place. Set replace_all to true to replace every match. "
        "An empty old_string creates a new file containing new_string. Returns a diff of the change."
    ),
    parameters={
        "type": "object",
        "properties": {
            "path": {"type": "string", "x-existing": "writable", "description": "The file to edit, relative to the workspace root."},
            "old_string": {"type": "string", "description": "The exact text to replace."},
            "new_string": {"type": "string", "description": "The text to put in its place."},
            "replace_all": {"type": "boolean", "default": False, "description": "Replace every match, not one."},
        },
        "required": ["path", "old_string", "new_string"],
        "additionalProperties": False,
    },
)


@dataclass(frozen=True)
class EditFile:
    spec: ToolSpec = SPEC
    effect: Effect = "write"
    max_bytes: int = MAX_BYTES
    time_limit_s: float = TIME_LIMIT_S

    def touches(self, args: Mapping[str, Any]) -> Touched:
        return path_argument(args)

    def __call__(self, args: Mapping[str, Any], ws: Workspace) -> ToolResult:
        return answer(self.spec, args, "edit", lambda checked: self._edit(ws, checked))

    def _edit(self, ws: Workspace, checked: Mapping[str, Any]) -> ToolResult:
        where = ws.files.place(checked["path"])
        info = ws.files.stat(where)
        if info is not None and info.st_size > self.max_bytes:
            raise ToolError(f"{where.shown} has {info.st_size:,} bytes, more than edit_file takes "
                            f"({self.max_bytes:,}); change a file this large with bash (sed, or a script) instead.")
        deadline = Deadline.start("edit_file", where.shown, self.time_limit_s, writes=True)
        return _edit(ws, where, checked["old_string"], checked["new_string"], checked["replace_all"], deadline.check)


TOOL = EditFile()


@dataclass(frozen=True)
class _Span:
    """text[start:end] is to become `text`."""

    start: int
    end: int
    text: str


@dataclass(frozen=True)
class _Fallback:
    ignoring: str  # what this level ignores, told to the model when it matched
    note: str
    find: Callable[[str, str, str, Tick], list[_Span]]  # (file text, old_string, new_string, tick) -> candidates


def _edit(ws: Workspace, where: Place, old: str, new: str, replace_all: bool, tick: Tick) -> ToolResult:
    if old == new:
        raise ToolError("old_string and new_string are the same, so there is nothing to change.")
    rel = where.shown
    info = ws.files.stat(where)
    if info is not None and stat.S_ISDIR(info.st_mode):
        raise ToolError(f"{rel} is a folder, not a file; give edit_file the path of a file.")
    if info is None:
        if old:
            raise not_found(ws, where)
        return write_text(ws, where, new)
    text, crlf = _load(ws, where)
    if not old:
        if text:
            raise ToolError(
                f"old_string is empty but {rel} is not; copy the exact text to replace from the file, "
                "or use write_file to replace the whole file."
            )
        return write_text(ws, where, new)
    if crlf:
        old, new = old.replace("\r\n", "\n"), new.replace("\r\n", "\n")
    spans, how = _locate(text, old, new, replace_all, rel, tick)
    updated = _apply(text, spans)
    if updated == text:
        raise _already_applied(rel, _line_list(text, [span.start for span in spans]))
    parses = judge(rel, text, updated)
    if not parses.apply:
        raise ToolError(f"The edit was not applied: {parses.said} Correct new_string and try again; {rel} is "
                        "unchanged.")
    shown = _diff(text, spans, tick)  # before the write: a call stopped by its time limit changes nothing
    _store(ws, where, updated, crlf)
    said = f"\n{parses.said}" if parses.said else ""
    return ToolResult(f"Edited {rel} ({plural(len(spans), 'replacement')}{how}).\n{shown}{said}")


def _load(ws: Workspace, where: Place) -> tuple[str, bool]:
    """The file's text with CRLF turned into LF if every line ends in CRLF, and whether it did."""
    rel = where.shown
    try:
        with ws.files.open_read(where) as f:
            data = f.read()
    except OSError as error:
        raise fault(error, "read", rel) from None
    if looks_binary(data):
        raise ToolError(f"{rel} is a binary file (it contains NUL bytes); edit_file only edits text.")
    # surrogateescape keeps bytes that are not UTF-8 exactly as they were when the file is written back.
    text = data.decode("utf-8", errors="surrogateescape")
    crlf = "\r\n" in text and text.count("\r\n") == text.count("\n")
    return (text.replace("\r\n", "\n"), True) if crlf else (text, False)


def _store(ws: Workspace, where: Place, text: str, crlf: bool) -> None:
    rel = where.shown
    if crlf:
        text = text.replace("\n", "\r\n")
    # Only the file's own bytes that are not UTF-8 come back here as surrogates: parse_args refused any others.
    data = text.encode("utf-8", errors="surrogateescape")
    try:
        ws.files.write(where, data)
    except OSError as error:
        raise fault(error, "write", rel) from None


def _locate(text: str, old: str, new: str, replace_all: bool, rel: str, tick: Tick) -> tuple[list[_Span], str]:
    """The spans to replace and how they were found ('' when exactly); raise when there is not one match."""
    starts = _occurrences(text, old)
    if len(starts) == 1 and _inserted_already(text, starts[0], old, new):
        raise ToolError(
            f"new_string is already in {rel} ({_line_list(text, starts)}) around old_string, so this edit looks "
            "already applied; making it again would add the same text twice. Read the file to check before "
            "editing it again."
        )
    if len(starts) == 1 or (starts and replace_all):
        return [_Span(start, start + len(old), new) for start in starts], ""
    if starts:
        raise ToolError(
            f"old_string matches {len(starts)} places in {rel} ({_line_list(text, starts)}); include more "
            "surrounding lines so it matches exactly one, or set replace_all to true to change every one."
        )
    for fallback in _FALLBACKS:
        spans = fallback.find(text, old, new, tick)
        if len(spans) == 1:
            return spans, f"; old_string matched only after ignoring {fallback.ignoring}{fallback.note}"
        if spans:
            lines = _line_list(text, [span.start for span in spans])
            raise ToolError(
                f"old_string is not in {rel} exactly, and ignoring {fallback.ignoring} it matches "
                f"{len(spans)} places ({lines}); copy the exact text from read_file, with enough "
                "surrounding lines to match one place."
            )
    # One occurrence only: a short new_string found all over the file says nothing about this edit.
    if new.strip() and len(found := _occurrences(text, new)) == 1:
        raise _already_applied(rel, _line_list(text, found))
    raise _missing(text, old, rel, tick)


def _inserted_already(text: str, start: int, old: str, new: str) -> bool:
    """Whether `new` is `old` with text added around it, and that text is already around `old` at `start`.

    The 1.5B sent the same insertion (old_string its function's `def` line, new_string that line and twenty
    more) twice, and the second call applied it again: the function held its new code twice over.
    """
    at = new.find(old)
    if at == -1:
        return False
    before, after = new[:at], new[at + len(old):]
    return start >= len(before) and text[start - len(before):start + len(old) + len(after)] == new


def _occurrences(text: str, part: str) -> list[int]:
    """Start offsets of non-overlapping occurrences, as str.replace would find them."""
    starts, at = [], text.find(part)
    while at != -1:
        starts.append(at)
        at = text.find(part, at + len(part))
    return starts


def _line_list(text: str, starts: list[int]) -> str:
    """'line 4' or 'lines 1, 3, 5': the lines that hold the offsets (in order), counted in one pass; after the
    first ten, how many more."""
    lines: list[int] = []
    line, at = 1, 0
    for start in starts:
        line += text.count("\n", at, start)
        at = start
        if not lines or lines[-1] != line:
            lines.append(line)
    listed = ", ".join(str(n) for n in lines[:LISTED_LINES])
    more = f" and {len(lines) - LISTED_LINES} more" if len(lines) > LISTED_LINES else ""
    return f"line {listed}" if len(lines) == 1 else f"lines {listed}{more}"


def _apply(text: str, spans: list[_Span]) -> str:
    parts, at = [], 0
    for span in spans:
        parts += [text[at : span.start], span.text]
        at = span.end
    return "".join([*parts, text[at:]])


def _by_lines(text: str, old: str, new: str, norm: Callable[[str], str], reindent: bool, tick: Tick
              ) -> list[_Span]:
    """Whole-line blocks of `text` equal to old_string's lines once both go through `norm`."""
    want = [norm(line) for line in old.removesuffix("\n").split("\n")]
    if not any(want):
        return []  # only blank lines: they would match every blank stretch of the file
    body = new.removesuffix("\n") if old.endswith("\n") else new
    lines = text.split("\n")
    have = [norm(line) for line in lines]
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line) + 1)
    size = len(want)
    spans = []
    for i in range(len(lines) - size + 1):
        if not i % TICK_EVERY:
            tick()
        if have[i] == want[0] and have[i : i + size] == want:
            start, end = offsets[i], offsets[i + size] - 1
            spans.append(_Span(start, end, _reindent(body, old, text[start:end]) if reindent else body))
    return spans


def _reindent(body: str, old: str, block: str) -> str:
    """Shift new_string by the indentation difference between old_string and the block it matched."""
    old_indent, file_indent = _first_indent(old), _first_indent(block)
    return "\n".join(
        file_indent + line[len(old_indent) :] if line.strip() and line.startswith(old_indent) else line
        for line in body.split("\n")
    )


def _first_indent(text: str) -> str:
    for line in text.split("\n"):
        if line.strip():
            return line[: len(line) - len(line.lstrip())]
    return ""


# One character for one, so offsets in the plain text are offsets in the file.
_PLAIN = str.maketrans(
    {
        **dict.fromkeys("\u2018\u2019\u201a\u201b\u2032", "'"),
        **dict.fromkeys("\u201c\u201d\u201e\u201f\u2033", '"'),
        **dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212", "-"),
        **dict.fromkeys("\u00a0\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f", " "),
    }
)


def _punctuation(text: str, old: str, new: str, tick: Tick) -> list[_Span]:
    plain = text.translate(_PLAIN)
    return [_Span(start, start + len(old), new) for start in _occurrences(plain, old.translate(_PLAIN))]


def _quotes(text: str, old: str, new: str, tick: Tick) -> list[_Span]:
    """Matches with single and double quotes taken as one. Why: the 1.5B wrote `b'.' - base64d` for the file's
    `b"." - base64d`, was shown the file's line as the nearest, and sent the same old_string again."""
    plain = text.translate(_PLAIN).replace("'", '"')
    return [_Span(start, start + len(old), new) for start in _occurrences(plain, old.translate(_PLAIN).replace("'", '"'))]


_FALLBACKS = (
    _Fallback("trailing whitespace", "",
              lambda text, old, new, tick: _by_lines(text, old, new, str.rstrip, False, tick)),
    _Fallback(
        "indentation",
        "; new_string was re-indented to match",
        lambda text, old, new, tick: _by_lines(text, old, new, str.strip, True, tick),
    ),
    _Fallback("curly quotes, dashes and non-breaking spaces", "", _punctuation),
    _Fallback("the kind of quotes", "", _quotes),
)


def _already_applied(rel: str, lines: str) -> ToolError:
    return ToolError(
        f"old_string is not in {rel} but new_string already is ({lines}), so this edit looks already "
        "applied; read the file to check before editing it again."
    )


# read_file's "    12\t" prefix, which weak models copy into old_string.
_NUMBER_PREFIX = re.compile(r"^ *\d+\t")


def _missing(text: str, old: str, rel: str, tick: Tick) -> ToolError:
    hint = ""
    if all(_NUMBER_PREFIX.match(line) for line in old.removesuffix("\n").split("\n")):
        hint = " old_string seems to include the line numbers from read_file; leave them out."
    nearest = _nearest(text, old, tick)
    if nearest is None:
        return ToolError(
            f"old_string was not found in {rel}, and no similar lines were found.{hint} "
            "Read the file with read_file and copy the exact text."
        )
    first, lines = nearest
    return ToolError(
        _printable(
            f"old_string was not found in {rel}.{hint} The most similar lines are below (line number, tab, "
            f"text); copy the exact text from them, without the line numbers:\n{numbered(lines, first)}"
        )
    )


def _nearest(text: str, old: str, tick: Tick) -> tuple[int, list[str]] | None:
    """The window of lines, as many as old_string has, most like old_string: (first line number, lines).

    Character-level ratios over every window are quadratic and took minutes on a big file, so windows are
    first ranked by the words they share with old_string line by line, and only the best few are compared.
    """
    lines = text.split("\n")
    target = old.removesuffix("\n")
    want = [set(_WORD.findall(line)) for line in target.split("\n")]
    have = []
    for i, line in enumerate(lines):
        if not i % TICK_EVERY:
            tick()
        have.append(set(_WORD.findall(line)))
    size = len(want)
    starts = range(max(1, len(lines) - size + 1))

    def shared(i: int) -> int:
        if not i % TICK_EVERY:
            tick()
        # strict=False: a file shorter than old_string gives one short window.
        return sum(len(w & h) for w, h in zip(want, have[i : i + size], strict=False))

    ranked = heapq.nlargest(NEAREST_CANDIDATES, starts, key=shared)
    matcher = difflib.SequenceMatcher(autojunk=False)
    matcher.set_seq2(target)
    best, best_at = NEAREST_MIN_RATIO, None
    for i in sorted(ranked):
        window = "\n".join(lines[i : i + size])
        if len(window) > 3 * len(target):
            continue  # ratio = 2 matches / (its length + target's) < 2 / 4: never above NEAREST_MIN_RATIO
        matcher.set_seq1(window)
        if (ratio := matcher.ratio()) > best:
            best, best_at = ratio, i
    if best_at is None:
        return None
    return best_at + 1, lines[best_at : best_at + size]


def _diff(text: str, spans: list[_Span], tick: Tick) -> str:
    """The change as unified-diff hunks with three lines of context, without the file header."""
    lines, more = unified(text, changes(text, [(s.start, s.end, s.text) for s in spans], tick), MAX_DIFF_LINES)
    lines = [cut_line(line) for line in lines]  # a minified file's one line would fill the window
    if more:
        lines.append(f"[... {more} more diff lines]")
    return _printable("\n".join(lines))


def _printable(text: str) -> str:
    """Bytes kept by surrogateescape, shown as U+FFFD so the message is valid UTF-8."""
    return text.encode("utf-8", errors="surrogateescape").decode("utf-8", errors="replace")
