"""Tests as the gate for "done": the harness runs the project's test command itself.

Its output goes to the model before the first turn (weak models fix what they can see failing), and a
final answer is refused while the command still fails, so "the tests pass" is never just the model's word.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, replace

from ..workspace import Workspace
from .pointers import code_under_test, source_of
from .testdigest import digest
from .testreport import TestReport
from .testrun import run_tests

EXCERPT_HEAD, EXCERPT_TAIL = 1800, 700
TIMEOUT_S = 600
# Once the suite's own time is known, a run taking HANG_FACTOR times as long (at least HANG_MIN_S) is an edit that
# made it hang. Measured: a candidate edit put an endless loop in a 3 s suite, whose run then took the whole 600 s
# and made the agent overrun its own time limit by 190 s.
HANG_FACTOR, HANG_MIN_S = 10, 120
REFUSED = "You tried to finish, but"  # begins the reply to a refused finish (tune/ does not train on one)


@dataclass(frozen=True)
class TestRun:
    __test__ = False  # not a pytest test class, despite the name
    passed: bool
    output: str  # the whole output, paths beneath the workspace relative (what pointers read)
    shown: str = ""  # what the model sees: the digest of the report, never the dots and warnings
    report: TestReport | None = None
    exit_code: int | None = 0  # None: timed out
    wall_s: float = 0.0

    @property
    def view(self) -> str:
        return self.shown or excerpt(self.output)

    @property
    def headline(self) -> str:
        """The one line a verdict quotes of the run: its counts; where the runner counts none (a script whose file
        does not load), the error it ended with. (The digest's first line there is "Traceback", and a 1.5B told only
        that rewrote the file four times without the import its error named.)"""
        report = self.report
        if report and not report.counts and report.failures and report.failures[0].cause:
            return report.failures[0].cause[:300]
        if report and not report.counts and report.tail.strip():
            # A runner that prints no counts: the digest opens with "Last lines of the output:", which says nothing.
            return report.tail.strip().splitlines()[-1][:300]
        return self.view.split("\n", 1)[0]

    @property
    def passing(self) -> int:
        """Tests passing; for a runner that counts none, 1 when the command passed. A run that timed out or
        collected nothing counts 0: it is never "not worse" than one that ran tests."""
        counts = dict(self.report.counts) if self.report else {}
        return counts.get("passed", 0) if counts else int(self.passed)

    @property
    def failing(self) -> frozenset[str]:
        return self.report.failing if self.report else frozenset()


@dataclass(frozen=True)
class TestGate:
    __test__ = False
    command: str
    max_refusals: int = 3
    timeout_s: int = TIMEOUT_S  # a run cut off at this counts as no test passing
    label: str = ""  # how notes name the command where it is too long to quote (Luban's own checks script)

    @property
    def name(self) -> str:
        return self.label or self.command

    def run(self, ws: Workspace, baseline: frozenset[str] = frozenset()) -> TestRun:
        """Run the command with its results read as data; `baseline` (the failures before any change that the
        task is not about: testdigest.unrelated) marks those that are pre-existing."""
        started = time.monotonic()
        tested = run_tests(self.command, ws, self.timeout_s)
        shown = relative_paths(digest(tested.report, ws.root, baseline=baseline), ws)
        end = f"timed out after {self.timeout_s} s" if tested.exit_code is None else f"exit code: {tested.exit_code}"
        return TestRun(tested.passed, relative_paths(tested.output, ws), "\n\n".join(p for p in (shown, end) if p),
                       tested.report, tested.exit_code, round(time.monotonic() - started, 3))

    def paced(self, first: TestRun) -> TestGate:
        """This gate with its time limit set from a first run that ran tests: HANG_FACTOR times its time. (A first
        run that counted no tests, such as a collection error, may be far shorter than the whole suite.)"""
        counts = dict(first.report.counts) if first.report else {}
        if first.exit_code is None or not any(counts.get(k) for k in ("passed", "failed")):
            return self
        return replace(self, timeout_s=min(self.timeout_s, max(HANG_MIN_S, math.ceil(HANG_FACTOR * first.wall_s))))

    def briefing(self, ws: Workspace, run: TestRun | None = None, located: str = "") -> str:
        """What the model reads with the task; `located`: the fault localization's top suspects, if any."""
        run = run or self.run(ws)
        state = "passes" if run.passed else "fails"
        text = f"The test command `{self.command}` {state} now. Its output:\n{run.view}"
        return text + (f"\n\n{located}" if located else "") + _pointers(run, ws)

    def refusal(self, run: TestRun, ws: Workspace, located: str = "") -> str:
        where = f"\n\n{located}" if located else ""
        return (f"{REFUSED} `{self.command}` still fails:\n{run.view}{where}{_pointers(run, ws)}\n\n"
                "Fix the code until it passes, then finish.")

    def refused_again(self, run: TestRun, step: int) -> str:
        """A refusal whose whole text would repeat the one the model got at `step`, in one line: measured, a
        weak model's repeated finishes each re-sent 600-1,100 tokens of the same digest (15-27 s of prefill)."""
        counts = run.headline.rstrip(".")
        return (f"{REFUSED} `{self.command}` still fails exactly as when you tried to finish at step {step}, shown "
                f"above ({counts}). Fix the code until it passes, then finish.")


def quoted(run: TestRun, ws: Workspace) -> str | None:
    """The file whose definition the briefing or refusal for `run` shows as written, if any."""
    found = quote(run, ws)
    return found[0].split(":", 1)[0] if found and found[1] else None


def quote(run: TestRun, ws: Workspace) -> tuple[str, str, list[str]] | None:
    """(the most-called definition's pointer, its text or "" when too long, all pointers), or None."""
    if run.passed:
        return None
    found = code_under_test(run.output + _frames(run.report), ws, ws.listing.files())
    return (found[0], source_of(found[0], ws), found) if found else None


def _frames(report: TestReport | None) -> str:
    """The report's frames as Python prints them: pytest's own traceback style names no `File "..."`."""
    frames = [frame for failure in (report.failures if report else ()) for frame in failure.frames]
    return "".join(f'\nFile "{f.path}", line {f.line}' for f in frames)


def _pointers(run: TestRun, ws: Workspace) -> str:
    found = quote(run, ws)
    if not found:
        return ""
    # The most-called definition's own text, without line numbers (numbered code was measured to make the
    # 1.5B copy the numbers into its edits): weak models that skip reading it still see the bug.
    first, source, pointers = found
    shown = f"\n\n{first.split(' ')[0]}, as it is now:\n{source}" if source else ""
    return "\n\nCode called by the failing lines:\n" + "\n".join(pointers) + shown


def relative_paths(text: str, ws: Workspace) -> str:
    """`text` with the workspace root's absolute path taken off the paths beneath it, as the tools take them.

    unittest's tracebacks name `/tmp/…/shop/test_pricing.py`; the 1.5B then asked for `shop/test_pricing.py`
    (the root's own folder name kept) and repeated it until the run stopped, in 2 of 5 text-mode runs.
    """
    return text.replace(f"{ws.root}{os.sep}", "")


def excerpt(text: str) -> str:
    """Head and tail of a long output: the first failure and the summary line both survive."""
    if len(text) <= EXCERPT_HEAD + EXCERPT_TAIL:
        return text
    return f"{text[:EXCERPT_HEAD]}\n[... {len(text) - EXCERPT_HEAD - EXCERPT_TAIL} characters cut ...]\n{text[-EXCERPT_TAIL:]}"
