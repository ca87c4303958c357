"""`luban` with no task: an inline interactive session in the terminal (not a full-screen app). It opens the
model with a progress line, then reads requests and slash commands until Ctrl-D, /exit or Ctrl-C twice."""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from pathlib import Path

from prompt_toolkit import PromptSession
from rich.console import Console, ConsoleOptions, RenderResult
from rich.live import Live
from rich.text import Text

from .. import __version__
from ..config import Settings, environment, user_config_file
from ..extend.extensions import open_extensions
from ..harness import hooks
from ..harness import harness_for
from ..safety.policy import narrowest
from ..types import ApprovalNeeded, Decision
from .runtime import (open_checkpoints, open_model, open_session, open_workspace, profile_for, resolve_protocol,
                      session_tools)
from .slash import BUILTINS, dispatch
from .tui_input import HINT, InputCompleter, ask_approval, attach, prompt_session
from .tui_session import Session

_ANSWERS = {(True, False): "yes", (True, True): "yes, and always for this session", (False, False): "no"}


@dataclass
class Loading:
    """The progress line while the model is assembled and loaded: percent where known, else elapsed time."""

    stage: str = "connecting to the model"
    fraction: float = -1.0
    started: float = field(default_factory=time.monotonic)

    def update(self, stage: str, fraction: float) -> None:
        self.stage, self.fraction = stage, fraction

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        elapsed = time.monotonic() - self.started
        done = f" {100 * self.fraction:5.1f}%" if self.fraction >= 0 else ""
        yield Text(f"… {self.stage}{done} · {elapsed:.0f} s", style="cyan")


def run_tui(settings: Settings, *, resume: str | None = None, continue_last: bool = False) -> int:
    console = Console(highlight=False)
    ws, notes = open_workspace(settings)
    with contextlib.ExitStack() as stack:
        extensions = open_extensions(settings)
        stack.callback(extensions.close)
        extensions.servers.begin()  # MCP servers start while the model loads
        loading = Loading()
        with Live(loading, console=console, transient=True, refresh_per_second=4):
            model = stack.enter_context(open_model(settings, loading.update))
            settings = resolve_protocol(settings, model)
        harness = harness_for(settings, profile_for(model, settings), environment())
        tools = session_tools(settings, extensions)
        specs = [t.spec for t in tools]
        transcript, history, warnings = open_session(settings, ws, model, specs, harness, resume=resume,
                                                     continue_last=continue_last)
        checkpoints = open_checkpoints(ws, settings)
        session = Session(settings, console, ws, model, harness, transcript, history, lambda e: _ask(console, e),
                          user_config_file(environment()).parent / "commands", checkpoints,
                          extensions=extensions)
        stack.callback(lambda: session.transcript.close())
        stack.enter_context(session.models)
        _banner(session, resumed=bool(resume or continue_last))
        for warning in [*notes, *extensions.warnings, *warnings, *hooks.session_start(harness.hooks, ws)]:
            session.say(f"! {warning}")
        completer = InputCompleter(ws.root, lambda: [*BUILTINS, *session.user_commands()])
        prompt = prompt_session(Path(settings.data_dir) / "prompt-history", completer, lambda: session.status.text())
        _read_eval(session, prompt)
        session.say(f"Session {session.transcript.id} is saved.\nResume it with: luban --resume {session.transcript.id}")
    return 0


def _banner(session: Session, resumed: bool) -> None:
    session.console.print(Text(f"Luban {__version__} · {session.model.info.name}", style="bold"))
    session.console.print(Text(f"in {session.ws.root}", style="dim"))
    session.console.print(Text(HINT, style="dim"))
    if resumed:
        session.console.rule(f"resumed session {session.transcript.id}")
        session.replay()


def _read_eval(session: Session, prompt: PromptSession) -> None:
    armed = False  # a Ctrl-C at an empty prompt arms the exit; a second one in a row leaves
    while session.running:
        try:
            line = prompt.prompt("> ").strip()
        except KeyboardInterrupt:
            if armed:
                return
            armed = True
            session.console.print(Text("(press Ctrl-C again to exit, or Ctrl-D)", style="dim"))
            continue
        except EOFError:
            return
        armed = False
        task = dispatch(session, line) if line.startswith("/") else line
        if not task:
            continue
        attached = attach(task, session.ws.root)
        if attached.files:
            session.say(f"  attached {', '.join(attached.files)}")
        session.turn(attached.task)


def _ask(console: Console, event: ApprovalNeeded) -> Decision:
    tell = PromptSession()
    decision = ask_approval(event, lambda: tell.prompt("  Tell the agent instead: "), f"[a]lways {narrowest(event.call)}")
    answer = _ANSWERS.get((decision.approved, decision.always), "no")
    if decision.message:
        answer = f"no; told the agent: {decision.message}"
    console.print(Text(f"  → {answer}", style="dim"))
    return decision
