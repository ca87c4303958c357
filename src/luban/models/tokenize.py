"""Counting tokens with the server's own tokenizer: `POST /tokenize` on llama.cpp and vLLM, which want
different bodies; the one that works is remembered, and a server with neither is not asked again."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import httpx

Probe = Callable[[str, str, object], Any]  # (method, path, body) -> JSON, or None when the server lacks it


def _llama_cpp(text: str, model: str) -> dict[str, Any]:
    return {"content": text, "add_special": False}


def _vllm(text: str, model: str) -> dict[str, Any]:
    return {"prompt": text, "model": model, "add_special_tokens": False}


SHAPES = (_llama_cpp, _vllm)


@dataclass
class ServerTokenizer:
    probe: Probe
    model: Callable[[], str]  # the served model's name, asked only when a body needs it
    shape: Callable[[str, str], dict[str, Any]] | None = None  # the body that worked
    missing: bool = False

    def count(self, text: str) -> int | None:
        """Tokens in `text`, or None where the server cannot say."""
        if self.missing:
            return None
        for shape in [self.shape] if self.shape else SHAPES:
            try:
                answer = self.probe("POST", "/tokenize", shape(text, self.model() if shape is _vllm else ""))
            except httpx.TransportError:
                return None
            tokens = answer.get("tokens") if isinstance(answer, dict) else None
            if isinstance(tokens, list):
                self.shape = shape
                return len(tokens)
        self.missing = True
        return None
