"""Benchmark: the bundled example task with the embedded model, run N times per harness configuration.

Prints, per run and per configuration: fixed or not (by running the example's tests ourselves), steps,
wall time split into model time and harness time, prompt tokens evaluated vs served from the KV cache,
and prefill / decode speed from the server's own timings.

    .venv/bin/python bench/example_task.py --runs 5 --configs luban,native,text,plain

`luban-SETTING` is Luban's defaults with one boolean aid off, for an ablation:
`--configs luban,luban-regression_guard,luban-test_digests,luban-localize_faults`.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from dataclasses import dataclass, replace
from pathlib import Path

from luban.agent import loop
from luban.config import load
from luban.ui.demo import EXAMPLE, TASK, TEST_COMMAND, prepare, run_tests
from luban.harness import harness_for, offered_tools
from luban.context.engine import session_prefix
from luban.ui.runtime import open_model, profile_for
from luban.session import Transcript
from luban.types import CallStats, ModelReplied, Usage
from luban.ui.headless import drive
from luban.workspace import Workspace

CONFIGS = {
    # A plain tool loop: native function calling (text calls parsed), no test gate, no guards.
    "plain": dict(tool_protocol="native", test_command="", read_before_write=False),
    # Luban's defaults for the embedded model: constrained JSON turns and every harness aid.
    "luban": dict(tool_protocol="json", test_command=TEST_COMMAND, read_before_write=True),
    # Luban's defaults without focused rewrites among the candidate edits (rewrite.py).
    "norewrite": dict(tool_protocol="json", test_command=TEST_COMMAND, read_before_write=True, focused_rewrites=False),
    # Luban's defaults with one aid off: no candidate edits (so no focused rewrites either), no read-before-write.
    "nosample": dict(tool_protocol="json", test_command=TEST_COMMAND, read_before_write=True, edit_samples=1),
    "noread": dict(tool_protocol="json", test_command=TEST_COMMAND, read_before_write=False),
    # The same with up to 8 sampled edits per edit step instead of 4 (sampling stops at the first that passes).
    "samples8": dict(tool_protocol="json", test_command=TEST_COMMAND, read_before_write=True, edit_samples=8),
    # The same aids with the other two ways of speaking tools, to compare protocols side by side.
    "native": dict(tool_protocol="native", test_command=TEST_COMMAND, read_before_write=True),
    "text": dict(tool_protocol="text", test_command=TEST_COMMAND, read_before_write=True),
}


def config(name: str) -> dict:
    """A named configuration, or `luban-SETTING`: Luban's defaults with that boolean setting off."""
    if name in CONFIGS:
        return CONFIGS[name]
    aid = name.removeprefix("luban-")
    if aid == name or not isinstance(getattr(load({}), aid, None), bool):
        sys.exit(f"bench: no configuration {name!r}; one of {', '.join(CONFIGS)} or luban-SETTING (a boolean).")
    return {**CONFIGS["luban"], aid: False}


@dataclass
class Run:
    fixed: bool
    status: str
    steps: int
    wall_s: float
    model_s: float
    usage: Usage
    calls: CallStats
    requests: tuple[Usage, ...] = ()  # per model request, in order


def one_run(settings, model, profile, transcripts: Path | None) -> Run:
    root = prepare(None)
    settings = replace(settings, cwd=str(root))
    ws = Workspace.open(root)
    harness = harness_for(settings, profile)
    tools = offered_tools(settings, TASK)
    history = [session_prefix(ws, model, settings.max_reply_tokens, harness.protocol, [t.spec for t in tools])]
    replies: list[ModelReplied] = []
    transcript = Transcript.create(transcripts, root, model.info.name) if transcripts else None
    if transcript:
        transcript.append_message(history[0])
    events = loop.run(TASK, model=model, tools=tools, ws=ws, settings=settings, history=history, harness=harness,
                      transcript=transcript)
    outcome = drive(events, lambda e: replies.append(e) if isinstance(e, ModelReplied) else None)
    if transcript:
        transcript.close()
    fixed, _ = run_tests(root)
    return Run(fixed, outcome.status, outcome.steps, outcome.wall_s, outcome.model_s, outcome.usage, outcome.calls,
               tuple(r.usage for r in replies))


def report(name: str, runs: list[Run]) -> None:
    print(f"\n== {name}: fixed {sum(r.fixed for r in runs)}/{len(runs)}")
    print(f"{'run':>3} {'fixed':>5} {'status':>9} {'steps':>5} {'wall s':>7} {'model s':>7} {'harness s':>9} "
          f"{'prompt':>7} {'cached':>7} {'evald':>6} {'prefill t/s':>11} {'decode t/s':>10} {'calls v/r/x':>11}")
    for i, r in enumerate(runs, 1):
        u = r.usage
        prefill = u.evaluated_tokens / (u.prompt_ms / 1000) if u.prompt_ms else 0
        decode = u.completion_tokens / (u.decode_ms / 1000) if u.decode_ms else 0
        print(f"{i:>3} {str(r.fixed):>5} {r.status:>9} {r.steps:>5} {r.wall_s:>7.1f} {r.model_s:>7.1f} "
              f"{r.wall_s - r.model_s:>9.1f} {u.prompt_tokens:>7} {u.cached_tokens:>7} {u.evaluated_tokens:>6} "
              f"{prefill:>11.1f} {decode:>10.1f} {f'{r.calls.valid}/{r.calls.repaired}/{r.calls.rejected}':>11}")
    total = sum((r.usage for r in runs), Usage())
    calls = [sum(getattr(r.calls, k) for r in runs) for k in ("valid", "repaired", "rejected")]
    print(f"tool calls valid / repaired / rejected: {calls[0]} / {calls[1]} / {calls[2]}")
    print(f"median wall {statistics.median(r.wall_s for r in runs):.1f} s, median steps "
          f"{statistics.median(r.steps for r in runs)}, prompt tokens from cache "
          f"{100 * total.cached_tokens / max(total.prompt_tokens, 1):.1f}%")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--configs", default="plain,luban")
    parser.add_argument("--embedded-model", default="qwen2.5-coder-1.5b")
    parser.add_argument("--max-wall-s", type=float, default=300.0, help="wall-clock cap per run")
    parser.add_argument("--transcripts", type=Path, help="keep each run's transcript (JSON lines) in this folder")
    args = parser.parse_args()
    base = replace(load({"embedded_model": args.embedded_model}), permission_mode="full-auto", max_steps=25,
                   max_wall_s=args.max_wall_s)
    print(f"example: {EXAMPLE.name}, model: {args.embedded_model}, runs per config: {args.runs}")
    with open_model(base, lambda stage, fraction: None) as model:
        for name in args.configs.split(","):
            settings = replace(base, **config(name))
            profile = profile_for(model, base)
            kept = args.transcripts / name if args.transcripts else None
            report(name, [one_run(settings, model, profile, kept) for _ in range(args.runs)])
    return 0


if __name__ == "__main__":
    sys.exit(main())
