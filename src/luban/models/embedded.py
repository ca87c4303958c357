"""The embedded default model: llama.cpp's own server (xllamacpp) on 127.0.0.1, started and stopped by Luban.

It runs in a child process rather than in ours: xllamacpp's Server has no stop call, and a child can be
stopped cleanly, cannot take the agent down if it crashes, and dies with us (it watches its parent).
"""

from __future__ import annotations

import hashlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

import httpx

from ..errors import ModelUnavailable

LOAD_TIMEOUT_S = 600.0
# Draftless speculative decoding (llama_server.py's SPECULATIVE): llama.cpp drafts the next tokens from an earlier
# place where the last 12 tokens occurred, the prompt included, and checks the draft in one batch. A focused rewrite
# copies most of the function its prompt holds, and decoding was three quarters of a bugfix run's model time.
# Measured (bench/speculative.py, the 1.5B, 2 cores): three rewrites decoded at 27.2 tokens/s instead of 12.8, 46 s
# instead of 99 s for the same 1,267 tokens; two of the three replies the same token for token (a batch's arithmetic
# can break a near-tie differently). Its shorter drafts (n 4, m 16) and ngram-mod did less well (22.2, 18.3).
SPECULATIVE = "ngram-simple"
# llama.cpp's own words when a LoRA adapter cannot be applied (llama-adapter.cpp).
ADAPTER_FAILED = re.compile(r"failed to apply lora adapter: (.+)")


def weights_key(gguf: Path, adapter: Path | None) -> str:
    """A folder name for what the server computes with, the model file and the adapter if any: a saved KV state
    is only valid for the weights that computed it."""
    key = f"{gguf.stem}-{gguf.stat().st_size}"
    if adapter:
        seen = adapter.stat()
        digest = hashlib.sha256(f"{adapter.resolve()}:{seen.st_size}:{seen.st_mtime_ns}".encode()).hexdigest()[:12]
        key += f"+{digest}"
    return key


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class EmbeddedServer:
    """Context manager around the llama.cpp server child; `base_url` is set once it answers /health."""

    def __init__(self, gguf: Path, alias: str, context: int, log_path: Path, threads: int | None = None,
                 slots: int = 1, adapter: Path | None = None, heads: Path | None = None,
                 speculative: str = SPECULATIVE):
        self.gguf, self.alias, self.context, self.log_path, self.slots = gguf, alias, context, log_path, slots
        self.speculative = speculative  # llama_server.py's SPECULATIVE
        self.adapter = adapter  # a GGUF LoRA adapter applied to every request
        self.heads = heads  # where the server saves prompt heads (head_cache.py); see weights_key
        self.threads = threads or os.cpu_count() or 2
        self.process: subprocess.Popen | None = None
        self.base_url = ""

    def start(self, progress: Callable[[str, float], None]) -> str:
        port = free_port()
        argv = [sys.executable, "-m", "luban.models.llama_server", str(self.gguf), self.alias, str(port),
                str(self.context), str(self.threads), str(os.getpid()), str(self.slots)]
        if self.heads:
            self.heads.mkdir(parents=True, exist_ok=True)
        argv += [str(self.heads or ""), self.speculative]
        if self.adapter:
            argv.append(str(self.adapter))
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log_start = self.log_path.stat().st_size if self.log_path.exists() else 0
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        self.base_url = f"http://127.0.0.1:{port}"
        self._wait_ready(progress)
        return self.base_url

    def _wait_ready(self, progress: Callable[[str, float], None]) -> None:
        started = time.monotonic()
        while time.monotonic() - started < LOAD_TIMEOUT_S:
            if self.process.poll() is not None:
                raise ModelUnavailable(self._refused_adapter() or f"The embedded model server exited while loading "
                                       f"(code {self.process.returncode}); its log is {self.log_path}.")
            try:
                if httpx.get(self.base_url + "/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            progress(f"loading {self.alias} ({time.monotonic() - started:.0f} s)", -1.0)
            time.sleep(0.25)
        self.stop()
        raise ModelUnavailable(f"The embedded model did not load within {LOAD_TIMEOUT_S:.0f} s; see {self.log_path}.")

    def _refused_adapter(self) -> str | None:
        """Why llama.cpp would not load the adapter, from this start's part of the log (it names the first
        tensor that does not fit: another base model's adapter)."""
        if not self.adapter:
            return None
        with self.log_path.open("rb") as log:
            log.seek(self._log_start)
            found = ADAPTER_FAILED.search(log.read().decode("utf-8", "replace"))
        if not found:
            return None
        return (f"The adapter {self.adapter} does not fit the model {self.alias} (llama.cpp: {found.group(1).strip()}); "
                "use an adapter trained on this base model.")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def __enter__(self) -> EmbeddedServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
