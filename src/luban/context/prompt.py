"""The system prompt: fixed rules, tool instructions, project memory and a view of the repository.

It is the frozen head of every request, built at session start and at compaction only: nothing here may change
between turns (the server's KV cache). In small-context mode it is fitted to the prefix budget.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Sequence

from ..types import Message
from ..workspace import Workspace
from ..workspace.listing import Listing
from .memory import project_memory
from .repomap import Limits, build
from .tokens import estimate

RULES = """\
You are Luban, an autonomous coding agent. You work alone in a repository, the current directory; paths are \
relative to it. Nobody will answer questions mid-task, so act.

Work like this:
1. Look first: read the files that matter before changing them.
2. Change as little as needed, with edit_file (old_string must be copied exactly from read_file output).
3. Check your work: run the project's tests with bash and read the result.
4. When the task is done, or cannot be done, end with a short summary of what you did.

Call one tool per reply. Never say tests pass unless you ran them and saw them pass."""

FILES = """Files in the repository ({shown} of {total}), with the functions and classes defined in Python files:
{files}"""
FILES_PLAIN = """Files in the repository ({shown} of {total}):
{files}"""
MAP = """The most relevant definitions in the repository:
{map}"""

MAX_FILES = 150
LISTED_FILES = 10 * MAX_FILES  # beyond this the count is "more than": the exact number helps nobody
OUTLINE_MAX_FILES = 60  # beyond this the outline costs more prompt than it helps; the repo map takes over
OUTLINE_MAX_NAMES = 12
MEMORY_MAX_CHARS = 8_000  # AGENTS.md and the like, when the window leaves room
MEMORY_SHARE = 0.3  # of what the prefix budget leaves after the rules and tools
MIN_VIEW_TOKENS = 150
UNBUDGETED_VIEW_TOKENS = 4_000
MAP_SHARE = 0.6  # of the repository view, when not every file fits: the ranked definitions say more than paths


def system_prompt(ws: Workspace, tool_text: str = "", budget: int | None = None,
                  in_play: Sequence[str] = (), limits: Limits = Limits()) -> Message:
    """The rules, the protocol's tool instructions, the project's AGENTS.md, and a view of the repository
    fitted to what is left of `budget` tokens (None: no limit). `in_play`: files the run works on; `limits`: how
    much work the repo map may do."""
    head = frozen_head(tool_text)
    room = None if budget is None else max(budget - estimate(head), MIN_VIEW_TOKENS)
    memory = project_memory(ws.root, cap_chars=MEMORY_MAX_CHARS if room is None else int(room * MEMORY_SHARE * 3))
    if room is not None:
        room = max(room - estimate(memory), MIN_VIEW_TOKENS)
    parts = [head, memory, repository_view(ws.root, room, in_play, ws.scratch, limits, ws.listing)]
    return Message("system", "\n\n".join(p for p in parts if p))


def frozen_head(tool_text: str) -> str:
    """The start of the system prompt that depends on nothing but the tools: the same in every session."""
    return "\n\n".join(p for p in (RULES, tool_text) if p)


def repository_view(root: Path, budget: int | None, in_play: Sequence[str] = (),
                    cache_dir: Path | None = None, limits: Limits = Limits(), listing: Listing | None = None) -> str:
    """Every file with its Python outline in a small repository when that fits `budget`; otherwise a repo map
    of the definitions that matter most to the files in play, then as many paths (shallowest first) as fit.
    `listing`: the workspace's (Workspace.listing), else one made here."""
    listing = listing or Listing(root)
    files = list(listing.files())
    if len(files) <= OUTLINE_MAX_FILES:
        outlined = _outlined(root, files)
        if budget is None or estimate(outlined) <= budget:
            return outlined
    budget = budget or UNBUDGETED_VIEW_TOKENS
    # A listing that stopped short, or that is longer than the map may read (a huge folder), leaves the map to
    # walk within its own limits, and say so.
    whole = listing.complete and len(files) <= limits.files
    ranked = build(root, in_play=in_play, budget_tokens=int(budget * MAP_SHARE), cache_dir=cache_dir, limits=limits,
                   files=files if whole else None)
    mapped = "\n".join(p for p in (MAP.format(map=ranked.text) if ranked.text else "", ranked.skipped) if p)
    return "\n\n".join(p for p in (mapped, _fitted_list(files, listing.complete, budget - estimate(mapped))) if p)


def _outlined(root: Path, files: list[str]) -> str:
    lines = [f"{f}: {o}" if (o := outline(root / f)) else f for f in files]
    return FILES.format(shown=len(files), total=len(files), files="\n".join(lines) or "(none)")


def _fitted_list(files: list[str], complete: bool, budget: int) -> str:
    """As many of the shallowest files as fit."""
    shown: list[str] = []
    used = estimate(FILES_PLAIN) + 10
    for f in files[:MAX_FILES]:
        used += estimate(f) + 1
        if used > budget:
            break
        shown.append(f)
    listing = "\n".join(shown) + ("\n..." if len(files) > len(shown) else "")
    total = len(files) if complete and len(files) <= LISTED_FILES else f"more than {min(len(files), LISTED_FILES)}"
    return FILES_PLAIN.format(shown=len(shown), total=total, files=listing or "(none)")


def outline(path: Path) -> str:
    """Top-level definitions of a Python file, e.g. `add(a, b), class Cart: total()`; "" if none or unreadable."""
    if path.suffix != ".py":
        return ""
    try:
        tree = ast.parse(path.read_bytes())
    except (SyntaxError, ValueError, OSError):
        return ""
    names = [_definition(node) for node in tree.body if isinstance(node, _DEFS)]
    shown = names[:OUTLINE_MAX_NAMES]
    return ", ".join(shown) + (", ..." if len(names) > len(shown) else "")


_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def _definition(node: ast.AST) -> str:
    if isinstance(node, ast.ClassDef):
        methods = [n.name + "()" for n in node.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
        return f"class {node.name}" + (f" [{', '.join(methods[:OUTLINE_MAX_NAMES])}]" if methods else "")
    args = [a.arg for a in node.args.args if a.arg != "self"]
    return f"{node.name}({', '.join(args)})"
