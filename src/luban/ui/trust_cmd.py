"""`luban trust`: show what the workspace's own .luban/config.toml and extensions (.mcp.json, skills, agents) would
do, and trust (or revoke) them."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, TextIO

from ..config import Settings, read_project, waiting
from ..extend.project import project_extensions
from ..safety.trust import PROJECT_CONFIG, ProjectConfig, is_trusted, set_trust


def trust_command(settings: Settings, yes: bool, revoke: bool, out: TextIO, ask: Callable[[str], str]) -> int:
    """`settings`: the user's own, without the project's config (config.load(project=False)), so that the
    listing says what the file adds to them."""
    cwd = Path(settings.cwd).resolve()
    project, extensions = read_project(cwd), project_extensions(cwd)
    if project is None and extensions is None:
        out.write(f"{cwd / PROJECT_CONFIG} does not exist: there is nothing to trust.\n")
        return 0
    code = 0 if project is None else _trust_config(settings, project, yes, revoke, out, ask)
    if extensions is not None:
        lines = [f"{kind}: {', '.join(names)}" for kind, names in extensions.values.items()]
        code = max(code, _trust(Path(settings.data_dir), extensions, lines, yes, revoke, out, ask))
    return code


def _trust_config(settings: Settings, project: ProjectConfig, yes: bool, revoke: bool, out: TextIO,
                  ask: Callable[[str], str]) -> int:
    return _trust(Path(settings.data_dir), project, waiting(project.values, settings), yes, revoke, out, ask)


def _trust(data_dir: Path, project: ProjectConfig, lines: list[str], yes: bool, revoke: bool, out: TextIO,
           ask: Callable[[str], str]) -> int:
    """Show what `project` would add (`lines`) and trust or revoke it; the project's extensions (its .mcp.json,
    skills and agents: extend/project.py) are trusted the same way as its config file."""
    if revoke:
        set_trust(data_dir, project, False)
        out.write(f"{project.path} is no longer trusted: it may only narrow again.\n")
        return 0
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
