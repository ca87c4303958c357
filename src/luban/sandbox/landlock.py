"""Landlock (ctypes): the fallback where user namespaces are not to be had. `Landlock.wrap` starts commands
through the launcher (landlock_exec.py), which confines itself with `restrict` and seccomp, then execs.

Landlock only grants, and a grant on a folder covers all beneath it, so a read-only .git/hooks inside a
writable workspace cannot be had by exception: the workspace is carved around the protected paths (scope.carve):
its top level is not writable itself, each entry in it is (but .git and .luban), and so is each entry of .git
but hooks and config. So a protected path can be neither changed nor created (nor renamed onto), whether or not
it exists: creating it needs a right on its folder, which is never granted. The cost: commands cannot create or
remove entries at the top of the workspace or directly in .git (git commit needs the agent's own tools).
"""

from __future__ import annotations

import ctypes
import os
import platform
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping, Sequence

from . import scope

SYS_CREATE_RULESET, SYS_ADD_RULE, SYS_RESTRICT_SELF = 444, 445, 446
CREATE_RULESET_VERSION, RULE_PATH_BENEATH = 1, 1
EXECUTE, WRITE_FILE, READ_FILE, READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
MAKE_CHAR, MAKE_BLOCK, TRUNCATE, IOCTL_DEV = 1 << 6, 1 << 11, 1 << 14, 1 << 15
NET_BIND_TCP, NET_CONNECT_TCP = 1 << 0, 1 << 1
SCOPE_ABSTRACT_UNIX_SOCKET, SCOPE_SIGNAL = 1 << 0, 1 << 1
FILE_RIGHTS = EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE | IOCTL_DEV
READ = EXECUTE | READ_FILE | READ_DIR
SYSTEM = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc", "/opt", "/var", "/nix",
          "/snap", "/proc", "/sys", "/run/systemd/resolve", "/run/resolvconf")
DEVICES = ("/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty", "/dev/ptmx",
           "/dev/pts", "/dev/shm")


def _syscall() -> ctypes._CFuncPtr:  # type: ignore[name-defined]
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    return libc.syscall


def abi() -> int:
    """The kernel's Landlock ABI version; 0 where it has none (or it is disabled)."""
    if platform.system() != "Linux" or platform.machine() != "x86_64":
        return 0  # the syscall numbers above are x86_64's (and the seccomp half needs x86_64 too)
    version = _syscall()(SYS_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(CREATE_RULESET_VERSION))
    return max(int(version), 0)


def handled_fs(version: int) -> int:
    """Every filesystem right the kernel knows: one left out would be allowed everywhere."""
    rights = (1 << 13) - 1  # ABI 1: execute .. make_sym
    if version >= 2:
        rights |= 1 << 13  # refer (rename and link across folders)
    if version >= 3:
        rights |= TRUNCATE
    if version >= 5:
        rights |= IOCTL_DEV
    return rights


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("fs", ctypes.c_uint64), ("net", ctypes.c_uint64), ("scoped", ctypes.c_uint64)]


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


@dataclass(frozen=True)
class Rules:
    read: tuple[Path, ...]  # folders (or files) readable and executable
    write: tuple[Path, ...]  # folders (or files) with every right
    network: bool = False


def restrict(rules: Rules, version: int) -> None:
    """Confine this process and what it starts to `rules` (no_new_privs must be set already)."""
    syscall = _syscall()
    fs = handled_fs(version)
    net = 0 if rules.network or version < 4 else NET_BIND_TCP | NET_CONNECT_TCP
    # Scoped (ABI 6): no signals to processes outside (Luban itself), no abstract sockets of the host's.
    scoped = SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL if version >= 6 else 0
    attr = _RulesetAttr(fs, net, scoped)
    size = 8 if version < 4 else 16 if version < 6 else 24
    ruleset = syscall(SYS_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0))
    if ruleset < 0:
        raise OSError(ctypes.get_errno(), "landlock_create_ruleset failed")
    try:
        # No device nodes even for root: a block device made in the workspace is the raw disk.
        for paths, rights in ((rules.read, READ), (rules.write, fs & ~(MAKE_CHAR | MAKE_BLOCK))):
            for path in paths:
                _add(syscall, ruleset, path, rights & fs)
        if syscall(SYS_RESTRICT_SELF, ctypes.c_int(ruleset), ctypes.c_uint32(0)) != 0:
            raise OSError(ctypes.get_errno(), "landlock_restrict_self failed")
    finally:
        os.close(ruleset)


def _add(syscall: ctypes._CFuncPtr, ruleset: int, path: Path, rights: int) -> None:  # type: ignore[name-defined]
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except OSError:
        return  # a system folder this machine lacks, or an entry removed meanwhile
    try:
        if not os.path.isdir(f"/proc/self/fd/{fd}"):
            rights &= FILE_RIGHTS  # a rule on a file takes file rights only
        beneath = _PathBeneath(rights, fd)
        if syscall(SYS_ADD_RULE, ctypes.c_int(ruleset), ctypes.c_int(RULE_PATH_BENEATH), ctypes.byref(beneath),
                   ctypes.c_uint32(0)) != 0:
            raise OSError(ctypes.get_errno(), f"landlock_add_rule failed for {path}")
    finally:
        os.close(fd)


def workspace_writable(root: Path, user_home: Path) -> list[Path]:
    """The workspace's writable entries, read now (at each command): the workspace carved around the protected
    paths and where their links lead (a `.luban` linking to `src/x` keeps `src/x` out too), and, since the
    workspace itself is always carved, none that is a link (a grant follows it)."""
    paths = scope.protected(root, user_home)
    excluded = {*paths, *(p.resolve() for p in paths)}
    return scope.carve(root, excluded, lambda entry: not entry.is_symlink())


def rules_for(root: Path, tmp: Path, read: Iterable[Path], write: Iterable[Path], network: bool, user_home: Path
              ) -> Rules:
    """System folders, the Python in use and `read` (toolchains) readable; the workspace (as above), the private
    temp folder, devices and `write` writable. Home but `read`, /tmp and Luban's own folders are not granted."""
    readable = (*map(Path, SYSTEM), *scope.own_install(), *read, root)
    writable = (*workspace_writable(root, user_home), tmp, *map(Path, DEVICES), *write)
    return Rules(tuple(readable), tuple(writable), network)


@dataclass(frozen=True)
class Landlock:
    """Writable: the workspace (see the module docstring), `tmp` (the commands' TMPDIR and HOME) and
    `writable`; `readable` (toolchains in home) readable; network only where `wrap` says so (or `network` for
    every command). `host`: the environment Luban runs in (its home, the variables to drop)."""

    tmp: Path
    writable: tuple[Path, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    network: bool = False
    readable: tuple[Path, ...] = ()
    host: Mapping[str, str] = field(kw_only=True)

    def wrap(self, argv: Sequence[str], root: Path, *, network: bool = False) -> list[str]:
        args = [sys.executable, "-m", "luban.sandbox.landlock_exec", "--workspace", str(root), "--tmp", str(self.tmp),
                "--home", str(scope.home(self.host))]
        for path in self.readable:
            args += ["--read", str(path)]
        for path in self.writable:
            args += ["--write", str(path)]
        for name in scope.dropped(self.host):
            args += ["--drop", name]
        for key, value in self.env.items():
            args += ["--set", f"{key}={value}"]
        if self.network or network:
            args.append("--network")
        return [*args, "--", *argv]
