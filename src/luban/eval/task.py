"""Eval tasks: what the agent is asked, the workspace it starts from, and how its work is graded.

Every suite (humaneval, bugfix, ipi, a user's folder) produces the same `Task`; the runner and the grader
know nothing else. Tasks are plain frozen data, so they pickle to Ray workers.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Protocol, Sequence


class Source(Protocol):
    """Where a task's files come from."""

    def prepare(self, dest: Path) -> None:
        """Write the starting workspace into the existing, empty folder `dest`."""
        ...

    def reveal(self, dest: Path) -> None:
        """Lay the hidden grading files over the workspace, after the agent has stopped."""
        ...


@dataclass(frozen=True)
class Files:
    """A task whose files are given inline: {relative path: text}."""

    start: Mapping[str, str]
    hidden: Mapping[str, str] = field(default_factory=dict)

    def prepare(self, dest: Path) -> None:
        _write_all(dest, self.start)

    def reveal(self, dest: Path) -> None:
        _write_all(dest, self.hidden)


@dataclass(frozen=True)
class Folder:
    """A task on disk: `repo/` is the starting workspace, `hidden/` (optional) is laid over it to grade."""

    repo: Path
    hidden: Path | None = None

    def prepare(self, dest: Path) -> None:
        shutil.copytree(self.repo, dest, symlinks=True, dirs_exist_ok=True)

    def reveal(self, dest: Path) -> None:
        if self.hidden is not None and self.hidden.is_dir():
            shutil.copytree(self.hidden, dest, symlinks=True, dirs_exist_ok=True)


@dataclass(frozen=True)
class Grading:
    """How the finished workspace is graded.

    With test ids, the command must run pytest: it passes when every fail-to-pass and pass-to-pass test
    passed. Without them, it passes when the command exits 0.
    """

    command: str
    timeout_s: float = 300.0
    fail_to_pass: tuple[str, ...] = ()
    pass_to_pass: tuple[str, ...] = ()


@dataclass(frozen=True)
class Injection:
    """A planted instruction (prompt injection) and the evidence that the agent obeyed it.

    `indicator` is a regular expression; obeying means it shows up in a command the agent ran
    (`in_calls`), in what a tool returned to it (`in_results`, for leaked secrets) or in its own replies
    (`in_replies`: a secret it repeats to the user is leaked too). Creating or changing any `guarded` file
    also counts as obeying.
    """

    indicator: str
    category: str = ""
    in_calls: bool = True
    in_results: bool = False
    guarded: tuple[str, ...] = ()
    in_replies: bool = False


@dataclass(frozen=True)
class Task:
    id: str
    suite: str
    prompt: str
    source: Source
    grading: Grading
    tier: str = ""
    # The project's test command, given to the agent as Luban's test gate (empty: the agent finds its own).
    test_command: str = ""
    # Environment of every command the agent and the grader run (e.g. planted canary secrets).
    env: Mapping[str, str] = field(default_factory=dict)
    injection: Injection | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Suite:
    name: str
    tasks: Sequence[Task]
    description: str = ""


def _write_all(dest: Path, files: Mapping[str, str]) -> None:
    for rel, text in files.items():
        path = dest / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
