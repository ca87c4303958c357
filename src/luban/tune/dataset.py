"""`luban tune data`: trajectories and code samples rendered for one model and protocol, written as
DIR/dataset.jsonl (one sample a line: its text, the character spans trained on, where it came from) and a
dataset card, DIR/card.md for people and DIR/card.json for `luban tune train` and `luban eval compare`."""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from ..errors import TuneError
from ..models.protocol import ToolProtocol, label
from .domain import CodeSample
from .render import Rendered, chats, rendered
from .trajectories import Found

DATASET, CARD_JSON, CARD_MD = "dataset.jsonl", "card.json", "card.md"
FIM_TOKENS = (("<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>"), ("<fim_prefix>", "<fim_suffix>", "<fim_middle>"))
FIM_END = "<|endoftext|>"


@dataclass
class Tally:
    samples: list[dict[str, Any]] = field(default_factory=list)
    left_out: Counter = field(default_factory=Counter)  # samples not written, by reason

    def add(self, kind: str, origin: dict[str, Any], text: Rendered | None, secret: Callable[[str], bool],
            count: Callable[[Rendered], tuple[int, int]]) -> None:
        if text is None:
            self.left_out[f"{kind}: the chat template does not keep earlier turns as a prefix"] += 1
        elif secret(text.text):
            self.left_out[f"{kind}: held a secret"] += 1
        else:
            tokens, trained = count(text)
            self.samples.append({"id": len(self.samples), "kind": kind, "origin": origin, "text": text.text,
                                 "train": [list(s) for s in text.spans], "tokens": tokens,
                                 "trained_tokens": trained})


def build(out: Path, tokenizer: Any, protocol: ToolProtocol, found: Found, code: Iterable[CodeSample],
          model_name: str, secret: Callable[[str], bool]) -> dict[str, Any]:
    """Render, count and write everything; returns the card. `secret` says whether a text holds one."""
    tally = Tally()
    count = lambda r: token_counts(tokenizer, r)  # noqa: E731
    for trajectory in found.trajectories:
        messages, trained = chats(trajectory, protocol)
        specs = trajectory.specs if protocol.name == "native" else ()
        tally.add("trajectory", trajectory.origin, rendered(tokenizer, messages, trained, specs), secret, count)
    fim = _fim_tokens(tokenizer)
    for sample in code:
        text = _fim(sample, fim, tokenizer) if sample.kind == "fim" else _docstring(sample, tokenizer)
        tally.add(sample.kind, sample.origin, text, secret, count)
    if not tally.samples:
        raise TuneError(f"No training samples: {_nothing_found(found, tally)}")
    card = _card(tally, found, model_name, label(protocol), fim)
    _write(out, tally.samples, card)
    return card


def token_counts(tokenizer: Any, text: Rendered) -> tuple[int, int]:
    ids, mask = labelled(tokenizer, text.text, text.spans)
    return len(ids), sum(mask)


def labelled(tokenizer: Any, text: str, spans: Iterable[Iterable[int]]) -> tuple[list[int], list[bool]]:
    """Token ids of `text` and, per token, whether it lies in a trained span (by its character offsets)."""
    encoded = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    spans = [tuple(s) for s in spans]
    mask = [any(a < end and start < b for a, b in spans) for start, end in encoded["offset_mapping"]]
    return list(encoded["input_ids"]), mask


def _fim_tokens(tokenizer: Any) -> tuple[str, str, str] | None:
    vocab = tokenizer.get_vocab()
    return next((t for t in FIM_TOKENS if all(x in vocab for x in t)), None)


def _fim(sample: CodeSample, fim: tuple[str, str, str] | None, tokenizer: Any) -> Rendered:
    """In the model's own FIM tokens where it has them (Qwen2.5-Coder, StarCoder); else as a chat turn."""
    if fim is None:
        ask = (f"Fill in the lines missing at <FILL> in {sample.origin['file']}; answer with those lines only.\n"
               f"```\n{sample.before}<FILL>{sample.after}```")
        return _chat_turn(tokenizer, ask, sample.middle)
    prefix, suffix, middle = fim
    end = FIM_END if FIM_END in tokenizer.get_vocab() else tokenizer.eos_token
    head = f"{prefix}{sample.before}{suffix}{sample.after}{middle}"
    return Rendered(head + sample.middle + end, ((len(head), len(head) + len(sample.middle) + len(end)),))


def _docstring(sample: CodeSample, tokenizer: Any) -> Rendered | None:
    ask = (f"Write this {sample.language} function from {sample.origin['file']}, its body included; answer "
           f"with the whole function in one code block.\n```{sample.language}\n{sample.before}\n```")
    return _chat_turn(tokenizer, ask, f"```{sample.language}\n{sample.middle.rstrip()}\n```")


def _chat_turn(tokenizer: Any, ask: str, answer: str) -> Rendered | None:
    messages = [{"role": "user", "content": ask}, {"role": "assistant", "content": answer}]
    return rendered(tokenizer, messages, [1])


def _nothing_found(found: Found, tally: Tally) -> str:
    reasons = [f"{n} {why}" for why, n in (found.skipped + tally.left_out).most_common()]
    return ("no trajectory qualified and no code sample was made" +
            (f" ({'; '.join(reasons)})" if reasons else "") +
            "; run Luban with a test command (--test-cmd) until some tasks finish done, or add --code DIR.")


def _card(tally: Tally, found: Found, model_name: str, protocol: str, fim: tuple | None) -> dict[str, Any]:
    samples = tally.samples
    kinds = Counter(s["kind"] for s in samples)
    origins = [s["origin"] for s in samples]
    masked = sum((t.masked for t in found.trajectories), Counter())
    return {
        "model": model_name, "protocol": protocol, "created": time.strftime("%Y-%m-%d %H:%M:%S"),
        "samples": len(samples), "tokens": sum(s["tokens"] for s in samples),
        "trained_tokens": sum(s["trained_tokens"] for s in samples),
        "by_kind": {k: {"samples": n, "tokens": sum(s["tokens"] for s in samples if s["kind"] == k)}
                    for k, n in sorted(kinds.items())},
        "fim_format": "the model's FIM tokens" if fim else "a chat turn (the tokenizer has no FIM tokens)",
        "sessions": sorted({o["id"] for o in origins if o.get("kind") == "session"}),
        "eval_tasks": sorted({o["task"] for o in origins if o.get("kind") == "eval"}),
        "libraries": sorted({o["library"] for o in origins if o.get("kind") == "eval"}),
        "files": sorted({f"{o['repo']}/{o['file']}" for o in origins if "file" in o}),
        "skipped": dict(found.skipped.most_common()), "left_out": dict(tally.left_out.most_common()),
        "turns_dropped": sum(t.dropped for t in found.trajectories), "turns_masked": dict(masked),
    }


def _write(out: Path, samples: list[dict[str, Any]], card: dict[str, Any]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    partial = out / (DATASET + ".partial")
    with partial.open("w", encoding="utf-8") as f:
        for sample in samples:
            f.write(json.dumps(sample, ensure_ascii=False) + "\n")
        f.flush()
        os.fsync(f.fileno())
    partial.replace(out / DATASET)
    (out / CARD_JSON).write_text(json.dumps(card, indent=1, ensure_ascii=False) + "\n")
    from .card import markdown

    (out / CARD_MD).write_text(markdown(card))
