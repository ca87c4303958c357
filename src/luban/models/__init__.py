"""The Model protocol: one streaming `complete()` per backend (HTTP server, embedded, scripted)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Protocol

from ..types import Completion, PromptProgress, ReasoningDelta, Request, TextDelta


@dataclass(frozen=True)
class ModelInfo:
    """What the server says about the model it serves (never guessed when the server tells)."""

    name: str
    context_window: int | None = None


class Model(Protocol):
    info: ModelInfo

    def complete(self, request: Request) -> Iterator[TextDelta | ReasoningDelta | PromptProgress | Completion]:
        """Stream deltas (and, from llama.cpp, prompt progress), then exactly one Completion as the last item."""
        ...

    def close(self) -> None: ...


def drain(model: Model, request: Request) -> Completion:
    """Run a request to its end and return the Completion that closes the stream."""
    completion = None
    for item in model.complete(request):
        if isinstance(item, Completion):
            completion = item
    assert completion is not None, "a Model must end its stream with a Completion"
    return completion
