"""Bubblewrap: every namespace unshared, no capabilities, a read-only view of the machine with home, /tmp
and /run hidden behind empty tmpfs (the toolchains in home bound back read-only), the workspace writable except
what git or Luban would later run, which commands can neither change nor create.
"""

from __future__ import annotations

import os
import shlex
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

from ..config import environment
from . import scope

# Hidden behind an empty tmpfs: other users' and the host's sockets live under /run (docker.sock is root).
SCRATCH = (Path("/tmp"), Path("/run"))
# What DNS needs under /run when the network is on (resolv.conf is often a link into it).
RESOLVER = ("/run/systemd/resolve", "/run/resolvconf", "/run/NetworkManager")
# Protected files: the rest are folders (an absent one is held by an empty folder).
PROTECTED_FILES = ("config",)
# Runs bwrap with the placeholders of absent protected paths (see `_placeholders`): made before, removed after
# (also when the command is stopped with SIGTERM, as the bash tool does first) unless another command in the
# same workspace still has them mounted: a folder removed here while mounted there would be unmounted there,
# so each run holds a shared lock on the workspace folder and removes only when it gets it alone. fd 9 is
# closed for bwrap, so a command cannot unlock it. Without flock(1) the empty placeholders stay; still held.
# `command exec`: a workspace that cannot be opened is no reason to fail (it only leaves the placeholders).
WRAPPER = """command exec 9<{root}; flock -s 9 2>/dev/null; {{ {make}; }} 2>/dev/null
clean() {{ flock -xn 9 2>/dev/null && {{ {remove}; }} 2>/dev/null; }}
trap 'clean; exit 143' TERM; trap 'clean; exit 129' HUP; trap 'clean; exit 130' INT
"$@" 9<&-; s=$?; clean; exit $s"""


def available(host: Mapping[str, str] | None = None) -> bool:
    """Whether bwrap is on the PATH of `host`, the environment Luban runs in (config.environment() unless given)."""
    host = environment() if host is None else host
    return shutil.which("bwrap", path=host.get("PATH", os.defpath)) is not None


@dataclass(frozen=True)
class Bubblewrap:
    """Writable: the workspace root and `writable`. `readable` folders stay visible where a tmpfs would hide
    them (a venv under /tmp, toolchains in home), bound from where they lead. `network` on for every command,
    else only where `wrap` says so. `host`: the environment Luban runs in (its home, variables to drop)."""

    writable: tuple[Path, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    network: bool = False
    readable: tuple[Path, ...] = ()
    host: Mapping[str, str] = field(kw_only=True)

    def wrap(self, argv: Sequence[str], root: Path, *, network: bool = False) -> list[str]:
        net = self.network or network
        # No capabilities, or root inside could `mount -o remount,rw /` and write the host's /etc; a new
        # session, so a command cannot push keystrokes into the terminal (TIOCSTI).
        args = ["bwrap", "--unshare-all", *(["--share-net"] if net else []), "--cap-drop", "ALL",
                "--new-session", "--die-with-parent", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
        hidden = (*SCRATCH, *scope.homes(self.host))
        for place in hidden:
            args += ["--tmpfs", str(place)]
        if net:
            for resolver in RESOLVER:
                args += ["--ro-bind-try", resolver, resolver]
        # After the tmpfs mounts, so what lives under them stays visible; writable last, so it wins when nested.
        for path in self.readable:
            if scope.beneath(path, hidden):
                # -try: a toolchain folder removed since Luban started must not fail every command.
                args += ["--ro-bind-try", os.path.realpath(path), str(path)]
        bound = (root, *self.writable)
        for path in bound:
            args += ["--bind", str(path), str(path)]
        user_home = scope.home(self.host)
        args += _protect(root, bound, user_home)
        held = _placeholders(root, bound, user_home)
        for path in held:
            args += ["--ro-bind-try", str(path), str(path)]
        args += _hide_luban(bound, self.readable, self.host)
        args += _environment(user_home, self.env, self.host)
        return _with_placeholders(root, held, [*args, "--chdir", str(root), "--", *argv])


def _protect(root: Path, bound: tuple[Path, ...], user_home: Path) -> list[str]:
    """Read-only binds over what git runs or reads on the user's next git command and over .luban/. A mount
    point cannot be renamed or removed, so `.git` is bound onto itself too (else `mv .git x` and a fresh copy
    would get round the read-only hooks), and a `.git` file (a worktree's) is bound read-only: else it could be
    pointed at a planted git folder."""
    args: list[str] = []
    git = root / ".git"
    if git.is_dir() and not git.is_symlink():
        args += ["--bind", str(git), str(git)]
    elif git.is_file() and not git.is_symlink():
        args += ["--ro-bind", str(git), str(git)]
    for path in scope.protected(root, user_home):
        target = path.resolve()
        if target.exists() and scope.beneath(target, bound):
            args += ["--ro-bind", str(target), str(target)]
    return args


def _placeholders(root: Path, bound: tuple[Path, ...], user_home: Path) -> list[Path]:
    """Where a protected path is absent, its first missing component (`.git` where there is no repository),
    to be held by an empty read-only placeholder: a mount point can be neither created over, renamed onto nor
    removed, so `mkdir .luban`, `git init` and `mv x .luban` fail. Links are followed (a `.luban` that links to
    a missing `src/x` holds `src/x`). None where its folder cannot be written anyway."""
    spots: list[Path] = []
    if not root.is_dir():
        return spots
    for path in scope.protected(root, user_home):
        target = path.resolve()
        if target.exists() or target.is_symlink() or not scope.beneath(target, bound):
            continue
        spot = target
        while not spot.parent.exists():
            spot = spot.parent
        if spot.parent.is_dir() and os.access(spot.parent, os.W_OK) and spot not in spots:
            spots.append(spot)
    return spots


def _with_placeholders(root: Path, held: list[Path], argv: list[str]) -> list[str]:
    """`argv` run by WRAPPER, which makes the placeholders first and removes them after; `argv` itself where
    there are none."""
    if not held:
        return argv
    files = [p for p in held if p.name in PROTECTED_FILES and p.parent.name == ".git"]
    folders = [p for p in held if p not in files]
    make = [f"mkdir -- {shlex.quote(str(p))}" for p in folders]
    make += [f"[ -e {q} ] || : > {q}" for q in (shlex.quote(str(p)) for p in files)]
    remove = [f"rmdir -- {shlex.quote(str(p))}" for p in folders]
    remove += [f"[ -s {q} ] || rm -f -- {q}" for q in (shlex.quote(str(p)) for p in files)]
    script = WRAPPER.format(root=shlex.quote(str(root)), make="; ".join(make), remove="; ".join(remove))
    return ["/bin/sh", "-c", script, "luban-sandbox", *argv]


def _hide_luban(bound: tuple[Path, ...], readable: tuple[Path, ...], host: Mapping[str, str]) -> list[str]:
    """Luban's own config and data (sessions, trust) behind an empty tmpfs, unless that would hide a folder
    the command needs."""
    args: list[str] = []
    for place in scope.luban_dirs(host):
        place = place.resolve()
        if place.is_dir() and not any(p.is_relative_to(place) for p in (*bound, *readable)):
            args += ["--tmpfs", str(place)]
    return args


def _environment(user_home: Path, env: Mapping[str, str], host: Mapping[str, str]) -> list[str]:
    args: list[str] = []
    for name in scope.dropped(host):
        args += ["--unsetenv", name]
    args += ["--setenv", "HOME", str(user_home)]
    for key, value in env.items():
        args += ["--setenv", key, value]
    return args
