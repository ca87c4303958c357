"""`luban trust`: show what the workspace's own .luban/config.toml would do, and trust (or revoke) it."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, TextIO

from ..config import Settings, read_project, waiting
from ..safety.trust import PROJECT_CONFIG, is_trusted, set_trust


def trust_command(settings: Settings, yes: bool, revoke: bool, out: TextIO, ask: Callable[[str], str]) -> int:
    """`settings`: the user's own, without the project's config (config.load(project=False)), so that the
    listing says what the file adds to them."""
    cwd = Path(settings.cwd).resolve()
    project = read_project(cwd)
    if project is None:
        out.write(f"{cwd / PROJECT_CONFIG} does not exist: there is nothing to trust.\n")
        return 0
    data_dir = Path(settings.data_dir)
    if revoke:
        set_trust(data_dir, project, False)
        out.write(f"{project.path} is no longer trusted: it may only narrow again.\n")
        return 0
    lines = waiting(project.values, settings)
    state = "trusted" if is_trusted(data_dir, project) else "not trusted"
    out.write(f"{project.path} ({state}) would give this repository:\n")
    out.write("".join(f"  - {line}\n" for line in lines) or "  nothing: everything in it only narrows\n")
    if not yes and not _agreed(ask, "Trust this config as it is now (a later change needs trusting again)? [y/N] "):
        out.write("Not trusted.\n")
        return 1
    set_trust(data_dir, project, True)
    out.write("Trusted.\n")
    return 0


def _agreed(ask: Callable[[str], str], question: str) -> bool:
    try:
        return ask(question).strip().lower() in ("y", "yes")
    except EOFError:  # no terminal to answer on: the safe answer
        return False
