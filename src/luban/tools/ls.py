"""list_dir: what one folder holds (not its subfolders), folders first, files with their sizes."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from typing import Any, Mapping

from ..types import Effect, ToolResult, ToolSpec, Touched
from ..workspace import Workspace
from ..workspace.boundary import Place
from . import path_argument
from ._input import ToolError, answer, fault

MAX_ENTRIES = 500

SPEC = ToolSpec(
    name="list_dir",
    description=(
        "List the files and folders directly inside a folder (not inside its subfolders). "
        'Folders end with "/"; files show their size. Use glob to search deeper.'
    ),
    parameters={
        "type": "object",
        "properties": {
            "path": {"type": "string", "x-existing": "dir", "default": ".", "description": "The folder; default: the workspace root."},
        },
        "required": [],
        "additionalProperties": False,
    },
)


@dataclass(frozen=True)
class ListDir:
    spec: ToolSpec = SPEC
    effect: Effect = "read"

    def touches(self, args: Mapping[str, Any]) -> Touched:
        return path_argument(args)

    def __call__(self, args: Mapping[str, Any], ws: Workspace) -> ToolResult:
        return answer(self.spec, args, "list", lambda checked: _list(ws, ws.files.place(checked["path"])))


TOOL = ListDir()


def _list(ws: Workspace, where: Place) -> ToolResult:
    rel = where.shown
    info = ws.files.stat(where)
    if info is None:
        raise ToolError(f"Folder not found: {rel}. Use list_dir on its parent folder to see what is there.")
    if not stat.S_ISDIR(info.st_mode):
        raise ToolError(f"{rel} is a file, not a folder; use read_file to read it.")
    try:
        with ws.files.folder(where) as folder, os.scandir(folder) as entries:
            rows = sorted(_row(entry, folder) for entry in entries if entry.name != ".git")
    except OSError as error:
        raise fault(error, "list", rel) from None
    if not rows:
        return ToolResult(f"The folder {rel} is empty.")
    lines = [text for _, text in rows[:MAX_ENTRIES]]
    if len(rows) > MAX_ENTRIES:
        lines.append(f"[{len(rows) - MAX_ENTRIES} more entries not shown; use glob to find specific files]")
    return ToolResult("\n".join(lines))


def _row(entry: os.DirEntry[str], folder: int) -> tuple[tuple[int, str], str]:
    """(sort key: folders first, then by name; the line shown). Nothing here follows a symlink."""
    if entry.is_symlink():
        return (1, entry.name), f"{entry.name} -> {os.readlink(entry.name, dir_fd=folder)}"
    if entry.is_dir(follow_symlinks=False):
        return (0, entry.name), f"{entry.name}/"
    return (1, entry.name), f"{entry.name} ({_size(entry.stat(follow_symlinks=False).st_size)})"


def _size(size: int) -> str:
    value, unit = float(size), "B"
    for bigger in ("KB", "MB", "GB"):
        if value < 1024:
            break
        value, unit = value / 1024, bigger
    return f"{size} B" if unit == "B" else f"{value:.1f} {unit}"
