"""Building the bugfix suite: for each pinned library, try seeded single-site mutations (and reverted
release hunks, see releases.py) against its own test suite, keep those that break some tests and leave the
rest passing, dedupe them by the set of tests they break, and save everything as one JSON manifest."""

from __future__ import annotations

import json
import random
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from ...config import environment
from ...sandbox import make
from .mutate import Mutation, mutations
from .pins import PINS, Pin, pin_named
from .releases import release_tasks
from .tasks import PASS_TO_PASS_MAX, PASS_TO_PASS_SAMPLE, finish, make_task
from .validate import Baseline, Bench, judge, run_tests, work_trees

MANIFEST_VERSION = 1
KINDS = ("mutation", "release revert")
PER_FUNCTION = 2  # at most this many tasks from one function, so a library's tasks spread out


@dataclass(frozen=True)
class Limits:
    target: int = 20  # tasks per library
    budget_s: float = 300.0  # wall time per library for trying candidates
    max_candidates: int | None = None
    release_budget_s: float = 240.0  # wall time per library for reverted release hunks


@dataclass(frozen=True)
class BuildReport:
    tasks: int
    by_library: Mapping[str, int]
    by_kind: Mapping[str, int]
    by_tier: Mapping[str, int]
    tried: Mapping[str, int]  # mutation candidates judged, per library (a rebuild with these reproduces)
    dropped: Mapping[str, str]  # library -> why it has no tasks
    seconds: float


@dataclass
class _Library:
    """What one library contributed to the manifest."""

    pin: Pin
    tasks: list[dict[str, Any]] = field(default_factory=list)
    pins: list[Pin] = field(default_factory=list)
    releases: dict[str, dict[str, Any]] = field(default_factory=dict)
    tried: int = 0
    why: str = ""


def build_suite(out: Path, cache: Path, *, libraries: Sequence[str] | None = None, seed: int = 0,
                progress: Callable[[str], None] = print, limits: Limits = Limits(), workers: int = 1,
                sandbox: str = "auto", kinds: Sequence[str] = KINDS) -> BuildReport:
    """Build and validate tasks for `libraries` (default: all pinned) and write the manifest to `out`."""
    start = time.monotonic()
    pins = [pin_named(n) for n in libraries] if libraries else list(PINS)
    scratch = cache / "scratch"
    scratch.mkdir(parents=True, exist_ok=True)
    bench = Bench(make(sandbox, writable=[scratch], host=environment()), scratch)
    lock = threading.Lock()

    def say(line: str) -> None:
        with lock:
            progress(line)

    def one(pin: Pin) -> _Library:
        found = _Library(pin)
        try:
            if "mutation" in kinds:
                found.tasks, found.tried = build_library(pin, cache, bench, seed, limits, say)
            if "release revert" in kinds:
                released = release_tasks(pin, cache, bench, seed, say, limits.release_budget_s)
                found.tasks += released.tasks
                found.pins, found.releases = released.pins, released.payloads
        except Exception as exc:  # one library failing must not lose the others' work
            found.why = f"{type(exc).__name__}: {str(exc)[:300]}"
            say(f"{pin.name}: dropped ({found.why})")
        found.why = found.why or ("" if found.tasks else "no candidate broke a test")
        return found

    done: list[_Library] = []

    def one_and_save(pin: Pin) -> _Library:
        found = one(pin)
        with lock:  # written after every library, so an interrupted build keeps what it validated
            done.append(found)
            write_manifest(out, _manifest(sorted(done, key=lambda r: r.pin.name), seed, kinds))
        return found

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        results = list(pool.map(one_and_save, pins))
    manifest = _manifest(results, seed, kinds)
    write_manifest(out, manifest)
    return report(manifest, {r.pin.name: r.why for r in results if not r.tasks}, time.monotonic() - start)


def _manifest(results: Sequence[_Library], seed: int, kinds: Sequence[str]) -> dict[str, Any]:
    return {"version": MANIFEST_VERSION, "seed": seed, "pass_to_pass": P2P_NOTE,
            "pins": [p.to_json() for r in results if r.tasks for p in (r.pin, *r.pins)],
            "tried": {r.pin.name: r.tried for r in results if "mutation" in kinds},
            "releases": {k: v for r in results for k, v in r.releases.items()},
            "tasks": dedupe([t for r in results for t in r.tasks])}


def dedupe(tasks: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """One task per library version and set of broken tests; a reverted release (a real bug) wins over a
    mutation that breaks the same tests."""
    kept: dict[tuple[str, str, frozenset[str]], Mapping[str, Any]] = {}
    for task in sorted(tasks, key=lambda t: t["kind"] != "release revert"):
        kept.setdefault((task["library"], task["version"], frozenset(task["fail_to_pass"])), task)
    chosen = {id(t) for t in kept.values()}
    return [t for t in tasks if id(t) in chosen]


P2P_NOTE = (f"every passing test in the files of the fail-to-pass tests, plus a seeded sample of "
            f"{PASS_TO_PASS_SAMPLE} others, capped to a seeded sample of {PASS_TO_PASS_MAX}; the grading command "
            f"runs the whole suite")


def report(manifest: Mapping[str, Any], dropped: Mapping[str, str], seconds: float) -> BuildReport:
    tasks = manifest["tasks"]
    return BuildReport(len(tasks), dict(Counter(t["library"] for t in tasks)), dict(Counter(t["kind"] for t in tasks)),
                       dict(Counter(t["tier"] for t in tasks)), dict(manifest.get("tried", {})), dict(dropped),
                       seconds)


def write_manifest(out: Path, manifest: Mapping[str, Any]) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def merge_manifests(parts: Sequence[Path], out: Path) -> BuildReport:
    """One manifest from several builds (e.g. one per kind, or a rerun of some libraries); a later part's
    task, pin or release with the same id/key replaces an earlier one."""
    merged: dict[str, Any] = {"version": MANIFEST_VERSION, "seed": None, "pass_to_pass": P2P_NOTE,
                              "pins": {}, "tried": {}, "releases": {}, "tasks": {}}
    for part in parts:
        data = json.loads(part.read_text(encoding="utf-8"))
        merged["seed"] = data["seed"]
        merged["pins"].update({(p["sdist"]["name"], p["sdist"]["version"]): p for p in data["pins"]})
        merged["tried"].update(data.get("tried", {}))
        merged["releases"].update(data.get("releases", {}))
        merged["tasks"].update({t["id"]: t for t in data["tasks"]})
    merged["pins"] = sorted(merged["pins"].values(), key=lambda p: (p["sdist"]["name"], p["sdist"]["version"]))
    tasks = dedupe(sorted(merged["tasks"].values(), key=lambda t: (t["library"], t["kind"], t["id"])))
    merged["tasks"] = [finish(t) for t in tasks]
    write_manifest(out, merged)
    return report(merged, {}, 0.0)


def build_library(pin: Pin, cache: Path, bench: Bench, seed: int, limits: Limits,
                  say: Callable[[str], None]) -> tuple[list[dict[str, Any]], int]:
    """Validated, deduplicated mutation tasks for one library, and how many candidates were judged."""
    with work_trees(pin, cache, bench, "luban-bugfix") as (root, pristine, base):
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


