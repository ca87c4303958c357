"""Subagent definitions: the built-in `explore` agent, and custom ones as markdown files (front matter name,
description, optional tools; the body is the agent's instructions), as Claude Code writes them, from the user's
config folder (agents/) and, once trusted, the project's .luban/agents/ and .claude/agents/."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from .frontmatter import Unreadable, listed, read_document
from .project import AGENT_DIRS

# Claude Code's tool names in an agent file written for it, as Luban's.
CLAUDE_NAMES = {"Read": "read_file", "Edit": "edit_file", "Write": "write_file", "Bash": "bash", "Grep": "grep",
                "Glob": "glob", "LS": "list_dir"}
MAX_STEPS = 15  # a subagent's own step limit; the parent's remaining steps cap it further


@dataclass(frozen=True)
class AgentDef:
    name: str
    description: str
    prompt: str
    tools: tuple[str, ...] | None = None  # None: the parent's read-only tools
    source: str = "built-in"


EXPLORE = AgentDef(
    "explore",
    "Searches and reads the code base read-only in a context of its own and reports what it found (files, line "
    "numbers, what they show). Use it for a search that would read many files: only its short report comes back.",
    "You are a search subagent. Find what the task asks for with the read-only tools, reading only what you "
    "need. Then finish with a short report: the files and line numbers that matter and what each shows, in at "
    "most 150 words. Do not change anything.")


def discover(user_dir: Path | None, project: Path | None) -> tuple[tuple[AgentDef, ...], list[str]]:
    """The agents, built-in first then by name (a later folder's agent of a name wins: project over user), and one
    warning per file that could not be read."""
    found: dict[str, AgentDef] = {EXPLORE.name: EXPLORE}
    warnings: list[str] = []
    folders = [user_dir / "agents"] if user_dir else []
    folders += [project / d for d in AGENT_DIRS] if project else []
    for folder in folders:
        for path in sorted(folder.glob("*.md")) if folder.is_dir() else ():
            try:
                agent = read_agent(path)
            except Unreadable as why:
                warnings.append(f"Skipped the agent file {why}.")
                continue
            found[agent.name] = agent
    return (EXPLORE, *sorted((a for a in found.values() if a is not EXPLORE), key=lambda a: a.name)), warnings


def read_agent(path: Path) -> AgentDef:
    doc = read_document(path)
    name, description = doc.fields.get("name", path.stem).strip(), doc.fields.get("description", "").strip()
    if not name or not description:
        raise Unreadable(f"{path} needs a name and a description in its front matter")
    tools = listed(doc.fields["tools"]) if doc.fields.get("tools", "").strip() else None
    return AgentDef(name, description, doc.body.strip(), tools, str(path))


def granted(agent: AgentDef, parent: Sequence[str], read_only: Sequence[str]) -> tuple[str, ...]:
    """The tools a subagent gets: those it names that the parent has (never wider), else the parent's read-only
    ones; never `task` itself (no subagent starts another) nor the parent's task list."""
    names = {CLAUDE_NAMES.get(t, t) for t in agent.tools or ()}
    wanted = read_only if agent.tools is None else [t for t in parent if t in names]
    return tuple(t for t in wanted if t not in ("task", "todo"))
