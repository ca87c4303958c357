"""For the terminal tests: a scripted OpenAI-compatible server (SSE replies from a list, in a thread) and a
tmux pane running `luban` against it, read back with capture-pane."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

STALL = "stall"  # a reply that never comes: the server holds the request open until released
WIDTH, HEIGHT = 80, 30
TMUX = shutil.which("tmux")


def text(content: str) -> dict[str, Any]:
    return {"content": content}


def call(name: str, say: str = "", **arguments: Any) -> dict[str, Any]:
    reply: dict[str, Any] = {"tool_calls": [{"index": 0, "id": f"call_{name}", "type": "function",
                                             "function": {"name": name, "arguments": json.dumps(arguments)}}]}
    return {"content": say, **reply} if say else reply


class ScriptedServer:
    """Serves /v1/models and streams the scripted replies to /v1/chat/completions, one per request. `requests`
    logs every request as "METHOD PATH", `bodies` the chat requests' bodies."""

    def __init__(self, replies: list[dict[str, Any] | str]) -> None:
        self.replies, self.bodies, self.requests = list(replies), [], []
        self.release = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                server.requests.append(f"GET {self.path}")
                if self.path == "/v1/models":
                    self._json({"data": [{"id": "scripted-coder", "max_model_len": 16384}]})
                else:
                    self._json({}, 404)

            def do_POST(self) -> None:
                server.requests.append(f"POST {self.path}")
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if self.path != "/v1/chat/completions":
                    self._json({}, 404)
                    return
                server.bodies.append(body)
                reply = server.replies.pop(0) if server.replies else text("(the script has ended)")
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                if reply == STALL:
                    server.release.wait(120)
                    return
                for chunk in _chunks(reply):
                    self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                    self.wfile.flush()
                self.wfile.write(b"data: [DONE]\n\n")

            def _json(self, data: Any, status: int = 200) -> None:
                payload = json.dumps(data).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def close(self) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


def _chunks(reply: dict[str, Any]) -> list[dict[str, Any]]:
    """The reply as the server streams it: content a few words per delta, then the finish with fixed usage."""
    deltas: list[dict[str, Any]] = []
    if "content" in reply:
        words = re.findall(r"\S+\s*|\s+", reply["content"])
        deltas = [{"content": "".join(words[i:i + 3])} for i in range(0, len(words), 3)]
    if "tool_calls" in reply:
        deltas.append({"tool_calls": reply["tool_calls"]})
    if "reasoning_content" in reply:  # the reasoning channel, before the answer
        deltas.insert(0, {"reasoning_content": reply["reasoning_content"]})
    chunks = [{"choices": [{"index": 0, "delta": d, "finish_reason": None}]} for d in deltas]
    finish = "tool_calls" if "tool_calls" in reply else "stop"
    chunks.append({"choices": [{"index": 0, "delta": {}, "finish_reason": finish}],
                   "usage": {"prompt_tokens": 2000, "completion_tokens": 50},
                   "timings": {"cache_n": 1500, "prompt_n": 500, "predicted_ms": 2000.0}})
    return chunks


class Pane:
    """`luban` in a detached tmux session of a fixed size."""

    def __init__(self, name: str, command: str, env: dict[str, str], cwd: Path) -> None:
        self.name = name
        exports = " ".join(f"{k}={_quote(v)}" for k, v in env.items())
        subprocess.run([TMUX, "new-session", "-d", "-s", name, "-x", str(WIDTH), "-y", str(HEIGHT), "-c", str(cwd),
                        f"env {exports} {command}; echo '[exited]'; sleep 600"], check=True)

    def keys(self, *keys: str) -> None:
        subprocess.run([TMUX, "send-keys", "-t", self.name, *keys], check=True)

    def type(self, line: str) -> None:
        subprocess.run([TMUX, "send-keys", "-t", self.name, "-l", line], check=True)

    def screen(self, history: bool = False) -> str:
        """The visible screen; with `history`, everything since the pane started."""
        start = ["-S", "-"] if history else []
        out = subprocess.run([TMUX, "capture-pane", "-p", *start, "-t", self.name], check=True, capture_output=True,
                             text=True)
        return out.stdout

    def wait_for(self, needle: str, timeout: float = 60.0, count: int = 1) -> str:
        """The whole pane once `needle` is on it `count` times; fails with the screen as it is when time runs out."""
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen(history=True)
            if screen.count(needle) >= count:
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(f"{needle!r} did not appear within {timeout:.0f} s; the screen:\n{screen}")
            time.sleep(0.2)

    def close(self) -> None:
        subprocess.run([TMUX, "kill-session", "-t", self.name], check=False, capture_output=True)


def _quote(value: str) -> str:
    return "'" + value.replace("'", "'\\''") + "'"
