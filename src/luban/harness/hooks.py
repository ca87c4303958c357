"""Hooks: the user's own commands run at agent events -- a formatter or linter after each edit, a set-up step
when a run starts. They run as the agent's commands do (in the workspace, through the sandbox, without
credential variables), so a hook can never do more than a command the user allowed."""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import Any, Mapping

from ..errors import ConfigError
from ..tools import bash
from ..types import ToolResult
from ..workspace import Workspace

EVENTS = ("session_start", "after_edit")
TIMEOUT_S = 120


@dataclass(frozen=True)
class Hook:
    event: str
    command: str  # `{path}` is replaced by the edited file's path, shell-quoted

    def run(self, ws: Workspace, path: str = "") -> ToolResult:
        command = self.command.replace("{path}", shlex.quote(path)) if path else self.command
        return bash.TOOL({"command": command, "timeout": TIMEOUT_S}, ws)


@dataclass(frozen=True)
class Hooks:
    hooks: tuple[Hook, ...] = ()

    @classmethod
    def parse(cls, table: Mapping[str, Any]) -> Hooks:
        """`{"after_edit": ["ruff format {path}"], ...}`; a malformed table is a ConfigError."""
        hooks = []
        for event, commands in table.items():
            if event not in EVENTS:
                raise ConfigError(f"Unknown hook event {event!r}; use one of {', '.join(EVENTS)}.")
            if isinstance(commands, str):
                commands = [commands]
            if not isinstance(commands, (list, tuple)) or not all(isinstance(c, str) and c.strip() for c in commands):
                raise ConfigError(f"hooks.{event} must be a command or a list of commands, not {commands!r}.")
            hooks += [Hook(event, c) for c in commands]
        return cls(tuple(hooks))

    def on(self, event: str) -> tuple[Hook, ...]:
        return tuple(h for h in self.hooks if h.event == event)


def after_edit(hooks: Hooks, ws: Workspace, path: str, result: ToolResult) -> ToolResult:
    """The edit's result, with the output of each after_edit hook that failed appended: the model sees the
    formatter's or linter's complaint about what it just wrote and can fix it at once."""
    complaints = []
    for hook in hooks.on("after_edit"):
        ran = hook.run(ws, path)
        if ran.error:
            complaints.append(f"[hook `{hook.command}` failed after this edit:\n{ran.content}]")
    if not complaints:
        return result
    return ToolResult("\n\n".join([result.content, *complaints]), result.error)


def session_start(hooks: Hooks, ws: Workspace) -> list[str]:
    """Run the session_start hooks; one line each for the user (with the output's last line when one fails)."""
    lines = []
    for hook in hooks.on("session_start"):
        ran = hook.run(ws)
        last = ran.content.strip().splitlines()[-2:-1] if ran.error else []
        lines.append(f"hook `{hook.command}`: {'failed' if ran.error else 'ok'}" + (f" ({last[0]})" if last else ""))
    return lines
