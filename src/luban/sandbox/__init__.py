"""Sandboxes: a Sandbox only rewrites the argv of a command the agent runs, so tools stay unaware of it.

`Unconfined` runs commands as they are. `Bubblewrap` (bwrap) gives them a read-only view of the machine,
a writable workspace (its .git hooks and config read-only), a private /tmp, no network, no capabilities,
every namespace of their own and a session apart from the terminal.
"""

from __future__ import annotations

import re
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Protocol, Sequence

from ..errors import ConfigError


class Sandbox(Protocol):
    def wrap(self, argv: Sequence[str], root: Path) -> list[str]:
        """The argv that runs `argv` in the workspace `root` (writable) inside the sandbox."""
        ...


@dataclass(frozen=True)
class Unconfined:
    """No confinement; `env` is still applied, so callers need not care which sandbox they got."""

    env: Mapping[str, str] = field(default_factory=dict)

    def wrap(self, argv: Sequence[str], root: Path) -> list[str]:
        if not self.env:
            return list(argv)
        return ["env", *(f"{k}={v}" for k, v in self.env.items()), *argv]


@dataclass(frozen=True)
class Bubblewrap:
    """Writable: the workspace root and `writable`. Everything else read-only; /tmp private (but `readable`
    folders under it, such as a venv, stay visible); no network."""

    writable: tuple[Path, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    network: bool = False
    readable: tuple[Path, ...] = ()

    def wrap(self, argv: Sequence[str], root: Path) -> list[str]:
        # Every namespace unshared; no capabilities, or root inside could `mount -o remount,rw /` and write the
        # host's /etc; a new session, so a command cannot push keystrokes into the terminal (TIOCSTI).
        args = ["bwrap", "--unshare-all", *(["--share-net"] if self.network else []), "--cap-drop", "ALL",
                "--new-session", "--die-with-parent",
                "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp"]
        # After the /tmp tmpfs, so what lives under /tmp stays visible; writable last, so it wins when nested.
        for path in self.readable:
            args += ["--ro-bind", str(path), str(path)]
        for path in (root, *self.writable):
            args += ["--bind", str(path), str(path)]
        # Git runs hooks and config-named programs on the user's next git command, outside any sandbox.
        for path in (root / ".git" / "hooks", root / ".git" / "config"):
            if path.exists() and not path.is_symlink():
                args += ["--ro-bind", str(path), str(path)]
        for key, value in self.env.items():
            args += ["--setenv", key, value]
        return [*args, "--chdir", str(root), "--", *argv]


# Credentials a command never needs to see: a prompt-injected `env | curl …` would leak them. SSH_AUTH_SOCK
# is the ssh agent: access to it is the key.
SECRET_NAME = re.compile(r"(?i)(?:^|_)(?:TOKEN|KEY|SECRET|PASSWORD|PASSWD|PASS|CREDENTIALS?|AUTH)$|^AWS_|^SSH_AUTH_SOCK$")


def without_secrets(environ: Mapping[str, str]) -> dict[str, str]:
    """`environ` less the variables whose names look like credentials (`*_TOKEN`, `*_KEY`, `AWS_*`, …)."""
    return {k: v for k, v in environ.items() if not SECRET_NAME.search(k)}


def _own_install() -> tuple[Path, ...]:
    """The Python Luban runs on and Luban's own source, when they live under /tmp (say, a CI checkout):
    commands in the sandbox run that Python, and the eval grader loads a pytest plugin from Luban."""
    source = Path(__file__).resolve().parents[2]  # src/ of a checkout, or site-packages
    places = {Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve(), source}
    return tuple(sorted(p for p in places if p.is_relative_to("/tmp")))


def bubblewrap_available() -> bool:
    return shutil.which("bwrap") is not None


def make(kind: str, writable: Sequence[Path] = (), env: Mapping[str, str] | None = None) -> Sandbox:
    """The sandbox named by a setting: `bwrap`, `none`, or `auto` (bwrap where it is installed)."""
    env = dict(env or {})
    if kind == "auto":
        kind = "bwrap" if bubblewrap_available() else "none"
    if kind == "bwrap":
        if not bubblewrap_available():
            raise ConfigError("The bwrap sandbox needs bubblewrap: install it (apt-get install bubblewrap).")
        return Bubblewrap(tuple(Path(p) for p in writable), env, readable=_own_install())
    if kind == "none":
        return Unconfined(env)
    raise ConfigError(f"Unknown sandbox {kind!r}; use auto, bwrap or none.")
