"""Check of the in-process backend on a GPU machine: the model loads on CUDA in bfloat16, JSON turns stay valid
under the grammar with the mask applied on the GPU, the second turn reuses the KV cache, and how fast it decodes.
Uses the embedded 0.5B GGUF when --gguf names it, else a tiny random Qwen2 built here (no download either way).
Exits 1 when the model did not land on CUDA or a reply that ended is not a valid turn.

    python bench/transformers_device.py [--gguf PATH]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import jsonschema
import torch

from luban.models.checkpoint import load_checkpoint
from luban.models.in_process import TransformersModel
from luban.models.protocol import JsonProtocol, TurnHints
from luban.tools import default_tools
from luban.types import Completion, Message, ToolCall

HINTS = TurnHints(files=("app.py", "README.md"), dirs=(".",), writable=("app.py",))


def turn(model: TransformersModel, history: list[Message], temperature: float) -> tuple[Completion, bool]:
    protocol, specs = JsonProtocol(), [tool.spec for tool in default_tools()]
    request = protocol.request(history, specs, temperature, 200, HINTS)
    completion = [item for item in model.complete(request) if isinstance(item, Completion)][-1]
    if completion.finish_reason != "stop":
        return completion, True  # cut off by the token limit: not a verdict on the grammar
    try:
        jsonschema.validate(json.loads(completion.message.content), request.response_format["json_schema"]["schema"])
    except (ValueError, jsonschema.ValidationError):
        return completion, False
    return completion, True


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gguf", type=Path)
    args = parser.parse_args()
    print(f"torch {torch.__version__}; CUDA: {torch.cuda.is_available()} "
          f"{torch.cuda.get_device_name(0) if torch.cuda.is_available() else ''}")
    path = args.gguf
    if path is None:
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "models"))
        from conftest import build_tiny_model  # the tests' tiny model: a tokenizer trained here, random weights

        path = build_tiny_model(Path(tempfile.mkdtemp()) / "tiny-qwen2")
    started = time.perf_counter()
    checkpoint = load_checkpoint(path)
    print(f"loaded {checkpoint.name} on {checkpoint.device} as {checkpoint.model.dtype} in "
          f"{time.perf_counter() - started:.1f} s")
    model, protocol = TransformersModel(checkpoint), JsonProtocol()
    specs = [tool.spec for tool in default_tools()]
    history = [Message("system", protocol.system_text(specs)), Message("user", "What does app.py print?")]
    valid = []
    for seed in range(1 if args.gguf else 6):  # a random model needs sampling to end its strings
        torch.manual_seed(seed)
        first, ok = turn(model, history, 0.0 if args.gguf else 1.0)
        valid.append(ok)
        u = first.usage
        print(f"turn 1 seed {seed}: {first.finish_reason}, valid={ok}, {u.prompt_tokens} prompt tokens "
              f"({u.cached_tokens} cached) in {u.prompt_ms:.0f} ms, {u.completion_tokens} tokens at "
              f"{1000 * u.completion_tokens / max(u.decode_ms, 1e-9):.1f}/s: {first.message.content[:120]!r}")
    history += [first.message, protocol.result(ToolCall("c", "read_file", {"path": "app.py"}), "1\tprint('hi')\n")]
    second, ok = turn(model, history, 0.0 if args.gguf else 1.0)
    valid.append(ok)
    print(f"turn 2: {second.usage.cached_tokens} of {second.usage.prompt_tokens} prompt tokens cached, prefill "
          f"{second.usage.prompt_ms:.0f} ms, valid={ok}")
    on_gpu = checkpoint.device.startswith("cuda") and next(checkpoint.model.parameters()).is_cuda
    print("OK" if on_gpu and all(valid) else "FAILED")
    return 0 if on_gpu and all(valid) else 1


if __name__ == "__main__":
    sys.exit(main())
