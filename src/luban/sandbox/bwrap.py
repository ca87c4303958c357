"""Bubblewrap: every namespace unshared, no capabilities, a read-only view of the machine with home, /tmp
and /run hidden behind empty tmpfs, the workspace writable except what git or Luban would later run.
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

from . import scope

# Hidden behind an empty tmpfs: other users' and the host's sockets live under /run (docker.sock is root).
SCRATCH = (Path("/tmp"), Path("/run"))
# What DNS needs under /run when the network is on (resolv.conf is often a link into it).
RESOLVER = ("/run/systemd/resolve", "/run/resolvconf", "/run/NetworkManager")
HOOKS_PATH = re.compile(r"(?im)^\s*hookspath\s*=\s*(.+?)\s*$")


def available() -> bool:
    return shutil.which("bwrap") is not None


@dataclass(frozen=True)
class Bubblewrap:
    """Writable: the workspace root and `writable`. `readable` folders stay visible where a tmpfs would hide
    them (a venv under /tmp or home). `network` on for every command, else only where `wrap` says so."""

    writable: tuple[Path, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    network: bool = False
    readable: tuple[Path, ...] = ()

    def wrap(self, argv: Sequence[str], root: Path, *, network: bool = False) -> list[str]:
        net = self.network or network
        # No capabilities, or root inside could `mount -o remount,rw /` and write the host's /etc; a new
        # session, so a command cannot push keystrokes into the terminal (TIOCSTI).
        args = ["bwrap", "--unshare-all", *(["--share-net"] if net else []), "--cap-drop", "ALL",
                "--new-session", "--die-with-parent", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
        homes = scope.homes(os.environ)
        hidden = (*SCRATCH, *homes)
        for place in hidden:
            args += ["--tmpfs", str(place)]
        if net:
            for resolver in RESOLVER:
                args += ["--ro-bind-try", resolver, resolver]
        # After the tmpfs mounts, so what lives under them stays visible; writable last, so it wins when nested.
        for path in self.readable:
            if scope.beneath(path, hidden):
                args += ["--ro-bind", str(path), str(path)]
        bound = (root, *self.writable)
        for path in bound:
            args += ["--bind", str(path), str(path)]
        args += _protect(root, bound)
        args += _hide_luban(bound, self.readable)
        args += _environment(scope.home(os.environ), self.env)
        return [*args, "--chdir", str(root), "--", *argv]


def _protect(root: Path, bound: tuple[Path, ...]) -> list[str]:
    """Read-only binds over what git runs or reads on the user's next git command and over .luban/. A
    mount point cannot be renamed, so `.git` is bound onto itself too: else `mv .git x` and a fresh copy
    would get round the read-only hooks."""
    args: list[str] = []
    git = root / ".git"
    if git.is_dir() and not git.is_symlink():
        args += ["--bind", str(git), str(git)]
        if not (git / "hooks").exists() and not (git / "hooks").is_symlink():
            # An empty read-only hooks folder (git's own layout), so none can be created.
            args += ["--tmpfs", str(git / "hooks"), "--remount-ro", str(git / "hooks")]
    for path in (*scope.protected(root), *_hooks_paths(root)):
        target = path.resolve()
        if target.exists() and scope.beneath(target, bound):
            args += ["--ro-bind", str(target), str(target)]
    return args


def _hooks_paths(root: Path) -> list[Path]:
    """Hooks folders named by core.hooksPath (husky and friends keep them in the repository)."""
    try:
        text = (root / ".git" / "config").read_text(errors="replace")
    except OSError:
        return []
    return [root / Path(match.strip('"')).expanduser() for match in HOOKS_PATH.findall(text)]


def _hide_luban(bound: tuple[Path, ...], readable: tuple[Path, ...]) -> list[str]:
    """Luban's own config and data (sessions, trust) behind an empty tmpfs, unless that would hide a folder
    the command needs."""
    args: list[str] = []
    for place in scope.luban_dirs(os.environ):
        place = place.resolve()
        if place.is_dir() and not any(p.is_relative_to(place) for p in (*bound, *readable)):
            args += ["--tmpfs", str(place)]
    return args


def _environment(home: Path, env: Mapping[str, str]) -> list[str]:
    args: list[str] = []
    for name in scope.dropped(os.environ):
        args += ["--unsetenv", name]
    args += ["--setenv", "HOME", str(home)]
    for key, value in env.items():
        args += ["--setenv", key, value]
    return args
