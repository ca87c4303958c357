"""The file tools' boundary: every path the model names is opened beneath the workspace root (or, read-only,
the scratch folder of saved outputs); hard-linked files are refused, and .git and .luban are never written."""

from __future__ import annotations

import contextlib
import errno
import os
import posixpath
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterator

from ..errors import PathRefused
from . import tempfiles
from .resolver import LOOKUP, MAX_LINKS, Resolver

# Folders the file tools never write, at any depth, with why. All of .git rather than a list of its dangerous
# parts: hooks, config, info/attributes, modules/*/hooks, objects/info/alternates and commondir each run code
# or point git elsewhere, and the agent changes history with git commands in the sandbox, never by editing
# .git. .luban holds the project's Luban config (permissions, hooks, test command), which the agent must not
# rewrite to grant itself more.
PROTECTED = {
    ".git": "git runs its hooks and obeys its config and attributes",
    ".luban": "it is Luban's project configuration, which only the user changes",
}
_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC
_MAX_DEPTH = 4096  # folders between a written file and the root; deeper means a loop, never a real tree


@dataclass(frozen=True)
class Place:
    """A path as the model named it, made relative to the folder it must stay beneath."""

    given: str  # as the model wrote it, for messages about escapes
    base: Path  # the workspace root, or the scratch folder
    rel: str  # beneath base, '/'-separated; '.' is base itself
    shown: str  # how messages name it
    writable: bool

    @property
    def name(self) -> str:
        return posixpath.basename(posixpath.normpath(self.rel))

    def child(self, rel: str) -> Place:
        return Place(posixpath.join(self.given, rel), self.base, posixpath.join(self.rel, rel),
                     _show(posixpath.join(self.shown, rel)), self.writable)


@dataclass(frozen=True)
class Written:
    shown: str  # the file written, after following in-tree symlinks
    existed: bool


@dataclass(frozen=True)
class FileBoundary:
    root: Path
    scratch: Path
    resolver: Resolver

    def place(self, path: str) -> Place:
        """Where `path` (relative to the root, absolute, or starting with ~) lies; refuse what is plainly outside."""
        if not isinstance(path, str) or not path.strip():
            raise PathRefused("path must be a non-empty string.")
        if "\x00" in path:
            raise PathRefused("path must not contain NUL bytes.")
        given = Path(path).expanduser()
        base, rel = self.root, given.as_posix()
        if given.is_absolute():
            base = next((b for b in (self.root, self.scratch) if given.is_relative_to(b)), None)
            if base is None:
                raise self._outside(path)
            rel = given.relative_to(base).as_posix()
        if posixpath.normpath(rel).split("/")[0] == "..":
            raise self._outside(path)
        shown = _show(rel) if base == self.root else str(base / posixpath.normpath(rel))
        return Place(path, base, rel, shown, writable=base == self.root)

    def stat(self, place: Place) -> os.stat_result | None:
        """What is at `place`, in-tree symlinks followed; None where nothing is."""
        try:
            with self._base(place) as base:
                fd = self._resolve(base, place, place.rel, LOOKUP)
        except (FileNotFoundError, NotADirectoryError):
            return None
        try:
            return os.fstat(fd)
        finally:
            os.close(fd)

    def open_read(self, place: Place) -> BinaryIO:
        """The regular file at `place`, open for reading; refused where other hard links may share it."""
        with self._base(place) as base:
            # Non-blocking: a FIFO swapped in after the caller's checks must not hang the open.
            fd = self._resolve(base, place, place.rel, os.O_RDONLY | os.O_NONBLOCK)
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                raise PathRefused(f"{place.shown} is not a regular file; the file tools only read files.")
            _refuse_hard_links(place, info)
            os.set_blocking(fd, True)
            return os.fdopen(fd, "rb")
        except BaseException:
            os.close(fd)
            raise

    @contextlib.contextmanager
    def folder(self, place: Place) -> Iterator[int]:
        """A descriptor of the folder at `place`, open for listing until the block ends."""
        with self._base(place) as base:
            fd = self._resolve(base, place, place.rel, _DIR)
        try:
            yield fd
        finally:
            os.close(fd)

    def write(self, place: Place, data: bytes) -> Written:
        """Replace the file at `place` with `data` atomically (mode kept), creating missing folders.

        Everything happens through the parent folder's descriptor, opened beneath the root: a folder swapped for
        a symlink at any moment either stays beneath (and is written there) or fails the open.
        """
        if not place.writable:
            raise PathRefused(f"{place.shown} is a saved tool output; it can be read but not changed.")
        _refuse_protected_names(place, place.rel)
        with self._base(place) as base:
            parent, rel = self._parent(base, place)
            try:
                name = posixpath.basename(rel)
                guard = _protected_holder(base, parent) or _protected_name(name)
                if guard:
                    raise _protected(place, guard)
                existed = _replace(parent, name, data, place)
            finally:
                os.close(parent)
        return Written(_show(rel), existed)

    def _parent(self, base: int, place: Place) -> tuple[int, str]:
        """The folder to write in (created if missing) and the path written, a final in-tree symlink followed."""
        rel = place.rel
        for _ in range(MAX_LINKS):
            head, name = posixpath.split(rel)
            if name in ("", ".", ".."):
                raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), place.shown)
            parent = self._made_folder(base, place, head or ".")
            try:
                target = os.readlink(name, dir_fd=parent)
            except OSError:
                return parent, rel  # not a symlink, or nothing there yet: write this very name
            os.close(parent)
            if target.startswith("/"):
                raise self._outside(place.given)
            rel = posixpath.join(head, target)
        raise OSError(errno.ELOOP, os.strerror(errno.ELOOP), place.shown)

    def _made_folder(self, base: int, place: Place, rel: str) -> int:
        try:
            return self._resolve(base, place, rel, _DIR)
        except FileNotFoundError:
            head, name = posixpath.split(rel)
            if name in ("", ".", ".."):
                raise
            if _protected_name(name):
                raise _protected(place, _protected_name(name)) from None
            up = self._made_folder(base, place, head or ".")
            try:
                with contextlib.suppress(FileExistsError):
                    os.mkdir(name, dir_fd=up)
            finally:
                os.close(up)
            return self._resolve(base, place, rel, _DIR)

    @contextlib.contextmanager
    def _base(self, place: Place) -> Iterator[int]:
        fd = os.open(place.base, _DIR)
        try:
            yield fd
        finally:
            os.close(fd)

    def _resolve(self, base: int, place: Place, rel: str, flags: int) -> int:
        try:
            return self.resolver(base, rel, flags)
        except PathRefused:
            raise self._outside(place.given) from None

    def _outside(self, path: str) -> PathRefused:
        return PathRefused(f"{path} is outside the workspace {self.root}; use a path inside it.")


def _show(rel: str) -> str:
    return posixpath.normpath(rel)


def _refuse_hard_links(place: Place, info: os.stat_result) -> None:
    if stat.S_ISREG(info.st_mode) and info.st_nlink > 1:
        raise PathRefused(
            f"{place.shown} has {info.st_nlink} hard links, so it may be the same file as one outside the "
            "workspace; the file tools do not read or write such files."
        )


def _protected_name(name: str) -> str | None:
    # casefold: on a case-insensitive disk .GIT is .git.
    return next((guarded for guarded in PROTECTED if name.casefold() == guarded), None)


def _refuse_protected_names(place: Place, rel: str) -> None:
    for part in rel.split("/"):
        if guard := _protected_name(part):
            raise _protected(place, guard)


def _protected(place: Place, guard: str) -> PathRefused:
    return PathRefused(
        f"{place.shown} cannot be written: the file tools never change {guard} or anything in it, "
        f"because {PROTECTED[guard]}."
    )


def _protected_holder(base: int, folder: int) -> str | None:
    """The protected folder (.git or .luban, at any depth) that holds `folder`, found by walking '..' up to
    the root and comparing inodes, so symlinks on the way in cannot hide it."""
    root = os.fstat(base)
    here_fd = os.open(".", LOOKUP | os.O_DIRECTORY | os.O_CLOEXEC, dir_fd=folder)
    try:
        for _ in range(_MAX_DEPTH):
            here = os.fstat(here_fd)
            if _same(here, root):
                return None
            up = os.open("..", LOOKUP | os.O_DIRECTORY | os.O_CLOEXEC, dir_fd=here_fd)
            os.close(here_fd)
            here_fd = up
            if _same(os.fstat(up), here):
                break  # reached / without meeting the root
            for guard in PROTECTED:
                with contextlib.suppress(OSError):
                    if _same(os.stat(guard, dir_fd=up, follow_symlinks=False), here):
                        return guard
    finally:
        os.close(here_fd)
    raise PathRefused("The folder to write in is no longer inside the workspace; try again.")


def _same(a: os.stat_result, b: os.stat_result) -> bool:
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def _replace(parent: int, name: str, data: bytes, place: Place) -> bool:
    """Write a temp file beside `name` in `parent`, fsync it, rename it over `name`; whether `name` existed."""
    try:
        old = os.stat(name, dir_fd=parent, follow_symlinks=False)
    except FileNotFoundError:
        old = None
    if old is not None:
        if stat.S_ISDIR(old.st_mode):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), place.shown)
        if not stat.S_ISREG(old.st_mode):
            raise PathRefused(f"{place.shown} is not a regular file; the file tools only write files.")
        _refuse_hard_links(place, old)
    tmp, fd = tempfiles.create(parent, name)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            if old is not None:
                os.fchmod(f.fileno(), stat.S_IMODE(old.st_mode))
            os.fsync(f.fileno())
        os.replace(tmp, name, src_dir_fd=parent, dst_dir_fd=parent)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp, dir_fd=parent)
        raise
    os.fsync(parent)
    return old is not None
