"""Tool outputs shrink as they age: once newer results have replaced them as what the model works from, an old
output is replaced in the history by its first lines and the path of a file holding all of it.

In fixed batches, never one message per step: llama.cpp reuses its KV cache by prompt prefix, so each rewrite of
an old message costs a prefill of everything after it. Rewriting a batch at once costs that once per BATCH
results instead of every step, and between batches the prefix stays byte-stable.
"""

from __future__ import annotations

from typing import Callable, Mapping, Sequence

from ..types import Message, ToolCall

KEEP_WHOLE = 4  # the newest tool outputs stay whole: the model is usually working from them
BATCH = 6  # this many outputs older than those are shortened together
SHORT_CHARS = 600  # an output this long or shorter is kept as it is
SHORTENED = "[... older output shortened; all of it is in {path} — read it with read_file (offset, limit) or grep ...]"

Render = Callable[[str], Message]


def due(positions: Sequence[int], whole: Mapping[int, str], messages: Sequence[Message]) -> list[int]:
    """The positions of the outputs to shorten now: none until BATCH long outputs older than the newest
    KEEP_WHOLE results are still whole, then all of them. `whole`: id(message) → text, for the long outputs not
    shortened yet."""
    older = positions[:-KEEP_WHOLE] if len(positions) > KEEP_WHOLE else []
    aging = [i for i in older if id(messages[i]) in whole]
    return aging if len(aging) >= BATCH else []


def shortened(text: str, path: str) -> str:
    """The first lines of `text` that fit in SHORT_CHARS, and where all of it is."""
    head = text[:SHORT_CHARS]
    cut = head.rfind("\n")
    head = head[:cut] if cut > 0 else head
    return f"{head}\n{SHORTENED.format(path=path)}"


def age(messages: list[Message], results: dict[int, tuple[ToolCall, Render]], whole: dict[int, str],
        save: Callable[[ToolCall, str], str]) -> int:
    """Shorten the outputs that are due, in place; `save` keeps an output whole and returns its path. Returns
    how many were shortened."""
    positions = [i for i, m in enumerate(messages) if id(m) in results]
    chosen = due(positions, whole, messages)
    for i in chosen:
        old = messages[i]
        call, render = results.pop(id(old))
        text = whole.pop(id(old))
        new = render(shortened(text, save(call, text)))
        messages[i] = new
        results[id(new)] = (call, render)
    return len(chosen)
