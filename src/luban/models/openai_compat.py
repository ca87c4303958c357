"""OpenAICompatModel: the Model protocol over any OpenAI-compatible chat-completions server (llama.cpp, vLLM,
SGLang, Ollama, LM Studio): discovery of the served model and its context window, streaming over httpx with
retries (also of a reply that breaks off), first-token and idle timeouts sized for CPU prefill, and cancellation."""

from __future__ import annotations

import functools
import json
import queue
import random
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

import httpx

from ..errors import (Cancelled, ConfigError, ContextOverflow, ModelProtocolError, ModelRejected, ModelTimeout,
                      ModelUnavailable, ReplyBroken, TimeUp)
from ..types import Completion, ReplyRestarted, Request, StreamItem
from . import ModelInfo
from .exchange import END, Exchange
from .head_cache import Head, keep_head
from .repetition import REPEAT
from .tokenize import ServerTokenizer
from .wire import ENOUGH, assemble, body_bytes, chat_body, error_message, iter_data, overflows, sentence

_RETRY_STATUS = frozenset({429, 500, 502, 503, 504})
# Failures that happen before the server has answered, so replaying the request cannot duplicate a turn.
_RETRY_ERRORS = (httpx.ConnectError, httpx.ConnectTimeout, httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)
_RETRY_AFTER_CAP_S = 60.0  # a server asking for an hour would freeze the agent without a word
_PROBE_READ_S = 30.0  # discovery endpoints answer from memory; a busy server still answers them quickly
_POLL_S = 0.05  # how often a waiting request looks at the cancel flag
_FIRST, _IDLE = "first_token_timeout_s", "idle_timeout_s"
_TIME_UP = "Stopped: the run's time limit (max_wall_s) ran out while waiting for the model."


@dataclass(frozen=True)
class ServerConfig:
    """Where the server is and how patient to be with it. Timeouts are sized for CPU prefill of long prompts."""

    base_url: str
    model: str | None = None
    api_key: str | None = None
    connect_timeout_s: float = 10.0
    first_token_timeout_s: float = 600.0
    idle_timeout_s: float = 180.0
    max_retries: int = 4
    backoff_s: float = 1.0
    # Where the server saves slots (llama.cpp's --slot-save-path): set for a server Luban started, whose files it
    # may read; the head of the system prompt is kept there between sessions (head_cache.py).
    head_cache: Path | None = None

    @property
    def root(self) -> str:
        """The server root: base_url without a trailing /v1, since server docs print it both ways."""
        url = self.base_url.strip().rstrip("/")
        url = url if "://" in url else "http://" + url
        try:
            host = httpx.URL(url).host
        except httpx.InvalidURL as exc:
            raise ConfigError(f"The model server URL {self.base_url!r} is not valid: {exc}.") from None
        if not host:
            raise ConfigError(f"The model server URL {self.base_url!r} has no host name.")
        return url[: -len("/v1")] if url.endswith("/v1") else url


class OpenAICompatModel:
    """A model behind an OpenAI-compatible HTTP server; one request at a time, `cancel` aborts the current one."""

    def __init__(
        self,
        config: ServerConfig,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], object] | None = None,
        cancel: threading.Event | None = None,
    ) -> None:
        self.config = config
        self._root = config.root
        self._cancel = cancel
        # Waiting on the cancel flag instead of sleeping lets a cancel cut a backoff short.
        self._sleep = sleep or (cancel.wait if cancel is not None else time.sleep)
        self._random = random.Random()
        self._info: ModelInfo | None = None
        self._progress = False  # llama.cpp streams prompt progress when asked (found by discover)
        self._head: Request | None = None  # a head to restore before the first request that starts with it
        self._tokenizer = ServerTokenizer(self._probe, lambda: self.config.model or self.info.name)
        read_s = max(config.first_token_timeout_s, config.idle_timeout_s)
        self._probe_timeout = httpx.Timeout(config.connect_timeout_s, read=_PROBE_READ_S)
        self._client = httpx.Client(
            transport=transport,
            headers={"Authorization": f"Bearer {config.api_key}"} if config.api_key else {},
            timeout=httpx.Timeout(config.connect_timeout_s, read=read_s, write=config.idle_timeout_s),
            trust_env=False,  # below config.py nothing reads the environment (proxies included)
        )

    @property
    def info(self) -> ModelInfo:
        if self._info is None:
            self._info = self.discover()
        return self._info

    def close(self) -> None:
        self._client.close()

    # ---- discovery ----

    def discover(self) -> ModelInfo:
        """Ask the server which model it serves and its real context window; every probe is optional."""
        try:
            listing = self._probe("GET", "/v1/models")
            entries = [e for e in _items(listing, "data") if isinstance(e.get("id"), str)]
            name, entry = self._choose(entries)
            self._progress = entry.get("owned_by") == "llamacpp"
            window = (_listed_window(entry) or _props_window(self._probe("GET", "/props")) or
                      self._ollama_window(name) or self._lmstudio_window(name))
        except httpx.TransportError as exc:
            if self.config.model is None:
                raise ModelUnavailable(f"Cannot reach the model server at {self._root}: {exc}.") from None
            name, window = self.config.model, None
        self._info = ModelInfo(name, window)
        return self._info

    def _choose(self, entries: list[Mapping[str, Any]]) -> tuple[str, Mapping[str, Any]]:
        wanted = self.config.model
        ids = [e["id"] for e in entries]
        if wanted is None:
            if not entries:
                raise ConfigError(f"The model server at {self._root} lists no models; name one with --model.")
            return ids[0], entries[0]
        # Ollama resolves a bare name to its :latest tag.
        for entry in entries:
            if entry["id"] in (wanted, f"{wanted}:latest"):
                return entry["id"], entry
        # A single-model llama-server answers to any model name, so only a real choice is checked.
        if not entries or (len(entries) == 1 and entries[0].get("owned_by") == "llamacpp"):
            return wanted, entries[0] if entries else {}
        shown = ", ".join(ids[:10]) + (", …" if len(ids) > 10 else "")
        raise ConfigError(f"The model server at {self._root} does not serve '{wanted}'; it serves: {shown}.")

    def _ollama_window(self, name: str) -> int | None:
        """Ollama's window: the model's num_ctx, else the loaded runner's, capped at the trained length.

        Not the trained length alone: Ollama sizes the window of a model it has yet to load from free memory
        (often 4k) and silently drops the start of a longer prompt, so unknown is the honest answer.
        """
        show = _mapping(self._probe("POST", "/api/show", {"model": name}))
        if not show:
            return None
        window = _num_ctx(show.get("parameters"))
        for running in _items(self._probe("GET", "/api/ps") if window is None else None, "models"):
            if name in (running.get("name"), running.get("model")):
                window = _positive(running.get("context_length"))
        info = _mapping(show.get("model_info"))
        trained = _positive(info.get(f"{info.get('general.architecture')}.context_length"))
        return min(window, trained) if window and trained else window

    def _lmstudio_window(self, name: str) -> int | None:
        """LM Studio's window: the context length the model was loaded with (its native REST API)."""
        for model in _items(self._probe("GET", "/api/v1/models"), "models"):
            instances = _items(model, "loaded_instances")
            if name == model.get("key") or any(i.get("id") == name for i in instances):
                windows = [_positive(_mapping(i.get("config")).get("context_length")) for i in instances]
                return next((w for w in windows if w), None)
        return None

    def count_tokens(self, text: str) -> int | None:
        """Tokens in `text` by the server's own tokenizer; None where it has no `/tokenize`."""
        return self._tokenizer.count(text)

    def _probe(self, method: str, path: str, body: object = None, timeout: httpx.Timeout | None = None) -> Any:
        """The JSON a discovery endpoint answers, or None when this server lacks it; raises when unreachable."""
        try:
            response = self._client.request(method, self._root + path, json=body,
                                             timeout=timeout or self._probe_timeout)
        except (httpx.ConnectError, httpx.ConnectTimeout):
            raise
        except httpx.TransportError:
            return None  # a slow or odd answer to one probe should not cost the others
        if response.status_code != 200:
            return None
        try:
            return response.json()
        except ValueError:
            return None

    def keep_head(self, request: Request) -> None:
        """Start the first request whose system message begins with `request`'s (the head alone) from the head's
        saved KV state, on a server Luban started. Not at once: a side request (a focused write) that comes first
        must find the slot as before, or its greedy reply changes (he-46, HumanEval-122)."""
        self._head = request if self.config.head_cache is not None else None

    def restore_head(self, request: Request) -> Head | None:
        """Restore the saved KV state of `request`'s head into an idle slot now, computing it if no session has."""
        if self.config.head_cache is None:
            return None
        body = chat_body(request, self.config.model or self.info.name)
        # Patient: computing the head the first time takes a prompt's prefill.
        post = functools.partial(self._probe, "POST", timeout=self._client.timeout)
        return keep_head(post, functools.partial(self._probe, "GET"), self.config.head_cache, body)

    # ---- completion ----

    def complete(self, request: Request) -> Iterator[StreamItem]:
        self._check_cancel()
        if self._head is not None and request.messages[0].content.startswith(self._head.messages[0].content):
            head, self._head = self._head, None
            self.restore_head(head)
        name = self.config.model or self.info.name
        body = body_bytes(chat_body(request, name, self._progress))
        started = time.monotonic()
        retries = self.config.max_retries
        for attempt in range(1, retries + 2):
            try:
                yield from self._reply(body, name, started, request.deadline, request.enough)
                return
            except ReplyBroken as exc:
                if attempt > retries:
                    raise ReplyBroken(f"{str(exc)[:-1]} ({attempt} times in a row).") if retries else exc from None
                # Nothing of a broken reply was used, so sending the request again cannot duplicate a turn.
                yield ReplyRestarted(f"{str(exc)[:-1]}; sent the request again (retry {attempt} of {retries}), "
                                     "discarding the partial reply.")
                self._pause(self._backoff(attempt), request.deadline)

    def _reply(self, body: bytes, name: str, started: float, cap: float | None,
               enough: Callable[[str], bool] | None = None) -> Iterator[StreamItem]:
        """One attempt: send the request, stream the reply; ReplyBroken when it breaks off before the end."""
        exchange, sent = self._open(body, cap)
        finished = False
        try:
            for item in assemble(iter_data(self._lines(exchange, sent, cap)), enough):
                if isinstance(item, Completion):  # a reply the stream was stopped for: hang up on it
                    finished = item.finish_reason not in (REPEAT, ENOUGH)
                    item = replace(item, model=item.model or name, wall_s=time.monotonic() - started)
                yield item
        finally:
            if not finished:
                exchange.abandon()

    def _open(self, body: bytes, cap: float | None) -> tuple[Exchange, float]:
        """Send the request until the server answers 200, retrying only what cannot have streamed anything."""
        attempts = self.config.max_retries + 1
        failure, delay = "", None
        for attempt in range(attempts):
            if attempt:
                self._pause(delay if delay is not None else self._backoff(attempt), cap)
            sent = time.monotonic()
            exchange = Exchange(self._client, self._chat_request(body))
            try:
                response = self._next(exchange, sent + self.config.first_token_timeout_s, _FIRST, cap)
            except _RETRY_ERRORS as exc:
                failure, delay = f"Cannot reach the model server at {self._root}: {exc}", None
                continue
            except httpx.TransportError as exc:
                raise ModelUnavailable(f"The request to the model server at {self._root} failed: {exc}.") from None
            except BaseException:
                exchange.abandon()
                raise
            status = response.status_code
            if status == 200 and _is_json(response):
                exchange.abandon()
                raise ModelProtocolError(
                    f"The model server at {self._root} answered with one JSON object instead of an event stream; "
                    "it may not support stream: true."
                )
            if status == 200:
                return exchange, sent
            detail = _error_detail(response)
            if overflows(response.text):  # whatever the status (Ollama has sent 500): sending it again cannot help
                raise ContextOverflow(f"The model server rejected the request (HTTP {status}): {detail}.")
            if status not in _RETRY_STATUS:
                raise ModelRejected(f"The model server rejected the request (HTTP {status}): {detail}.")
            failure = f"The model server at {self._root} answered HTTP {status} {attempts} times: {detail}"
            delay = _retry_after(response)
        raise ModelUnavailable(failure + ".")

    def _lines(self, exchange: Exchange, sent: float, cap: float | None) -> Iterator[str]:
        """The response lines, enforcing the first-token limit, then the idle limit between data lines."""
        deadline, limit = sent + self.config.first_token_timeout_s, _FIRST
        while True:
            try:
                item = self._next(exchange, deadline, limit, cap)
            except httpx.TransportError as exc:
                raise ReplyBroken(
                    f"The connection to the model server at {self._root} broke mid-reply: {exc}."
                ) from None
            if item is END:
                return
            # Only data counts as progress: a server sending `: ping` forever is still stalled.
            if item.startswith("data:"):
                deadline, limit = time.monotonic() + self.config.idle_timeout_s, _IDLE
            yield item

    def _next(self, exchange: Exchange, deadline: float, limit: str, cap: float | None) -> Any:
        """The next item of the exchange by `deadline` (the `limit` setting's), and by `cap`, the run's own."""
        end = deadline if cap is None else min(deadline, cap)
        while True:
            self._check_cancel()
            remaining = end - time.monotonic()
            if remaining <= 0:
                raise TimeUp(_TIME_UP) if end != deadline else self._timeout(limit)
            try:
                return exchange.get(min(remaining, _POLL_S) if self._cancel is not None else remaining)
            except queue.Empty:
                continue
            except httpx.ReadTimeout:
                raise self._timeout(limit) from None

    def _pause(self, seconds: float, cap: float | None) -> None:
        """Wait before a retry, unless the run's time would run out first."""
        if cap is not None and time.monotonic() + seconds >= cap:
            raise TimeUp(_TIME_UP)
        self._sleep(seconds)
        self._check_cancel()

    def _timeout(self, limit: str) -> ModelTimeout:
        if limit == _FIRST:
            return ModelTimeout(
                f"The model server sent nothing for {self.config.first_token_timeout_s:g} s; a long prompt "
                f"on slow hardware may need more, so raise {_FIRST}."
            )
        return ModelTimeout(
            f"The model server went silent for {self.config.idle_timeout_s:g} s mid-reply; "
            f"raise {_IDLE} if this hardware is that slow."
        )

    def _check_cancel(self) -> None:
        if self._cancel is not None and self._cancel.is_set():
            raise Cancelled("The model request was cancelled.")

    def _backoff(self, attempt: int) -> float:
        """Exponential backoff with full jitter, so clients retrying together do not stampede the server."""
        return self._random.uniform(0.0, self.config.backoff_s * 2 ** (attempt - 1))

    def _chat_request(self, body: bytes) -> httpx.Request:
        return self._client.build_request(
            "POST", f"{self._root}/v1/chat/completions", content=body, headers={"Content-Type": "application/json"}
        )


# ---- reading server answers ----


def _is_json(response: httpx.Response) -> bool:
    return response.headers.get("content-type", "").startswith("application/json")


def _error_detail(response: httpx.Response) -> str:
    try:
        message = error_message(response.json())
    except ValueError:
        message = None
    return sentence(message or response.text or response.reason_phrase or "no details")


def _retry_after(response: httpx.Response) -> float | None:
    try:
        seconds = float(response.headers.get("retry-after", ""))
    except ValueError:
        return None  # absent, or an HTTP date: fall back to our own backoff
    return min(max(seconds, 0.0), _RETRY_AFTER_CAP_S)


def _listed_window(entry: Mapping[str, Any]) -> int | None:
    # vLLM and SGLang list max_model_len; llama.cpp's meta has n_ctx_train, the trained length, not the window.
    return _positive(entry.get("max_model_len")) or _positive(_mapping(entry.get("meta")).get("n_ctx"))


def _num_ctx(parameters: object) -> int | None:
    """num_ctx from Ollama's `parameters`, one "name value" pair per line."""
    for line in str(parameters or "").splitlines():
        key, _, value = line.partition(" ")
        if key == "num_ctx":
            return _positive(value.strip())
    return None


def _items(document: object, key: str) -> list[Mapping[str, Any]]:
    values = _mapping(document).get(key)
    return [v for v in values if isinstance(v, Mapping)] if isinstance(values, list) else []


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _positive(value: object) -> int | None:
    try:
        number = int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


def _props_window(props: Any) -> int | None:
    """llama.cpp's /props (None elsewhere): the per-slot window it actually allocated."""
    return _positive(_mapping(_mapping(props).get("default_generation_settings")).get("n_ctx"))
