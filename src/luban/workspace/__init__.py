"""The workspace: its root and the listing of its files, the file tools' boundary beneath it, atomic writes, and
where big tool outputs are kept."""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from ..config import environment
from ..errors import PathRefused, WorkspaceError
from ..sandbox import Sandbox, Unconfined
from . import tempfiles
from .boundary import FileBoundary
from .listing import Listing
from .resolver import Resolver, default_resolver


@dataclass(frozen=True)
class Workspace:
    root: Path
    # Where tools keep full outputs that were cut for the model (e.g. long bash logs).
    scratch: Path
    # Commands the agent runs go through it (the file tools enforce the root themselves).
    sandbox: Sandbox = field(default_factory=Unconfined)
    # How the file tools open paths beneath the root: openat2 where the kernel has it (tests inject the fallback).
    resolver: Resolver = field(default_factory=default_resolver)
    # The environment Luban runs in (config.environment()): commands start from it, less credentials.
    environ: Mapping[str, str] = field(default_factory=environment, repr=False, compare=False)
    # Its files, listed once until something may have changed them (listing.py).
    listing: Listing = field(init=False, repr=False, compare=False)
    # Where a front-end routes the file tools' reads and writes (ACP: through the editor, which sees unsaved
    # buffers), given the boundary on disk it must keep to; None: the disk itself.
    route: Callable[[FileBoundary], Any] | None = field(default=None, repr=False, compare=False)
    # Where a front-end runs the bash tool's commands (ACP: the editor's terminal, where the user watches them):
    # given the sandboxed argv, which sets its own environment, the folder and the timeout in seconds; returns the
    # output and the exit code (None: timed out and killed). None: a child process of Luban's.
    terminal: Callable[[list[str], Path, int], tuple[bytes, int | None]] | None = field(default=None, repr=False,
                                                                                        compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "listing", Listing(self.root, self.environ))

    @classmethod
    def open(cls, root: str | os.PathLike[str], scratch: str | os.PathLike[str] | None = None,
             sandbox: Sandbox | None = None, resolver: Resolver | None = None) -> Workspace:
        path = Path(root).expanduser()
        if not path.is_dir():
            raise WorkspaceError(f"The workspace {path} does not exist or is not a directory.")
        real = path.resolve(strict=True)
        scratch_dir = Path(scratch) if scratch else Path(tempfile.mkdtemp(prefix="luban-out-"))
        scratch_dir.mkdir(parents=True, exist_ok=True)
        return cls(real, scratch_dir.resolve(), sandbox or Unconfined(), resolver or default_resolver())

    @property
    def files(self) -> FileBoundary:
        """All file-tool I/O goes through here: opened beneath the root, never by a path checked beforehand."""
        boundary = FileBoundary(self.root, self.scratch, self.resolver)
        return self.route(boundary) if self.route else boundary

    def resolve(self, path: str) -> Path:
        """`path` placed as the file tools place it (files.place, which refuses what is plainly outside), then with
        symlinks followed; raises PathRefused where they lead out.

        For naming a path (the harness's guards, the permission rules), not for I/O: the check and a later use
        can race, so the file tools go through `files` instead. Scratch files (full tool outputs) count as inside.
        """
        place = self.files.place(path)
        # Not Path.resolve: it raises on a symlink loop, where realpath leaves the looping part unresolved (the
        # tool that opens it then says so in one sentence).
        real = Path(os.path.realpath(place.base / place.rel))
        for allowed in (self.root, self.scratch):
            if real == allowed or allowed in real.parents:
                return real
        raise PathRefused(f"{path} is outside the workspace {self.root}; use a path inside it.")

    def relative(self, path: Path) -> str:
        try:
            return str(path.relative_to(self.root)) or "."
        except ValueError:
            return str(path)

    def sweep(self) -> list[tempfiles.Swept]:
        """Remove the temp files that killed Luban runs left in the workspace (folders opened beneath the root)."""
        root = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)

        def open_folder(rel: str) -> int:
            try:
                return self.resolver(root, rel, os.O_RDONLY | os.O_DIRECTORY)
            except PathRefused:
                raise OSError(errno.EXDEV, "outside the workspace", rel) from None

        try:
            return tempfiles.sweep(self.root, open_folder)
        finally:
            os.close(root)

    def save_output(self, name: str, data: str) -> Path:
        """Keep a full tool output that was cut for the model; returns its path, numbered in order (`bash-3.txt`):
        a random name would reach the prompt, and change the model's replies from one run to the next."""
        number = 1
        while True:
            path = Path(self.scratch) / f"{name}-{number}.txt"
            try:
                with path.open("x", encoding="utf-8", errors="replace") as f:
                    f.write(data)
                return path
            except FileExistsError:
                number += 1


def atomic_write(path: Path, data: bytes) -> None:
    """Write via temp file + fsync + rename, keeping the old file's mode; a crash never leaves half a file."""
    mode = path.stat().st_mode & 0o7777 if path.exists() else None
    path.parent.mkdir(parents=True, exist_ok=True)
    dir_fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        tmp, fd = tempfiles.create(dir_fd, path.name)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                if mode is not None:
                    os.fchmod(f.fileno(), mode)
                os.fsync(f.fileno())
            os.replace(tmp, path.name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp, dir_fd=dir_fd)
            raise
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
