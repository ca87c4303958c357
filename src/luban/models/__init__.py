"""The Model protocol: one streaming `complete()` per backend (HTTP server, embedded, scripted)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterator, Protocol, runtime_checkable

from ..types import Completion, ReplyRestarted, Request, StreamItem


@dataclass(frozen=True)
class ModelInfo:
    """What the server says about the model it serves (never guessed when the server tells)."""

    name: str
    context_window: int | None = None


class Model(Protocol):
    info: ModelInfo

    def complete(self, request: Request) -> Iterator[StreamItem]:
        """Stream deltas (and, from llama.cpp, prompt progress), then exactly one Completion as the last item.
        A ReplyRestarted voids what was streamed before it: the request was sent again."""
        ...

    def close(self) -> None: ...


@runtime_checkable
class KeepsHead(Protocol):
    """A model whose server can start a session from the saved KV state of the system prompt's head."""

    def keep_head(self, request: Request) -> None:
        """`request`: the head alone, as the system message of a request shaped like the session's."""
        ...


def drain(model: Model, request: Request, restarted: Callable[[ReplyRestarted], object] | None = None
          ) -> Completion:
    """Run a request to its end and return the Completion that closes the stream; `restarted` hears of each
    time the reply broke off and the request was sent again."""
    completion = None
    for item in model.complete(request):
        if isinstance(item, Completion):
            completion = item
        elif isinstance(item, ReplyRestarted) and restarted is not None:
            restarted(item)
    assert completion is not None, "a Model must end its stream with a Completion"
    return completion
