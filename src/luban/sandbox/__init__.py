"""Sandboxes: a Sandbox only rewrites the argv of a command the agent runs, so tools stay unaware of it.

`Unconfined` runs commands as they are. `Bubblewrap` (bwrap) gives them a read-only view of the machine,
a writable workspace, a private /tmp, no network and their own process namespace.
"""

from __future__ import annotations

import shutil
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
    """Writable: the workspace root and `writable`. Everything else read-only; /tmp private; no network."""

    writable: tuple[Path, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    network: bool = False

    def wrap(self, argv: Sequence[str], root: Path) -> list[str]:
        args = ["bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp"]
        for path in (root, *self.writable):  # after the /tmp tmpfs, so a workspace under /tmp stays visible
            args += ["--bind", str(path), str(path)]
        if not self.network:
            args.append("--unshare-net")
        for key, value in self.env.items():
            args += ["--setenv", key, value]
        return [*args, "--unshare-pid", "--die-with-parent", "--chdir", str(root), "--", *argv]


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
        return Bubblewrap(tuple(Path(p) for p in writable), env)
    if kind == "none":
        return Unconfined(env)
    raise ConfigError(f"Unknown sandbox {kind!r}; use auto, bwrap or none.")
