"""One turn in the interactive terminal: drive the loop's generator, keep a live line saying what is going on
(waiting for the first token, writing, running a tool) with its elapsed time, and ask for approvals inline.

The live line is fed by a tap on the model's stream, so the loop itself needs no streaming events.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Generator, Iterator

from rich.console import Console, ConsoleOptions, Group, RenderResult
from rich.live import Live
from rich.text import Text

from ..models import Model, ModelInfo
from ..types import (ApprovalNeeded, Completion, Decision, Event, ModelReplied, Outcome, PromptProgress, ReasoningDelta,
                     ReplyRestarted, Request, StreamItem, SubagentEvent, TextDelta, ToolFinished, ToolStarted,
                     Usage)
from .tui_render import Screen, Status, clean, one_line

_FRAMES = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
PREVIEW_LINES = 6


@dataclass
class Activity:
    """What the agent is doing right now, re-rendered by rich's refresh thread so the time keeps moving."""

    status: Status
    preview: bool = True  # show the streamed text (only where the protocol streams prose)
    label: str = "starting"
    started: float = field(default_factory=time.monotonic)
    deltas: int = 0
    text: str = ""
    clock: Callable[[], float] = time.monotonic
    usage: Usage = field(default_factory=Usage)  # of this turn's requests
    model_s: float = 0.0
    prefill: PromptProgress | None = None  # the server's last prompt-progress report, where it sends them

    def begin(self, label: str) -> None:
        self.label, self.started, self.deltas, self.text, self.prefill = label, self.clock(), 0, "", None

    def streamed(self, item: StreamItem) -> None:
        if isinstance(item, Completion):
            self.begin("working")
            return
        if isinstance(item, ReplyRestarted):  # sent again: the text shown so far is void
            self.begin("waiting for the model")
            return
        if isinstance(item, PromptProgress):
            self.prefill = item
            return
        if not self.deltas:
            self.label = "thinking" if isinstance(item, ReasoningDelta) else "writing"
        self.deltas += 1  # a server sends about one token per delta
        if isinstance(item, TextDelta):
            self.text += item.text

    def line(self) -> str:
        elapsed = self.clock() - self.started
        frame = _FRAMES[int(elapsed * 8) % len(_FRAMES)]
        line = f"{frame} {self.label} · {elapsed:.0f} s"
        if self.label == "waiting for the model" and self.prefill and self.prefill.total:
            p = self.prefill
            line += f" · reading the prompt {100 * p.processed // p.total}% ({p.processed} of {p.total} tokens)"
        elif self.label == "waiting for the model":
            line += " (prefilling the prompt; long prompts take a while on CPU)" if elapsed >= 3 else ""
        elif self.deltas:
            line += f" · {self.deltas} tokens"
        return line + " · Ctrl-C interrupts"

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        parts = []
        if self.preview and self.text.strip():
            lines = clean(self.text).strip().splitlines()[-PREVIEW_LINES:]
            parts += [one_line(Text(line, style="dim"), options.max_width) for line in lines]
        parts.append(one_line(Text(self.line(), style="cyan"), options.max_width))
        parts.append(one_line(Text(self.status.text(), style="dim"), options.max_width))
        yield Group(*parts)


class Tap:
    """A Model that passes everything through and shows the stream as it comes."""

    def __init__(self, model: Model, activity: Activity) -> None:
        self.model, self.activity = model, activity

    @property
    def info(self) -> ModelInfo:
        return self.model.info

    def complete(self, request: Request) -> Iterator[StreamItem]:
        self.activity.begin("waiting for the model")
        for item in self.model.complete(request):
            self.activity.streamed(item)
            yield item

    def count_tokens(self, text: str) -> int | None:
        count = getattr(self.model, "count_tokens", None)
        return count(text) if count else None

    def close(self) -> None:
        self.model.close()


Ask = Callable[[ApprovalNeeded], Decision]


def drive(run: Generator[Event, Decision | None, Outcome], screen: Screen, activity: Activity, ask: Ask,
          live: Callable[[], Live] | None = None) -> Outcome:
    """Run one turn to its end. A KeyboardInterrupt (Ctrl-C) propagates: the caller records it."""
    # A fresh Live after each question: a restarted one would first erase as many lines as it last had.
    live = live or (lambda: Live(activity, console=screen.console, transient=True, refresh_per_second=8))
    shown = live()
    try:
        shown.start()
        event = next(run)
        while True:
            reply = None
            if isinstance(event, ApprovalNeeded):
                shown.stop()
                screen.event(event)
                reply = ask(event)
                shown = live()
                shown.start()
            else:
                screen.event(event)
            _follow(activity, event)
            try:
                event = run.send(reply)
            except StopIteration as stop:
                return stop.value
    finally:
        shown.stop()


def _follow(activity: Activity, event: Event) -> None:
    if isinstance(event, SubagentEvent):  # a subagent's work is this turn's too: its time, tokens, tools
        event = event.event
    if isinstance(event, ModelReplied):
        activity.status = activity.status.after(event)
        activity.usage += event.usage
        activity.model_s += event.wall_s
    elif isinstance(event, ToolStarted):
        activity.begin(f"running {event.call.name}")
    elif isinstance(event, ToolFinished):
        activity.begin("working")
