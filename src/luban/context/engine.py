"""The context engine's part in a run: tool outputs fitted to the window, the prompt's size tracked from the
server's own counts, and compaction when the history outgrows its share of the window."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from typing import Callable, Iterator, Sequence

from ..errors import Cancelled, LubanError, TimeUp
from ..models import KeepsHead, Model
from ..models.protocol import ToolProtocol
from ..session import Transcript
from ..types import Compacted, Event, Message, Notice, ToolCall, ToolSpec, Usage
from ..workspace import Workspace
from .aging import SHORT_CHARS, age
from .budget import Budget
from .compact import Compaction, Summarise, compact, history_tokens, prune
from .outline import outlined
from .output import Limits, fit
from .prompt import frozen_head, system_prompt
from .tokens import CHARS_PER_TOKEN, counter

# Never assume a big window: a server that does not say gets the size every local setup manages.
FALLBACK_WINDOW = 8_192
SHOWN_EARLIER = "[{name} gave exactly the result it gave the same call earlier, which is still shown above.]"
MAX_FAILED_COMPACTIONS = 2
Render = Callable[[str], Message]


@dataclass
class Window:
    """Per-run context bookkeeping: the budget of the model's window, and what builds the frozen prefix."""

    budget: Budget
    count: Callable[[str], int]
    ws: Workspace
    protocol: ToolProtocol
    specs: tuple[ToolSpec, ...]
    fixed: int = 0  # prompt tokens outside the messages (native tool specs)
    # id(message) of each tool-result message in the history → its call, and how to render a stub for it.
    results: dict[int, tuple[ToolCall, Render]] = field(default_factory=dict)
    # (messages, prompt tokens) the server counted for the latest request: exact, so only later messages
    # need counting.
    anchor: tuple[int, int] | None = None
    failures: int = 0
    touched: dict[str, None] = field(default_factory=dict)  # paths the run's calls named, oldest first
    # id(message) → its text, for the long tool outputs in the history not shortened yet (aging.py); None: they
    # are never shortened.
    whole: dict[int, str] | None = None
    # (tool, arguments, result) → the message that showed that long result, while it may be pointed back to; None:
    # a repeated result is shown again in full.
    earlier: dict[tuple[str, str, str], Message] | None = None

    @property
    def in_play(self) -> list[str]:
        """Files the run has worked on, newest first: the repo map is personalised to them."""
        return list(reversed(self.touched))

    @classmethod
    def for_model(cls, model: Model, reply_tokens: int, protocol: ToolProtocol, specs: Sequence[ToolSpec],
                  ws: Workspace) -> Window:
        count = counter(model)
        # Natively offered tools are rendered into the prompt by the server's chat template.
        fixed = count(json.dumps([asdict(t) for t in specs])) if protocol.name == "native" and specs else 0
        return cls(Budget(model.info.context_window or FALLBACK_WINDOW, reply_tokens), count, ws, protocol,
                   tuple(specs), fixed)

    def system(self, in_play: Sequence[str] = ()) -> Message:
        """The frozen prefix: the system prompt fitted to what the prefix budget leaves after tool specs."""
        return system_prompt(self.ws, self.protocol.system_text(self.specs), max(self.budget.prefix - self.fixed, 0),
                             in_play)

    def prompt_tokens(self, messages: list[Message]) -> int:
        if self.anchor and self.anchor[0] <= len(messages):
            n, tokens = self.anchor
            return tokens + history_tokens(messages[n:], self.count)
        return self.fixed + history_tokens(messages, self.count)

    def observed(self, messages: int, usage: Usage) -> None:
        if usage.prompt_tokens > 0:
            self.anchor = (messages, usage.prompt_tokens)

    def fit(self, call: ToolCall, view: str) -> str:
        """A tool result cut to the window's budget for one output; the whole of it saved to read by range."""
        chars = int(self.budget.tool_output * CHARS_PER_TOKEN)
        ws, limits = self.ws, Limits(chars, max(chars // 40, 40))
        if call.name == "read_file" and (shown := outlined(call.arguments, view, limits)):
            return shown
        return fit(view, limits, lambda full: ws.relative(ws.save_output(call.name, full)))

    def result(self, call: ToolCall, view: str, paths: Sequence[str] = ()) -> Message:
        """The message that carries a tool's result to the model, fitted, and remembered so that compaction can
        prune it; `paths`: the files the call touched (the repo map follows them)."""
        protocol = self.protocol
        text = self.fit(call, view)
        key = (call.name, json.dumps(call.arguments, sort_keys=True, default=str), text)
        if self._still_shown(key):
            text = SHOWN_EARLIER.format(name=call.name)
        message = protocol.result(call, text)
        self.results[id(message)] = (call, lambda text: protocol.result(call, text))
        if self.whole is not None and len(text) > SHORT_CHARS:
            self.whole[id(message)] = text
            if self.earlier is not None:
                self.earlier[key] = message
        for path in paths:
            self.touched.pop(path, None)
            self.touched[path] = None
        return message

    def _still_shown(self, key: tuple[str, str, str]) -> bool:
        """Whether the same call gave the same long result earlier, and the history still shows that result
        whole. Why: the 1.5B read an unchanged 426-line module three times in bf-36's inflection-27320799, the
        repeats some steps apart, each about 3k prompt tokens and up to 99 s of prefill on 2 cores."""
        shown = self.earlier.get(key) if self.earlier is not None and self.whole is not None else None
        return shown is not None and id(shown) in self.whole  # held here, so its id is not reused


def session_prefix(ws: Workspace, model: Model, reply_tokens: int, protocol: ToolProtocol,
                   specs: Sequence[ToolSpec], warm: bool = False) -> Message:
    """The system prompt a new session starts with. `warm`: the session owns the model's server for now (not a
    subagent's, which shares it with its parent), so the server may start from the saved head (head_cache.py)."""
    window = Window.for_model(model, reply_tokens, protocol, specs, ws)
    if warm and isinstance(model, KeepsHead):
        head = Message("system", frozen_head(protocol.system_text(specs)))
        model.keep_head(protocol.request([head], specs, 0.0, 1))
    return window.system()


def maintain(window: Window, messages: list[Message], summarise: Summarise, transcript: Transcript | None
             ) -> Iterator[Event]:
    """Compact `messages` (in place) if the next request would pass the budget's threshold; the frozen prefix is
    rebuilt only here, for the files then in play. `summarise` asks the model (compact.py)."""
    before = window.prompt_tokens(messages)
    if window.whole is not None:
        yield from _aged(window, messages, before, transcript)
        before = window.prompt_tokens(messages)
    if before <= window.budget.compact_at:
        return
    result, how = None, "compacted"
    if window.failures < MAX_FAILED_COMPACTIONS:
        try:
            result = compact(messages, window.system(window.in_play), window.budget, window.count, window.results,
                             summarise)
        except (TimeUp, Cancelled):
            raise  # the run is over, not the compaction: the history stays as it was
        except (LubanError, ValueError) as exc:
            window.failures += 1
            yield Notice(f"Compaction failed ({exc}); the history is unchanged.")
    if result is None and before > window.budget.prompt:  # it cannot be sent as it is: drop old outputs only
        pruned, n = prune(messages, window.results)
        result, how = Compaction(tuple([window.system(window.in_play)] + pruned[1:]), n, 0), "pruned"
    if result:
        yield _adopt(window, messages, result, before, how, transcript)


def _aged(window: Window, messages: list[Message], before: int, transcript: Transcript | None) -> Iterator[Event]:
    """Shorten the old tool outputs due in this batch (aging.py); the history as the model now sees it is recorded."""
    ws = window.ws
    n = age(messages, window.results, window.whole, lambda call, text: ws.relative(ws.save_output(call.name, text)))
    if n:
        window.anchor = None
        if transcript:
            transcript.append_compaction(messages)
        yield Compacted(before, window.prompt_tokens(messages), n, 0, "aged")


def refit(window: Window, messages: list[Message], refusal: str, summarise: Summarise,
          transcript: Transcript | None) -> Iterator[Event]:
    """The server refused the prompt as longer than its window, whatever our count said: believe it. The window
    is taken to end just below the refused prompt, and the history is compacted under that."""
    refused = window.prompt_tokens(messages)
    window.budget = Budget(min(window.budget.window, refused + window.budget.reply - 1), window.budget.reply)
    yield Notice(f"{refusal[:-1]}; compacting the history to send it once more.")
    yield from maintain(window, messages, summarise, transcript)


def compact_now(window: Window, messages: list[Message], summarise: Summarise, transcript: Transcript | None
                ) -> Compacted:
    """The user's /compact: summarise the older half of `messages` (in place) now, whatever the window holds
    (automatic compaction waits for it to fill). Raises whatever `summarise` raises; the history is then as it
    was."""
    before = history_tokens(messages, window.count)
    result = compact(messages, window.system(window.in_play), window.budget, window.count, window.results, summarise,
                     goal=before // 2)
    compacted = _adopt(window, messages, result, before, "compacted", transcript)
    return replace(compacted, after_tokens=history_tokens(messages, window.count))


def _adopt(window: Window, messages: list[Message], result: Compaction, before: int, how: str,
           transcript: Transcript | None) -> Compacted:
    messages[:] = result.messages
    # Only results still in the history: a dropped message's id may be reused by a new object.
    window.results = {id(m): window.results[id(m)] for m in messages if id(m) in window.results}
    if window.whole is not None:
        window.whole = {k: v for k, v in window.whole.items() if k in window.results}
    window.anchor = None
    after = window.prompt_tokens(messages)
    if transcript:
        transcript.append_compaction(result.messages)
    return Compacted(before, after, result.pruned, result.summarised, how)
