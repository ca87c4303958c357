"""Harness rules that keep a weak model's edits grounded: read a file before changing it, and leave
protected files (such as the tests that judge the work) alone.

Generic over tools: a tool's effect and its `path` argument are all these rules look at.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fnmatch import fnmatch
from pathlib import Path
from typing import Iterable, Mapping, Sequence

from ..types import Effect, ToolCall, ToolResult
from ..workspace import PathEscape, Workspace
from .gate import TestRun, quoted


@dataclass
class Guards:
    protected: Sequence[str] = ()  # glob patterns, relative to the workspace root
    read_before_write: bool = True
    _seen: set[Path] = field(default_factory=set)

    def refuse(self, call: ToolCall, effect: Effect, ws: Workspace) -> str | None:
        """Why this call may not run, or None."""
        path = _path(call, ws)
        if effect != "write" or path is None:
            return None
        rel = ws.relative(path)
        if self.is_protected(rel):
            return f"{rel} is protected and must not be changed; change the code it tests instead."
        if self.read_before_write and path.is_file() and path not in self._seen:
            return f"Read {rel} with read_file before changing it, so your edit matches its real text."
        return None

    def protects(self, call: ToolCall, ws: Workspace) -> bool:
        """Whether the call names a protected file (a write to it is refused)."""
        path = _path(call, ws)
        return path is not None and self.is_protected(ws.relative(path))

    def is_protected(self, rel: str) -> bool:
        return any(fnmatch(rel, pattern) for pattern in self.protected)

    def saw_quoted(self, run: TestRun, ws: Workspace) -> None:
        """The gate showed the model a definition as written: an edit of that file is grounded in its real text.
        (Measured: forced to edit after a refused finish, the 1.5B kept editing the quoted function without a
        read_file first, the read-before-write guard refused each edit, and the run ended stuck.)"""
        path = quoted(run, ws)
        if path:
            self.saw(ws.resolve(path))

    def saw(self, path: Path) -> None:
        """The harness showed the model this text itself (the gate quotes a definition; a rewrite, what it replaces)."""
        self._seen.add(path)

    def recall(self, done: Iterable[tuple[ToolCall, ToolResult]], effects: Mapping[str, Effect], ws: Workspace
               ) -> None:
        """Observe again the calls an earlier run of the session finished (a resumed or a later turn's run): what
        the model read then, it has seen."""
        for call, result in done:
            if call.name in effects:
                self.observe(call, effects[call.name], result, ws)

    def observe(self, call: ToolCall, effect: Effect, result: ToolResult, ws: Workspace) -> None:
        path = _path(call, ws)
        if path is not None and not result.error and effect in ("read", "write"):
            self._seen.add(path)


def _path(call: ToolCall, ws: Workspace) -> Path | None:
    value = call.arguments.get("path")
    if not isinstance(value, str):
        return None
    try:
        return ws.resolve(value)
    except PathEscape:
        return None
