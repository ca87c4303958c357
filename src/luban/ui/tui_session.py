"""The interactive session: a model, a workspace and a transcript that turns run on; what the slash commands
act on. A turn keeps the history in place as it goes (loop.run's `conversation`); the transcript records it."""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterator

from rich.console import Console
from rich.text import Text

from ..agent import loop
from ..config import Settings
from ..context.engine import Window, compact_now
from ..errors import ConfigError
from ..extend.extensions import Extensions
from ..extend.mcp_tools import prompt_commands
from ..harness import Harness, offered_tools
from ..models import Model, drain
from ..session import Transcript, find, read_records
from ..tools import Tool
from ..types import Message, Outcome, TurnEnded, Usage
from ..workspace import Workspace
from ..workspace.checkpoints import Checkpoints, rewind
from .interruption import record_interruption
from .replay import replayed_event
from .runtime import open_model, open_session, session_tools, sessions_dir
from .tui_render import Screen, Status, clean
from .tui_turn import Activity, Ask, Tap, drive
from .user_commands import user_commands



@dataclass
class Session:
    settings: Settings
    console: Console
    ws: Workspace
    model: Model
    harness: Harness
    transcript: Transcript
    history: list[Message]
    ask: Ask
    commands_dir: Path  # the user's own command files
    checkpoints: Checkpoints | None  # snapshots of the files before each turn that writes: /undo, /rewind
    screen: Screen = field(init=False)
    status: Status = field(init=False)
    usage: Usage = field(default_factory=Usage)
    model_s: float = 0.0
    running: bool = True
    allowed: list[str] = field(default_factory=list)  # "always" answers: kept across turns, not across sessions
    models: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)
    # MCP servers, skills, subagents (extend/): their tools join the built-in ones, their prompts are commands.
    extensions: Extensions | None = None

    def __post_init__(self) -> None:
        self.screen = Screen(self.console, self.ws.root)
        self.status = Status(self.model.info.name, self.model.info.context_window, self.settings.permission_mode)

    @property
    def tools(self) -> tuple[Tool, ...]:
        if self.extensions is None:
            return offered_tools(self.settings)
        return session_tools(self.settings, self.extensions)  # for the mode now: /mode may have changed it

    def say(self, text: str) -> None:
        self.console.print(Text(text))

    # ---- turns ----

    def turn(self, task: str) -> Outcome:
        activity = Activity(self.status, preview=self.harness.protocol.name == "native")
        run = loop.run(task, model=Tap(self.model, activity), tools=self.tools, ws=self.ws, settings=self.settings,
                       history=self.history, transcript=self.transcript, harness=self.harness,
                       checkpoints=self.checkpoints, allowed=self.allowed, conversation=self.history)
        try:
            outcome = drive(run, self.screen, activity, self.ask)
        except KeyboardInterrupt:
            run.close()
            outcome = record_interruption(self.history, self.transcript, "Interrupted by the user (Ctrl-C).")
            self.screen.outcome(outcome)
        self.status = replace(activity.status, mode=self.settings.permission_mode)
        self.usage += activity.usage
        self.model_s += activity.model_s
        return outcome

    # ---- sessions ----

    def new_session(self) -> None:
        self.transcript.close()
        specs = [t.spec for t in self.tools]
        self.transcript, self.history, _ = open_session(self.settings, self.ws, self.model, specs, self.harness)
        self.screen.results.clear()
        self.console.rule(f"new session {self.transcript.id}")

    def resume(self, session_id: str | None) -> None:
        if session_id is None:
            others = [p for p in self._sessions() if p.stem != self.transcript.id]
            if not others:
                self.say("There is no other session in this folder to resume.")
                return
            path = others[0]
        else:
            path = find(sessions_dir(self.settings), session_id)
        self.transcript.close()
        self.transcript, self.history, warnings = Transcript.resume(path)
        self.screen.results.clear()
        self.console.rule(f"resumed session {self.transcript.id}")
        self.replay()
        for warning in warnings:
            self.say(f"! {warning}")

    def replay(self) -> None:
        """Show a resumed session as it went: the user's requests, the agent's words and calls, the outcomes."""
        records, _ = read_records(self.transcript.path)
        expect_task = True
        for record in records:
            kind = record.get("type")
            if kind == "message" and record["message"]["role"] == "user" and expect_task:
                self.screen.user(record["message"]["content"])
                expect_task = False
            elif kind == "event":
                event = replayed_event(record)
                if event is not None:
                    self.screen.event(event)
            elif kind == "outcome":
                self.screen.event(TurnEnded(Outcome(record["status"], record.get("message", ""),
                                                    record.get("steps", 0), _usage(record.get("usage")),
                                                    record.get("wall_s", 0.0))))
                expect_task = True

    def _sessions(self) -> list[Path]:
        folder = sessions_dir(self.settings)
        paths = sorted(folder.glob("*.jsonl"), key=lambda p: p.stat().st_mtime, reverse=True)
        return [p for p in paths if _header(p).get("cwd") == str(self.ws.root)]

    def list_sessions(self) -> None:
        lines = []
        for path in self._sessions()[:20]:
            current = " (this one)" if path.stem == self.transcript.id else ""
            lines.append(f"  {path.stem}{current}  {clean(_first_task(path))[:50]}")
        self.say("Sessions here, newest first:\n" + "\n".join(lines) if lines else "No sessions in this folder yet.")

    # ---- commands ----

    def user_commands(self) -> dict[str, Any]:
        """The user's command files, over the MCP servers' prompts (/mcp__server__prompt)."""
        prompts = prompt_commands(self.extensions.servers) if self.extensions else {}
        return {**prompts, **user_commands([self.ws.root / ".luban" / "commands", self.commands_dir])}

    def set_mode(self, mode: str) -> None:
        self.settings = replace(self.settings, permission_mode=mode)
        self.status = replace(self.status, mode=mode)

    def describe_model(self) -> None:
        window = self.model.info.context_window
        where = self.settings.base_url or "embedded"
        self.say(f"Model: {self.model.info.name} at {where}; context window "
                 f"{f'{window} tokens' if window else 'not reported by the server'}; protocol "
                 f"{self.harness.protocol.name}.")

    def switch_model(self, name: str) -> None:
        if not self.settings.base_url:
            raise ConfigError("Switching models needs a model server (--base-url); the embedded model is fixed.")
        settings = replace(self.settings, model=name)
        self.model = self.models.enter_context(open_model(settings, lambda stage, fraction: None))
        self.settings = settings
        self.status = Status(self.model.info.name, self.model.info.context_window, settings.permission_mode)
        self.describe_model()

    def cost(self) -> None:
        u = self.usage
        self.say(f"This session: {u.requests} model requests, {u.prompt_tokens} prompt tokens "
                 f"({100 * u.cache_share:.0f}% from cache), {u.completion_tokens} completion tokens, "
                 f"{self.model_s:.0f} s of model time. Local models cost no money.")

    def init(self) -> None:
        from ..context.init import write_agents_md

        path = write_agents_md(self.ws.root)
        self.say(f"Wrote {path}. Review it and add what the repository's files could not say.")

    def compact(self) -> None:
        """Summarise the older half of the history now (the context engine's compact_now)."""
        specs = [t.spec for t in self.tools]
        window = Window.for_model(self.model, self.settings.max_reply_tokens, self.harness.protocol, specs, self.ws)
        self.screen.event(compact_now(window, self.history, lambda request: drain(self.model, request).message.content,
                                      self.transcript))

    def rewind(self, turns: int) -> None:
        """Files and conversation back to before the last `turns` turns that changed files."""
        rewound = rewind(self.transcript.path, Path(self.settings.data_dir), turns, self.transcript, self.tools)
        self.history = list(rewound.history)
        self.screen.results.clear()
        self.say(rewound.summary())


def _usage(data: Any) -> Usage:
    return Usage(**data) if isinstance(data, dict) else Usage()


def _header(path: Path) -> dict[str, Any]:
    with path.open("rb") as f:
        try:
            header = json.loads(f.readline())
        except (json.JSONDecodeError, UnicodeDecodeError):
            return {}
    return header if isinstance(header, dict) else {}


def _first_task(path: Path) -> str:
    for record in _lines(path):
        if record.get("type") == "message" and record["message"].get("role") == "user":
            return record["message"].get("content", "").splitlines()[0] if record["message"].get("content") else ""
    return ""


def _lines(path: Path) -> Iterator[dict[str, Any]]:
    with path.open("rb") as f:
        for line in f:
            with contextlib.suppress(json.JSONDecodeError, UnicodeDecodeError):
                yield json.loads(line)

