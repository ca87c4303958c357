"""TransformersModel: the Model protocol over a model loaded in this process (checkpoint.py). It writes the prompt
with the tokenizer's own chat template, keeps the KV cache of the longest shared prefix between requests, streams
tokens as they come, reads native tool calls in the family's text format, and constrains JSON turns by grammar."""

from __future__ import annotations

import time
from typing import Any, Iterator, Sequence

from ..errors import ModelRejected
from ..types import Completion, Message, PromptProgress, ReasoningDelta, Request, TextDelta, ToolCall, Usage
from . import ModelInfo
from .checkpoint import Checkpoint
from .formats import FORMATS, parse_any
from .grammar import GrammarEngine, LLGuidanceEngine, response_schema
from .prompt_cache import PromptCache
from .wire import arguments_object

PREFILL_CHUNK = 256  # prompt tokens per forward pass: progress on a long CPU prefill, and bounded activations


class TransformersModel:
    """One request at a time (the KV cache is one conversation's); `close` frees the cache, not the weights."""

    def __init__(self, checkpoint: Checkpoint, *, tool_format: str = "hermes", stop: Sequence[str] = (),
                 grammar: GrammarEngine | None = None) -> None:
        import torch  # deferred with the rest of the backend

        self._torch = torch
        self._model, self._tokenizer = checkpoint.model, checkpoint.tokenizer
        self._device = checkpoint.device
        self.info = ModelInfo(checkpoint.name, checkpoint.context_window)
        self._format = FORMATS.get(tool_format, FORMATS["hermes"])
        self._stop = _stop_ids(checkpoint, stop)
        self._grammar = grammar
        self._cache = PromptCache(self._new_cache)

    def close(self) -> None:
        self._cache.reset()

    def count_tokens(self, text: str) -> int:
        return len(self._tokenizer(text, add_special_tokens=False)["input_ids"])

    def prompt_text(self, request: Request) -> str:
        """The prompt as the chat template writes it, ending where the assistant's reply begins."""
        from jinja2 import TemplateError

        messages = [_template_message(m, request.send_reasoning) for m in request.messages]
        tools = [{"type": "function", "function": {"name": t.name, "description": t.description,
                                                    "parameters": dict(t.parameters)}} for t in request.tools]
        try:
            return self._tokenizer.apply_chat_template(messages, tools=tools or None, add_generation_prompt=True,
                                                       tokenize=False)
        except (TemplateError, ValueError, TypeError) as exc:
            raise ModelRejected(f"The model's chat template cannot write this conversation: {exc}.") from None

    def complete(self, request: Request) -> Iterator[TextDelta | ReasoningDelta | PromptProgress | Completion]:
        started = time.monotonic()
        prompt = self._tokenizer(self.prompt_text(request), add_special_tokens=False)["input_ids"]
        budget = self._budget(len(prompt), request.max_tokens)
        schema = response_schema(request.response_format) if request.response_format else None
        grammar = self._engine().json_schema(schema) if schema is not None else None
        cached = self._cache.reuse(prompt)
        reply = _Reply(self._tokenizer)
        finished = False
        try:
            logits = yield from self._prefill(prompt, cached)
            decode_from = time.monotonic()
            while len(reply.ids) < budget:
                if grammar is not None:
                    grammar.mask(logits)
                token = _pick(self._torch, logits, request.temperature)
                if token in self._stop:
                    reply.stopped = True
                    break
                if grammar is not None:
                    grammar.accept(token)
                delta = reply.add(token)
                if delta:
                    yield TextDelta(delta)
                if len(reply.ids) < budget:
                    logits = self._forward([token])
            finished = True
        finally:
            if not finished:  # an abandoned or failed step may have left half a token in the cache
                self._cache.reset()
        usage = Usage(len(prompt), len(reply.ids), cached, (decode_from - started) * 1000,
                      (time.monotonic() - decode_from) * 1000, requests=1)
        yield self._completion(reply, request, usage, time.monotonic() - started)

    def _prefill(self, prompt: Sequence[int], cached: int) -> Iterator[PromptProgress]:
        """Run the uncached part of the prompt in chunks; returns the logits for the first reply token."""
        logits = None
        for start in range(cached, len(prompt), PREFILL_CHUNK):
            logits = self._forward(prompt[start:start + PREFILL_CHUNK])
            if len(prompt) - cached > PREFILL_CHUNK:
                yield PromptProgress(min(start + PREFILL_CHUNK, len(prompt)), len(prompt))
        return logits

    def _forward(self, ids: Sequence[int]) -> Any:
        """The next-token logits after `ids`, which join the cache."""
        torch = self._torch
        with torch.no_grad():
            out = self._model(input_ids=torch.tensor([list(ids)], device=self._device), cache=self._cache.kv,
                              use_cache=True, logits_to_keep=1)
        self._cache.extend(ids)
        return out.logits[0, -1].float()

    def _new_cache(self) -> Any:
        from transformers import DynamicCache

        return DynamicCache(config=self._model.config)

    def _engine(self) -> GrammarEngine:
        if self._grammar is None:
            self._grammar = LLGuidanceEngine(self._tokenizer, self._model.config.vocab_size, sorted(self._stop))
        return self._grammar

    def _budget(self, prompt_tokens: int, max_tokens: int | None) -> int:
        window = self.info.context_window
        room = window - prompt_tokens if window else None
        if room is not None and room <= 0:
            raise ModelRejected(f"The prompt has {prompt_tokens} tokens, more than the model's context window "
                                f"of {window}.")
        limits = [n for n in (max_tokens, room) if n is not None]
        return min(limits) if limits else 4096

    def _completion(self, reply: _Reply, request: Request, usage: Usage, wall_s: float) -> Completion:
        text = reply.text()
        calls: tuple[ToolCall, ...] = ()
        if request.tools:  # native tools: read the call out of the text, as a server's tool parser does
            names = [t.name for t in request.tools]
            parsed = self._format.parse(text, names, "call", request.tools)
            parsed = parsed if parsed.calls else parse_any(text, names, "call", request.tools)
            text, calls = (parsed.text, parsed.calls) if parsed.calls else (text, ())
        reason = "tool_calls" if calls else "stop" if reply.stopped else "length"
        return Completion(Message("assistant", text, calls), reason, usage, self.info.name, wall_s)


class _Reply:
    """The tokens generated so far and their text, handed out as deltas once they decode to whole characters."""

    def __init__(self, tokenizer: Any) -> None:
        self._tokenizer = tokenizer
        self.ids: list[int] = []
        self.stopped = False
        self._shown = ""

    def add(self, token: int) -> str:
        self.ids.append(token)
        text = self.text()
        if text.endswith("\ufffd") or not text.startswith(self._shown):
            return ""  # a character split across tokens: wait for its other bytes
        delta, self._shown = text[len(self._shown):], text
        return delta

    def text(self) -> str:
        return self._tokenizer.decode(self.ids, skip_special_tokens=False)


def _template_message(message: Message, send_reasoning: bool) -> dict[str, Any]:
    """A message as chat templates take it: tool-call arguments as a mapping, which templates serialise."""
    out: dict[str, Any] = {"role": message.role, "content": message.content}
    if send_reasoning and message.role == "assistant" and message.reasoning:
        out["reasoning_content"] = message.reasoning
    if message.tool_calls:
        out["tool_calls"] = [{"id": c.id, "type": "function",
                              "function": {"name": c.name, "arguments": arguments_object(c)}}
                             for c in message.tool_calls]
    if message.tool_call_id is not None:
        out["tool_call_id"] = message.tool_call_id
    return out


def _stop_ids(checkpoint: Checkpoint, stop: Sequence[str]) -> frozenset[int]:
    """Tokens that end a reply: the generation config's and tokenizer's end tokens, and the profile's stop
    markers that are single tokens (a guard for a template whose end token is not the configured one)."""
    tokenizer, ids = checkpoint.tokenizer, set()
    for value in (getattr(checkpoint.model.generation_config, "eos_token_id", None), tokenizer.eos_token_id):
        ids.update(value if isinstance(value, (list, tuple)) else [value] if value is not None else [])
    vocab = tokenizer.get_vocab()
    ids.update(vocab[marker] for marker in stop if marker in vocab)
    return frozenset(ids)


def _pick(torch: Any, logits: Any, temperature: float | None) -> int:
    """Greedy at temperature 0 (Luban's default); otherwise a sample from the tempered distribution."""
    if not temperature or temperature <= 0:
        return int(torch.argmax(logits))
    probs = torch.softmax(logits / temperature, dim=-1)
    return int(torch.multinomial(probs, 1))
