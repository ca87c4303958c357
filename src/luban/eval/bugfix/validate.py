"""Running a library's own test suite in a working copy and judging a candidate bug against the pristine
baseline: it must break at least one test that passed (twice) before, and leave the suite collectable."""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

from ...config import environment
from ...sandbox import Sandbox
from ..grade import run_command
from .mutate import Edit
from .pins import Pin

PROBE_PLUGIN = "luban.eval.bugfix.probe"
MAX_BROKEN = 40  # a bug that breaks more than this is an import-time crash, not a task


@dataclass(frozen=True)
class Run:
    outcomes: Mapping[str, str]
    failures: Mapping[str, Mapping[str, Any]]
    timed_out: bool
    seconds: float
    output: str = ""

    def passed(self) -> frozenset[str]:
        return frozenset(t for t, v in self.outcomes.items() if v == "passed")


@dataclass(frozen=True)
class Judgement:
    kept: bool
    reason: str  # why not kept, or "ok"
    broken: tuple[str, ...] = ()
    run: Run | None = field(default=None, compare=False)


def python_env() -> dict[str, str]:
    """The venv's python first on PATH, as the agent's and the grader's commands will see it."""
    return {"PATH": f"{Path(sys.executable).parent}{os.pathsep}{environment().get('PATH', '')}"}


@dataclass(frozen=True)
class Bench:
    """Where a library's suite runs: the sandbox, and a folder it can write reports into (a bwrap sandbox
    has a private /tmp, so the folder must be one of its writable paths, outside /tmp)."""

    sandbox: Sandbox
    scratch: Path


def run_tests(pin: Pin, root: Path, bench: Bench, timeout_s: float) -> Run:
    with tempfile.TemporaryDirectory(prefix="probe-", dir=bench.scratch) as tmp:
        report = Path(tmp) / "probe.json"
        addopts = environment().get("PYTEST_ADDOPTS", "")
        env = {**python_env(), "PYTEST_ADDOPTS": f"{addopts} -p {PROBE_PLUGIN}".strip(),
               "LUBAN_PROBE_REPORT": str(report)}
        start = time.monotonic()
        code, output = run_command(pin.test_command, root, bench.sandbox, timeout_s, env)
        seconds = time.monotonic() - start
        data = json.loads(report.read_text()) if report.exists() else {"outcomes": {}, "failures": {}}
    return Run(data["outcomes"], data["failures"], code is None, seconds, output[-4000:])


@dataclass(frozen=True)
class Baseline:
    """The tests that passed in two pristine runs (a test that passes only sometimes is never graded)."""

    stable: frozenset[str]
    all_ids: tuple[str, ...]
    seconds: float


def baseline(pin: Pin, root: Path, bench: Bench) -> Baseline:
    first = run_tests(pin, root, bench, pin.timeout_s * 3)
    second = run_tests(pin, root, bench, pin.timeout_s * 3)
    if first.timed_out or not first.passed():
        raise RuntimeError(f"{pin.name}: the pristine test suite did not pass:\n{first.output[-2000:]}")
    return Baseline(first.passed() & second.passed(), tuple(sorted(first.outcomes)),
                    max(first.seconds, second.seconds))


@contextmanager
def work_trees(pin: Pin, cache: Path, bench: Bench, prefix: str) -> Iterator[tuple[Path, Path, Baseline]]:
    """Two fresh copies of the pristine library (one to try bugs in, one kept clean to compare against) and
    the baseline of its test suite; removed afterwards."""
    with tempfile.TemporaryDirectory(prefix=f"{prefix}-{pin.name}-") as tmp:
        root, pristine = Path(tmp) / "repo", Path(tmp) / "pristine"
        for tree in (root, pristine):
            tree.mkdir()
            pin.prepare(cache, tree)
        yield root, pristine, baseline(pin, root, bench)


def judge(pin: Pin, root: Path, bench: Bench, base: Baseline, edits: Sequence[Edit]) -> Judgement:
    """Apply `edits`, run the suite, undo them (the tree is byte-identical again) and judge the bug."""
    with applied(root, edits):
        run = run_tests(pin, root, bench, timeout_s=base.seconds * 5 + 30)
    return verdict(base, run)


@contextmanager
def applied(root: Path, edits: Sequence[Edit]) -> Iterator[None]:
    """The edits applied for the duration of the block, then undone."""
    for edit in edits:
        edit.apply(root)
    try:
        yield
    finally:
        for edit in reversed(edits):
            edit.revert().apply(root)


def verdict(base: Baseline, run: Run) -> Judgement:
    if run.timed_out:
        return Judgement(False, "timed out", run=run)
    missing = [t for t in base.stable if t not in run.outcomes]
    if missing:
        return Judgement(False, f"{len(missing)} tests not collected", run=run)
    broken = tuple(sorted(t for t in base.stable if run.outcomes[t] != "passed"))
    if not broken:
        return Judgement(False, "no test broke", run=run)
    if len(broken) > MAX_BROKEN:
        return Judgement(False, f"{len(broken)} tests broke", broken, run)
    return Judgement(True, "ok", broken, run)
