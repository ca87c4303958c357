"""`luban --input-format stream-json --output-format stream-json`: a session the Claude Agent SDK drives.

Each user message on stdin is one turn on the same history; the SDK's interrupt stops the turn running as Ctrl-C
does (a SIGINT to the main thread, so a blocked model request or command is cut short too), set_permission_mode
takes effect from the next turn, and with `--permission-prompt-tool stdio` what would ask is asked of the SDK's
can_use_tool callback instead of being denied.
"""

from __future__ import annotations

import os
import signal
import threading
from dataclasses import dataclass, field, replace
from typing import Any, TextIO

from ..config import Settings
from ..errors import ConfigError
from ..safety import policy
from ..sandbox import Unconfined
from ..types import ApprovalNeeded, Decision, Outcome, TurnEnded
from .headless import EXIT_CODES, Run, StreamJson, drive, opened
from .interruption import catch_interrupts, record_interruption
from .sdk_control import END, Channel, ControlError, Outbox
from .sdk_flags import CLAUDE_MODES, with_instructions

INTERRUPTED = "Interrupted by the SDK (interrupt)."


class Refused(Exception):
    """The can_use_tool callback denied a call and asked for the turn to stop (`interrupt: true`)."""


@dataclass
class SdkSession:
    settings: Settings
    channel: Channel
    ask_sdk: bool  # --permission-prompt-tool stdio: approvals go to the SDK's can_use_tool
    instructions: str = ""  # the caller's system prompt text, given with the first task
    running: bool = False
    mode: str | None = None  # set_permission_mode's, applied when the next turn starts
    allowed: list[str] = field(default_factory=list)
    main: int = field(default_factory=lambda: threading.main_thread().ident or 0)

    # ---- control requests (the reader thread) ----

    def initialize(self, request: dict[str, Any]) -> dict[str, Any]:
        if request.get("hooks"):
            self.channel.err.write("luban: ignoring the SDK's hook callbacks: Luban runs its own hooks "
                                   "(docs/hooks.md), not the SDK's.\n")
        return {"commands": [], "agents": [], "output_style": "default", "available_output_styles": ["default"],
                "models": [], "pid": os.getpid()}

    def interrupt(self, _request: dict[str, Any]) -> dict[str, Any]:
        if self.running:  # between turns there is nothing to stop
            signal.pthread_kill(self.main, signal.SIGINT)
        return {}

    def set_permission_mode(self, request: dict[str, Any]) -> dict[str, Any]:
        mode = CLAUDE_MODES.get(request.get("mode", ""), request.get("mode"))
        if mode not in policy.MODES:
            raise ControlError(f"Unknown permission mode {request.get('mode')!r}; Luban takes "
                               f"{', '.join(CLAUDE_MODES)} or its own {', '.join(policy.MODES)}.")
        self.mode = mode
        return {}

    # ---- turns (the main thread) ----

    def serve(self, run: Run, render: StreamJson) -> Outcome | None:
        """Run a turn per user message until stdin closes; the last turn's outcome."""
        last = None
        while (task := self.channel.turns.get()) is not END:
            self._apply_mode(run)
            task, self.instructions = with_instructions(task, self.instructions), ""  # with the first task only
            render.init(str(run.ws.root), run.model.info.name, [t.spec.name for t in run.tools],
                        run.settings.permission_mode)
            last = self._turn(run, task, render)
        return last

    def _turn(self, run: Run, task: str, render: StreamJson) -> Outcome:
        events, outcome = run.turn(task, self.allowed), None
        try:
            self.running = True
            outcome = drive(events, render, self._ask if self.ask_sdk else None)
        except (KeyboardInterrupt, Refused) as stop:
            if outcome is None:
                events.close()
                why = str(stop) if isinstance(stop, Refused) else INTERRUPTED
                outcome = record_interruption(run.history, run.transcript, why)
                render(TurnEnded(outcome))
        finally:
            self.running = False
        return outcome

    def _ask(self, asked: ApprovalNeeded) -> Decision:
        call = asked.call
        try:
            answer = self.channel.request({"subtype": "can_use_tool", "tool_name": call.name,
                                           "input": dict(call.arguments), "tool_use_id": call.id,
                                           "permission_suggestions": [], "decision_reason": asked.reason})
        except ControlError as exc:
            return Decision(False, f"The SDK's permission callback failed: {exc}.")
        if answer.get("behavior") == "allow":
            return Decision(True, always=bool(answer.get("updatedPermissions")))
        if answer.get("interrupt"):
            raise Refused(f"Stopped: the SDK's permission callback denied {call.name} and interrupted the turn.")
        return Decision(False, str(answer.get("message") or ""))

    def _apply_mode(self, run: Run) -> None:
        mode, self.mode = self.mode, None
        if mode is None or mode == run.settings.permission_mode:
            return
        if mode == "full-auto" and isinstance(run.ws.sandbox, Unconfined):
            self.channel.err.write("luban: not switching to bypassPermissions: this session runs commands "
                                   "unconfined (--no-sandbox).\n")
            return
        run.settings = replace(run.settings, permission_mode=mode)  # run.tools follows it


def serve_sdk(settings: Settings, instructions: str, ask_sdk: bool, stdin: TextIO, out: TextIO, err: TextIO, *,
              resume: str | None = None, continue_last: bool = False) -> int:
    """Serve the SDK until stdin closes; the exit code of the last turn (0 when none ran)."""
    if settings.output_format != "stream-json":
        raise ConfigError("--input-format stream-json needs --output-format stream-json.")
    catch_interrupts()
    outbox = Outbox(out)
    channel = Channel(stdin, outbox, err)
    session = SdkSession(settings, channel, ask_sdk, instructions)
    channel.handlers.update(initialize=session.initialize, interrupt=session.interrupt,
                            set_permission_mode=session.set_permission_mode)
    channel.start()  # initialize is answered while the model loads
    with opened(settings, err, resume=resume, continue_last=continue_last) as run:
        last = session.serve(run, StreamJson(outbox, run.transcript.id, run.model.info.name))
    return EXIT_CODES[last.status] if last else 0
