"""How the interactive terminal shows the loop's events: one compact line per tool call with its result
folded, edits as diffs, a shell command's output as its tail, reasoning dimmed, answers as markdown.
Everything a tool or model produced is stripped of escape sequences before it reaches the terminal."""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from rich.console import Console, Group, RenderableType
from rich.markdown import Markdown
from rich.text import Text

from ..types import (ApprovalNeeded, AssistantText, Compacted, Event, ModelReplied, Notice, Outcome, SubagentEvent,
                     ToolCall, ToolFinished, ToolStarted, TurnEnded, Usage)

# CSI and OSC sequences, other escapes, and C0/C1 control characters other than newline and tab: tool output
# and model text may carry them, and a terminal would act on them (move the cursor, set the title, ...).
_ESCAPES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]?|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[PX^_][^\x1b]*(?:\x1b\\)?"
                      r"|\x1b.?|[\x00-\x08\x0b-\x1f\x7f-\x9f]")
RESULT_LINES = 1  # lines of a folded result
TAIL_LINES = 4  # lines of a shell command's output
DIFF_LINES = 24  # lines of an edit's diff
REASONING_LINES = 6
_PRIMARY = ("command", "path", "pattern", "url")
_STYLE = {"+": "green", "-": "red", "@": "cyan"}


def clean(text: str) -> str:
    """`text` safe to print: escape sequences and control characters gone, a carriage return keeps what a
    terminal would have shown last on that line (progress bars)."""
    lines = [line.rstrip("\r").split("\r")[-1] for line in text.replace("\r\n", "\n").split("\n")]
    return _ESCAPES.sub("", "\n".join(lines))


def call_line(call: ToolCall, width: int) -> Text:
    """`● name(main argument)` on one line."""
    line = Text("● ", style="bold")
    line.append(call.name, style="bold")
    line.append(f"({clean(_arguments(call.arguments))})")
    return one_line(line, width)


def one_line(text: Text, width: int) -> Text:
    """`text` cut with an ellipsis to fit one line of `width` columns."""
    text.expand_tabs()
    text.truncate(width, overflow="ellipsis")
    return text


def _arguments(args: Mapping[str, Any]) -> str:
    primary = next((k for k in _PRIMARY if isinstance(args.get(k), str)), None)
    if primary:
        return args[primary].replace("\n", "⏎ ")
    return ", ".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in args.items())


def diff_lines(lines: list[str], limit: int = DIFF_LINES, more: str = "") -> Text:
    """Unified-diff lines coloured by their first character, cut to `limit` lines."""
    text = Text()
    for line in lines[:limit]:
        text.append("    " + clean(line) + "\n", style=_STYLE.get(line[:1], ""))
    if len(lines) > limit:
        text.append(f"    … +{len(lines) - limit} lines{more}\n", style="dim")
    text.rstrip()
    return text


def proposed_change(call: ToolCall, root: Path) -> list[str]:
    """The diff an edit_file or write_file call would make, for the approval prompt ([] for other tools)."""
    args = call.arguments
    path = args.get("path")
    if call.name == "edit_file":
        old, new = str(args.get("old_string", "")), str(args.get("new_string", ""))
    elif call.name == "write_file" and isinstance(path, str):
        target = root / path
        old = target.read_text(errors="replace") if target.is_file() else ""
        new = str(args.get("content", ""))
    else:
        return []
    diff = difflib.unified_diff(old.splitlines(), new.splitlines(), str(path), str(path), n=2, lineterm="")
    return [line for line in diff if not line.startswith(("---", "+++"))]


@dataclass
class Screen:
    """Prints events to a Console and keeps the full results that it folds, for /show."""

    console: Console
    root: Path = Path(".")
    results: list[ToolFinished] = field(default_factory=list)

    def event(self, event: Event) -> None:
        if isinstance(event, AssistantText):
            self.assistant(event)
        elif isinstance(event, ToolStarted):
            self.console.print(call_line(event.call, self.console.width))
        elif isinstance(event, ToolFinished):
            self.results.append(event)
            self.console.print(self.folded(event, len(self.results)))
        elif isinstance(event, ApprovalNeeded):
            self.approval(event)
        elif isinstance(event, Notice):
            self.console.print(Text(f"! {clean(event.text)}", style="yellow"))
        elif isinstance(event, Compacted):
            self.console.print(Text(f"! context {event.how}: {event.before_tokens} → {event.after_tokens} tokens "
                                    f"({event.pruned} old outputs pruned, {event.summarised} messages summarised)",
                                    style="yellow"))
        elif isinstance(event, TurnEnded):
            self.outcome(event.outcome)
        elif isinstance(event, SubagentEvent) and isinstance(event.event, ToolStarted):
            line = call_line(event.event.call, self.console.width - 4 - len(event.agent))
            self.console.print(Text.assemble(Text(f"  ↳ {event.agent} ", style="dim"), line))

    def user(self, text: str) -> None:
        self.console.print(Text("> " + clean(text), style="bold"))

    def assistant(self, event: AssistantText) -> None:
        if event.reasoning and event.reasoning.strip():
            lines = clean(event.reasoning).strip().splitlines()
            shown = "\n".join(lines[:REASONING_LINES])
            more = f"\n… +{len(lines) - REASONING_LINES} lines" if len(lines) > REASONING_LINES else ""
            self.console.print(Text(shown + more, style="dim italic"))
        if event.text.strip():
            self.console.print(Markdown(clean(event.text).strip()))

    def folded(self, event: ToolFinished, number: int) -> RenderableType:
        content = clean(event.result.content).rstrip("\n")
        lines = content.splitlines() or [""]
        show = f", /show {number}"
        width = self.console.width
        head = Text(f"  ✗ {lines[0]}", style="red") if event.result.error else Text(f"  ⎿ {lines[0]}")
        rest = lines[1:]
        if not rest:
            return one_line(head, width)
        if event.call.name == "edit_file" and not event.result.error:
            return Group(one_line(head, width), diff_lines(rest, more=f" ({show[2:]})"))
        if event.call.name == "todo" and not event.result.error:  # the task list: short, and the point is all of it
            return Group(one_line(head, width), *(one_line(Text("    " + line), width) for line in rest))
        if event.call.name == "bash":
            tail = [one_line(Text("    " + line, style="dim"), width) for line in rest[-TAIL_LINES:]]
            hidden = len(rest) - TAIL_LINES
            above = [Text(f"    … +{hidden} lines above{show}", style="dim")] if hidden > 0 else []
            return Group(one_line(head, width), *above, *tail)
        more = Text(f"  (+{len(rest)} lines{show})", style="dim")
        return Text.assemble(one_line(head, width - len(more)), more)

    def approval(self, event: ApprovalNeeded) -> None:
        self.console.print(Text(f"? {event.call.name} needs your approval: {clean(event.reason)}", style="bold yellow"))
        if event.call.name == "bash":
            command = str(event.call.arguments.get("command", ""))
            self.console.print(Text("\n".join("    $ " + line for line in clean(command).splitlines())))
        change = proposed_change(event.call, self.root)
        if change:
            self.console.print(diff_lines(change, limit=60))

    def outcome(self, o: Outcome) -> None:
        if o.status == "interrupted":
            self.console.print(Text("⏹ Interrupted. The session goes on: say what to do next.", style="yellow"))
            return
        summary = f"── {o.status} · {o.steps} steps · {o.wall_s:.0f} s · {tokens(o.usage.prompt_tokens)} prompt tokens"
        self.console.print(Text(summary, style="dim"))
        if o.status != "done" and o.message:
            self.console.print(Text(clean(o.message), style="red"))

    def show(self, number: int | None) -> None:
        """A folded result in full (the latest without a number)."""
        if not self.results:
            self.console.print("No tool results yet.")
            return
        index = len(self.results) if number is None else number
        if not 1 <= index <= len(self.results):
            self.console.print(f"There is no result {index}; results go from 1 to {len(self.results)}.")
            return
        event = self.results[index - 1]
        self.console.print(call_line(event.call, self.console.width))
        self.console.print(Text(clean(event.result.content)))


def tokens(n: int) -> str:
    return f"{n / 1000:.1f}k" if n >= 1000 else str(n)


@dataclass(frozen=True)
class Status:
    """The status line: model, context used of its real window, cache share of the last prompt, speed."""

    model: str
    window: int | None
    mode: str
    last: Usage = Usage()
    wall_s: float = 0.0

    def after(self, replied: ModelReplied) -> Status:
        return Status(self.model, self.window, self.mode, replied.usage, replied.wall_s)

    def text(self) -> str:
        u = self.last
        parts = [self.model]
        used = u.prompt_tokens + u.completion_tokens
        if self.window:
            parts.append(f"context {100 * used / self.window:.0f}% of {tokens(self.window)}")
        else:
            parts.append(f"context {tokens(used)} (window unknown)")
        if u.prompt_tokens:
            parts.append(f"cached {tokens(u.cached_tokens)}/{tokens(u.prompt_tokens)}")
        seconds = u.decode_ms / 1000 if u.decode_ms else self.wall_s
        if u.completion_tokens and seconds > 0:
            parts.append(f"{u.completion_tokens / seconds:.1f} tok/s")
        parts.append(f"mode {self.mode}")
        return " · ".join(parts)
