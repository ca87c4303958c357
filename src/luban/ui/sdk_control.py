"""The Claude Agent SDK's control protocol over stdin/stdout (`--input-format stream-json`).

A reader thread takes stdin line by line: user messages queue up as turns, control requests (initialize,
interrupt, set_permission_mode) are answered at once, and control responses answer the requests Luban sent
(can_use_tool). Lines go out whole under one lock, so a response never splits a message.
"""

from __future__ import annotations

import itertools
import json
import queue
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, TextIO

Handler = Callable[[dict[str, Any]], dict[str, Any]]
END = None  # queued when stdin closes: no more turns


class ControlError(Exception):
    """A control request Luban cannot serve; its text goes back to the SDK as the error."""


@dataclass
class Outbox:
    """stdout, one whole line at a time, from any thread."""

    out: TextIO
    lock: threading.Lock = field(default_factory=threading.Lock)

    def write(self, text: str) -> int:
        with self.lock:
            self.out.write(text)
            self.out.flush()
        return len(text)

    def flush(self) -> None:
        pass  # every write flushes

    def send(self, record: dict[str, Any]) -> None:
        self.write(json.dumps(record, ensure_ascii=False) + "\n")


@dataclass
class Channel:
    """Both directions of the control protocol; `turns` holds the user messages' text, END when stdin closes."""

    stdin: TextIO
    outbox: Outbox
    err: TextIO
    handlers: dict[str, Handler] = field(default_factory=dict)
    turns: queue.Queue = field(default_factory=queue.Queue)
    _pending: dict[str, tuple[threading.Event, list[dict[str, Any]]]] = field(default_factory=dict)
    _ids: Any = field(default_factory=lambda: itertools.count(1))
    _closed: threading.Event = field(default_factory=threading.Event)

    def start(self) -> None:
        threading.Thread(target=self._read, name="luban-sdk-stdin", daemon=True).start()

    def request(self, body: dict[str, Any]) -> dict[str, Any]:
        """Send a control request to the SDK and wait for its answer; ControlError if it answers with an error
        or stdin closes first."""
        request_id = f"luban_{next(self._ids)}"
        answered, answer = threading.Event(), []
        self._pending[request_id] = (answered, answer)
        self.outbox.send({"type": "control_request", "request_id": request_id, "request": body})
        while not answered.wait(0.1):
            if self._closed.is_set():
                self._pending.pop(request_id, None)
                raise ControlError(f"the SDK closed the connection before answering {body.get('subtype')}")
        response = answer[0]
        if response.get("subtype") == "error":
            raise ControlError(str(response.get("error", "the SDK answered with an error")))
        return response.get("response") or {}

    def _read(self) -> None:
        try:
            for line in self.stdin:
                if line.strip():
                    self._route(line)
        finally:
            self._closed.set()
            self.turns.put(END)

    def _route(self, line: str) -> None:
        try:
            record = json.loads(line)
            kind = record["type"]
        except (ValueError, KeyError, TypeError):
            self.err.write(f"luban: ignoring a line on stdin that is not a stream-json message: {line[:80]!r}\n")
            return
        if kind == "user":
            self.turns.put(_text(record.get("message", {}).get("content", "")))
        elif kind == "control_request":
            self._answer(record.get("request_id", ""), record.get("request") or {})
        elif kind == "control_response":
            response = record.get("response") or {}
            waiting = self._pending.pop(response.get("request_id", ""), None)
            if waiting:
                waiting[1].append(response)
                waiting[0].set()
        # control_cancel_request and anything newer: nothing of Luban's is waiting on them

    def _answer(self, request_id: str, request: dict[str, Any]) -> None:
        subtype = request.get("subtype", "")
        handler = self.handlers.get(subtype)
        try:
            if handler is None:
                raise ControlError(f"Luban does not support the control request {subtype!r}")
            response = {"subtype": "success", "request_id": request_id, "response": handler(request)}
        except ControlError as exc:
            response = {"subtype": "error", "request_id": request_id, "error": str(exc)}
        self.outbox.send({"type": "control_response", "response": response})


def _text(content: Any) -> str:
    """A user message's text: a string, or the text blocks of a content list (images are not read)."""
    if isinstance(content, str):
        return content
    return "\n\n".join(b.get("text", "") for b in content if isinstance(b, dict) and b.get("type") == "text")
