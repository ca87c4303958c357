"""The KV cache the in-process backend keeps between requests: the token ids whose keys and values it holds, so a
request that starts with the same tokens (the frozen prefix, the history so far) only computes the new ones."""

from __future__ import annotations

from typing import Any, Sequence


def common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    """How many leading tokens `a` and `b` share."""
    n = min(len(a), len(b))
    for i in range(n):
        if a[i] != b[i]:
            return i
    return n


class PromptCache:
    """Keys and values for `ids`, in a transformers Cache; `new_cache` makes an empty one for the model."""

    def __init__(self, new_cache: Any) -> None:
        self._new_cache = new_cache
        self.kv: Any = None
        self.ids: list[int] = []

    def reuse(self, prompt: Sequence[int]) -> int:
        """Keep the longest cached prefix of `prompt` (never all of it: the last token must run to give the next
        token's logits) and drop the rest; returns how many tokens are kept."""
        keep = min(common_prefix(self.ids, prompt), len(prompt) - 1)
        if self.kv is None or keep <= 0:
            self.kv, self.ids = self._new_cache(), []
            return 0
        held = self.kv.get_seq_length()
        if keep < held:
            self.kv.crop(keep - held)  # transformers 5 takes the (negative) number of tokens to drop
        self.ids = list(prompt[:keep])
        return keep

    def extend(self, ids: Sequence[int]) -> None:
        """`ids` have just run through the model with this cache."""
        self.ids.extend(ids)

    def reset(self) -> None:
        """Forget everything: after an interrupted forward pass the cache may hold half a step."""
        self.kv, self.ids = None, []
