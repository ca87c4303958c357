"""Where prompt tokens miss llama.cpp's cache, request by request, from the transcripts of a `luban eval` run.

    python bench/cache_steps.py /work/bench/bf-40

The eval report gives one cached share per scaffold, over every request. A run's first request can never be
cached (nothing before it shares its prompt), and a run that ends at step 0 consists of little else, so that
share mixes two things: how short the runs were, and how often a later request lost the prefix an earlier one
had built. This prints them apart, per scaffold: the first requests, the later ones, and the later requests that
found less than half their prompt in the cache ("misses"), with the tokens those cost.
"""

from __future__ import annotations

import json
import statistics
import sys
from dataclasses import dataclass, field
from pathlib import Path

MISS_SHARE = 0.5  # a later request with less than this share of its prompt cached lost the prefix
MISS_MIN_TOKENS = 500  # shorter prompts are side requests whose misses cost a few seconds at most


@dataclass
class Tally:
    runs: int = 0
    first: list[tuple[int, int]] = field(default_factory=list)  # (prompt, cached) of each run's first request
    later: list[tuple[int, int]] = field(default_factory=list)
    misses: list[tuple[str, int, int, int]] = field(default_factory=list)  # (task, request number, prompt, cached)


def requests(transcript: Path) -> list[tuple[int, int]]:
    """(prompt tokens, cached tokens) of each model request in a transcript, in order."""
    found = []
    for line in transcript.read_text().splitlines():
        event = json.loads(line)
        if event.get("type") == "ModelReplied":
            usage = event["usage"]
            found.append((usage["prompt_tokens"], usage["cached_tokens"]))
    return found


def tally(run_dir: Path) -> dict[str, Tally]:
    tallies: dict[str, Tally] = {}
    for transcript in sorted((run_dir / "transcripts").glob("*.jsonl")):
        if transcript.name.endswith(".session.jsonl"):
            continue
        task, scaffold = transcript.name.removesuffix(".jsonl").rsplit(".", 1)
        asked = requests(transcript)
        if not asked:
            continue
        t = tallies.setdefault(scaffold, Tally())
        t.runs += 1
        t.first.append(asked[0])
        t.later.extend(asked[1:])
        t.misses.extend((task, n, p, c) for n, (p, c) in enumerate(asked[1:], 2)
                        if p >= MISS_MIN_TOKENS and c < MISS_SHARE * p)
    return tallies


def share(pairs: list[tuple[int, int]]) -> str:
    prompt = sum(p for p, _ in pairs)
    return f"{sum(c for _, c in pairs):,} of {prompt:,} ({100 * sum(c for _, c in pairs) / prompt:.0f} %)" \
        if prompt else "-"


def main(run_dir: Path) -> None:
    print("| scaffold | runs | all requests cached | first requests cached | later requests cached "
          "| median later request cached | misses (tokens evaluated) |")
    print("|---|---|---|---|---|---|---|")
    tallies = tally(run_dir)
    for scaffold, t in tallies.items():
        per = [c / p for p, c in t.later if p]
        median = f"{100 * statistics.median(per):.0f} %" if per else "-"
        lost = sum(p - c for _, _, p, c in t.misses)
        print(f"| {scaffold} | {t.runs} | {share(t.first + t.later)} | {share(t.first)} | {share(t.later)} "
              f"| {median} | {len(t.misses)} of {len(t.later)} ({lost:,}) |")
    for scaffold, t in tallies.items():
        for task, n, prompt, cached in t.misses:
            print(f"miss: {task} {scaffold} request {n}: {cached:,} of {prompt:,} cached")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
