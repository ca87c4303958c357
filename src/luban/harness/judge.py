"""The regression guard: after any call that changed the workspace's files (an edit tool, or a shell command such
as `sed -i` or `python - <<EOF`), the test gate runs in the workspace itself; when fewer tests pass than the best
count of this run, the files that call changed are put back as they were and the model is told why, with the
tests' digest.

Measured before this guard existed: the edits were judged only on a copy, only one edit tool call per reply, only
in trees of up to 2000 files and never through bash, and a suite went from 459 passing to 447, then to 409.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import PathRefused
from ..workspace import Workspace, atomic_write
from .faults import Suspect, for_briefing
from .gate import TestGate, TestRun
from .testdigest import unrelated

# Begins the result of an edit the harness refused or undid (tune/ does not train on such a call).
NOT_APPLIED = "This edit was not applied"
# Contents kept to put files back; a file beyond this is judged but cannot be restored (the refusal says so).
MAX_KEPT_BYTES = 64 * 1024 * 1024
# Only files with these endings count as the code a call changed: a command that writes a log, a report or a cache
# (`pytest > out.txt`, .hypothesis/) is no edit and costs no test run.
CODE = frozenset({".py", ".pyi", ".pyx", ".pxd", ".c", ".h", ".cc", ".cpp", ".hpp", ".js", ".jsx", ".ts", ".tsx",
                  ".go", ".rs", ".java", ".kt", ".rb", ".php", ".cs", ".swift", ".scala", ".lua", ".sh", ".toml",
                  ".cfg", ".ini"})  # fmt: skip
PASSES = "[Luban: `{command}` passes after this edit. If nothing else is left, finish.]"
PROGRESS = "[Luban: `{command}` after this edit: {counts}]"
MAX_BROKEN_SHOWN = 5
Stat = tuple[int, int]  # (mtime in ns, size)


@dataclass(frozen=True)
class Verdict:
    """What the guard says about a call that changed files: `refused` when they were put back."""

    refused: bool
    text: str
    run: TestRun


@dataclass
class Judge:
    """Per run: the gate, the user's task (for the digest), the failures before any change, the best number of
    tests passing so far, and the files as they were after the last change the guard accepted."""

    gate: TestGate
    task: str = ""
    baseline: frozenset[str] = frozenset()  # the failures before any change that the task is not about
    best: int = 0
    localize: bool = False  # name the likeliest places of the bug when the tests fail (faults.py)
    suspects: tuple[Suspect, ...] = ()  # the latest localization's, best first: focused rewrites start there
    last: TestRun | None = None  # the latest run of the files as they are
    started_failing: bool = False  # the run before any change failed: passing now means a change fixed it
    _stats: dict[str, Stat] = field(default_factory=dict)
    _kept: dict[str, bytes] = field(default_factory=dict)

    def first(self, ws: Workspace) -> TestRun:
        """The run before the agent changed anything: its failures unrelated to the task are the baseline, its
        count the first best, its time what a hang is measured against (gate.paced)."""
        run = self.last = self.gate.run(ws)
        self.baseline, self.best = unrelated(run.report, self.task), run.passing
        self.started_failing = not run.passed
        self.gate = self.gate.paced(run)
        self.before(ws)
        return run

    def run(self, ws: Workspace) -> TestRun:
        run = self.last = self.gate.run(ws, self.baseline)
        self.best = max(self.best, run.passing)
        return run

    def located(self, ws: Workspace, run: TestRun) -> str:
        """The top suspects for a failing run as the briefing and refusals show them; "" when off or none."""
        if not self.localize or run.passed or run.report is None:
            return ""
        found = for_briefing(self.gate.command, ws, run.report, run.wall_s, task=self.task)
        self.suspects = found.suspects
        return found.render() if found.suspects else ""

    def before(self, ws: Workspace) -> None:
        """Take the files as they are now as the state to return to (whatever changed them since: the user, a
        test run); only files whose size or time changed are read again."""
        ws.listing.changed()
        now = _stats(ws)
        for rel in set(self._kept) - set(now):
            del self._kept[rel]
        used = sum(len(data) for rel, data in self._kept.items() if now.get(rel) == self._stats.get(rel))
        for rel, stat in now.items():
            if self._stats.get(rel) != stat or rel not in self._kept:
                self._kept.pop(rel, None)
                if used + stat[1] <= MAX_KEPT_BYTES and (data := _read(ws, rel)) is not None:
                    self._kept[rel] = data
                    used += len(data)
        self._stats = now

    def after(self, ws: Workspace) -> Verdict | None:
        """None when the call changed no file; else run the tests and keep the change, or put the files back."""
        ws.listing.changed()
        now = _stats(ws)
        changed = sorted(rel for rel in set(now) | set(self._stats) if _changed(rel, now, self._stats, self._kept, ws))
        if not changed:
            return None
        previous, run = self.last, self.gate.run(ws, self.baseline)
        if run.passing < self.best:
            lost = self._restore(ws, changed)  # the files as they were, so the latest run is the one before
            return Verdict(True, self._refusal(run, changed, lost), run)
        self.last = run
        self.best = run.passing
        self.before(ws)
        if run.passed:
            return Verdict(False, PASSES.format(command=self.gate.name), run)
        text = PROGRESS.format(command=self.gate.name, counts=run.headline)
        return Verdict(False, text + _broken(previous, run), run)

    def _restore(self, ws: Workspace, changed: list[str]) -> list[str]:
        """Put `changed` back as they were before the call; the paths that could not be."""
        lost = []
        for rel in changed:
            try:
                path = ws.resolve(rel)
                if rel in self._kept:
                    atomic_write(path, self._kept[rel])
                elif rel not in self._stats:
                    path.unlink(missing_ok=True)  # the call created it
                else:
                    lost.append(rel)
            except (OSError, PathRefused):
                lost.append(rel)
        ws.listing.changed()
        self.before(ws)
        return lost

    def _refusal(self, run: TestRun, changed: list[str], lost: list[str]) -> str:
        shown = ", ".join(changed[:8]) + (f" and {len(changed) - 8} more" if len(changed) > 8 else "")
        kept = f" ({', '.join(lost)} could not be put back)" if lost else ""
        return (f"{NOT_APPLIED}: after it, `{self.gate.name}` had {run.passing} tests passing instead of "
                f"{self.best}, so Luban put back {shown} as before{kept}. The tests after your change:\n{run.view}\n\n"
                "Read the code again and make a smaller, correct change that breaks no passing test.")


def _broken(previous: TestRun | None, run: TestRun) -> str:
    """A line naming the tests a kept edit made fail that passed before it, or "".

    An edit that makes more tests pass is kept even when it breaks others (jinja2-18ad323c: 19 failing tests fixed,
    one passing test broken); the model reads only the counts, and a run that ends so is not resolved. Named, the
    broken test is something to repair."""
    if previous is None or previous.report is None or previous.report.interrupted or run.report is None:
        return ""  # no list of the tests that failed before to compare with
    broken = sorted(run.failing - previous.failing)
    if not broken:
        return ""
    shown = ", ".join(broken[:MAX_BROKEN_SHOWN]) + (f" and {len(broken) - MAX_BROKEN_SHOWN} more"
                                                     if len(broken) > MAX_BROKEN_SHOWN else "")
    return (f"\n[Luban kept the edit, as more tests pass, but these passed before it and fail now: {shown}. Make them "
            "pass again without undoing the fix.]")


def _stats(ws: Workspace) -> dict[str, Stat]:
    found = {}
    for rel in ws.listing.files():
        try:
            stat = os.stat(ws.root / rel, follow_symlinks=False)
        except OSError:
            continue
        found[rel] = (stat.st_mtime_ns, stat.st_size)
    return found


def _read(ws: Workspace, rel: str) -> bytes | None:
    path = ws.root / rel
    if path.is_symlink() or not path.is_file():
        return None
    try:
        return path.read_bytes()
    except OSError:
        return None


def _changed(rel: str, now: dict[str, Stat], before: dict[str, Stat], kept: dict[str, bytes], ws: Workspace) -> bool:
    """Whether the call changed the code file `rel`: its content differs (a time alone is no change), it is gone,
    or it is new. Other files (a test run's caches and reports, logs) cost no test run."""
    if now.get(rel) == before.get(rel) or Path(rel).suffix not in CODE:
        return False
    if rel not in before:
        return True
    if rel not in now or rel not in kept:
        return True
    return _read(ws, rel) != kept[rel]
