"""One ACP session: a Luban session (workspace, transcript, history) whose turns run on the main thread, stream
their events to the editor, and ask the editor what Luban's mode and rules would ask the user."""

from __future__ import annotations

import signal
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

from acp.schema import PermissionOption, SessionMode, SessionModeState, ToolCallUpdate

from ..safety import policy
from ..sandbox import Unconfined
from ..session import read_records
from ..types import ApprovalNeeded, Decision, Outcome
from .acp_updates import KINDS, Updates, title
from .headless import Run, drive
from .interruption import record_interruption
from .replay import replayed_event

CANCELLED = "Cancelled by the editor (session/cancel)."
OPTIONS = [PermissionOption(option_id="allow_once", name="Allow", kind="allow_once"),
           PermissionOption(option_id="allow_always", name="Allow always", kind="allow_always"),
           PermissionOption(option_id="reject_once", name="Reject", kind="reject_once"),
           PermissionOption(option_id="reject_always", name="Reject always", kind="reject_always")]
MODE_NAMES = {"plan": ("Plan", "Reads and plans; changes nothing and runs no commands."),
              "ask": ("Ask", "Asks before each edit and each command not covered by an allow rule."),
              "auto-edit": ("Auto-edit", "Edits files in the workspace without asking; asks before commands."),
              "full-auto": ("Full auto", "Edits and runs commands in the sandbox without asking; risky ones ask.")}
# Why a turn stopped, as ACP says it.
STOP_REASONS = {"done": "end_turn", "interrupted": "cancelled", "max_steps": "max_turn_requests",
                "max_tokens": "max_tokens"}

Ask = Callable[[ToolCallUpdate], Any]  # request_permission on the editor, answered


def modes(current: str) -> SessionModeState:
    return SessionModeState(current_mode_id=current, available_modes=[
        SessionMode(id=m, name=MODE_NAMES[m][0], description=MODE_NAMES[m][1]) for m in policy.MODES])


@dataclass
class AcpSession:
    run: Run
    updates: Updates
    ask_editor: Ask
    main: int = field(default_factory=lambda: threading.main_thread().ident or 0)
    allowed: list[str] = field(default_factory=list)  # "allow always" answers
    rejected: set[str] = field(default_factory=set)  # "reject always" answers
    mode: str | None = None  # session/set_mode's, applied when the next turn starts
    running: bool = False

    @property
    def id(self) -> str:
        return self.run.transcript.id

    # ---- from the editor's side (the connection's thread) ----

    def cancel(self) -> None:
        if self.running:  # as Ctrl-C: a model request or command in progress is cut short too
            signal.pthread_kill(self.main, signal.SIGINT)

    def set_mode(self, mode: str) -> str | None:
        """Take `mode` from the next turn on; why not, where it cannot be taken."""
        if mode not in policy.MODES:
            return f"Unknown mode {mode!r}; Luban's modes are {', '.join(policy.MODES)}."
        if mode == "full-auto" and isinstance(self.run.ws.sandbox, Unconfined):
            return "full-auto needs a sandbox, and this session runs commands unconfined (--no-sandbox)."
        self.mode = mode
        return None

    # ---- on the main thread ----

    def turn(self, task: str) -> Outcome:
        self._apply_mode()
        self.updates.plan_mode = self.run.settings.permission_mode == "plan"
        events, outcome = self.run.turn(task, self.allowed), None
        try:
            self.running = True
            outcome = drive(events, self.updates, self._ask)
        except KeyboardInterrupt:
            if outcome is None:
                events.close()
                outcome = record_interruption(self.run.history, self.run.transcript, CANCELLED)
        finally:
            self.running = False
        if outcome.status not in STOP_REASONS:  # stuck, an error, the time limit: say why the turn ended
            self.updates.send_text(f"\n\n> Luban stopped ({outcome.status}): {outcome.message}")
        return outcome

    def replay(self) -> None:
        """Send the loaded session's conversation as it went: each task, the agent's words and its tool calls."""
        replaying = replace(self.updates, read=lambda path: None)  # today's files are not that turn's diffs
        records, _ = read_records(self.run.transcript.path)
        expect_task = True
        for record in records:
            if record.get("type") == "message" and record["message"]["role"] == "user" and expect_task:
                replaying.user(record["message"]["content"])
                expect_task = False
            elif record.get("type") == "event" and (event := replayed_event(record)) is not None:
                replaying(event)
            elif record.get("type") == "outcome":
                expect_task = True

    def _ask(self, asked: ApprovalNeeded) -> Decision:
        call = asked.call
        pattern = policy.narrowest(call)
        if pattern in self.rejected:
            return Decision(False, "The user rejected calls like this one for the rest of the session.")
        answer = self.ask_editor(ToolCallUpdate(tool_call_id=call.id, title=title(call),
                                                kind=KINDS.get(call.name, "other"), status="pending",
                                                raw_input=dict(call.arguments)))
        chosen = getattr(answer.outcome, "option_id", None)  # None: the prompt was cancelled
        if chosen in ("allow_once", "allow_always"):
            self.updates.running(call)
            return Decision(True, always=chosen == "allow_always")
        if chosen == "reject_always":
            self.rejected.add(pattern)
        return Decision(False)

    def _apply_mode(self) -> None:
        mode, self.mode = self.mode, None
        if mode is not None and mode != self.run.settings.permission_mode:
            self.run.settings = replace(self.run.settings, permission_mode=mode)  # run.tools follows it


def file_text(path: Path) -> str | None:
    """A workspace file's text as it is on disk now (for diffs); None where it is not a readable text file."""
    try:
        return path.read_text(encoding="utf-8", errors="surrogateescape")
    except (OSError, ValueError):
        return None
