"""Constrained decoding for the in-process backend: a JSON schema becomes a mask over the next token's logits, so
the reply can only be text the schema admits (llguidance; bench/grammar_libs.py measured it against xgrammar and
lm-format-enforcer)."""

from __future__ import annotations

import json
from typing import Any, Mapping, Protocol, Sequence

from ..errors import ModelRejected


class Grammar(Protocol):
    """One reply's constraint: mask the logits, then accept the token sampled from them."""

    def mask(self, logits: Any) -> None:
        """Set the logits of every token the grammar forbids next to -inf, in place (a 1-D float tensor)."""

    def accept(self, token: int) -> None: ...


class GrammarEngine(Protocol):
    """Compiles schemas for one tokenizer; building it is the slow part, so a model keeps one."""

    def json_schema(self, schema: Mapping[str, Any]) -> Grammar: ...


def response_schema(response_format: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The JSON schema inside an OpenAI-style response_format (json_schema), {} for json_object, else None."""
    kind = response_format.get("type")
    if kind == "json_schema":
        return response_format.get("json_schema", {}).get("schema", {})
    return {"type": "object"} if kind == "json_object" else None


# JSON laid out as json.dumps writes it (and as history replays turns): no free whitespace between tokens, since
# a weak model otherwise pads a reply with newlines until the token limit and the grammar would allow it.
_LAYOUT = {"whitespace_flexible": False, "item_separator": ", ", "key_separator": ": "}


class LLGuidanceEngine:
    """llguidance over a Hugging Face fast tokenizer; `stop` are the token ids that end a reply."""

    def __init__(self, tokenizer: Any, vocab_size: int, stop: Sequence[int]) -> None:
        import llguidance.hf

        self._tokenizer = llguidance.hf.from_tokenizer(tokenizer, n_vocab=vocab_size, eos_token=list(stop))
        self._vocab_size = vocab_size

    def json_schema(self, schema: Mapping[str, Any]) -> Grammar:
        import llguidance

        grammar = llguidance.LLMatcher.grammar_from_json_schema(json.dumps(schema), defaults=_LAYOUT)
        matcher = llguidance.LLMatcher(self._tokenizer, grammar, log_level=0)
        if matcher.is_error():
            raise ModelRejected(f"The response schema cannot be turned into a grammar: {matcher.get_error()}.")
        return LLGuidanceGrammar(matcher, self._vocab_size)


class LLGuidanceGrammar:
    def __init__(self, matcher: Any, vocab_size: int) -> None:
        import llguidance.numpy
        import torch

        self._matcher = matcher
        self._bitmask = llguidance.numpy.allocate_token_bitmask(1, vocab_size)
        self._bits = torch.arange(32, dtype=torch.int32)

    def mask(self, logits: Any) -> None:
        import llguidance.numpy
        import torch

        llguidance.numpy.fill_next_token_bitmask(self._matcher, self._bitmask)
        # One bit per token, 32 to a word: the packed words go to the logits' device (a GPU), then unpack there.
        words = torch.from_numpy(self._bitmask[0]).to(logits.device)
        self._bits = self._bits.to(logits.device)
        allowed = ((words.unsqueeze(-1) >> self._bits) & 1).flatten()[: logits.shape[-1]]
        logits.masked_fill_(allowed == 0, float("-inf"))

    def accept(self, token: int) -> None:
        if not self._matcher.consume_token(token):
            # The mask allowed only tokens the grammar accepts, so this is a bug, not a model error.
            raise AssertionError(f"the grammar refused token {token}: {self._matcher.get_error()}")
