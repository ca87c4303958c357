"""Benchmark: which grammar library constrains the in-process backend's JSON turns: llguidance, xgrammar or
lm-format-enforcer, each as the GrammarEngine of TransformersModel (the real decode path), on Luban's own per-turn
schema (protocol.turn_format over the default tools, with file hints).

Two models, both with Qwen2.5's real 151,936-token vocabulary (read from the embedded 0.5B GGUF), since the mask
cost grows with the vocabulary:
- tiny: a randomly initialised 2-layer Qwen2, sampled at temperature 1 with N seeds: a model that would write
  anything, so every reply that ends must parse and validate against the schema (correctness);
- 0.5B: Qwen2.5-Coder-0.5B-Instruct through transformers' GGUF loading, greedy, on a few tasks (overhead where
  it matters, and whether a real model's calls come out valid).

Prints per library: tokenizer set-up time, schema compile time per turn, mask+accept time per token (mean, p95),
decode tokens/s with and without the grammar, and valid/stopped/cut-off counts.

    .venv/bin/python bench/grammar_libs.py [--seeds 8] [--tiny-only] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Mapping, Sequence

import jsonschema
import torch

from luban.config import load
from luban.models import catalog
from luban.models.checkpoint import Checkpoint, load_checkpoint
from luban.models.grammar import Grammar, GrammarEngine, LLGuidanceEngine
from luban.models.in_process import TransformersModel
from luban.models.protocol import JsonProtocol, TurnHints
from luban.tools import default_tools
from luban.types import Completion, Message

TASKS = ("Read app.py and tell me what it does.", "List the files in the project.",
         "The test in tests/test_app.py fails; find out why.")
HINTS = TurnHints(files=("app.py", "README.md", "tests/test_app.py"), dirs=(".", "tests"),
                  writable=("app.py", "README.md"))


class XGrammarEngine:
    def __init__(self, tokenizer: Any, vocab_size: int, stop: Sequence[int]) -> None:
        import xgrammar

        info = xgrammar.TokenizerInfo.from_huggingface(tokenizer, vocab_size=vocab_size, stop_token_ids=list(stop))
        self._compiler, self._vocab_size = xgrammar.GrammarCompiler(info), vocab_size

    def json_schema(self, schema: Mapping[str, Any]) -> Grammar:
        import xgrammar

        compiled = self._compiler.compile_json_schema(json.dumps(schema), any_whitespace=False,
                                                      separators=(", ", ": "))
        return XGrammarGrammar(xgrammar.GrammarMatcher(compiled), self._vocab_size)


class XGrammarGrammar:
    def __init__(self, matcher: Any, vocab_size: int) -> None:
        import xgrammar

        self._matcher, self._bitmask = matcher, xgrammar.allocate_token_bitmask(1, vocab_size)

    def mask(self, logits: Any) -> None:
        import xgrammar

        self._matcher.fill_next_token_bitmask(self._bitmask)
        xgrammar.apply_token_bitmask_inplace(logits.view(1, -1), self._bitmask)

    def accept(self, token: int) -> None:
        assert self._matcher.accept_token(token), f"xgrammar refused token {token}"


class FormatEnforcerEngine:
    """lm-format-enforcer through its TokenEnforcer: its transformers integration (0.11.3) does not import under
    transformers 5 (it imports PreTrainedTokenizerBase from transformers.tokenization_utils), so the tokenizer
    data is built here the way that integration builds it."""

    def __init__(self, tokenizer: Any, vocab_size: int, stop: Sequence[int]) -> None:
        from lmformatenforcer import TokenEnforcerTokenizerData

        zero = tokenizer.encode("0", add_special_tokens=False)[-1]
        special = set(tokenizer.all_special_ids)
        regular = []
        for token in range(len(tokenizer)):
            if token not in special:
                after_zero = tokenizer.decode([zero, token])[1:]
                regular.append((token, after_zero, len(after_zero) > len(tokenizer.decode([token]))))
        self._data = TokenEnforcerTokenizerData(regular, lambda ids: tokenizer.decode(ids).rstrip("\ufffd"),
                                                list(stop), False, vocab_size)

    def json_schema(self, schema: Mapping[str, Any]) -> Grammar:
        from lmformatenforcer import JsonSchemaParser, TokenEnforcer

        return FormatEnforcerGrammar(TokenEnforcer(self._data, JsonSchemaParser(dict(schema))))


class FormatEnforcerGrammar:
    def __init__(self, enforcer: Any) -> None:
        self._enforcer, self._ids = enforcer, []

    def mask(self, logits: Any) -> None:
        allowed = self._enforcer.get_allowed_tokens(self._ids).allowed_tokens
        keep = torch.full_like(logits, float("-inf"))
        keep[allowed] = 0.0
        logits.add_(keep)

    def accept(self, token: int) -> None:
        self._ids.append(token)


ENGINES = {"llguidance": LLGuidanceEngine, "xgrammar": XGrammarEngine, "lm-format-enforcer": FormatEnforcerEngine}


class Timed:
    """An engine whose compile, mask and accept calls are timed."""

    def __init__(self, engine: GrammarEngine) -> None:
        self.engine, self.compile_s, self.step_s = engine, [], []

    def json_schema(self, schema: Mapping[str, Any]) -> Grammar:
        started = time.perf_counter()
        grammar = self.engine.json_schema(schema)
        self.compile_s.append(time.perf_counter() - started)
        return TimedGrammar(grammar, self.step_s)


class TimedGrammar:
    def __init__(self, grammar: Grammar, steps: list[float]) -> None:
        self.grammar, self.steps = grammar, steps

    def mask(self, logits: Any) -> None:
        started = time.perf_counter()
        self.grammar.mask(logits)
        self.steps.append(time.perf_counter() - started)

    def accept(self, token: int) -> None:
        started = time.perf_counter()
        self.grammar.accept(token)
        self.steps[-1] += time.perf_counter() - started


def qwen_tokenizer(cache: Path) -> Any:
    """The 0.5B GGUF's tokenizer, saved as a folder after the first (slow) read."""
    from transformers import AutoTokenizer

    if not (cache / "tokenizer.json").exists():
        gguf = embedded_gguf()
        AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name).save_pretrained(cache)
    return AutoTokenizer.from_pretrained(cache)


def embedded_gguf() -> Path:
    spec = catalog.spec_for("qwen2.5-coder-0.5b")
    return catalog.gguf_path(spec, Path(load({}).data_dir))


def tiny_checkpoint(tokenizer: Any) -> Checkpoint:
    from transformers import Qwen2Config, Qwen2ForCausalLM

    torch.manual_seed(0)
    config = Qwen2Config(vocab_size=151936, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=32768,
                         tie_word_embeddings=True, eos_token_id=tokenizer.eos_token_id)
    model = Qwen2ForCausalLM(config).eval()
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    return Checkpoint(model, tokenizer, "tiny-random-qwen2", 32768, "cpu")


def one_turn(model: TransformersModel, task: str, temperature: float, max_tokens: int, constrained: bool
             ) -> tuple[Completion, dict]:
    specs = [tool.spec for tool in default_tools()]
    protocol = JsonProtocol()
    request = protocol.request([Message("system", protocol.system_text(specs)), Message("user", task)], specs,
                               temperature, max_tokens, HINTS)
    schema = request.response_format["json_schema"]["schema"]
    request = request if constrained else replace(request, response_format=None)  # the baseline: no grammar
    completion = [item for item in model.complete(request) if isinstance(item, Completion)][-1]
    return completion, schema


class Checker:
    """Judges a reply with a grammar other than the one that produced it: xgrammar (any whitespace) for
    llguidance's and lm-format-enforcer's replies, llguidance for xgrammar's. A reply that stopped must be
    complete and valid by jsonschema too; one cut off by the token limit must be a valid prefix."""

    def __init__(self, tokenizer: Any, vocab_size: int, stop: Sequence[int]) -> None:
        import llguidance.hf
        import xgrammar

        info = xgrammar.TokenizerInfo.from_huggingface(tokenizer, vocab_size=vocab_size, stop_token_ids=list(stop))
        self._xgrammar = xgrammar.GrammarCompiler(info)
        self._llguidance = llguidance.hf.from_tokenizer(tokenizer, n_vocab=vocab_size, eos_token=list(stop))

    def accepts(self, made_by: str, schema: Mapping[str, Any], text: str) -> tuple[bool, bool]:
        """(is a valid prefix, is complete) by the other library."""
        import llguidance
        import xgrammar

        if made_by == "xgrammar":
            matcher = llguidance.LLMatcher(self._llguidance, llguidance.LLMatcher.grammar_from_json_schema(
                json.dumps(schema)), log_level=0)
            ids = self._llguidance.tokenize_str(text)
            return matcher.validate_tokens(ids) == len(ids), matcher.consume_tokens(ids) and matcher.is_accepting()
        matcher = xgrammar.GrammarMatcher(self._xgrammar.compile_json_schema(json.dumps(schema), any_whitespace=True))
        return matcher.accept_string(text), matcher.is_completed()


def verdict(checker: Checker, made_by: str, completion: Completion, schema: Mapping[str, Any]) -> str:
    text = completion.message.content
    prefix, complete = checker.accepts(made_by or "llguidance", schema, text)
    if completion.finish_reason != "stop":
        return "cut" if prefix else "invalid"
    try:
        jsonschema.validate(json.loads(text), schema)
    except (ValueError, jsonschema.ValidationError):
        return "invalid"
    return "valid" if prefix and complete else "invalid"


def measure(name: str, checkpoint: Checkpoint, runs: list[tuple[str, float, int]], checker: Checker
            ) -> dict[str, Any]:
    """Set up the engine, run the turns, and return the figures (plus the replies, for a look)."""
    stop = sorted(TransformersModel(checkpoint)._stop)
    started = time.perf_counter()
    engine = Timed(ENGINES[name](checkpoint.tokenizer, checkpoint.model.config.vocab_size, stop)) if name else None
    setup = time.perf_counter() - started
    model = TransformersModel(checkpoint, grammar=engine)
    verdicts, decode_ms, tokens, replies = [], 0.0, 0, []
    for seed, (task, temperature, max_tokens) in enumerate(runs):
        torch.manual_seed(seed)
        completion, schema = one_turn(model, task, temperature, max_tokens, engine is not None)
        verdicts.append(verdict(checker, name, completion, schema))
        decode_ms += completion.usage.decode_ms
        tokens += completion.usage.completion_tokens
        replies.append(completion.message.content)
    steps = engine.step_s if engine else [0.0]
    return {"library": name or "(none)", "setup_s": setup,
            "compile_ms": 1000 * statistics.median(engine.compile_s) if engine else 0.0,
            "mask_ms": 1000 * statistics.mean(steps), "mask_p95_ms": 1000 * sorted(steps)[int(0.95 * len(steps))],
            "tok_s": 1000 * tokens / decode_ms if decode_ms else 0.0, "tokens": tokens,
            **{v: verdicts.count(v) for v in ("valid", "invalid", "cut")}, "replies": replies}


def table(title: str, rows: list[dict[str, Any]]) -> None:
    print(f"\n{title}")
    print(f"{'library':>19} {'setup s':>8} {'compile ms':>10} {'mask ms/tok':>11} {'p95':>6} {'tok/s':>6} "
          f"{'tokens':>6} {'valid':>5} {'invalid':>7} {'cut':>4}")
    for r in rows:
        print(f"{r['library']:>19} {r['setup_s']:>8.2f} {r['compile_ms']:>10.1f} {r['mask_ms']:>11.2f} "
              f"{r['mask_p95_ms']:>6.2f} {r['tok_s']:>6.1f} {r['tokens']:>6} {r['valid']:>5} {r['invalid']:>7} "
              f"{r['cut']:>4}")
    sys.stdout.flush()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=8, help="sampled replies per library on the tiny model")
    parser.add_argument("--tiny-tokens", type=int, default=160, help="token limit of a tiny model's reply")
    parser.add_argument("--sampled", type=int, default=3, help="replies sampled at temperature 1 from the 0.5B")
    parser.add_argument("--tiny-only", action="store_true")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--cache", type=Path, default=Path("/tmp/luban-bench-qwen-tokenizer"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} thread(s)")
    tokenizer = qwen_tokenizer(args.cache)
    tiny = tiny_checkpoint(tokenizer)
    checker = Checker(tokenizer, 151936, sorted(TransformersModel(tiny)._stop))
    runs = [(TASKS[i % len(TASKS)], 1.0, args.tiny_tokens) for i in range(args.seeds)]
    table(f"tiny random Qwen2 (vocab 151,936), {args.seeds} replies sampled at temperature 1, "
          f"≤{args.tiny_tokens} tokens", [measure(name, tiny, runs, checker) for name in (*ENGINES, "")])
    if args.tiny_only:
        return
    real = load_checkpoint(embedded_gguf())
    runs = [(task, 0.0, 200) for task in TASKS] + [(TASKS[i % len(TASKS)], 1.0, 200) for i in range(args.sampled)]
    rows = [measure(name, real, runs, checker) for name in (*ENGINES, "")]
    table(f"Qwen2.5-Coder-0.5B (GGUF via transformers, fp32): {len(TASKS)} tasks greedy + {args.sampled} sampled "
          "at temperature 1, ≤200 tokens", rows)
    for row in rows:
        print(f"\n{row['library']}:", *(f"  {reply[:200]!r}" for reply in row["replies"]), sep="\n")


if __name__ == "__main__":
    main()
