"""Counting tokens: the server's tokenizer where it has one, otherwise an estimate that errs high."""

from __future__ import annotations

import math
from typing import Callable, Protocol, runtime_checkable

# Code and English through the BPE vocabularies of the open model families (Qwen, Llama 3, DeepSeek, GLM)
# average 3.3–4 characters per token; 3.0 over-counts a little, which only makes budgets safer.
CHARS_PER_TOKEN = 3.0


def estimate(text: str) -> int:
    """A cheap upper-leaning guess of the token count of `text`."""
    return math.ceil(len(text) / CHARS_PER_TOKEN)


@runtime_checkable
class Tokenizer(Protocol):
    def count_tokens(self, text: str) -> int | None:
        """The exact count by the model's tokenizer, or None when it cannot say."""
        ...


def counter(model: object) -> Callable[[str], int]:
    """Count with the model's own tokenizer where it has one (and answers), else estimate."""
    if not isinstance(model, Tokenizer):
        return estimate

    def count(text: str) -> int:
        exact = model.count_tokens(text)
        return estimate(text) if exact is None else exact

    return count
