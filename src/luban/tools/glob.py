"""glob: find files by a path pattern with * ? [...] {a,b} and **, newest first.

The tree is walked once through folder descriptors with noise folders (.git, __pycache__, node_modules,
virtualenvs) pruned, which pathlib's glob cannot do; a symlinked match is listed only if it stays inside.
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
from . import path_argument
from ._input import ToolError, answer, walk_files

MAX_RESULTS = 200
MAX_SUGGESTIONS = 10

SPEC = ToolSpec(
    name="glob",
    description=(
        "Find files by name pattern. * matches any characters within one folder or file name, ** matches any "
        "number of folders, {a,b} matches either. Examples: **/*.py finds all Python files, src/*.{js,ts} "
        "finds .js and .ts files directly in src. Returns file paths, newest first, at most 200. "
        "Skips .git, node_modules, __pycache__ and virtualenv folders."
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
    with ws.files.folder(base) as folder:
        for name, holder, leaf in walk_files(folder):
            kinds = [kind for kind, regex in readings.items() if regex.fullmatch(name)]
            if kinds and (found := _found(ws, base.child(name), holder, leaf)) is not None:
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


def _found(ws: Workspace, where: Place, holder: int, leaf: str) -> os.stat_result | None:
    """The match's status; a symlink's target's where it stays inside the workspace, else None (not listed)."""
    try:
        info = os.stat(leaf, dir_fd=holder, follow_symlinks=False)
        return ws.files.stat(where) if stat.S_ISLNK(info.st_mode) else info
    except (OSError, PathRefused):
        return None  # gone since the walk, dangling, or leading out


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
