"""Headless mode: drive the loop to its end and render its events as text, json or stream-json.

stream-json follows Claude Code's shape (system/init, assistant, user tool_result, result) so existing
consumers can read it; docs/stream-json.md documents it.
"""

from __future__ import annotations

import contextlib
import json
import time
import uuid as uuid_module
from dataclasses import dataclass, field
from typing import Any, Callable, Generator, Iterator, TextIO

from .. import __version__
from ..agent import loop
from ..config import Settings, environment
from ..extend.extensions import Extensions, open_extensions
from ..harness import hooks
from ..harness import Harness, harness_for
from ..models import Model
from ..safety import policy
from ..session import Transcript
from ..tools import Tool
from ..types import (ApprovalNeeded, AssistantText, Compacted, Decision, Event, Message, ModelReplied, Notice, Outcome,
                     SubagentEvent, ToolFinished, ToolStarted, TurnEnded, Usage)
from ..workspace import Workspace
from .runtime import (open_checkpoints, open_model, open_session, open_workspace, profile_for, resolve_protocol,
                      session_tools)

EXIT_CODES = {"done": 0, "error": 1, "max_steps": 3, "max_time": 3, "max_tokens": 3, "stuck": 3, "interrupted": 1}
HEADLESS = "Headless runs deny what would need approval"
# Claude Code's result subtypes; `status` keeps Luban's own reason (stuck, max_time, interrupted, …).
_RESULT_SUBTYPES = {"done": "success", "max_steps": "error_max_turns"}
# The Claude Code release whose stream-json this matches, so the Agent SDK's version check passes; Luban's own
# version is `luban_version`.
CLAUDE_CODE_VERSION = "2.0.0"


Ask = Callable[[ApprovalNeeded], Decision]


def drive(run: Generator[Event, Decision | None, Outcome], render: Callable[[Event], None],
          ask: Ask | None = None) -> Outcome:
    """Run to the end. `ask` answers what would need approval (a program driving Luban); without it nobody is there
    to answer, so what would ask is denied, and the denial is shown."""
    event = next(run)
    while True:
        render(event)
        answer = None
        if isinstance(event, ApprovalNeeded):
            answer = ask(event) if ask else _denied(event, render)
        try:
            event = run.send(answer)
        except StopIteration as stop:
            return stop.value


def _denied(event: ApprovalNeeded, render: Callable[[Event], None]) -> Decision:
    render(Notice(f"Denied: {event.reason} {denial(event, example=True)}"))
    return Decision(False, denial(event))


def denial(asked: ApprovalNeeded, example: bool = False) -> str:
    """Why a headless run denied `asked`, and what would let such a call run in the mode and rules that asked:
    a looser mode, an allow rule (this call's own when `example` and it is short enough to read), or nothing."""
    ways = [f"--permission-mode {asked.looser_mode}"] if asked.looser_mode else []
    if asked.rule_would:
        pattern = policy.narrowest(asked.call)
        shown = f', such as "{pattern}"' if example and len(pattern) <= 60 and "\n" not in pattern else ""
        ways.append(f"an allow rule in the permissions config{shown}")
    if not ways:
        return f"{HEADLESS}, and this call needs a person's approval in every mode."
    return f"{HEADLESS}; allow it with {' or with '.join(ways)}."


def usage_json(usage: Usage) -> dict[str, Any]:
    return {"input_tokens": usage.prompt_tokens, "output_tokens": usage.completion_tokens,
            "cache_read_input_tokens": usage.cached_tokens, "cache_share": round(usage.cache_share, 4),
            "requests": usage.requests}


def result_json(outcome: Outcome, session_id: str, uuid: str | None = None) -> dict[str, Any]:
    record = {"type": "result", "subtype": _RESULT_SUBTYPES.get(outcome.status, "error_during_execution"),
              "is_error": outcome.status != "done", "status": outcome.status, "result": outcome.message,
              "duration_ms": round(outcome.wall_s * 1000), "duration_api_ms": round(outcome.model_s * 1000),
              "num_turns": outcome.steps, "session_id": session_id, "usage": usage_json(outcome.usage),
              "tool_calls": {"valid": outcome.calls.valid, "repaired": outcome.calls.repaired,
                             "rejected": outcome.calls.rejected},
              # Claude Code's field: a run with denials still ends "success" when the model finished.
              "permission_denials": [{"tool_name": d.call.name, "tool_use_id": d.call.id,
                                      "tool_input": dict(d.call.arguments)} for d in outcome.denials],
              "total_cost_usd": 0.0}  # a local model: no bill (the electricity is not counted)
    if uuid is not None:
        record["uuid"] = uuid
    return record


def _message_usage(usage: Usage) -> dict[str, int]:
    """Claude Code's per-message usage: the request that wrote the message."""
    return {"input_tokens": usage.prompt_tokens, "output_tokens": usage.completion_tokens,
            "cache_read_input_tokens": usage.cached_tokens, "cache_creation_input_tokens": 0}


@dataclass
class StreamJson:
    """stream-json as Claude Code writes it, fields the Claude Agent SDK's parser requires included: each
    assistant message names the model and the request that wrote it (message.id, its usage), every line a uuid."""

    out: TextIO
    session_id: str
    model: str = ""
    new_uuid: Callable[[], str] = lambda: str(uuid_module.uuid4())
    replies: int = 0  # model requests so far: the number in message.id
    usage: Usage = field(default_factory=Usage)  # of the latest request
    parent: str | None = None  # the task call whose subagent's event is being written

    def init(self, cwd: str, model: str, tools: list[str], mode: str) -> None:
        self.model = model
        self._emit({"type": "system", "subtype": "init", "cwd": cwd, "model": model, "tools": tools,
                    "permissionMode": mode, "claude_code_version": CLAUDE_CODE_VERSION, "luban_version": __version__,
                    "apiKeySource": "none", "mcp_servers": [], "slash_commands": [], "output_style": "default"})

    def __call__(self, event: Event) -> None:
        if isinstance(event, AssistantText):
            # Claude Code's thinking blocks carry the API's signature; a local model has none to give.
            content = [{"type": "thinking", "thinking": event.reasoning, "signature": ""}] if event.reasoning else []
            self._assistant(content + ([{"type": "text", "text": event.text}] if event.text else []))
        elif isinstance(event, ToolStarted):
            call = event.call
            self._assistant([{"type": "tool_use", "id": call.id, "name": call.name, "input": dict(call.arguments)}])
        elif isinstance(event, ToolFinished):
            self._emit({"type": "user", "message": {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": event.call.id, "content": event.result.content,
                 "is_error": event.result.error}]}, "parent_tool_use_id": None})
        elif isinstance(event, ModelReplied):
            self.replies, self.usage = self.replies + 1, event.usage
            self._emit({"type": "system", "subtype": "model_usage", "duration_ms": round(event.wall_s * 1000),
                        "usage": usage_json(event.usage)})
        elif isinstance(event, Notice):
            self._emit({"type": "system", "subtype": "notice", "text": event.text})
        elif isinstance(event, Compacted):
            self._emit({"type": "system", "subtype": "compact_boundary", "compact_metadata": {
                "trigger": "auto", "pre_tokens": event.before_tokens, "post_tokens": event.after_tokens,
                "pruned_outputs": event.pruned, "summarised_messages": event.summarised, "how": event.how}})
        elif isinstance(event, TurnEnded):
            self._emit(result_json(event.outcome, self.session_id, self.new_uuid()))
        elif isinstance(event, SubagentEvent):
            self._nested(event)

    def _nested(self, wrapped: SubagentEvent) -> None:
        """A subagent's event as Claude Code shows one: marked with the task call it runs under."""
        inner = wrapped.event
        if isinstance(inner, TurnEnded):
            o = inner.outcome
            self._emit({"type": "system", "subtype": "subagent_result", "parent_tool_use_id": wrapped.call_id,
                        "agent": wrapped.agent, "subagent_session_id": wrapped.session, "status": o.status,
                        "num_turns": o.steps, "usage": usage_json(o.usage)})
            return
        self.parent = wrapped.call_id
        try:
            self(inner)
        finally:
            self.parent = None

    def _assistant(self, content: list[dict[str, Any]]) -> None:
        self._emit({"type": "assistant", "message": {
            "id": f"msg_{self.session_id}_{self.replies}", "type": "message", "role": "assistant", "model": self.model,
            "content": content, "stop_reason": None, "stop_sequence": None, "usage": _message_usage(self.usage)},
            "parent_tool_use_id": None})

    def _emit(self, record: dict[str, Any]) -> None:
        if self.parent:
            record["parent_tool_use_id"] = self.parent
        record["session_id"] = self.session_id
        record.setdefault("uuid", self.new_uuid())
        self.out.write(json.dumps(record, ensure_ascii=False) + "\n")
        self.out.flush()


@dataclass
class FinalJson:
    """--output-format json: one object when the run ends."""

    out: TextIO
    session_id: str

    def __call__(self, event: Event) -> None:
        if isinstance(event, TurnEnded):
            self.out.write(json.dumps(result_json(event.outcome, self.session_id), ensure_ascii=False) + "\n")


@dataclass
class PlainText:
    """--output-format text: activity on stderr, the final answer on stdout."""

    out: TextIO
    err: TextIO

    def __call__(self, event: Event) -> None:
        if isinstance(event, ToolStarted):
            args = ", ".join(f"{k}={_short(v)}" for k, v in event.call.arguments.items())
            self.err.write(f"● {event.call.name}({args})\n")
        elif isinstance(event, ToolFinished):
            lines = event.result.content.splitlines() or [""]
            mark = "✗" if event.result.error else "⎿"
            more = f"  (+{len(lines) - 1} lines)" if len(lines) > 1 else ""
            self.err.write(f"  {mark} {_short(lines[0], 100)}{more}\n")
        elif isinstance(event, AssistantText) and event.text:
            self.err.write(f"◆ {event.text.strip()}\n")
        elif isinstance(event, Notice):
            self.err.write(f"! {event.text}\n")
        elif isinstance(event, Compacted):
            self.err.write(f"! context {event.how}: {event.before_tokens} → {event.after_tokens} tokens "
                           f"({event.pruned} old outputs pruned, {event.summarised} messages summarised)\n")
        elif isinstance(event, TurnEnded):
            self._summary(event.outcome)
        elif isinstance(event, SubagentEvent) and isinstance(event.event, ToolStarted):
            args = ", ".join(f"{k}={_short(v, 40)}" for k, v in event.event.call.arguments.items())
            self.err.write(f"  ↳ {event.agent}: {event.event.call.name}({args})\n")
        self.err.flush()

    def _summary(self, o: Outcome) -> None:
        if o.status == "done":
            self.out.write(o.message.strip() + "\n")
        u = o.usage
        share = f"{100 * u.cache_share:.0f}%" if u.prompt_tokens else "n/a"
        c = o.calls
        denied = f", {len(o.denials)} denied" if o.denials else ""
        self.err.write(f"── {o.status}: {o.steps} steps, {o.wall_s:.0f} s (model {o.model_s:.0f} s); prompt "
                       f"tokens {u.prompt_tokens} ({share} from cache), completion tokens {u.completion_tokens}; "
                       f"tool calls {c.calls} ({c.repaired} repaired, {c.rejected} rejected{denied})\n")
        for denial in o.denials:  # the run may still be done, but not everything the model asked for ran
            self.err.write(f"denied {_short(policy.narrowest(denial.call), 80)}: {denial.reason}\n")
        if o.status != "done":
            self.err.write(f"{o.message}\n")


def _short(value: Any, width: int = 60) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    text = text.replace("\n", "⏎")
    return text if len(text) <= width else text[: width - 1] + "…"


def progress_printer(err: TextIO) -> Callable[[str, float], None]:
    """Show model assembly and loading progress: never a silent terminal while the CPU works."""
    last = {"stage": "", "at": 0.0}
    tty = err.isatty()

    def show(stage: str, fraction: float) -> None:
        now = time.monotonic()
        key = stage.split(" (")[0]
        if not tty and key == last["stage"] and now - last["at"] < 5 and fraction < 1.0:
            return
        pct = f" {100 * fraction:5.1f}%" if fraction >= 0 else ""
        err.write(("\r\033[K" if tty else "") + f"… {stage}{pct}" + ("" if tty else "\n"))
        err.flush()
        last.update(stage=key, at=now)

    return show


@dataclass
class Run:
    """What a headless session's turns run on: opened once, for one turn (-p) or many (the SDK's stream-json, ACP)."""

    settings: Settings
    ws: Workspace
    model: Model
    harness: Harness
    transcript: Transcript
    history: list[Message]
    extensions: Extensions

    @property
    def tools(self) -> tuple[Tool, ...]:
        """What the model is offered in the mode now in force (a driver may change it between turns)."""
        return session_tools(self.settings, self.extensions)

    def turn(self, task: str, allowed: list[str] | None = None) -> Generator[Event, Decision | None, Outcome]:
        """One turn on the session's history, which it extends in place; the fault-locating tool ranks the names
        the task mentions."""
        return loop.run(task, model=self.model, tools=session_tools(self.settings, self.extensions, task),
                        ws=self.ws, settings=self.settings, history=self.history, transcript=self.transcript, harness=self.harness,
                        checkpoints=open_checkpoints(self.ws, self.settings), allowed=allowed,
                        conversation=self.history)


@contextlib.contextmanager
def opened(settings: Settings, err: TextIO, *, resume: str | None = None, continue_last: bool = False
           ) -> Iterator[Run]:
    """Open workspace, extensions, model and session (warnings on `err`); all closed afterwards."""
    ws, notes = open_workspace(settings)  # before the model loads: a missing sandbox fails fast
    extensions = open_extensions(settings)
    extensions.servers.begin()  # MCP servers start while the model loads
    with contextlib.closing(extensions), open_model(settings, progress_printer(err)) as model:
        if err.isatty():
            err.write("\r\033[K")
        run = open_run(settings, ws, notes, model, extensions, err, resume=resume, continue_last=continue_last)
        try:
            yield run
        finally:
            run.transcript.close()


def open_run(settings: Settings, ws: Workspace, notes: list[str], model: Model, extensions: Extensions,
             err: TextIO, *, resume: str | None = None, continue_last: bool = False) -> Run:
    """A new or resumed session on an open workspace, model and extensions; its warnings (the workspace's `notes`
    and the extensions' among them) on `err`."""
    tools = session_tools(settings, extensions)
    settings = resolve_protocol(settings, model)
    harness = harness_for(settings, profile_for(model, settings), environment())
    transcript, history, warnings = open_session(settings, ws, model, [t.spec for t in tools], harness,
                                                 resume=resume, continue_last=continue_last)
    for warning in [*notes, *extensions.warnings, *warnings, *hooks.session_start(harness.hooks, ws)]:
        err.write(f"! {warning}\n")
    return Run(settings, ws, model, harness, transcript, list(history), extensions)


def run_task(settings: Settings, task: str, out: TextIO, err: TextIO, *, resume: str | None = None,
             continue_last: bool = False) -> Outcome:
    """Open model, workspace and session, run the task headless, render it; returns the outcome."""
    with opened(settings, err, resume=resume, continue_last=continue_last) as run:
        render = _renderer(run.settings, run.transcript.id, out, err)
        if isinstance(render, StreamJson):
            render.init(str(run.ws.root), run.model.info.name, [t.spec.name for t in run.tools],
                        run.settings.permission_mode)
        return drive(run.turn(task), render)


def _renderer(settings: Settings, session_id: str, out: TextIO, err: TextIO) -> Callable[[Event], None]:
    if settings.output_format == "stream-json":
        return StreamJson(out, session_id)
    if settings.output_format == "json":
        return FinalJson(out, session_id)
    return PlainText(out, err)
