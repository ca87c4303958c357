"""The workspace's files as every part of Luban sees them: one skip set (version control, dependencies, caches),
.gitignore honoured as grep honours it (ripgrep reads the ignore files), listed once and kept until something
may have changed the tree (a command ran, a file was written, a new turn began)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from ..config import environment

# Folders no part of Luban looks into, at any depth: version control, dependencies and caches (and *.egg-info).
SKIPPED = frozenset({".git", ".hg", ".svn", "__pycache__", "node_modules", ".venv", "venv", ".mypy_cache",
                     ".pytest_cache", ".ruff_cache", ".tox"})
COMPILED = (".pyc", ".pyo")
# A listing stops here: a huge folder that is not a repository (`--cwd /`) must not hold up a step.
MAX_FILES = 100_000
MAX_SECONDS = 3.0


def skipped(name: str) -> bool:
    """Whether a folder of this name is one no part of Luban looks into."""
    return name in SKIPPED or name.endswith(".egg-info")


def rg_binary(environ: Mapping[str, str]) -> str | None:
    """The rg the ripgrep wheel put beside this Python, else one on the PATH of `environ`."""
    beside = Path(sys.executable).parent / "rg"
    return str(beside) if beside.is_file() else shutil.which("rg", path=environ.get("PATH", os.defpath))


def rg_skips() -> list[str]:
    """rg's arguments for the skip set, so that grep searches what the listing lists."""
    names = (*sorted(SKIPPED), "*.egg-info", *(f"*{suffix}" for suffix in COMPILED))
    return [arg for name in names for arg in ("--glob", f"!{name}")]


@dataclass
class Listing:
    """The files beneath `root`, relative POSIX paths, shallow ones first; `complete` is False where the listing
    stopped at MAX_FILES or MAX_SECONDS. `environ`: where to find rg (config.environment())."""

    root: Path
    environ: Mapping[str, str] = field(default_factory=environment, repr=False)
    complete: bool = True
    _files: tuple[str, ...] | None = field(default=None, repr=False)

    def files(self) -> tuple[str, ...]:
        if self._files is None:
            rg = rg_binary(self.environ)
            found, self.complete = _by_rg(rg, self.root) if rg else _by_walk(self.root)
            self._files = tuple(sorted(found, key=lambda p: (p.count("/"), p)))
        return self._files

    def changed(self) -> None:
        """The tree may have changed: the next `files()` lists it again."""
        self._files = None


def _by_rg(rg: str, root: Path) -> tuple[list[str], bool]:
    """`rg --files`: the ignore files honoured exactly as grep's searches honour them; symlinks not followed."""
    argv = [rg, "--files", "--hidden", "--sort", "path", "--no-messages", *rg_skips()]
    found: list[str] = []
    with subprocess.Popen(argv, cwd=root, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL) as proc:
        timer = threading.Timer(MAX_SECONDS, proc.kill)
        timer.start()
        try:
            assert proc.stdout is not None
            for line in proc.stdout:
                found.append(os.fsdecode(line.rstrip(b"\n")))
                if len(found) >= MAX_FILES:
                    proc.kill()
                    break
        finally:
            timer.cancel()
    return found, len(found) < MAX_FILES and proc.returncode >= 0


def _by_walk(root: Path) -> tuple[list[str], bool]:
    """Without rg: the skip set only (no ignore files)."""
    found: list[str] = []
    for here, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not skipped(d))
        rel = Path(here).relative_to(root).as_posix()
        found += [name if rel == "." else f"{rel}/{name}" for name in sorted(files) if not name.endswith(COMPILED)]
        if len(found) >= MAX_FILES:
            return found[:MAX_FILES], False
    return found, True
