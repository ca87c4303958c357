"""glob: find files by a path pattern with * ? [...] {a,b} and **, newest first.

It matches the workspace's listing (Workspace.listing: noise folders skipped, .gitignore honoured as grep
honours it) instead of walking the tree; a match is listed only if it still opens beneath the root.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any, Mapping

from ..errors import PathRefused
from ..types import Effect, ToolResult, ToolSpec, Touched
from ..workspace import Workspace
from ..workspace.boundary import Place
from ..workspace.listing import Listing, skipped
from . import path_argument
from ._input import ToolError, answer

MAX_RESULTS = 200
MAX_SUGGESTIONS = 10

SPEC = ToolSpec(
    name="glob",
    description=(
        "Find files by name pattern. * matches any characters within one folder or file name, ** matches any "
        "number of folders, {a,b} matches either. Examples: **/*.py finds all Python files, src/*.{js,ts} "
        "finds .js and .ts files directly in src. Returns file paths, newest first, at most 200. "
        "Skips .git, node_modules, __pycache__ and virtualenv folders, and files ignored by git."
    ),
    parameters={
        "type": "object",
        "properties": {
            "pattern": {"type": "string", "description": "The pattern, relative to path, e.g. **/test_*.py"},
            "path": {
                "type": "string",
                "x-existing": "dir",
                "default": ".",
                "description": "Folder to search in; default: the workspace root.",
            },
        },
        "required": ["pattern"],
        "additionalProperties": False,
    },
)


@dataclass(frozen=True)
class Glob:
    spec: ToolSpec = SPEC
    effect: Effect = "read"

    def touches(self, args: Mapping[str, Any]) -> Touched:
        return path_argument(args)

    def __call__(self, args: Mapping[str, Any], ws: Workspace) -> ToolResult:
        return answer(self.spec, args, "search",
                      lambda checked: _glob(ws, checked["pattern"], ws.files.place(checked["path"])))


TOOL = Glob()


def _glob(ws: Workspace, pattern: str, base: Place) -> ToolResult:
    pattern = pattern.strip().removeprefix("./")
    if not pattern:
        raise ToolError("pattern is empty; give a pattern such as **/*.py.")
    if pattern.startswith("/") or ".." in PurePosixPath(pattern).parts:
        raise ToolError("pattern must be relative and must not contain '..'; set path to search another folder.")
    rel = base.shown
    info = ws.files.stat(base)
    if info is None:
        raise ToolError(f"Folder not found: {rel}. Use list_dir to see which folders there are.")
    if not stat.S_ISDIR(info.st_mode):
        raise ToolError(f"{rel} is not a folder; give glob a folder as path.")
    # What is asked, and two readings for when it finds nothing: weak models guess the case of a name, or
    # the folder it is in ("utils.py" only matches at the top).
    readings = {"asked": translate(pattern), "case": re.compile(_translate(pattern), re.IGNORECASE)}
    last = PurePosixPath(pattern).name
    if last.strip("*?"):  # a last part of wildcards only would suggest every file
        readings["name"] = re.compile("(?:.*/)?" + _translate(last), re.IGNORECASE)
    dated: dict[str, list[tuple[float, str]]] = {kind: [] for kind in readings}
    for name in _names(ws, base):
        kinds = [kind for kind, regex in readings.items() if regex.fullmatch(name)]
        if kinds and (found := _found(ws, base.child(name))) is not None:
            for kind in kinds:
                dated[kind].append((-found.st_mtime, base.child(name).shown))
    if not dated["asked"]:
        return ToolResult(f"No files match {pattern} in {'the workspace root' if rel == '.' else rel}."
                          + _suggestions(dated["case"], dated.get("name", [])))
    lines = [name for _, name in sorted(dated["asked"])[:MAX_RESULTS]]
    if len(dated["asked"]) > MAX_RESULTS:
        lines.append(f"[{len(dated['asked']) - MAX_RESULTS} more files not shown; use a narrower pattern or path]")
    return ToolResult("\n".join(lines))


def _suggestions(case: list[tuple[float, str]], name: list[tuple[float, str]]) -> str:
    """What a pattern that found nothing finds ignoring case, else by its last part in any folder."""
    for found, how in ((case, "Ignoring case"), (name, "In any folder, ignoring case")):
        if found:
            names = [shown for _, shown in sorted(found)[:MAX_SUGGESTIONS]]
            more = f" [{len(found) - MAX_SUGGESTIONS} more]" if len(found) > MAX_SUGGESTIONS else ""
            return f" {how}: " + ", ".join(names) + more
    return ""


def _names(ws: Workspace, base: Place) -> list[str]:
    """The files beneath `base`, relative to it: from the workspace's listing, or the saved tool outputs when
    `base` is the scratch folder (which is flat)."""
    with ws.files.folder(base) as folder:  # a folder this user may not open is an error, not "no files"
        if base.base != ws.root:
            return sorted(os.listdir(folder))
    under = ws.relative(ws.resolve(base.given))  # a folder reached through an in-tree symlink: its real place
    if any(skipped(part) for part in under.split("/")):  # asked for by name: a noise folder is listed too
        return list(Listing(ws.root / under).files())
    files = ws.listing.files()
    return list(files) if under == "." else [f[len(under) + 1:] for f in files if f.startswith(f"{under}/")]


def _found(ws: Workspace, where: Place) -> os.stat_result | None:
    """The match's status, opened beneath the root; None where it is gone, not a file, or leads out."""
    try:
        info = ws.files.stat(where)
    except (OSError, PathRefused):
        return None
    return info if info is not None and stat.S_ISREG(info.st_mode) else None


def translate(pattern: str) -> re.Pattern[str]:
    """A glob pattern as a regex over POSIX relative paths (no braces inside braces)."""
    return re.compile(_translate(pattern))


_ONE_CHAR = {"*": "[^/]*", "?": "[^/]"}


def _translate(pattern: str) -> str:
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "[" and (end := pattern.find("]", i + 2)) != -1:
            body = pattern[i + 1 : end]
            body = "^" + body[1:] if body.startswith("!") else body
            out.append("[" + body.replace("\\", "\\\\") + "]")
            i = end + 1
        elif pattern[i] == "{" and (end := pattern.find("}", i)) != -1:
            out.append("(?:" + "|".join(_translate(alt) for alt in pattern[i + 1 : end].split(",")) + ")")
            i = end + 1
        else:
            out.append(_ONE_CHAR.get(pattern[i], re.escape(pattern[i])))
            i += 1
    return "".join(out)
