"""`luban tune`: build a training set from Luban's own work and the repository's code (data), and train a LoRA
adapter on it (train). The heavy parts (torch, transformers, peft) load only here, on demand."""

from __future__ import annotations

import argparse
import json
import random
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any, TextIO

from ..config import Settings, environment
from ..errors import ConfigError

ACTIONS = ("data", "train")
MAX_CODE_SAMPLES = 2_000


def arguments(p: argparse.ArgumentParser) -> None:
    p.description = ("Tune a model on your work: `tune data` builds a dataset from finished sessions, resolved eval "
                     "runs and the repository's code; `tune train` trains a LoRA adapter on it (see docs/tuning.md).")
    p.add_argument("action", choices=ACTIONS)
    p.add_argument("--model", dest="base_model", help="the base model: an embedded model name, a GGUF file or a Hugging Face folder "
                   "(default: the embedded model)")
    p.add_argument("--out", required=True, help="data: the dataset folder to write; train: the adapter folder")
    g = p.add_argument_group("tune data")
    g.add_argument("--protocol", choices=("auto", "native", "text", "json"), default=None,
                   help="the tool protocol the tuned model will be served with (default: as luban would choose)")
    g.add_argument("--no-sessions", action="store_true", help="leave out the sessions in the data dir")
    g.add_argument("--eval-run", action="append", default=[], metavar="RUN_DIR",
                   help="add the resolved tasks of an eval run (repeatable)")
    g.add_argument("--code", action="append", default=None, metavar="DIR",
                   help="cut FIM and docstring samples from this repository (repeatable; default: --cwd)")
    g.add_argument("--no-code", action="store_true", help="no samples from code")
    g.add_argument("--max-code-samples", type=int, default=MAX_CODE_SAMPLES)
    g.add_argument("--cwd", help="the repository (default: the current directory)")
    t = p.add_argument_group("tune train")
    t.add_argument("--data", help="the dataset folder from tune data")
    from ..tune.train import TrainConfig

    for name, value in asdict(TrainConfig()).items():
        t.add_argument("--" + name.replace("_", "-"), type=type(value), default=value)


def tune_command(settings: Settings, args: Any, out: TextIO, err: TextIO) -> int:
    from ..tune.base import locate

    if args.action == "train" and not args.data:
        raise ConfigError("luban tune train needs --data DIR, a dataset from luban tune data.")
    base = locate(args.base_model or settings.embedded_model, Path(settings.data_dir))
    if args.action == "data":
        return _data(settings, args, base, out, err)
    from ..tune.train import TrainConfig, train

    config = TrainConfig(**{k: getattr(args, k) for k in asdict(TrainConfig())})
    outdir = Path(args.out)
    summary = train(base, Path(args.data), outdir, config, lambda line: (err.write(line + "\n"), err.flush()))
    (outdir / "train.json").write_text(json.dumps({"base": base.name, "config": asdict(config),
                                                   **asdict(summary)}, indent=1) + "\n")
    gguf = outdir / "adapter.gguf"
    out.write(f"Trained {summary.steps} steps on {summary.windows} windows in {summary.seconds:.0f} s "
              f"({summary.tokens_per_s:.0f} tokens/s, peak {summary.peak_memory_mb:.0f} MiB); adapter: "
              f"{outdir / 'adapter'}" + (f", {gguf}" if gguf.exists() else "") + ".\n")
    from ..models.catalog import CATALOG

    if gguf.exists() and base.name in CATALOG:
        out.write(f"Run it: luban --embedded-model {base.name} --adapter {gguf}\n")
    return 0


def _data(settings: Settings, args: Any, base, out: TextIO, err: TextIO) -> int:
    from ..harness import harness_for
    from ..models.profiles import load_profiles, match_profile
    from ..safety.redact import Redactor
    from .runtime import sessions_dir
    from ..tune import base as bases
    from ..tune.dataset import build
    from ..tune.domain import code_samples
    from ..tune.trajectories import Found, from_eval_run, from_sessions

    found = Found()
    if not args.no_sessions and sessions_dir(settings).is_dir():
        from_sessions(sessions_dir(settings), found)
    for run in args.eval_run:
        from_eval_run(Path(run), found)
    roots = [] if args.no_code else [Path(d) for d in (args.code or [settings.cwd])]
    code = [s for root in roots for s in code_samples(root.resolve())]
    random.Random(0).shuffle(code)
    err.write(f"tune data: {len(found.trajectories)} trajectories, {len(code)} code samples; rendering for "
              f"{base.name}\n")
    profile = match_profile(load_profiles(settings.profiles), base.name)
    chosen = replace(settings, tool_protocol=args.protocol or settings.tool_protocol, base_url=None)
    protocol = harness_for(chosen, profile).protocol
    redactor = Redactor.from_environ(environment())
    card = build(Path(args.out), bases.tokenizer(base), protocol, found, code[:args.max_code_samples], base.name,
                 lambda text: redactor(text) != text)
    kinds = ", ".join(f"{v['samples']} {k}" for k, v in card["by_kind"].items())
    out.write(f"{card['samples']} samples ({kinds}), {card['tokens']} tokens ({card['trained_tokens']} trained) → "
              f"{Path(args.out) / 'dataset.jsonl'}; card: {Path(args.out) / 'card.md'}\n")
    return 0
