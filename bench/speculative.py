"""Draftless speculative decoding on the embedded model: decode speed and whether greedy replies stay the same.

    python bench/speculative.py [--model qwen2.5-coder-1.5b] [--configs "ngram-simple,size_n=4,size_m=16;..."]

A focused rewrite (harness/rewrites.py) spends most of its time decoding a function the prompt already holds, with
a few tokens changed: what llama.cpp's n-gram speculation drafts from (its --spec-type; no draft model). Each
configuration gets a fresh server with the same requests: rewrites of real standard-library functions with one
comparison flipped, at temperature 0, as Luban asks for them. For each, it prints the decoding time, tokens per
second, and whether every reply is token for token the one without speculation (greedy verification keeps it so).
Run it alone: another busy process on the cores changes every figure.
"""

from __future__ import annotations

import argparse
import hashlib
import inspect
import statistics
import tempfile
import textwrap
from pathlib import Path

from luban import config
from luban.harness.gate import TestRun
from luban.harness.rewrites import Target, request
from luban.models import catalog
from luban.models.embedded import EmbeddedServer
from luban.models.openai_compat import OpenAICompatModel, ServerConfig
from luban.types import Completion

CONFIGS = ("", "ngram-simple", "ngram-simple,size_n=4,size_m=16", "ngram-mod,size_n=8,draft_min=4,draft_max=16")
FUNCTIONS = ("base64.b64decode", "json.decoder.py_scanstring", "heapq.nsmallest")


def bugged(qualified: str) -> Target:
    """The function's source with its first `<` or `==` flipped, as a rewrite target."""
    module_name, _, name = qualified.partition(".")
    module = __import__(module_name)
    owner = module
    for part in name.split("."):
        owner = getattr(owner, part)
    source = textwrap.dedent(inspect.getsource(owner))
    for old, new in ((" < ", " >= "), (" == ", " != ")):
        if old in source:
            source = source.replace(old, new, 1)
            break
    path = Path(inspect.getsourcefile(owner)).name
    return Target(path, name.rsplit(".", 1)[-1], source)


def replies(base_url: str, alias: str) -> list[Completion]:
    model = OpenAICompatModel(ServerConfig(base_url, alias))
    failing = TestRun(False, "", shown="1 failed: AssertionError: the result differs from the documented one")
    done = []
    for qualified in FUNCTIONS:
        ask = request(bugged(qualified), failing, 0.0, 1024)
        done += [item for item in model.complete(ask) if isinstance(item, Completion)]
    return done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="qwen2.5-coder-1.5b")
    parser.add_argument("--configs", default=";".join(CONFIGS), help="';'-separated SPECULATIVE values")
    args = parser.parse_args()
    settings = config.load({})
    spec = catalog.spec_for(args.model)
    gguf = catalog.assemble(spec, Path(settings.data_dir), lambda *_: None)
    baseline: list[str] = []
    print("| speculative | decode s | tokens | tokens/s (median) | same replies |")
    print("|---|---|---|---|---|")
    for speculative in args.configs.split(";"):
        with tempfile.TemporaryDirectory() as tmp, \
                EmbeddedServer(gguf, spec.name, 8192, Path(tmp) / "server.log", speculative=speculative) as server:
            done = replies(server.start(lambda *_: None), spec.name)
        digests = [hashlib.sha256(c.message.content.encode()).hexdigest() for c in done]
        baseline = baseline or digests
        decode = sum(c.usage.decode_ms for c in done) / 1000
        tokens = sum(c.usage.completion_tokens for c in done)
        rate = statistics.median(c.usage.completion_tokens / max(c.usage.decode_ms / 1000, 1e-9) for c in done)
        same = sum(a == b for a, b in zip(digests, baseline))
        print(f"| {speculative or 'none'} | {decode:.1f} | {tokens} | {rate:.1f} | {same}/{len(done)} |")


if __name__ == "__main__":
    main()
