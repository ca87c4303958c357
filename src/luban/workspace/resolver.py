"""Opening a path beneath a directory fd without ever leaving it: openat2(2) with RESOLVE_BENEATH where the
kernel has it, else a walk one component at a time with O_NOFOLLOW that follows in-tree symlinks by hand."""

from __future__ import annotations

import errno
import functools
import os
import stat
import sys
from dataclasses import dataclass
from typing import Any, Protocol

from ..errors import PathRefused

# openat2 came after the syscall tables were unified (5.6), so it has one number on these machines.
_SYS_OPENAT2 = {"x86_64": 437, "aarch64": 437, "arm64": 437}
_RESOLVE_NO_MAGICLINKS = 0x02  # /proc/self/fd/N and friends jump anywhere, so they never count as beneath
_RESOLVE_BENEATH = 0x08
# The kernel answers EAGAIN when a rename elsewhere races a '..' lookup, and asks the caller to try again.
_RACE_RETRIES = 100
MAX_LINKS = 40  # the kernel's own limit before ELOOP
# O_PATH looks a folder up without needing read permission on it; elsewhere a plain open does.
_O_PATH = getattr(os, "O_PATH", 0)
LOOKUP = _O_PATH or os.O_RDONLY | os.O_NONBLOCK
_STEP = os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC | LOOKUP


class Resolver(Protocol):
    """Opens `path` relative to the folder `dir_fd` with open(2) `flags`; raises PathRefused where it would leave
    ('..', an absolute path or a symlink).

    Symlinks that stay beneath are followed; absolute ones never count as beneath (as RESOLVE_BENEATH has it).
    """

    def __call__(self, dir_fd: int, path: str, flags: int, mode: int = 0o666) -> int: ...


@dataclass(frozen=True)
class Openat2:
    """The kernel resolves the whole path in one call and refuses any step out (EXDEV)."""

    number: int  # the syscall's number on this machine

    def __call__(self, dir_fd: int, path: str, flags: int, mode: int = 0o666) -> int:
        import ctypes

        if path.startswith("/"):
            raise _escape(path)
        tmpfile = getattr(os, "O_TMPFILE", 0)  # it includes O_DIRECTORY's bit, so test it whole
        creating = flags & os.O_CREAT or (tmpfile and flags & tmpfile == tmpfile)
        how = _open_how()(flags | os.O_CLOEXEC, mode if creating else 0, _RESOLVE_BENEATH | _RESOLVE_NO_MAGICLINKS)
        name = os.fsencode(path or ".")
        code = errno.EAGAIN
        for _ in range(_RACE_RETRIES):
            fd = _libc().syscall(
                ctypes.c_long(self.number), ctypes.c_int(dir_fd), ctypes.c_char_p(name),
                ctypes.byref(how), ctypes.c_size_t(ctypes.sizeof(how)),
            )
            if fd >= 0:
                return int(fd)
            code = ctypes.get_errno()
            if code != errno.EAGAIN:
                break
        if code == errno.EXDEV:
            raise _escape(path)
        raise OSError(code, os.strerror(code), path)


@dataclass(frozen=True)
class Walk:
    """The portable way: open each component with O_NOFOLLOW from the folder before it, read symlinks by hand.

    Each step starts from an fd already held, so a folder swapped for a symlink mid-walk is seen as a symlink
    and judged like any other; '..' goes back to the fd held for the folder before, never above the start.
    """

    def __call__(self, dir_fd: int, path: str, flags: int, mode: int = 0o666) -> int:
        if path.startswith("/"):
            raise _escape(path)
        todo = _parts(path)[::-1]  # a stack: the next component is last
        held = [os.dup(dir_fd)]
        links = 0
        try:
            while todo:
                name = todo.pop()
                if name == "..":
                    if len(held) == 1:
                        raise _escape(path)
                    os.close(held.pop())
                    continue
                try:
                    fd = _step(name, held[-1], flags, mode, final=not todo)
                except OSError as error:
                    target = _link_target(name, held[-1], error)
                    links += 1  # a retry after a swap counts too, so a swapping loop cannot keep us here
                    if links > MAX_LINKS:
                        raise OSError(errno.ELOOP, os.strerror(errno.ELOOP), path) from None
                    if target is None:
                        todo.append(name)
                        continue
                    if target.startswith("/"):
                        raise _escape(path) from None
                    todo.extend(_parts(target)[::-1])
                    continue
                if not todo:
                    return fd
                held.append(fd)
            # The path ended on a folder reached through '..' or a symlink to '.': open the one held.
            return os.open(".", flags | os.O_CLOEXEC, mode, dir_fd=held[-1])
        finally:
            for fd in held:
                os.close(fd)


def _escape(path: str) -> PathRefused:
    return PathRefused(f"{path} leads outside the folder it must stay beneath.")


def _parts(path: str) -> list[str]:
    return [part for part in path.split("/") if part not in ("", ".")]


def _step(name: str, dir_fd: int, flags: int, mode: int, *, final: bool) -> int:
    if not final:
        return os.open(name, _STEP, dir_fd=dir_fd)
    fd = os.open(name, flags | os.O_NOFOLLOW | os.O_CLOEXEC, mode, dir_fd=dir_fd)
    # O_PATH with O_NOFOLLOW opens a symlink itself instead of failing; treat it as the other opens do.
    if flags & _O_PATH and stat.S_ISLNK(os.fstat(fd).st_mode):
        os.close(fd)
        raise OSError(errno.ELOOP, os.strerror(errno.ELOOP), name)
    return fd


def _link_target(name: str, dir_fd: int, error: OSError) -> str | None:
    """The symlink's target when `error` came from meeting one under O_NOFOLLOW; None when it was one but a
    folder or file has been swapped into its place since (take the step again); else `error` again."""
    # ELOOP: a symlink opened with O_NOFOLLOW; ENOTDIR: one opened with O_DIRECTORY; EMLINK: the BSDs.
    if error.errno not in (errno.ELOOP, errno.ENOTDIR, errno.EMLINK):
        raise error
    try:
        return os.readlink(name, dir_fd=dir_fd)
    except FileNotFoundError:
        raise  # gone since: what the open would say now
    except OSError:
        pass
    now = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    if error.errno != errno.ENOTDIR or stat.S_ISDIR(now.st_mode):
        return None
    raise error  # a file where a folder was expected


@functools.cache
def default_resolver() -> Resolver:
    """Openat2 where this kernel answers it, else Walk (kernels before 5.6, seccomp filters that refuse it)."""
    number = _SYS_OPENAT2.get(os.uname().machine)
    if sys.platform != "linux" or number is None:
        return Walk()
    candidate = Openat2(number)
    root = os.open("/", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.close(candidate(root, ".", LOOKUP | os.O_DIRECTORY))
    except OSError:  # ENOSYS on an old kernel, EPERM under a seccomp filter that predates it
        return Walk()
    finally:
        os.close(root)
    return candidate


@functools.cache
def _libc() -> Any:
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    return libc


@functools.cache
def _open_how() -> Any:
    """struct open_how from linux/openat2.h."""
    import ctypes

    class OpenHow(ctypes.Structure):
        _fields_ = [("flags", ctypes.c_uint64), ("mode", ctypes.c_uint64), ("resolve", ctypes.c_uint64)]

    return OpenHow
