"""Luban's own temp files beside the user's (atomic writes, restored files): a name that says whose they are
and which process wrote them, a lock held while one is written, and sweeping away those a killed run left."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import re
import secrets
import stat
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from .listing import skipped

# .NAME.luban-PID-RANDOM.tmp: a name (cut short: NAME_MAX is 255 bytes) the user recognises, the process that
# writes it, and eight hex digits so that two writes of one file never meet.
_PATTERN = re.compile(r"\..*\.luban-([0-9]+)-[0-9a-f]{8}\.tmp", re.DOTALL)
# A temp whose writer's pid is alive but which nobody holds locked is the pid's reuse by another process, or a
# write between its open and its lock: only this old is it left over.
STALE_AFTER_S = 3600.0
# A sweep looks at this many folder entries, for this long, at most: a start in a huge folder (`--cwd /`) must
# not stall. A project's own tree (dependency folders skipped) is far smaller.
MAX_ENTRIES = 50_000
MAX_SWEEP_S = 0.5
_WRITE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


def temp_name(name: str) -> str:
    return f".{name[:60]}.luban-{os.getpid()}-{secrets.token_hex(4)}.tmp"


def is_temp(name: str) -> bool:
    return _PATTERN.fullmatch(name) is not None


def create(dir_fd: int, name: str, mode: int = 0o666) -> tuple[str, int]:
    """A new temp file for `name` in the folder `dir_fd`: its name and a descriptor open for writing, locked
    until it is closed (the lock tells a sweep in another process that the write is alive)."""
    tmp = temp_name(name)
    return tmp, open_locked(dir_fd, tmp, mode)


def open_locked(dir_fd: int, tmp: str, mode: int = 0o666) -> int:
    """Create the temp file `tmp` (a temp_name) for writing, locked until closed."""
    fd = os.open(tmp, _WRITE, mode, dir_fd=dir_fd)
    fcntl.flock(fd, fcntl.LOCK_EX)
    return fd


@dataclass(frozen=True)
class Swept:
    path: str  # relative to the root
    size: int


# Opens a folder beneath the root by its relative path (the workspace's resolver), so a sweep never leaves it.
OpenFolder = Callable[[str], int]


def sweep(root: Path, open_folder: OpenFolder, now: float | None = None) -> list[Swept]:
    """Remove the temp files under `root` that a Luban process left when it was killed; never one that a live
    process is still writing. Symlinked folders are not entered."""
    now = time.time() if now is None else now
    removed = []
    for folder, name in _candidates(root):
        with contextlib.suppress(OSError):
            fd = open_folder(folder)
            try:
                size = _remove_if_stale(fd, name, now)
            finally:
                os.close(fd)
            if size is not None:
                removed.append(Swept(name if folder == "." else f"{folder}/{name}", size))
    return removed


def _candidates(root: Path) -> Iterator[tuple[str, str]]:
    """(folder relative to root, name) of every entry named like a Luban temp file, walking breadth first."""
    todo, seen, stop = deque(["."]), 0, time.monotonic() + MAX_SWEEP_S
    while todo and seen < MAX_ENTRIES and time.monotonic() < stop:
        folder = todo.popleft()
        try:
            entries = list(os.scandir(root / folder))
        except OSError:
            continue
        seen += len(entries)
        for entry in entries:
            if is_temp(entry.name):
                yield folder, entry.name
            elif not skipped(entry.name) and entry.is_dir(follow_symlinks=False):  # the one skip set
                todo.append(entry.name if folder == "." else f"{folder}/{entry.name}")


def _remove_if_stale(dir_fd: int, name: str, now: float) -> int | None:
    """Unlink `name` in `dir_fd` if its writer is gone; its size if it was removed."""
    pid = int(_PATTERN.fullmatch(name).group(1))  # type: ignore[union-attr]
    info = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    if pid == os.getpid() or (_alive(pid) and now - info.st_mtime < STALE_AFTER_S):
        return None
    if stat.S_ISLNK(info.st_mode):  # a restored symlink's temp: written at once, there is no lock to ask
        os.unlink(name, dir_fd=dir_fd)
        return info.st_size
    if not stat.S_ISREG(info.st_mode):
        return None
    fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=dir_fd)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return None  # a live writer holds it (a process this one cannot see, in another pid namespace)
        held = os.fstat(fd)
        now_there = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        if (held.st_dev, held.st_ino) != (now_there.st_dev, now_there.st_ino):
            return None  # swapped since it was looked at
        os.unlink(name, dir_fd=dir_fd)
        return held.st_size
    finally:
        os.close(fd)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError as error:
        return error.errno == errno.EPERM  # there, but another user's
    return True
