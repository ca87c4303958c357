"""How fast `luban tune train` trains, on this machine's CPU or GPU: a random Qwen2 of a given shape (the tiny
test model, or the dimensions of Qwen2.5-0.5B / 1.5B) trained for a few steps with luban's own loop on a
dataset `luban tune data` cut from Luban's own source. Prints one row: device, parameters, seconds per
optimizer step, tokens per second, peak memory, and the loss of the first and last step.

    .venv/bin/python bench/tune_throughput.py --shape 0.5b --steps 4 --max-length 1024 --accumulate 8

Random weights train as fast as real ones, so the figures say what a real tuning run costs here (the loss
does not: it says only that the loop learns). CUDA_VISIBLE_DEVICES= forces the CPU on a GPU machine.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

SHAPES = {  # hidden, intermediate, layers, heads, kv heads, vocabulary
    "tiny": (256, 512, 4, 4, 2, 0),
    "0.5b": (896, 4864, 24, 14, 2, 151936),
    "1.5b": (1536, 8960, 28, 12, 2, 151936),
}


def model_folder(folder: Path, shape: str) -> Path:
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM
    from tune import tiny

    hidden, intermediate, layers, heads, kv, vocab = SHAPES[shape]
    tok = tiny.tokenizer()
    config = Qwen2Config(vocab_size=vocab or len(tok), hidden_size=hidden, intermediate_size=intermediate,
                         num_hidden_layers=layers, num_attention_heads=heads, num_key_value_heads=kv,
                         max_position_embeddings=4096, tie_word_embeddings=True)
    torch.manual_seed(0)
    Qwen2ForCausalLM(config).save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


def dataset(folder: Path, model: Path, limit: int) -> Path:
    from luban.models.protocol import JsonProtocol
    from luban.tune.dataset import build
    from luban.tune.domain import code_samples
    from luban.tune.trajectories import Found
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(model))
    samples = list(code_samples(ROOT / "src" / "luban"))[:limit]
    build(folder, tokenizer, JsonProtocol(), Found(), samples, model.name, lambda text: False)
    return folder


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--shape", choices=SHAPES, default="tiny")
    p.add_argument("--steps", type=int, default=4)
    p.add_argument("--max-length", type=int, default=1024)
    p.add_argument("--accumulate", type=int, default=8)
    p.add_argument("--data", help="a dataset folder made for a model folder named `model` (default: made here)")
    p.add_argument("--samples", type=int, default=200)
    args = p.parse_args()
    from luban.tune.base import locate
    from luban.tune.train import TrainConfig, train

    work = Path(tempfile.mkdtemp(prefix="luban-tune-speed-"))
    model = model_folder(work / "model", args.shape)
    data = Path(args.data) if args.data else dataset(work / "ds", model, args.samples)
    config = TrainConfig(max_length=args.max_length, accumulate=args.accumulate, steps=args.steps,
                         save_every=args.steps)
    s = train(locate(str(model), work), data, work / "out", config, lambda line: print(line, file=sys.stderr))
    print("| shape | device | s/step | tokens/s | peak MiB | loss first → last |\n|---|---|---|---|---|---|")
    print(f"| {args.shape} | {s.device} | {s.seconds / s.steps:.2f} | {s.tokens_per_s:.0f} | {s.peak_memory_mb:.0f} | "
          f"{s.losses[0]:.3f} → {s.losses[-1]:.3f} |")
    print(f"({args.steps} steps × {args.accumulate} windows of ≤{args.max_length} tokens, LoRA r=8; adapter "
          f"{(work / 'out' / 'adapter.gguf').stat().st_size / 2**20:.1f} MiB GGUF)")


if __name__ == "__main__":
    main()
