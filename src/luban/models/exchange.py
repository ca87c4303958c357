"""One streamed HTTP exchange read on a daemon thread, so the caller can wait on it with its own deadlines
and cancel flag (httpx's read timeout cannot tell "no first token yet" from "stalled mid-reply")."""

from __future__ import annotations

import contextlib
import queue
import socket
import threading
from typing import Any

import httpx

END = object()  # the item after the last line of a response


class Exchange:
    """One streamed HTTP exchange whose blocking reads run on a daemon thread, handing items over a queue.

    Why a thread: httpx's read timeout applies to each socket read, so it cannot tell "no first token yet"
    from "stalled mid-reply", and a blocked read never sees a cancel flag; the caller instead waits on the
    queue with its own deadline. Abandoning shuts the socket down so the thread and the server stop promptly.
    """

    def __init__(self, client: httpx.Client, request: httpx.Request) -> None:
        self._items: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._stop = threading.Event()
        self._socket: socket.socket | None = None
        threading.Thread(target=self._run, args=(client, request), name="luban-model-http", daemon=True).start()

    def get(self, timeout: float) -> Any:
        """The response (read in full unless 200), then its lines, then END; raises queue.Empty on timeout."""
        item = self._items.get(timeout=timeout)
        if isinstance(item, BaseException):
            raise item
        return item

    def abandon(self) -> None:
        self._stop.set()
        if self._socket is not None:
            with contextlib.suppress(OSError):
                # The plain-socket method, so a TLS socket's state is left to the reading thread.
                socket.socket.shutdown(self._socket, socket.SHUT_RDWR)

    def _run(self, client: httpx.Client, request: httpx.Request) -> None:
        try:
            response = client.send(request, stream=True)
            try:
                self._socket = _socket_of(response)
                if response.status_code != 200:
                    response.read()
                self._items.put(response)
                if response.status_code == 200:
                    for line in response.iter_lines():
                        if self._stop.is_set():
                            return
                        self._items.put(line)
            finally:
                response.close()
            self._items.put(END)
        except Exception as exc:  # not swallowed: handed to the waiting thread, which raises it
            self._items.put(exc)


def _socket_of(response: httpx.Response) -> socket.socket | None:
    stream = response.extensions.get("network_stream")
    sock = stream.get_extra_info("socket") if stream is not None else None
    return sock if isinstance(sock, socket.socket) else None
