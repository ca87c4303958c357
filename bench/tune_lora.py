"""The tuning benchmark: does a LoRA trained on Luban's own work on some libraries help on other libraries?

1. `luban eval` the base model on the training tasks (say boltons, toolz, funcy);
2. `luban tune data` on the resolved runs, plus FIM and docstring samples from those libraries' code;
3. `luban tune train` a LoRA (time, tokens/s and peak memory come from its train.json);
4. `luban eval` the base model and the tuned one (the same GGUF with the adapter) on the test tasks, from
   libraries not used for training, and `luban eval compare --held-out` them side by side.

    .venv/bin/python bench/tune_lora.py --model qwen2.5-coder-0.5b --out /tmp/tune-bench \\
        --train-tasks 'boltons-*,toolz-*,funcy-*' --test-tasks 'cachetools-*,inflection-*' --tier easy

On 2 CPU cores with these defaults (6 training tasks, 4 held-out tasks run twice, 240 s a task at most, 8
optimizer steps of 2 windows of 1024 tokens at about 100 s a step): about 45-75 minutes, most of it the evals.

The servers are started here (llama.cpp through xllamacpp, as `luban --embedded-model NAME --adapter FILE`
starts them) and the eval runs talk to them with --base-url; every step is the `luban` command a user runs.
Each step's folder is kept under --out, so a second run skips what finished (eval runs resume).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

LUBAN = [sys.executable, "-m", "luban.ui.cli"]


def luban(*args: str, quiet: bool = False) -> str:
    started = time.monotonic()
    print("$ luban " + " ".join(args), file=sys.stderr, flush=True)
    run = subprocess.run([*LUBAN, *args], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL if quiet else None,
                         text=True)
    if run.returncode:
        sys.exit(f"bench: luban {args[0]} {args[1]} failed (exit {run.returncode})")
    print(f"  ({time.monotonic() - started:.0f} s)", file=sys.stderr, flush=True)
    return run.stdout


def serve(gguf: Path, context: int, jobs: int, log: Path, adapter: Path | None = None):
    from luban.models.embedded import EmbeddedServer

    return EmbeddedServer(gguf, "tuned" if adapter else "base", context, log, slots=jobs, adapter=adapter)


def evaluate(args, url: str, name: str, tasks: str, limit: int, run_dir: Path) -> None:
    flags = ["--base-url", url + "/v1", "--model", name, "--tool-protocol", "json", "--tasks", tasks,
             "--limit", str(limit), "--jobs", str(args.jobs), "--task-timeout", str(args.task_timeout),
             "--max-steps", str(args.max_steps), "--seed", str(args.seed), "--sandbox", args.sandbox]
    if args.tier:
        flags += ["--tier", args.tier]
    if (run_dir / "run.json").exists():
        flags += ["--resume", str(run_dir)]
    else:
        flags += ["--run-dir", str(run_dir)]
    luban("eval", args.suite, *flags)


def code_of(args, cache: Path) -> list[str]:
    """The code folders of the training tasks' libraries (bugfix: the pinned sdists; a folder suite: the task
    repositories), for the dataset's FIM and docstring samples. The test tasks must come from other libraries."""
    from luban.eval.evaluate import load_suite, select
    from luban.eval.records import library

    suite = load_suite(args.suite, cache).tasks
    tasks = select(suite, args.train_tasks, args.train_limit, args.seed, args.tier)
    tests = select(suite, args.test_tasks, args.test_limit, args.seed, args.tier)
    shared = {library(t.id) for t in tasks} & {library(t.id) for t in tests}
    if shared:
        sys.exit(f"bench: the training and test tasks share libraries ({', '.join(sorted(shared))}); the test "
                 "tasks must come from libraries not used for training.")
    folders = set()
    for task in tasks:
        pin = getattr(task.source, "pin", None)
        folders.add(str(pin.sdist.unpack(cache) / pin.package) if pin else str(task.source.repo))
    return sorted(folders)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="qwen2.5-coder-0.5b", help="an embedded model name or a GGUF file")
    p.add_argument("--out", required=True)
    p.add_argument("--suite", default="bugfix")
    p.add_argument("--train-tasks", required=True, help="globs of the training tasks, separated by commas")
    p.add_argument("--test-tasks", required=True, help="globs of the held-out tasks (other libraries)")
    p.add_argument("--train-limit", type=int, default=6)
    p.add_argument("--test-limit", type=int, default=4)
    p.add_argument("--tier")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--jobs", type=int, default=1)
    p.add_argument("--task-timeout", type=float, default=240)
    p.add_argument("--max-steps", type=int, default=20)
    p.add_argument("--context", type=int, default=16384)
    p.add_argument("--sandbox", default="auto")
    p.add_argument("--steps", type=int, default=8)
    p.add_argument("--max-length", type=int, default=1024)
    p.add_argument("--accumulate", type=int, default=2)
    args = p.parse_args()
    run(args)


def run(args) -> None:
    from luban.config import load
    from luban.tune.base import locate

    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    settings = load({})
    base = locate(args.model, Path(settings.data_dir))
    gguf = base.folder / base.gguf_file
    cache = Path(settings.data_dir) / "eval" / "cache"
    log = out / "server.log"
    code = [f for folder in code_of(args, cache) for f in ("--code", folder)]
    with serve(gguf, args.context, args.jobs, log) as server:
        evaluate(args, server.start(lambda *a: None), "base", args.train_tasks, args.train_limit, out / "train-run")
    if not (out / "ds" / "card.json").exists():
        luban("tune", "data", "--model", args.model, "--no-sessions", "--protocol", "json", "--eval-run",
              str(out / "train-run"), *code, "--out", str(out / "ds"))
    if not (out / "tuned" / "train.json").exists():
        luban("tune", "train", "--model", args.model, "--data", str(out / "ds"), "--out", str(out / "tuned"),
              "--steps", str(args.steps), "--max-length", str(args.max_length), "--accumulate", str(args.accumulate))
    for name, adapter in (("base", None), ("tuned", out / "tuned" / "adapter.gguf")):
        with serve(gguf, args.context, args.jobs, log, adapter) as server:
            evaluate(args, server.start(lambda *a: None), name, args.test_tasks, args.test_limit, out / f"{name}-run")
    report(out)


def report(out: Path) -> None:
    card = json.loads((out / "ds" / "card.json").read_text())
    trained = json.loads((out / "tuned" / "train.json").read_text())
    compared = luban("eval", "compare", str(out / "base-run"), str(out / "tuned-run"), "--held-out", str(out / "ds"),
                     quiet=True)
    kinds = ", ".join(f"{v['samples']} {kind}" for kind, v in card["by_kind"].items())
    text = "\n".join([
        f"# Tuning benchmark: {trained['base']}", "",
        f"Dataset: {card['samples']} samples ({kinds}), "
        f"{card['tokens']} tokens, {card['trained_tokens']} trained; from {len(card['eval_tasks'])} resolved "
        f"task(s) of {', '.join(card['libraries']) or 'no library'} and {len(card['files'])} code file(s).", "",
        "| training | value |", "|---|---|",
        f"| steps × windows | {trained['steps']} × {trained['config']['accumulate']} (≤{trained['config']['max_length']} "
        "tokens) |",
        f"| time | {trained['seconds']:.0f} s on {trained['device']} |",
        f"| tokens/s | {trained['tokens_per_s']:.0f} |",
        f"| peak memory | {trained['peak_memory_mb']:.0f} MiB |",
        f"| loss first → last | {trained['losses'][0]:.3f} → {trained['losses'][-1]:.3f} |", "",
        "## Base vs tuned on held-out tasks", "", compared])
    (out / "report.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
