"""A model that replays a script of replies: the seam for loop tests and offline demos."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterator, Sequence

from ..types import Completion, Message, ReasoningDelta, Request, TextDelta, Usage
from . import ModelInfo

# A scripted reply is an assistant message, a whole Completion (to script finish reasons and usage),
# an exception to raise, or a function of the request.
Reply = Message | Completion | Exception | Callable[[Request], Message]


@dataclass
class ScriptedModel:
    replies: list[Reply]
    info: ModelInfo = field(default_factory=lambda: ModelInfo("scripted", 8192))
    requests: list[Request] = field(default_factory=list)

    def complete(self, request: Request) -> Iterator[TextDelta | ReasoningDelta | Completion]:
        self.requests.append(request)
        if not self.replies:
            raise AssertionError("the scripted model ran out of replies")
        reply = self.replies.pop(0)
        if isinstance(reply, Exception):
            raise reply
        if isinstance(reply, Completion):
            yield reply
            return
        message = reply(request) if callable(reply) else reply
        if message.reasoning:
            yield ReasoningDelta(message.reasoning)
        if message.content:
            yield TextDelta(message.content)
        yield Completion(message, "tool_calls" if message.tool_calls else "stop", _usage(request, message))

    def close(self) -> None:
        pass


def _usage(request: Request, message: Message) -> Usage:
    # A rough chars/4 count: enough for budget and limit tests, not a tokenizer.
    prompt = sum(len(m.content) for m in request.messages) // 4
    return Usage(prompt_tokens=prompt, completion_tokens=len(message.content) // 4, requests=1)


def script(*replies: Reply) -> ScriptedModel:
    return ScriptedModel(list(replies))


def assistant(content: str = "", calls: Sequence = ()) -> Message:
    return Message("assistant", content, tuple(calls))


@dataclass(frozen=True)
class ScriptedSource:
    """Opens a fresh ScriptedModel with the same replies each time: a picklable model source for eval runs
    in tests (a Ray worker unpickles it and opens its own)."""

    replies: tuple[Reply, ...]  # plain messages pickle; a function reply works in-process only
    name: str = "scripted"

    def open(self) -> ScriptedModel:
        return ScriptedModel(list(self.replies), ModelInfo(self.name, 8192))
