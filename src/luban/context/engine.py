"""The context engine's part in a run: tool outputs fitted to the window, the prompt's size tracked from the
server's own counts, and compaction when the history outgrows its share of the window."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Callable, Generator, Sequence

from ..errors import Cancelled, LubanError, TimeUp
from ..models import Model, drain
from ..models.protocol import ToolProtocol
from ..session import message_to_record
from ..types import Compacted, Event, Message, Notice, Request, ToolCall, ToolSpec, Usage
from ..workspace import Workspace
from .budget import Budget
from .compact import Compaction, compact, history_tokens, prune
from .output import Limits, fit
from .prompt import system_prompt
from .tokens import CHARS_PER_TOKEN, counter

if TYPE_CHECKING:
    from ..agent.state import RunState

# Never assume a big window: a server that does not say gets the size every local setup manages.
FALLBACK_WINDOW = 8_192
MAX_FAILED_COMPACTIONS = 2
Render = Callable[[str], Message]


@dataclass
class Window:
    """Per-run context bookkeeping."""

    budget: Budget
    count: Callable[[str], int]
    fixed: int = 0  # prompt tokens outside the messages (native tool specs)
    # id(message) of each tool-result message in the history → its call, and how to render a stub for it.
    results: dict[int, tuple[ToolCall, Render]] = field(default_factory=dict)
    # (messages, prompt tokens) the server counted for the latest request: exact, so only later messages
    # need counting.
    anchor: tuple[int, int] | None = None
    failures: int = 0
    touched: dict[str, None] = field(default_factory=dict)  # paths the run's calls named, oldest first

    @property
    def in_play(self) -> list[str]:
        """Files the run has worked on, newest first: the repo map is personalised to them."""
        return list(reversed(self.touched))

    @classmethod
    def for_model(cls, model: Model, reply_tokens: int, protocol: ToolProtocol, specs: Sequence[ToolSpec]) -> Window:
        count = counter(model)
        # Natively offered tools are rendered into the prompt by the server's chat template.
        fixed = count(json.dumps([asdict(t) for t in specs])) if protocol.name == "native" and specs else 0
        return cls(Budget(model.info.context_window or FALLBACK_WINDOW, reply_tokens), count, fixed)

    def system(self, ws: Workspace, protocol: ToolProtocol, specs: Sequence[ToolSpec],
               in_play: Sequence[str] = ()) -> Message:
        """The frozen prefix: the system prompt fitted to what the prefix budget leaves after tool specs."""
        return system_prompt(ws, protocol.system_text(specs), max(self.budget.prefix - self.fixed, 0), in_play)

    def prompt_tokens(self, messages: list[Message]) -> int:
        if self.anchor and self.anchor[0] <= len(messages):
            n, tokens = self.anchor
            return tokens + history_tokens(messages[n:], self.count)
        return self.fixed + history_tokens(messages, self.count)

    def observed(self, messages: int, usage: Usage) -> None:
        if usage.prompt_tokens > 0:
            self.anchor = (messages, usage.prompt_tokens)

    def fit(self, call: ToolCall, view: str, ws: Workspace) -> str:
        """A tool result cut to the window's budget for one output; the whole of it saved to read by range."""
        chars = int(self.budget.tool_output * CHARS_PER_TOKEN)
        return fit(view, Limits(chars, max(chars // 40, 40)), lambda full: ws.relative(ws.save_output(call.name, full)))

    def add_result(self, st: RunState, call: ToolCall, view: str) -> None:
        message = st.protocol.result(call, self.fit(call, view, st.ws))
        self.results[id(message)] = (call, lambda text: st.protocol.result(call, text))
        path = call.arguments.get("path")
        if isinstance(path, str) and path:
            self.touched.pop(path, None)
            self.touched[path] = None
        st.add(message)


def session_prefix(ws: Workspace, model: Model, reply_tokens: int, protocol: ToolProtocol,
                   specs: Sequence[ToolSpec]) -> Message:
    """The system prompt a new session starts with."""
    return Window.for_model(model, reply_tokens, protocol, specs).system(ws, protocol, specs)


def maintain(st: RunState) -> Generator[Event, None, None]:
    """Compact the history if the next request would pass the budget's threshold; the frozen prefix is
    rebuilt only here, for the files then in play."""
    window = st.window
    specs = [t.spec for t in st.tools.values()]

    def system(files: list[str]) -> Message:
        return window.system(st.ws, st.protocol, specs, files)

    before = window.prompt_tokens(st.messages)
    if before <= window.budget.compact_at:
        return
    result, how = None, "compacted"
    if window.failures < MAX_FAILED_COMPACTIONS:
        try:
            result = compact(st.messages, system(window.in_play), window.budget, window.count, window.results,
                             lambda request: _summarise(st, request))
        except (TimeUp, Cancelled):
            raise  # the run is over, not the compaction: the history stays as it was
        except (LubanError, ValueError) as exc:
            window.failures += 1
            yield st.record(Notice(f"Compaction failed ({exc}); the history is unchanged."))
    if result is None and before > window.budget.prompt:  # it cannot be sent as it is: drop old outputs only
        result, how = _pruned_only(st, system), "pruned"
    if result:
        yield from _adopt(st, result, before, how)


def refit(st: RunState, refusal: str) -> Generator[Event, None, None]:
    """The server refused the prompt as longer than its window, whatever our count said: believe it. The window
    is taken to end just below the refused prompt, and the history is compacted under that."""
    window = st.window
    refused = window.prompt_tokens(st.messages)
    window.budget = Budget(min(window.budget.window, refused + window.budget.reply - 1), window.budget.reply)
    yield st.record(Notice(f"{refusal[:-1]}; compacting the history to send it once more."))
    yield from maintain(st)


def _pruned_only(st: RunState, system: Callable[[list[str]], Message]) -> Compaction:
    pruned, n = prune(st.messages, st.window.results)
    return Compaction(tuple([system(st.window.in_play)] + pruned[1:]), n, 0)


def _adopt(st: RunState, result: Compaction, before: int, how: str) -> Generator[Event, None, None]:
    st.messages[:] = result.messages
    # Only results still in the history: a dropped message's id may be reused by a new object.
    st.window.results = {id(m): st.window.results[id(m)] for m in st.messages if id(m) in st.window.results}
    st.window.anchor = None
    after = st.window.prompt_tokens(st.messages)
    if st.transcript:
        st.transcript.append({"type": "compaction", "messages": [message_to_record(m) for m in result.messages]})
    yield st.record(Compacted(before, after, result.pruned, result.summarised, how))


def _summarise(st: RunState, request: Request) -> str:
    completion = drain(st.model, replace(request, deadline=st.deadline),
                       lambda restart: st.record(Notice(restart.text)))
    st.usage += completion.usage
    st.model_s += completion.wall_s
    return completion.message.content
