"""Benchmark: the in-process backend's KV cache across turns, on Qwen2.5-Coder-0.5B loaded from the embedded GGUF
through transformers. A JSON-protocol turn (system prompt with Luban's tools, a task), then the second turn (the
reply and a tool result appended): once with the first turn's cache kept (what the backend does) and once with the
cache dropped in between. Prints per turn the prompt tokens, cached tokens, prefill time and decode speed, and the
second turn's prefill speed-up; then the first turn in float32 and bfloat16 in turn, for the CPU dtype choice.

    .venv/bin/python bench/transformers_cache.py [--threads 2] [--repeats 2] [--no-bf16]
"""

from __future__ import annotations

import argparse
import copy
import statistics
import sys
import time
from pathlib import Path

import torch

from luban.config import load
from luban.models import catalog
from luban.models.checkpoint import Checkpoint, load_checkpoint
from luban.models.in_process import TransformersModel
from luban.models.protocol import JsonProtocol, TurnHints
from luban.tools import default_tools
from luban.types import Completion, Message, Request, ToolCall

TASK = "What does app.py print? Read it to find out."
RESULT = '1\tdef main():\n2\t    print("hello from app")\n3\t\n4\tmain()\n'
HINTS = TurnHints(files=("app.py", "README.md"), dirs=(".",), writable=("app.py",))


def turns() -> tuple[JsonProtocol, list, list[Message]]:
    protocol = JsonProtocol()
    specs = [tool.spec for tool in default_tools()]
    return protocol, specs, [Message("system", protocol.system_text(specs)), Message("user", TASK)]


def complete(model: TransformersModel, request: Request) -> tuple[Completion, float]:
    started = time.perf_counter()
    completion = [item for item in model.complete(request) if isinstance(item, Completion)][-1]
    return completion, time.perf_counter() - started


def show(label: str, completion: Completion, wall: float) -> None:
    u = completion.usage
    decode = 1000 * u.completion_tokens / u.decode_ms if u.decode_ms else 0.0
    print(f"{label:>34} {u.prompt_tokens:>7} {u.cached_tokens:>7} {u.prompt_ms:>10.0f} {u.completion_tokens:>6} "
          f"{decode:>8.1f} {wall:>7.1f}")
    sys.stdout.flush()


def second_turn(model: TransformersModel, keep_cache: bool) -> tuple[Completion, Completion, float]:
    """Both turns on `model`; the first turn's cache is kept or dropped before the second."""
    protocol, specs, history = turns()
    model.close()
    first, wall1 = complete(model, protocol.request(history, specs, 0.0, 48, HINTS))
    show("turn 1", first, wall1)
    history += [first.message, protocol.result(ToolCall("c", "read_file", {"path": "app.py"}), RESULT)]
    if not keep_cache:
        model.close()
    second, wall2 = complete(model, protocol.request(history, specs, 0.0, 48, HINTS))
    show(f"turn 2, cache {'kept' if keep_cache else 'dropped'}", second, wall2)
    return first, second, wall2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--no-bf16", action="store_true")
    parser.add_argument("--dtypes-only", action="store_true", help="only the float32/bfloat16 comparison")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    gguf = catalog.gguf_path(catalog.spec_for("qwen2.5-coder-0.5b"), Path(load({}).data_dir))
    started = time.perf_counter()
    checkpoint = load_checkpoint(gguf, dtype=torch.float32)
    print(f"torch {torch.__version__}, {args.threads} thread(s); loaded {checkpoint.name} on {checkpoint.device} in "
          f"{time.perf_counter() - started:.1f} s")
    model = TransformersModel(checkpoint)
    print(f"{'':>34} {'prompt':>7} {'cached':>7} {'prefill ms':>10} {'tokens':>6} {'decode/s':>8} {'wall s':>7}")
    kept, dropped = [], []
    for _ in range(0 if args.dtypes_only else args.repeats):
        kept.append(second_turn(model, True)[1].usage.prompt_ms)
        dropped.append(second_turn(model, False)[1].usage.prompt_ms)
    if kept:
        with_cache, without = statistics.median(kept), statistics.median(dropped)
        print(f"second turn prefill: {with_cache:.0f} ms with the cache kept, {without:.0f} ms without: "
              f"{without / with_cache:.1f}x")
    if not args.no_bf16:
        dtypes(checkpoint, args.repeats)


def dtypes(checkpoint: Checkpoint, repeats: int) -> None:
    """The first turn in float32 and in bfloat16, interleaved so that both see the same load on the machine."""
    bf16 = Checkpoint(copy.deepcopy(checkpoint.model).to(torch.bfloat16), checkpoint.tokenizer, checkpoint.name,
                      checkpoint.context_window, checkpoint.device)
    models = {"float32": TransformersModel(checkpoint), "bfloat16": TransformersModel(bf16)}
    protocol, specs, history = turns()
    figures: dict[str, list[tuple[float, float]]] = {name: [] for name in models}
    replies = {}
    for _ in range(repeats):
        for name, model in models.items():
            model.close()
            completion, wall = complete(model, protocol.request(history, specs, 0.0, 48, HINTS))
            show(f"turn 1, {name}", completion, wall)
            u = completion.usage
            figures[name].append((u.prompt_ms, 1000 * u.completion_tokens / u.decode_ms))
            replies[name] = completion.message.content
    for name, runs in figures.items():
        print(f"{name}: prefill {statistics.median(r[0] for r in runs):.0f} ms, decode "
              f"{statistics.median(r[1] for r in runs):.1f} tokens/s")
    print(f"same greedy reply in both: {replies['float32'] == replies['bfloat16']}")

if __name__ == "__main__":
    main()
