"""The frozen head of the system prompt (rules and tool instructions) kept on disk as llama.cpp's KV state, so a
new session on the embedded model starts with it already computed.

Why: every session's first request was uncached, and its head (740 tokens for the JSON protocol) cost most of the
12.7-15.0 s of prefill of the agent's first request on the 1.5B on two cores (he-42), in every `luban -p` and in
every run of a `--fresh-server` eval. The head is the same for every session with the same tools, so it is
computed once, saved with llama.cpp's slot save (`--slot-save-path`), and restored into a slot right before each
later session's first request that starts with it (OpenAICompatModel.keep_head). Restoring the same bytes each
time also keeps runs reproducible: every session starts from the same cache state.

Only a server Luban starts has a save folder; a user's server is left alone.
"""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

# Ends the head inside the rendered template; a NUL cannot occur in the prompt's own text.
END_OF_HEAD = "\x00luban-end-of-head\x00"
IDLE_WAIT_S = 2.0
KEEP_FILES = 8  # heads per model: one per tool set and protocol in use; about 28 MB each for the 1.5B

Post = Callable[[str, Mapping[str, Any]], Any]  # POST a JSON body to a path of the server; its JSON, or None


@dataclass(frozen=True)
class Head:
    """A head restored into a slot: its file, its tokens, and whether this session had to compute it."""

    name: str
    tokens: int
    computed: bool


def keep_head(post: Post, get: Callable[[str], Any], folder: Path, body: Mapping[str, Any]) -> Head | None:
    """Restore the head of `body` (a chat request whose only message is the system head) into an idle slot,
    computing and saving it first if no session has; None where the server cannot (no template endpoint, no idle
    slot, a refused save or restore): the session then starts as it would have without."""
    text = head_text(post, body)
    slot = idle_slot(get) if text is not None else None
    if text is None or slot is None:
        return None
    name = f"head-{hashlib.sha256(text.encode()).hexdigest()[:24]}.bin"
    computed = not (folder / name).is_file()
    if computed and not _save(post, folder, name, text, slot):
        return None
    restored = post(f"/slots/{slot}?action=restore", {"filename": name})
    if not isinstance(restored, Mapping) or not isinstance(restored.get("n_restored"), int):
        return None
    try:
        os.utime(folder / name)  # the least recently used heads are the ones pruned
    except OSError:
        pass  # pruned by another session meanwhile: restored all the same
    return Head(name, restored["n_restored"], computed)


def head_text(post: Post, body: Mapping[str, Any]) -> str | None:
    """The prompt text the server's chat template renders before the first token after the head: the system
    message is marked where the head ends, and a user message follows so the template renders a whole turn."""
    messages = [dict(m) for m in body["messages"]]
    messages[0]["content"] += END_OF_HEAD
    shaped = {k: v for k, v in body.items() if k in ("model", "tools")}
    rendered = post("/apply-template", {**shaped, "messages": [*messages, {"role": "user", "content": "."}]})
    prompt = rendered.get("prompt") if isinstance(rendered, Mapping) else None
    if not isinstance(prompt, str) or END_OF_HEAD not in prompt:
        return None
    return prompt[: prompt.index(END_OF_HEAD)]


def idle_slot(get: Callable[[str], Any], patience_s: float = IDLE_WAIT_S) -> int | None:
    """The first slot not serving a request (another eval job may hold the others), waiting `patience_s` for one.

    Why wait: a reply Luban stopped mid-stream (a loop, models/repetition.py) is cancelled by the server a moment
    after the connection closes, and the next request comes at once: in he-47 the slot was still busy then."""
    deadline = time.monotonic() + patience_s
    while True:
        slots = get("/slots")
        if not isinstance(slots, list):
            return None
        idle = [s.get("id") for s in slots if isinstance(s, Mapping) and not s.get("is_processing")]
        found = next((i for i in idle if isinstance(i, int)), None)
        if found is not None or time.monotonic() >= deadline:
            return found
        time.sleep(0.05)


def _save(post: Post, folder: Path, name: str, text: str, slot: int) -> bool:
    """Compute the head in `slot` and save it as `name`: under a name of this process first, so a session of
    another process never restores half a file."""
    done = post("/completion", {"prompt": text, "n_predict": 0, "cache_prompt": True, "id_slot": slot})
    part = f"{name}.{os.getpid()}.part"
    saved = post(f"/slots/{slot}?action=save", {"filename": part})
    if not isinstance(done, Mapping) or not isinstance(saved, Mapping) or not (folder / part).is_file():
        return False
    os.replace(folder / part, folder / name)
    _prune(folder)
    return True


def _prune(folder: Path) -> None:
    heads = sorted(folder.glob("head-*.bin"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in heads[KEEP_FILES:]:
        old.unlink(missing_ok=True)
