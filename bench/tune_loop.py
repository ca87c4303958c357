"""Which training loop `luban tune train` uses: its plain torch loop over peft, or TRL's SFTTrainer, on the same
windows of the same dataset, the same LoRA and the same optimizer settings. Prints seconds per step, tokens
per second, peak memory and the loss over the last steps for each (each in its own process, so that peak
memory is its own).

    .venv/bin/pip install trl            # only this bench needs it
    .venv/bin/python bench/tune_loop.py [--steps 20] [--hidden 256] [--layers 4]

The model is a random Qwen2 built offline (tests/tune/tiny.py) and the dataset the FIM and docstring samples
`luban tune data` cuts from Luban's own source, so the figures compare loops, not models.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))


def prepare(work: Path, hidden: int, layers: int) -> None:
    from luban.models.protocol import JsonProtocol
    from luban.tune.dataset import build
    from luban.tune.domain import code_samples
    from luban.tune.trajectories import Found
    from transformers import AutoTokenizer
    from tune import tiny

    tiny.model_folder(work / "model", hidden=hidden, layers=layers)
    tokenizer = AutoTokenizer.from_pretrained(str(work / "model"))
    samples = list(code_samples(ROOT / "src" / "luban"))[:400]
    build(work / "ds", tokenizer, JsonProtocol(), Found(), samples, "model", lambda text: False)


def plain(work: Path, steps: int) -> dict:
    from luban.tune.base import locate
    from luban.tune.train import TrainConfig, train

    config = TrainConfig(max_length=256, accumulate=4, steps=steps, save_every=steps, lr=1e-3)
    summary = train(locate(str(work / "model"), work), work / "ds", work / "plain", config, lambda line: None)
    return {"seconds": summary.seconds, "tokens": summary.tokens, "losses": list(summary.losses)}


def trl(work: Path, steps: int) -> dict:
    from datasets import Dataset
    from luban.tune.base import locate, model, tokenizer
    from luban.tune.dataset import labelled
    from luban.tune.train import TARGETS
    from luban.tune.windows import windows
    from peft import LoraConfig
    from trl import SFTConfig, SFTTrainer

    base = locate(str(work / "model"), work)
    tok = tokenizer(base)
    rows = [json.loads(line) for line in (work / "ds" / "dataset.jsonl").read_text().splitlines()]
    cut = [w for r in rows for w in windows(*labelled(tok, r["text"], r["train"]), 256)]
    data = Dataset.from_list([{"input_ids": list(w.ids), "completion_mask": [int(t) for t in w.trained]}
                              for w in cut])
    args = SFTConfig(output_dir=str(work / "trl"), max_steps=steps, per_device_train_batch_size=1,
                     gradient_accumulation_steps=4, learning_rate=1e-3, lr_scheduler_type="linear",
                     warmup_steps=max(1, steps // 10), logging_steps=1, save_strategy="no", report_to=[],
                     use_cpu=True, completion_only_loss=True, max_length=256, seed=0, bf16=False)
    trainer = SFTTrainer(model=model(base, "cpu"), args=args, train_dataset=data, processing_class=tok,
                         peft_config=LoraConfig(r=8, lora_alpha=16, lora_dropout=0.05, target_modules=list(TARGETS),
                                                task_type="CAUSAL_LM"))
    started = time.monotonic()
    trainer.train()
    seconds = time.monotonic() - started
    losses = [e["loss"] for e in trainer.state.log_history if "loss" in e]
    return {"seconds": round(seconds, 2), "tokens": sum(len(w.ids) for w in cut[:steps * 4]), "losses": losses}


def child(variant: str, work: Path, steps: int) -> None:
    result = {"plain": plain, "trl": trl}[variant](work, steps)
    result["peak_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    print(json.dumps(result))


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--variant", choices=("plain", "trl"))
    p.add_argument("--work")
    args = p.parse_args()
    if args.variant:
        return child(args.variant, Path(args.work), args.steps)
    work = Path(tempfile.mkdtemp(prefix="luban-tune-loop-"))
    prepare(work, args.hidden, args.layers)
    card = json.loads((work / "ds" / "card.json").read_text())
    print(f"dataset: {card['samples']} samples, {card['tokens']} tokens; model: random Qwen2, hidden {args.hidden}, "
          f"{args.layers} layers; {args.steps} steps × 4 windows of ≤256 tokens, LoRA r=8 on CPU\n")
    print("| loop | s/step | tokens/s | peak MiB | mean loss, last 5 steps |\n|---|---|---|---|---|")
    for variant in ("plain", "trl"):
        run = subprocess.run([sys.executable, __file__, "--variant", variant, "--work", str(work), "--steps",
                              str(args.steps)], capture_output=True, text=True)
        if run.returncode:
            print(f"| {variant} | failed: {run.stderr.strip().splitlines()[-1]} |")
            continue
        r = json.loads(run.stdout.strip().splitlines()[-1])
        tail = r["losses"][-5:]
        print(f"| {variant} | {r['seconds'] / args.steps:.2f} | {r['tokens'] / r['seconds']:.0f} | {r['peak_mb']:.0f} | "
              f"{sum(tail) / len(tail):.3f} |")


if __name__ == "__main__":
    main()
