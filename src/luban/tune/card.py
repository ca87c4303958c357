"""The dataset card as Markdown: what the dataset holds, where each part came from, and what was left out."""

from __future__ import annotations

from typing import Any

POLICY = """\
Assistant turns of a trajectory are trained on, masked or dropped:

- **dropped**, with the harness's reply to it: a rejected turn (a reply no protocol could read, one cut off by
  the length limit, calls that failed the schema check, an edit the harness refused to run). Nothing ran; the
  error text belongs to the protocol the turn was made in, and what follows reads as a fresh attempt without it.
- **masked** (kept as context, no loss): a turn with a repaired call (its text is the malformed form) or a
  rejected call beside calls that ran, and a refused finish (it claimed done while the tests failed; the
  refusal carries the test output that the next turns work from).
- **trained**: every other assistant turn, the final answer included. Only assistant tokens carry loss; the
  system prompt, the task and tool results are context."""


def markdown(card: dict[str, Any]) -> str:
    rows = [f"| {kind} | {v['samples']} | {v['tokens']} |" for kind, v in card["by_kind"].items()]
    lines = [
        "# Dataset card", "",
        f"Made {card['created']} for **{card['model']}**, tool calls in the **{card['protocol']}** protocol.", "",
        f"{card['samples']} samples, {card['tokens']} tokens, {card['trained_tokens']} of them trained on.", "",
        "| kind | samples | tokens |", "|---|---|---|", *rows, "",
        f"Fill-in-the-middle samples are written in {card['fim_format']}.", "",
        "## Where the samples came from", "",
        *_listed("Sessions", card["sessions"]), *_listed("Eval tasks", card["eval_tasks"]),
        *_listed("Libraries (of the eval tasks)", card["libraries"]), *_listed("Files", card["files"]),
        "Each line of dataset.jsonl names its own origin.", "",
        "## What was left out", "",
        *_counted("Transcripts passed over", card["skipped"]), *_counted("Samples left out", card["left_out"]),
        f"Turns dropped: {card['turns_dropped']}.", "",
        *_counted("Turns masked", card["turns_masked"]),
        "## Masking", "", POLICY, "",
    ]
    return "\n".join(lines)


def _listed(title: str, items: list[str]) -> list[str]:
    if not items:
        return []
    return [f"{title} ({len(items)}): " + ", ".join(items), ""]


def _counted(title: str, counts: dict[str, int]) -> list[str]:
    if not counts:
        return []
    return [f"{title}:", *(f"- {why}: {n}" for why, n in counts.items()), ""]
