"""The OpenAI chat-completions wire format as pure functions, no I/O: the request body we send, and the
server-sent event stream we read back (lines → data payloads → deltas and one Completion)."""

from __future__ import annotations

import json
import re
from typing import Any, Callable, Iterable, Iterator, Mapping

from ..errors import ContextOverflow, ModelError, ModelProtocolError, ModelRejected, ReplyBroken
from ..types import Completion, Message, PromptProgress, ReasoningDelta, Request, TextDelta, ToolCall, ToolSpec, Usage
from . import repetition
from .repair import read_arguments

# How servers say that a prompt does not fit their window, in their own words (taken from their sources):
_OVERFLOW = re.compile("|".join((
    r"exceeds? (the available )?context size",  # llama.cpp: "request (N tokens) exceeds the available context size"
    r"larger than the max context size",  # older llama.cpp
    r"exceed_context_size_error",  # llama.cpp's error type
    r"maximum context length",  # vLLM: "This model's maximum context length is N tokens. However, …"; SGLang too
    r"longer than the maximum model length",  # vLLM: "The decoder prompt (length N) is longer than the maximum …"
    r"longer than the model's context length",  # SGLang: "The input (N tokens) is longer than the model's …"
    r"input length exceeds the context length",  # Ollama
    r"greater than the context length",  # LM Studio
    r"context_length_exceeded",  # OpenAI's error code
)), re.IGNORECASE)

# Chat templates parse the arguments of earlier calls (llama.cpp answers HTTP 500 when they are not a JSON
# object), so a call's text that no reading makes an object goes back wrapped in one under this key.
UNREAD = "__raw__"
ENOUGH = "enough"  # the finish reason of a reply stopped once it held what its request needs (Request.enough)


def body_bytes(body: Mapping[str, Any]) -> bytes:
    """A request body as UTF-8 JSON. A lone surrogate in the history (a model's broken "\\ud83d" escape, which
    the tool it was meant for refused) goes out as U+FFFD: it has no UTF-8 form, and servers reject it escaped."""
    text = json.dumps(body, ensure_ascii=False)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return re.sub("[\ud800-\udfff]", "\ufffd", text).encode("utf-8")


def chat_body(request: Request, model: str, progress: bool = False) -> dict[str, Any]:
    """The JSON body of a streamed chat-completions request, usage included in the stream; `progress` asks
    llama.cpp for prompt-progress chunks while it reads the prompt."""
    body: dict[str, Any] = {
        "model": model,
        "messages": [_wire_message(m, request.send_reasoning) for m in request.messages],
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    if request.tools:
        body["tools"] = [_wire_tool(t) for t in request.tools]
    if request.temperature is not None:
        body["temperature"] = request.temperature
    if request.max_tokens is not None:
        body["max_tokens"] = request.max_tokens
    if request.seed is not None:
        body["seed"] = request.seed
    if request.response_format is not None:
        body["response_format"] = dict(request.response_format)
    if progress:
        body["return_progress"] = True
        body["timings_per_token"] = True  # so a reply stopped mid-stream (repetition.py) still has its usage
    return body


def _wire_message(message: Message, send_reasoning: bool = False) -> dict[str, Any]:
    # Reasoning goes back only where the model's profile asks for it (DeepSeek-V3.2 and GLM with tools, ...):
    # most chat templates drop it, and it costs prompt tokens where they don't.
    wire: dict[str, Any] = {"role": message.role, "content": message.content}
    if send_reasoning and message.role == "assistant" and message.reasoning:
        wire["reasoning_content"] = message.reasoning
    if message.tool_calls:
        wire["tool_calls"] = [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": dumps_object(c)}}
            for c in message.tool_calls
        ]
    if message.tool_call_id is not None:
        wire["tool_call_id"] = message.tool_call_id
    return wire


def arguments_object(call: ToolCall) -> dict[str, Any]:
    """A call's arguments as a chat template receives them: a call the model wrote broken goes back as Luban read
    it, repaired where it can be, else its text under UNREAD."""
    if call.raw is None:
        return dict(call.arguments)
    return read_arguments(call.raw) or {UNREAD: call.raw}


def dumps_object(call: ToolCall) -> str:
    return json.dumps(arguments_object(call), ensure_ascii=False)


def _wire_tool(tool: ToolSpec) -> dict[str, Any]:
    return {
        "type": "function",
        "function": {"name": tool.name, "description": tool.description, "parameters": dict(tool.parameters)},
    }


def iter_data(lines: Iterable[str]) -> Iterator[str]:
    """Yield the data of each server-sent event, its `data:` lines joined by newlines.

    Comments (`: ping`), `event:`, `id:` and `retry:` lines are skipped. Data still pending when the lines run
    out is yielded too, because some servers omit the blank line after their last event.
    """
    pending: list[str] = []
    for line in lines:
        if not line:
            if pending:
                yield "\n".join(pending)
                pending = []
            continue
        field, _, value = line.partition(":")
        if field == "data":
            pending.append(value[1:] if value.startswith(" ") else value)
    if pending:
        yield "\n".join(pending)


def assemble(payloads: Iterable[str], enough: Callable[[str], bool] | None = None
             ) -> Iterator[TextDelta | ReasoningDelta | PromptProgress | Completion]:
    """Turn the data payloads of one streamed chat completion into deltas and, last, the finished Completion;
    `enough`: Request.enough, asked whenever a chunk brings a backtick (a code fence may have closed).

    Raises ReplyBroken when the payloads end before the server said the turn was over (no finish_reason,
    no [DONE]): a server that died mid-reply must never hand the agent half a tool call.
    """
    turn = _Turn()
    done = False
    for payload in payloads:
        if payload.strip() == "[DONE]":
            done = True
            break
        deltas = list(turn.feed(_decode(payload)))
        yield from deltas
        if turn.finish_reason is None and repetition.looping(turn.tail):
            turn.finish_reason = repetition.REPEAT  # the caller stops the stream: the rest would only repeat
            break
        if turn.finish_reason is None and enough and any(isinstance(d, TextDelta) and "`" in d.text for d in deltas) \
                and enough("".join(turn.content)):
            turn.finish_reason = ENOUGH  # the caller stops the stream: what follows would go unread
            break
    if not done and turn.finish_reason is None:
        raise ReplyBroken(
            "The model server ended its reply before finishing it (no finish_reason and no [DONE]); "
            "it may have crashed or run out of memory."
        )
    yield turn.completion()


def error_message(body: object) -> str | None:
    """The human-readable message in an error body, in any of the shapes OpenAI-compatible servers use."""
    if not isinstance(body, Mapping):
        return None
    error = body.get("error")
    if isinstance(error, Mapping) and error.get("message"):
        return str(error["message"])
    if isinstance(error, str) and error:
        return error
    for key in ("message", "detail"):
        if body.get(key):
            return str(body[key])
    return None


def overflows(text: str) -> bool:
    """Whether a server's error text says the request does not fit its context window."""
    return _OVERFLOW.search(text) is not None


def sentence(text: str, limit: int = 300) -> str:
    """Squeeze a server's message into one line of at most `limit` characters, without a final period."""
    flat = " ".join(text.split())
    if len(flat) > limit:
        flat = flat[: limit - 1] + "…"
    return flat.rstrip(".")


class _Turn:
    """What has arrived so far of one assistant turn."""

    def __init__(self) -> None:
        self.content: list[str] = []
        self.reasoning: list[str] = []
        self.calls: dict[int, _CallParts] = {}
        self.finish_reason: str | None = None
        self.model = ""
        self.usage: Mapping[str, Any] = {}
        self.timings: Mapping[str, Any] = {}
        self.tail = ""  # the last of the text, reasoning and call arguments, as repetition.looping needs it

    def _grow(self, text: str) -> None:
        self.tail = (self.tail + text)[-repetition.KEPT:]

    def feed(self, chunk: Mapping[str, Any]) -> Iterator[TextDelta | ReasoningDelta | PromptProgress]:
        if chunk.get("error") or chunk.get("object") == "error":
            raise _stream_error(chunk)
        progress = _mapping(chunk.get("prompt_progress"))
        if isinstance(progress.get("processed"), int) and isinstance(progress.get("total"), int):
            yield PromptProgress(progress["processed"], progress["total"])
        self.model = self.model or str(chunk.get("model") or "")
        self.usage = _mapping(chunk.get("usage")) or self.usage
        self.timings = _mapping(chunk.get("timings")) or self.timings
        for choice in _list(chunk.get("choices")):
            choice = _mapping(choice)
            if choice.get("index", 0) != 0:
                continue  # we never ask for n > 1
            delta = _mapping(choice.get("delta"))
            content = delta.get("content")
            if isinstance(content, str) and content:
                self.content.append(content)
                self._grow(content)
                yield TextDelta(content)
            # vLLM has sent both names with the same text, so take one, never both.
            reasoning = delta.get("reasoning_content") or delta.get("reasoning")
            if isinstance(reasoning, str) and reasoning:
                self.reasoning.append(reasoning)
                self._grow(reasoning)
                yield ReasoningDelta(reasoning)
            for position, part in enumerate(_list(delta.get("tool_calls"))):
                self._add_call_part(_mapping(part), position)
            if choice.get("finish_reason"):
                self.finish_reason = str(choice["finish_reason"])

    def _add_call_part(self, part: Mapping[str, Any], position: int) -> None:
        index = part.get("index")
        parts = self.calls.setdefault(index if isinstance(index, int) else position, _CallParts())
        function = _mapping(part.get("function"))
        # id and name come whole in one fragment (some servers repeat them); arguments come in pieces.
        parts.id = parts.id or str(part.get("id") or "")
        parts.name = parts.name or str(function.get("name") or "")
        arguments = function.get("arguments")
        if isinstance(arguments, str):
            parts.arguments.append(arguments)
            self._grow(arguments)
        elif isinstance(arguments, Mapping):
            parts.arguments.append(json.dumps(arguments, ensure_ascii=False))

    def completion(self) -> Completion:
        calls = tuple(parts.tool_call(index) for index, parts in sorted(self.calls.items()))
        message = Message(
            role="assistant",
            content="".join(self.content),
            tool_calls=calls,
            reasoning="".join(self.reasoning) or None,
        )
        return Completion(message, self.finish_reason, _usage(self.usage, self.timings), self.model)


class _CallParts:
    def __init__(self) -> None:
        self.id = ""
        self.name = ""
        self.arguments: list[str] = []

    def tool_call(self, index: int) -> ToolCall:
        raw = "".join(self.arguments)
        arguments = _arguments(raw)
        if arguments is None:
            return ToolCall(self.id or f"call_{index}", self.name, {}, raw)
        return ToolCall(self.id or f"call_{index}", self.name, arguments)


def _arguments(raw: str) -> dict[str, Any] | None:
    """The arguments object, or None when the text is not one (the call keeps it as raw)."""
    if not raw.strip():
        return {}
    try:
        arguments = json.loads(raw)
    except ValueError:
        return None
    return arguments if isinstance(arguments, dict) else None


def _usage(usage: Mapping[str, Any], timings: Mapping[str, Any]) -> Usage:
    """Merge OpenAI `usage` with llama.cpp `timings`, where prompt_n counts only the evaluated prompt tokens."""
    details = _mapping(usage.get("prompt_tokens_details"))
    cached = details.get("cached_tokens")
    if cached is None:
        cached = timings.get("cache_n") or 0
    prompt = usage.get("prompt_tokens")
    if prompt is None:
        prompt = (timings.get("cache_n") or 0) + (timings.get("prompt_n") or 0)
    completion = usage.get("completion_tokens") or timings.get("predicted_n") or 0
    return Usage(
        prompt_tokens=int(prompt),
        completion_tokens=int(completion),
        cached_tokens=int(cached),
        prompt_ms=float(timings.get("prompt_ms", 0.0)),
        decode_ms=float(timings.get("predicted_ms", 0.0)),
        requests=1,
    )


def _decode(payload: str) -> Mapping[str, Any]:
    try:
        chunk = json.loads(payload)
    except ValueError as exc:
        raise ModelProtocolError(
            f"The model server sent a stream event that is not valid JSON ({exc}): {payload[:80]!r}."
        ) from None
    if not isinstance(chunk, dict):
        raise ModelProtocolError(f"The model server sent a stream event that is not a JSON object: {payload[:80]!r}.")
    return chunk


def _stream_error(chunk: Mapping[str, Any]) -> ModelError:
    error = _mapping(chunk.get("error")) or chunk
    code = error.get("code")
    message = sentence(error_message(chunk) or json.dumps(chunk)[:200])
    if overflows(json.dumps(chunk)):
        return ContextOverflow(f"The model server rejected the request mid-reply: {message}.")
    if isinstance(code, int) and code >= 500:
        return ModelError(f"The model server failed mid-reply: {message}.")
    return ModelRejected(f"The model server rejected the request mid-reply: {message}.")


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []
