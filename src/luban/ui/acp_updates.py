"""Luban's events as ACP session updates: the model's words and reasoning as message and thought chunks, each tool
call as tool_call / tool_call_update with its kind, the files it touches and, for an edit, the diff of the file;
the task list (the todo tool) as the editor's plan."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from acp import (plan_entry, start_tool_call, text_block, tool_content, tool_diff_content, tool_terminal_ref,
                 update_agent_message_text, update_agent_thought_text, update_plan, update_tool_call,
                 update_user_message_text)
from acp.schema import ToolCallLocation

from ..safety import policy
from ..tools import declared, todo
from ..types import AssistantText, Compacted, Event, Notice, ToolCall, ToolFinished, ToolStarted, TurnEnded

# ACP's tool kinds: how an editor shows a call (an icon, where a diff or a terminal goes).
KINDS = {"read_file": "read", "list_dir": "read", "edit_file": "edit", "write_file": "edit", "bash": "execute",
         "grep": "search", "glob": "search", "locate_fault": "think", "task": "think"}
_STEP = re.compile(r"^\s*(?:\d+[.)]|[-*])\s+(.+)$")  # a numbered or bulleted line of a plan


@dataclass
class Updates:
    """Turns events into session updates and hands each to `send`. Edits are diffed against the file as it was
    when the call started (`read` gives a workspace file's text, None where there is none)."""

    send: Callable[[Any], None]
    root: Path
    read: Callable[[Path], str | None]
    plan_mode: bool = False
    before: dict[str, tuple[Path, str | None]] = field(default_factory=dict)  # edits in flight: file, old text
    current: str | None = None  # the call running now
    terminals: dict[str, str] = field(default_factory=dict)  # call id → the editor terminal its command ran in

    def __call__(self, event: Event) -> None:
        if isinstance(event, AssistantText):
            if event.reasoning:
                self.send(update_agent_thought_text(event.reasoning))
            if event.text:
                self.send(update_agent_message_text(event.text))
        elif isinstance(event, ToolStarted):
            self.started(event.call)
        elif isinstance(event, ToolFinished):
            self.finished(event)
        elif isinstance(event, Notice):
            self.send(update_agent_message_text(f"\n\n> Luban: {event.text}\n\n"))
        elif isinstance(event, Compacted):
            self.send(update_agent_thought_text(f"(context {event.how}: {event.before_tokens} → {event.after_tokens} "
                                                "tokens)"))
        elif isinstance(event, TurnEnded) and self.plan_mode and event.outcome.status == "done":
            steps = [m.group(1) for line in event.outcome.message.splitlines() if (m := _STEP.match(line))]
            if steps:  # plan mode's answer is the plan: its steps as the editor's plan view
                self.send(update_plan([plan_entry(s, priority="medium", status="pending") for s in steps]))

    def send_text(self, text: str) -> None:
        self.send(update_agent_message_text(text))

    def user(self, text: str) -> None:
        self.send(update_user_message_text(text))

    def started(self, call: ToolCall) -> None:
        if call.name == todo.NAME:  # shown as the plan once it is read (finished)
            return
        paths, self.current = self._paths(call), call.id
        if KINDS.get(call.name) == "edit" and paths:
            self.before[call.id] = (paths[0], self.read(paths[0]))
        self.send(start_tool_call(call.id, title(call), kind=KINDS.get(call.name, "other"), status="pending",
                                  locations=[ToolCallLocation(path=str(p)) for p in paths],
                                  raw_input=dict(call.arguments)))

    def terminal(self, terminal_id: str) -> None:
        """The running call's command runs in the editor's terminal `terminal_id`: show it in the call."""
        if self.current is not None:
            self.terminals[self.current] = terminal_id
            self.send(update_tool_call(self.current, content=[tool_terminal_ref(terminal_id)]))

    def running(self, call: ToolCall) -> None:
        self.send(update_tool_call(call.id, status="in_progress"))

    def finished(self, event: ToolFinished) -> None:
        if event.call.name == todo.NAME:
            if not event.result.error:  # ACP's plan statuses are the todo tool's: pending, in_progress, completed
                self.send(update_plan([plan_entry(i["content"], priority="medium", status=i["status"])
                                       for i in event.call.arguments["todos"]]))
            return
        self.current = None
        content = [tool_content(text_block(event.result.content))]
        if event.call.id in self.terminals:
            content.insert(0, tool_terminal_ref(self.terminals.pop(event.call.id)))
        path, old = self.before.pop(event.call.id, (None, None))
        new = self.read(path) if path and not event.result.error else None
        if path and new is not None and new != old:
            content.insert(0, tool_diff_content(str(path), new, old))
        self.send(update_tool_call(event.call.id, status="failed" if event.result.error else "completed",
                                   content=content, raw_output=event.result.content))

    def _paths(self, call: ToolCall) -> list[Path]:
        return [self.root / p for p in declared(call).paths if p]


def title(call: ToolCall) -> str:
    """What the editor shows for a call: its narrowest permission pattern, e.g. `bash(pytest -q)`."""
    shown = policy.narrowest(call)
    return shown if len(shown) <= 120 else shown[:119] + "…"
