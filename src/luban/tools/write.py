"""write_file: create a file or replace all of its content, atomically."""

from __future__ import annotations

import ast
import posixpath
import stat
from dataclasses import dataclass, replace
from typing import Any, Mapping

from ..context.tags import language_for
from ..errors import PathRefused
from ..types import Effect, ToolResult, ToolSpec, Touched
from ..workspace import Workspace
from ..workspace.boundary import Place
from . import path_argument
from ._input import ToolError, answer, fault
from ._syntax import Judgement, judge
from .read import unnumbered

SPEC = ToolSpec(
    name="write_file",
    description=(
        "Create a file, or replace everything in an existing file. content is the complete new text of the "
        "file. Missing parent folders are created. To change part of an existing file, use edit_file instead."
    ),
    parameters={
        "type": "object",
        "properties": {
            "path": {"type": "string", "description": "The file to write, relative to the workspace root."},
            "content": {"type": "string", "description": "The full text the file should contain."},
        },
        "required": ["path", "content"],
        "additionalProperties": False,
    },
)


@dataclass(frozen=True)
class WriteFile:
    spec: ToolSpec = SPEC
    effect: Effect = "write"

    def touches(self, args: Mapping[str, Any]) -> Touched:
        return path_argument(args)

    def __call__(self, args: Mapping[str, Any], ws: Workspace) -> ToolResult:
        return answer(self.spec, args, "write",
                      lambda checked: write_text(ws, ws.files.place(checked["path"]), checked["content"]))


TOOL = WriteFile()


def count_lines(text: str) -> int:
    """Lines as an editor counts them: a last line without a newline still counts."""
    return text.count("\n") + (1 if text and not text.endswith("\n") else 0)


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def write_text(ws: Workspace, where: Place, content: str) -> ToolResult:
    rel = where.shown
    info = ws.files.stat(where)
    if info is not None and stat.S_ISDIR(info.st_mode):
        raise ToolError(f"{rel} is a folder; give write_file the path of a file.")
    if info is None and (holder := _file_holder(ws, where)) is not None:
        raise ToolError(f"{holder} is a file, so {rel} cannot be created inside it.")
    old = _old_text(ws, where) if info is not None else None
    if old is not None and (lost := _fragment(rel, old, content)):
        raise ToolError(f"Not written: content has {plural(count_lines(content), 'line')} and no definitions, and "
                        f"would replace all {count_lines(old)} lines of {rel} with its {lost} definitions. content "
                        "must be the complete new text of the file; to change part of it, use edit_file with "
                        f"old_string copied from the file. {rel} is unchanged.")
    parses, content, repaired = _parsing(rel, old, content)
    if not parses.apply:
        kept = f"{rel} is unchanged" if info is not None else f"{rel} was not created"
        raise ToolError(f"Not written: {parses.said} Correct the content and try again; {kept}.")
    try:
        written = ws.files.write(where, content.encode("utf-8"))  # parse_args refused lone surrogates
    except OSError as error:
        raise fault(error, "write", rel) from None
    how = "overwritten" if written.existed else "created"
    said = "".join(f"\n{note}" for note in (repaired, parses.said) if note)
    return ToolResult(f"Wrote {plural(count_lines(content), 'line')} to {written.shown} ({how}).{said}")


def _parsing(rel: str, old: str | None, content: str) -> tuple[Judgement, str, str]:
    """The syntax judgement of `content`, the content to write and what was repaired in it.

    A weak model copies read_file's line numbers into content (the 1.5B began a file with "     1\\n     2\\n",
    read_file's numbered blank lines, and sent it three times to the same refusal). Where the content would be
    refused and the same content without those numbers parses, the numbers are plainly not meant as code:
    Luban writes it without them and says so, rather than refusing a correct body.
    """
    parses = judge(rel, old, content)
    if parses.apply or (bare := unnumbered(content)) == content:
        return parses, content, ""
    parses_bare = judge(rel, old, bare)
    if not parses_bare.apply:
        return parses, content, ""
    return parses_bare, bare, ("Luban left out the line numbers read_file shows, which began lines of content; "
                               "they are not part of the file.")


def _fragment(rel: str, old: str, content: str) -> int:
    """How many top-level definitions of the Python file `old` a `content` that is a fragment of code would wipe
    out; 0 where it is not one: a file of several definitions replaced by loose statements a third its length.

    Why: told to change three lines of an 850-line module, the 1.5B sent write_file the three lines, twice in a
    run; only the test guard stopped it, after a full test run, with "0 tests passing instead of 460", which did
    not tell it that write_file replaces the whole file. Without a test gate the module would have been lost.
    """
    if language_for(rel) != "python" or 3 * count_lines(content) >= count_lines(old):
        return 0
    kept, lost = _definitions(content), _definitions(old)
    return lost if kept == 0 and lost >= 2 else 0


def _definitions(text: str) -> int:
    """The number of top-level functions and classes of a Python text, or -1 where it does not parse."""
    try:
        body = ast.parse(text).body
    except (SyntaxError, ValueError):
        return -1
    return sum(isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) for node in body)


def _old_text(ws: Workspace, where: Place) -> str | None:
    """The text being replaced, for the syntax check; None where it cannot be read (then it counts as new)."""
    try:
        with ws.files.open_read(where) as f:
            return f.read().decode("utf-8", errors="surrogateescape")
    except (OSError, PathRefused):
        return None


def _file_holder(ws: Workspace, where: Place) -> str | None:
    """The nearest folder on the way to `where` that exists, named where it is a file rather than a folder."""
    rel = posixpath.normpath(where.rel)
    while rel := posixpath.dirname(rel):
        info = ws.files.stat(replace(where, rel=rel))
        if info is not None:
            return None if stat.S_ISDIR(info.st_mode) else rel
    return None
