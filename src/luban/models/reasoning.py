"""Reasoning that a model wrote into its answer text: split it off, whole (`split_reasoning`) or as it streams
(`ThinkTagSplitter`), for the formats named in profiles.toml. Pure functions and one small state machine, no I/O."""

from __future__ import annotations

import re

from dataclasses import replace

from ..types import Message, ReasoningDelta, TextDelta

OPEN = "<think>"
CLOSE = "</think>"


def split_reasoning(text: str, fmt: str) -> tuple[str, str]:
    """Return (answer, reasoning) for a finished reply written in the reasoning format `fmt`.

    think_tags: `<think>…</think>` blocks are reasoning; a `</think>` with no `<think>` before it means the chat
    template opened the block, so everything before it is reasoning; an unclosed `<think>` runs to the end. Text
    without tags comes back unchanged. harmony: the analysis channel is reasoning; final and commentary are the
    answer, and a message addressed to a tool (`to=…`) stays verbatim for the tool-call parser. Other formats
    (none, reasoning_content, where the server already split it) come back unchanged.
    """
    if fmt == "think_tags":
        return _split_think_tags(text)
    if fmt == "harmony":
        return _split_harmony(text)
    return text, ""


class ThinkTagSplitter:
    """Routes streamed text into TextDelta and ReasoningDelta at `<think>`/`</think>`, which may arrive in pieces.

    Tags never reach either side: a possible partial tag at the end of a delta is held back until the next delta
    shows whether it is one. Use `opened=True` when the chat template already wrote `<think>` into the prompt, so
    the reply starts inside the reasoning. A stray `</think>` in answer text, or `<think>` inside reasoning, is
    dropped. The pieces are for showing progress; split the finished text with `split_reasoning`.
    """

    def __init__(self, opened: bool = False) -> None:
        self._thinking = opened
        self._pending = ""

    def feed(self, delta: str) -> list[TextDelta | ReasoningDelta]:
        out: list[TextDelta | ReasoningDelta] = []
        buffer = self._pending + delta
        while True:
            at, tag = _first_tag(buffer)
            if tag is None:
                break
            self._emit(out, buffer[:at])
            self._thinking = tag == OPEN
            buffer = buffer[at + len(tag) :]
        held = _partial_tag_length(buffer)
        self._emit(out, buffer[: len(buffer) - held])
        self._pending = buffer[len(buffer) - held :]
        return out

    def close(self) -> list[TextDelta | ReasoningDelta]:
        """Flush what was held back: at the end of the stream it cannot be the start of a tag."""
        out: list[TextDelta | ReasoningDelta] = []
        self._emit(out, self._pending)
        self._pending = ""
        return out

    def _emit(self, out: list[TextDelta | ReasoningDelta], text: str) -> None:
        if not text:
            return
        kind = ReasoningDelta if self._thinking else TextDelta
        if out and isinstance(out[-1], kind):
            out[-1] = kind(out[-1].text + text)
        else:
            out.append(kind(text))


def _first_tag(text: str) -> tuple[int, str | None]:
    found = [(at, tag) for tag in (OPEN, CLOSE) if (at := text.find(tag)) >= 0]
    return min(found) if found else (-1, None)


def _partial_tag_length(text: str) -> int:
    """Length of the longest end of `text` that is the start of a tag but not a whole one."""
    start = text.rfind("<")
    if start < 0:
        return 0
    tail = text[start:]
    return len(tail) if any(tag.startswith(tail) and tag != tail for tag in (OPEN, CLOSE)) else 0


def _split_think_tags(text: str) -> tuple[str, str]:
    if OPEN not in text and CLOSE not in text:
        return text, ""
    close_at, open_at = text.find(CLOSE), text.find(OPEN)
    splitter = ThinkTagSplitter(opened=close_at >= 0 and (open_at < 0 or close_at < open_at))
    pieces = splitter.feed(text) + splitter.close()
    answer = "".join(piece.text for piece in pieces if isinstance(piece, TextDelta))
    blocks = [piece.text.strip() for piece in pieces if isinstance(piece, ReasoningDelta)]
    return answer.strip(), "\n\n".join(block for block in blocks if block)


# One harmony message: optional `<|start|>role…`, `<|channel|>header`, `<|message|>body`, then an end token, the
# next message, or the end of the text (a reply cut off mid-message).
_HARMONY = re.compile(
    r"(?:<\|start\|>(?P<role>[^<]*))?<\|channel\|>(?P<header>.*?)<\|message\|>(?P<body>.*?)"
    r"(?:<\|end\|>|<\|return\|>|<\|call\|>|(?=<\|start\|>)|(?=<\|channel\|>)|\Z)",
    re.DOTALL,
)


def _split_harmony(text: str) -> tuple[str, str]:
    if "<|channel|>" not in text:
        return text, ""
    answer: list[str] = []
    reasoning: list[str] = []
    done = 0
    for message in _HARMONY.finditer(text):
        answer.append(text[done : message.start()])
        done = message.end()
        header = (message["role"] or "") + " " + message["header"]
        channel = message["header"].split(" ", 1)[0].strip()
        if " to=" in header:
            answer.append(message.group(0))  # a tool call: the tool-call parser reads it whole
        elif channel == "analysis":
            reasoning.append(message["body"])
        else:
            answer.append(message["body"])
    answer.append(text[done:])
    return _join(answer), _join(reasoning)


def _join(parts: list[str]) -> str:
    return "\n\n".join(part.strip() for part in parts if part.strip())


def reasoning_apart(message: Message, fmt: str) -> Message:
    """Reasoning written into the text (<think>, harmony) goes to its own channel, never into an edit."""
    answer, reasoning = split_reasoning(message.content, fmt)
    if not reasoning:
        return message
    both = "\n\n".join(r for r in (message.reasoning, reasoning) if r)
    return replace(message, content=answer, reasoning=both)


