"""Project memory: the instruction files (AGENTS.md, else CLAUDE.md or QWEN.md) from the repository's root down
to the workspace, joined root-first under a size cap for the frozen prompt prefix. Read only: a file above the
workspace is named relative to it and stays outside what the agent may write."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

# Per directory the first of these that can be read; AGENTS.md is the shared convention, the others are the
# names other agents' users already keep their instructions under.
MEMORY_NAMES = ("AGENTS.md", "CLAUDE.md", "QWEN.md")


@dataclass(frozen=True)
class MemoryFile:
    rel: str  # path from the workspace, with forward slashes: "AGENTS.md", "src/pkg/AGENTS.md", "../AGENTS.md"
    text: str  # the file's content, surrounding blank space stripped

    @property
    def outside(self) -> bool:
        """Above the workspace: the model sees it here but its file tools cannot open it."""
        return self.rel.startswith("../")


def repository_root(workspace: Path) -> Path:
    """The nearest folder at or above `workspace` holding `.git` (a folder, or the file a worktree or submodule
    has), as git finds the repository; `workspace` itself when there is none."""
    workspace = workspace.resolve()
    return next((d for d in (workspace, *workspace.parents) if os.path.lexists(d / ".git")), workspace)


def memory_files(workspace: Path, top: Path | None = None) -> list[MemoryFile]:
    """The instruction files on the way from `top` (default: the repository's root) down to `workspace`, top
    first; empty files are left out. A `top` that is not above the workspace counts as the workspace."""
    workspace = workspace.resolve()
    top = repository_root(workspace) if top is None else top.resolve()
    top = top if workspace.is_relative_to(top) else workspace
    found = []
    for directory in _path_down(top, workspace):
        for name in MEMORY_NAMES:
            text = _read_within(directory / name, top)
            if text is not None:
                if text.strip():
                    found.append(MemoryFile(Path(os.path.relpath(directory / name, workspace)).as_posix(),
                                            text.strip()))
                break
    return found


def project_memory(workspace: Path, top: Path | None = None, *, cap_chars: int = 8000) -> str:
    """The instruction files as one text of at most `cap_chars`, each under a `# PATH` heading; "" if none.

    Over the cap the deeper files, which are more specific, keep their text and the shallower ones are cut;
    each cut says how much was left out and where to read it in full.
    """
    files = memory_files(workspace, top)
    sections = _fit(files, cap_chars - 2 * max(len(files) - 1, 0))
    return "\n\n".join(s for s in sections if s)


def _path_down(top: Path, workspace: Path) -> list[Path]:
    """top, then each directory down to the workspace (which is at or below top)."""
    parts = workspace.relative_to(top).parts
    return [top.joinpath(*parts[:i]) for i in range(len(parts) + 1)]


def _read_within(path: Path, root: Path) -> str | None:
    """The text of a regular file whose real location is inside root; None when it is not one or cannot be read."""
    try:
        if not path.resolve().is_relative_to(root):
            return None  # a link out of the repository: its target is not the project's to instruct us with
        # O_NONBLOCK so that a FIFO named AGENTS.md cannot hang the prompt build; fstat then rejects it.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except (OSError, RuntimeError):  # RuntimeError: a symlink loop on Python 3.11
        return None
    try:
        with os.fdopen(fd, "rb") as f:
            if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                return None
            data = f.read()
    except OSError:
        return None
    # The same newline translation as text mode, so CRLF files give the same prompt bytes as LF ones.
    return data.decode("utf-8", errors="replace").replace("\r\n", "\n").replace("\r", "\n")


def _fit(files: list[MemoryFile], budget: int) -> list[str]:
    """One section per file within `budget` characters, deepest first to the space; "" for one that cannot fit."""
    fulls = [f"# {f.rel}\n\n{f.text}" for f in files]
    stubs = [len(_cut(f, "")) for f in files]  # the least a cut file takes: heading and marker
    sections = [""] * len(files)
    left = budget
    for i in reversed(range(len(files))):
        # Keep room for each shallower file's marker, or its whole text where that is shorter.
        room = left - sum(min(len(full), stub) for full, stub in zip(fulls[:i], stubs[:i]))
        if len(fulls[i]) <= room:
            sections[i] = fulls[i]
        elif stubs[i] <= room:
            sections[i] = _cut(files[i], _head(files[i].text, room - stubs[i] - 1))
        left -= len(sections[i])
    return sections


def _head(text: str, limit: int) -> str:
    """At most `limit` characters from the start of text, ending at a line end when there is one."""
    if limit <= 0:
        return ""
    head = text[:limit]
    return head[: head.rindex("\n")].rstrip() if "\n" in head else head


def _cut(file: MemoryFile, head: str) -> str:
    # The count is of the whole text when the head is empty: the marker is then at its longest, so the
    # space reserved for it (see _fit) is never too small.
    left = len(file.text) - len(head)
    marker = (f"[... {left} more characters of {file.rel}, outside the workspace, left out]" if file.outside
              else f"[... {left} more characters; read {file.rel} for the rest]")
    return f"# {file.rel}\n\n{head}\n{marker}" if head else f"# {file.rel}\n\n{marker}"
