"""A seccomp filter (classic BPF built by hand, ctypes, x86_64 only) for the Landlock launcher: without
network no socket but AF_UNIX (UDP DNS included) and no io_uring; never TIOCSTI keystroke injection."""

from __future__ import annotations

import ctypes
import errno
import platform
import struct

AUDIT_ARCH_X86_64 = 0xC000003E
X32_SYSCALL_BIT = 0x40000000
NR_IOCTL, NR_SOCKET, NR_IO_URING_SETUP = 16, 41, 425
AF_UNIX = 1
TIOCSTI, TIOCLINUX = 0x5412, 0x541C
PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 38, 22, 2
RET_ALLOW, RET_KILL_PROCESS, RET_ERRNO = 0x7FFF0000, 0x80000000, 0x00050000
LD_ABS, JEQ, JGE, RET = 0x20, 0x15, 0x35, 0x06
# Offsets in struct seccomp_data: nr, arch, then the arguments from 16 (low 32 bits first, little-endian).
NR, ARCH = 0, 4


def arg(index: int) -> int:
    return 16 + 8 * index


def supported() -> str | None:
    """None where the filter can be built; else why not."""
    if platform.machine() != "x86_64":
        return f"the seccomp filter is written for x86_64, and this machine is {platform.machine()}"
    return None


def program(network: bool) -> list[tuple[int, int, int, int]]:
    """The filter as (code, jt, jf, k) instructions."""
    deny = RET_ERRNO | errno.EACCES
    prog = [(LD_ABS, 0, 0, ARCH), (JEQ, 1, 0, AUDIT_ARCH_X86_64), (RET, 0, 0, RET_KILL_PROCESS),
            (LD_ABS, 0, 0, NR), (JGE, 0, 1, X32_SYSCALL_BIT), (RET, 0, 0, RET_KILL_PROCESS),
            # ioctl(fd, TIOCSTI | TIOCLINUX): typing into the user's terminal.
            (JEQ, 0, 5, NR_IOCTL), (LD_ABS, 0, 0, arg(1)), (JEQ, 1, 0, TIOCSTI), (JEQ, 0, 1, TIOCLINUX),
            (RET, 0, 0, RET_ERRNO | errno.EPERM), (RET, 0, 0, RET_ALLOW)]
    if not network:
        prog += [(JEQ, 0, 4, NR_SOCKET), (LD_ABS, 0, 0, arg(0)), (JEQ, 1, 0, AF_UNIX), (RET, 0, 0, deny),
                 (RET, 0, 0, RET_ALLOW),
                 # io_uring can open sockets of its own (IORING_OP_SOCKET), past the socket() rule.
                 (JEQ, 0, 1, NR_IO_URING_SETUP), (RET, 0, 0, RET_ERRNO | errno.EPERM)]
    return [*prog, (RET, 0, 0, RET_ALLOW)]


class _Prog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def install(network: bool) -> None:
    """Set no_new_privs and load the filter into this process (inherited by everything it starts)."""
    reason = supported()
    if reason:
        raise OSError(errno.ENOSYS, reason)
    raw = b"".join(struct.pack("=HBBI", *ins) for ins in program(network))
    buffer = ctypes.create_string_buffer(raw, len(raw))
    prog = _Prog(len(raw) // 8, ctypes.cast(buffer, ctypes.c_void_p))
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p, ctypes.c_ulong, ctypes.c_ulong]
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, None, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS) failed")
    if libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.addressof(prog), 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "loading the seccomp filter failed")
