"""Harness rules that keep a weak model's edits grounded: read a file before changing it, and leave
protected files (such as the tests that judge the work) alone.

Generic over tools: a tool's effect and the paths it declares a call touches are all these rules look at.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fnmatch import fnmatch
from pathlib import Path
from typing import Iterable, Mapping, Sequence

from ..errors import PathRefused
from ..tools import Tool, declared, touched_by
from ..types import Effect, ToolCall, ToolResult, Touched
from ..workspace import Workspace
from .gate import TestRun, quoted

# With a test gate the tests judge the work, so by default the agent may not edit them (harness_for); fault
# localization never suspects them either (faults.TEST_CODE).
TEST_FILES = ("test_*.py", "*_test.py", "*/test_*.py", "*/*_test.py", "tests/*", "test/*", "*.test.js", "*.spec.ts")


@dataclass
class Guards:
    protected: Sequence[str] = ()  # glob patterns, relative to the workspace root
    read_before_write: bool = True
    _seen: set[Path] = field(default_factory=set)

    def refuse(self, call: ToolCall, effect: Effect, ws: Workspace, touched: Touched | None = None) -> str | None:
        """Why this call may not run, or None. `touched`: what its tool declares (by default the built-in tool's)."""
        if effect != "write":
            return None
        for path in _paths(call, ws, touched):
            rel = ws.relative(path)
            if self.is_protected(rel):
                return f"{rel} is protected and must not be changed; change the code it tests instead."
            if self.read_before_write and path.is_file() and path not in self._seen:
                return (f"Read {rel} with read_file before changing it, so your edit matches its real text. Your "
                        f"next step: read_file with path {rel}; then make your edit from what it shows.")
        return None

    def unread(self, call: ToolCall, effect: Effect, ws: Workspace, touched: Touched | None = None) -> str | None:
        """The file this call would change without the model having read it (refuse's reason), if any."""
        if effect != "write" or not self.read_before_write:
            return None
        return next((ws.relative(p) for p in _paths(call, ws, touched)
                     if p.is_file() and p not in self._seen and not self.is_protected(ws.relative(p))), None)

    def has_seen(self, path: Path) -> bool:
        return path in self._seen

    def protects(self, call: ToolCall, ws: Workspace, touched: Touched | None = None) -> bool:
        """Whether the call names a protected file (a write to it is refused)."""
        return any(self.is_protected(ws.relative(path)) for path in _paths(call, ws, touched))

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

    def recall(self, done: Iterable[tuple[ToolCall, ToolResult]], tools: Mapping[str, Tool], ws: Workspace) -> None:
        """Observe again the calls an earlier run of the session finished (a resumed or a later turn's run): what
        the model read then, it has seen."""
        for call, result in done:
            if call.name in tools:
                tool = tools[call.name]
                self.observe(call, tool.effect, result, ws, touched_by(tool, call.arguments))

    def observe(self, call: ToolCall, effect: Effect, result: ToolResult, ws: Workspace,
                touched: Touched | None = None) -> None:
        if not result.error and effect in ("read", "write"):
            self._seen.update(_paths(call, ws, touched))


def _paths(call: ToolCall, ws: Workspace, touched: Touched | None) -> list[Path]:
    """The workspace paths the call touches, resolved; those that lead out of it are the tool's to refuse."""
    found = []
    for value in (declared(call) if touched is None else touched).paths:
        try:
            found.append(ws.resolve(value))
        except PathRefused:
            pass
    return found
