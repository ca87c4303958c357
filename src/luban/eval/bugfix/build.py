"""Building the bugfix suite: for each pinned library, try seeded single-site mutations against its own
test suite, keep those that break some tests and leave the rest passing, dedupe them by the set of tests
they break, write a statement and a tier for each, and save everything as one JSON manifest."""

from __future__ import annotations

import json
import random
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from ...sandbox import make
from .mutate import Mutation, mutations
from .pins import PINS, Pin, pin_named
from .statement import concrete, evaluate, find_repro, from_crash, mentions_tests
from .validate import Baseline, Bench, Judgement, applied, baseline, judge, run_tests

MANIFEST_VERSION = 1
PASS_TO_PASS_SAMPLE = 25  # pass-to-pass: every test in the files that break, plus this many others
PER_FUNCTION = 2  # at most this many tasks from one function, so a library's tasks spread out
HARD_KINDS = {"condition removed", "and/or swap", "off by one", "swapped operands"}


@dataclass(frozen=True)
class Limits:
    target: int = 20  # tasks per library
    budget_s: float = 300.0  # wall time per library for trying candidates
    max_candidates: int | None = None


@dataclass(frozen=True)
class BuildReport:
    tasks: int
    by_library: Mapping[str, int]
    by_kind: Mapping[str, int]
    by_tier: Mapping[str, int]
    tried: Mapping[str, int]  # candidates judged, per library
    dropped: Mapping[str, str]  # library -> why it has no tasks
    seconds: float


def build_suite(out: Path, cache: Path, *, libraries: Sequence[str] | None = None, seed: int = 0,
                progress: Callable[[str], None] = print, limits: Limits = Limits(), workers: int = 1,
                sandbox: str = "auto") -> BuildReport:
    """Build and validate tasks for `libraries` (default: all pinned) and write the manifest to `out`."""
    start = time.monotonic()
    pins = [pin_named(n) for n in libraries] if libraries else list(PINS)
    scratch = cache / "scratch"
    scratch.mkdir(parents=True, exist_ok=True)
    bench = Bench(make(sandbox, writable=[scratch]), scratch)
    lock = threading.Lock()

    def say(line: str) -> None:
        with lock:
            progress(line)

    def one(pin: Pin) -> tuple[Pin, list[dict[str, Any]], int, str]:
        try:
            tasks, tried = build_library(pin, cache, bench, seed, limits, say)
            return pin, tasks, tried, "" if tasks else "no candidate broke a test"
        except Exception as exc:  # one library failing must not lose the others' work
            say(f"{pin.name}: dropped ({type(exc).__name__}: {str(exc)[:300]})")
            return pin, [], 0, f"{type(exc).__name__}: {str(exc)[:300]}"

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        results = list(pool.map(one, pins))
    tasks = [t for _, ts, _, _ in results for t in ts]
    write_manifest(out, [p for p, ts, _, _ in results if ts], tasks, seed)
    return BuildReport(len(tasks), dict(Counter(t["library"] for t in tasks)), dict(Counter(t["kind"] for t in tasks)),
                       dict(Counter(t["tier"] for t in tasks)), {p.name: n for p, _, n, _ in results},
                       {p.name: why for p, ts, _, why in results if not ts}, time.monotonic() - start)


def write_manifest(out: Path, pins: Sequence[Pin], tasks: Sequence[Mapping[str, Any]], seed: int) -> None:
    manifest = {"version": MANIFEST_VERSION, "seed": seed,
                "pass_to_pass": f"every passing test in the files of the fail-to-pass tests, plus a seeded "
                                f"sample of {PASS_TO_PASS_SAMPLE} others; the grading command runs the whole suite",
                "pins": [p.to_json() for p in pins], "tasks": list(tasks)}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def build_library(pin: Pin, cache: Path, bench: Bench, seed: int, limits: Limits,
                  say: Callable[[str], None]) -> tuple[list[dict[str, Any]], int]:
    """Validated, deduplicated mutation tasks for one library, and how many candidates were judged."""
    with tempfile.TemporaryDirectory(prefix=f"luban-bugfix-{pin.name}-") as tmp:
        root, pristine = Path(tmp) / "repo", Path(tmp) / "pristine"
        root.mkdir()
        pristine.mkdir()
        pin.prepare(cache, root)
        pin.prepare(cache, pristine)
        base = baseline(pin, root, bench)
        say(f"{pin.name}: {len(base.stable)} stable tests, suite {base.seconds:.1f} s")
        tasks, tried = _search(pin, root, pristine, bench, base, seed, limits, say)
        final = run_tests(pin, root, bench, base.seconds * 5 + 30)
        if not base.stable <= final.passed():  # every bug was undone: the suite must be green again
            raise RuntimeError(f"{pin.name}: the suite is not green after undoing every candidate")
    say(f"{pin.name}: kept {len(tasks)} of {tried} candidates")
    return tasks, tried


def _search(pin: Pin, root: Path, pristine: Path, bench: Bench, base: Baseline, seed: int, limits: Limits,
            say: Callable[[str], None]) -> tuple[list[dict[str, Any]], int]:
    deadline = time.monotonic() + limits.budget_s
    seen: set[frozenset[str]] = set()
    per_function: Counter[tuple[str, str]] = Counter()
    tasks: list[dict[str, Any]] = []
    tried = 0
    for mutation in candidates(pin, root, seed):
        if len(tasks) >= limits.target or time.monotonic() > deadline or tried == limits.max_candidates:
            break
        where = (mutation.edit.file, mutation.function)
        if per_function[where] >= PER_FUNCTION:
            continue
        tried += 1
        verdict = judge(pin, root, bench, base, [mutation.edit])
        if not verdict.kept or frozenset(verdict.broken) in seen:
            continue
        # Judged twice: a test that failed by chance (timing, load) must not make a task.
        if judge(pin, root, bench, base, [mutation.edit]).broken != verdict.broken:
            continue
        seen.add(frozenset(verdict.broken))
        per_function[where] += 1
        tasks.append(make_task(pin, root, pristine, bench, base, mutation, verdict, seed))
        say(f"{pin.name}: + {tasks[-1]['id']} [{tasks[-1]['tier']}] {mutation.describe()[:110]}")
    return tasks, tried


def candidates(pin: Pin, root: Path, seed: int) -> list[Mutation]:
    """Every mutation of the library's code, in a seeded order that takes the kinds in turn."""
    top = root / pin.package
    files = sorted(str(p.relative_to(root)) for p in top.rglob("*.py")
                   if not pin.is_test_file(str(p.relative_to(root))))
    by_kind: dict[str, list[Mutation]] = {}
    for rel in files:
        for m in mutations(root, rel):
            by_kind.setdefault(m.kind, []).append(m)
    rng = random.Random(f"{seed}:{pin.name}")
    queues = [by_kind[k] for k in sorted(by_kind)]
    for queue in queues:
        rng.shuffle(queue)
    order: list[Mutation] = []
    while any(queues):
        for queue in queues:
            if queue:
                order.append(queue.pop())
    return order


def make_task(pin: Pin, root: Path, pristine: Path, bench: Bench, base: Baseline, mutation: Mutation,
              verdict: Judgement, seed: int) -> dict[str, Any]:
    f2p = list(verdict.broken)
    p2p = pass_to_pass(base, f2p, seed)
    failure = verdict.run.failures.get(f2p[0], {}) if verdict.run else {}
    statement, repro = write_statement(pin, root, pristine, bench, mutation, failure, set(f2p) | set(p2p))
    edit = mutation.edit
    return {"id": f"{pin.name}-{_digest(edit.file, edit.offset, edit.old, edit.new)}", "library": pin.name,
            "version": pin.sdist.version, "kind": "mutation", "mutation": mutation.kind,
            "tier": tier_of(mutation, f2p, failure, repro), "function": mutation.function, "line": mutation.line,
            "edits": [vars(edit)], "hidden": {}, "removed": [], "fail_to_pass": f2p, "pass_to_pass": p2p,
            "statement": statement}


def pass_to_pass(base: Baseline, f2p: Sequence[str], seed: int) -> list[str]:
    files = {t.split("::")[0] for t in f2p}
    same = sorted(t for t in base.stable if t.split("::")[0] in files and t not in f2p)
    others = sorted(t for t in base.stable if t.split("::")[0] not in files)
    sample = random.Random(f"{seed}:{','.join(f2p)}").sample(others, min(PASS_TO_PASS_SAMPLE, len(others)))
    return sorted(same + sample)


def write_statement(pin: Pin, root: Path, pristine: Path, bench: Bench, mutation: Mutation,
                    failure: Mapping[str, Any], tests: set[str]) -> tuple[str, bool]:
    """(statement, whether it has a concrete reproduction)."""
    package = Path(pin.package).name
    repro = find_repro(failure, package) if failure else None
    if repro is not None:
        with applied(root, [mutation.edit]):
            broken = evaluate(pin, root, bench, repro)
        good = evaluate(pin, pristine, bench, repro)
        text = concrete(pin, repro, broken, good) if broken and good else ""
        if text and not mentions_tests(text, tests):
            return text, True
    names = {t.split("::")[-1].split("[")[0] for t in tests}
    text = from_crash(pin, failure, public_name(pin, mutation, failure), names)
    return text, False


def public_name(pin: Pin, mutation: Mutation, failure: Mapping[str, Any]) -> str:
    """The public function a user would see misbehave: the mutated one if public, else one it was called
    through, else the module."""
    module = _module(pin, mutation.edit.file)
    if not any(part.startswith("_") for part in mutation.function.split(".")):
        return f"`{module}.{mutation.function}`"
    for path, _, name in reversed(failure.get("frames", [])):
        rel = path.split(f"/{Path(pin.package).name}/", 1)
        if len(rel) == 2 and not name.startswith("_") and "test" not in path.rsplit("/", 1)[-1]:
            return f"`{_module(pin, pin.package + '/' + rel[1])}.{name}`"
    return f"the `{module}` module"


def _module(pin: Pin, rel: str) -> str:
    path = Path(rel).relative_to(pin.import_root) if pin.import_root != "." else Path(rel)
    parts = list(path.with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def tier_of(mutation: Mutation, f2p: Sequence[str], failure: Mapping[str, Any], repro: bool) -> str:
    """easy / medium / hard from: how many tests break, whether the traceback reaches the broken function,
    how subtle the kind of mutation is, and whether the statement has a concrete reproduction."""
    name = mutation.function.split(".")[-1]
    in_traceback = any(path.endswith(mutation.edit.file) and fn == name for path, _, fn in failure.get("frames", []))
    score = (len(f2p) > 3) + (not in_traceback) + (mutation.kind in HARD_KINDS) + (not repro)
    return "easy" if score <= 1 else "medium" if score == 2 else "hard"


def _digest(*parts: Any) -> str:
    import hashlib

    return hashlib.sha1("\0".join(map(str, parts)).encode()).hexdigest()[:8]
