"""Benchmark: how much of each prompt the server serves from its KV cache, Luban's tiered prompt against the
same agent with a timestamp at the top of its system prompt (what agents that rewrite their system prompt every
turn do), on the bundled example task with the embedded model, runs interleaved in one process.

Prints every request's prompt tokens, cached tokens and cache share, then per variant the overall share, the
median wall time and wall time per step, and the ratio of the two per-step times.

    .venv/bin/python bench/context_cache.py --runs 3
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import dataclass, replace
from typing import Iterator

from example_task import CONFIGS, Run, one_run

from luban.config import load
from luban.models import Model
from luban.ui.runtime import open_model, profile_for
from luban.types import Completion, Message, ReasoningDelta, Request, TextDelta, Usage


@dataclass
class Timestamped:
    """The model, sent a system prompt that starts with the current time: the prefix changes every request."""

    model: Model

    @property
    def info(self):
        return self.model.info

    def complete(self, request: Request) -> Iterator[TextDelta | ReasoningDelta | Completion]:
        system, *rest = request.messages
        stamp = time.strftime("Current date and time: %Y-%m-%d %H:%M:%S\n\n")
        return self.model.complete(replace(request, messages=(Message("system", stamp + system.content), *rest)))


def show(variant: str, number: int, run: Run) -> None:
    print(f"\n{variant} run {number}: fixed={run.fixed} status={run.status} steps={run.steps} wall={run.wall_s:.1f} s")
    print(f"{'req':>4} {'prompt':>7} {'cached':>7} {'share':>6} {'prefill ms':>10}")
    for i, u in enumerate(run.requests, 1):
        print(f"{i:>4} {u.prompt_tokens:>7} {u.cached_tokens:>7} {100 * u.cache_share:>5.1f}% {u.prompt_ms:>10.0f}")
    print(f"run share {100 * run.usage.cache_share:.1f}%")


def summary(variant: str, runs: list[Run]) -> float:
    total = sum((r.usage for r in runs), Usage())
    wall = statistics.median(r.wall_s for r in runs)
    per_step = statistics.median(r.wall_s / max(r.steps, 1) for r in runs)
    evaluated = statistics.median(r.usage.evaluated_tokens for r in runs)
    print(f"{variant:>12}: cache share {100 * total.cache_share:5.1f}% over {total.requests} requests; median wall "
          f"{wall:6.1f} s, per step {per_step:5.1f} s; median prompt tokens evaluated {evaluated:.0f}; stops "
          f"{', '.join(r.status for r in runs)}; fixed {sum(r.fixed for r in runs)}/{len(runs)}")
    return per_step


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--embedded-model", default="qwen2.5-coder-1.5b")
    parser.add_argument("--max-steps", type=int, default=12)
    args = parser.parse_args()
    base = replace(load({"embedded_model": args.embedded_model}), permission_mode="full-auto",
                   max_steps=args.max_steps, max_wall_s=600, **CONFIGS["luban"])
    runs: dict[str, list[Run]] = {"tiered": [], "timestamped": []}
    with open_model(base, lambda stage, fraction: None) as model:
        profile = profile_for(model, base)
        variants = {"tiered": model, "timestamped": Timestamped(model)}
        for number in range(1, args.runs + 1):
            order = list(variants) if number % 2 else list(variants)[::-1]  # neither always goes first
            for variant in order:
                run = one_run(base, variants[variant], profile)
                runs[variant].append(run)
                show(variant, number, run)
    print(f"\nexample task, {args.embedded_model}, {args.runs} runs per variant, max {args.max_steps} steps")
    tiered, stamped = summary("tiered", runs["tiered"]), summary("timestamped", runs["timestamped"])
    # Per step, because a run that re-evaluates its whole prompt every request may hit the time cap first.
    print(f"median wall time per step, timestamped / tiered: {stamped / tiered:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
