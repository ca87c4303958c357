"""Verifier-guided choice between sampled edits.

When the model's next step changes a file and the project has a test command, its edit is tried on a scratch
copy of the workspace; while no candidate makes the tests pass, another is made and tried (up to `edit_samples`
in all: replies sampled warmer, alternating with focused rewrites, rewrites.py), and the one after which the
tests do best is kept. The tests decide, never the model's confidence; the original reply wins ties.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path

from ..agent.state import RunState
from ..context.prompt import repository_files
from ..models.protocol import Turn
from ..models.repair import repair_call
from ..workspace import Workspace
from .gate import TestRun

SAMPLE_TEMPERATURE = 0.8
MAX_COPY_FILES = 2000  # copying a bigger tree for every candidate costs more than the choice is worth
_FAILURE = re.compile(r"FAIL|ERROR|Error\b|failed|error")
WORST = (9, 0, 0)
Score = tuple[int, int, int]


def worth_sampling(turn: Turn, st: RunState) -> bool:
    """One call that writes and that the guards allow, a test gate to judge it, and a tree small enough to
    copy. Sampling alternatives to an edit refused for a file not read yet only costs minutes (the model reads
    it next); one refused for changing a protected test is sampled, as candidates may change the code instead
    (measured: in text mode the 1.5B kept editing test_pricing.py until the run ended stuck, 4 of 5 runs)."""
    if not st.gate or st.settings.edit_samples < 2 or len(turn.calls) != 1:
        return False
    call = turn.calls[0]
    tool = st.tools.get(call.name)
    if tool is None or tool.effect != "write":
        return False
    if st.guards.refuse(call, tool.effect, st.ws) and not st.guards.protects(call, st.ws):
        return False
    return len(repository_files(st.ws.root)) <= MAX_COPY_FILES


def score(turn: Turn, st: RunState) -> Score:
    """Lower is better: (0 tests pass | 1 they fail | 2 the edit failed | 9 not an allowed edit,
    minus the tests passing, the failures)."""
    if len(turn.calls) != 1 or st.tools.get(turn.calls[0].name) is None:
        return WORST
    call, tool = turn.calls[0], st.tools[turn.calls[0].name]
    checked = repair_call(call.name, call.arguments, [t.spec for t in st.tools.values()])
    if tool.effect != "write" or checked.error or st.guards.refuse(call, tool.effect, st.ws):
        return WORST
    with tempfile.TemporaryDirectory(prefix="luban-try-") as tmp:
        copy = Path(tmp) / "ws"
        shutil.copytree(st.ws.root, copy, symlinks=True, ignore=shutil.ignore_patterns(".git"))
        scratch = Workspace.open(copy, Path(tmp) / "out", st.ws.sandbox)
        if tool(checked.arguments, scratch).error:
            return (2, 0, 0)
        return tests_score(st.gate.run(scratch))


def tests_score(run: TestRun) -> Score:
    """The score of a test run; for the workspace as it is, that of changing nothing."""
    passed, failed = test_counts(run.output)
    return (0 if run.passed else 1, -passed, failed)


def test_counts(output: str) -> tuple[int, int]:
    """(passing, failing) tests from a pytest or unittest summary; without one, failure words are counted."""
    def number(pattern: str) -> int:
        return sum(int(n) for n in re.findall(pattern, output))

    failed = number(r"(\d+) failed") + number(r"(\d+) errors?\b") + number(r"failures=(\d+)") + number(r"errors=(\d+)")
    ran = number(r"Ran (\d+) tests?")
    passed = number(r"(\d+) passed") + max(ran - number(r"failures=(\d+)") - number(r"errors=(\d+)"), 0)
    if not passed and not failed:
        failed = len(_FAILURE.findall(output))
    return passed, failed


def best(scored: list[tuple[Score, Turn]]) -> tuple[Turn, Score]:
    """The candidate the tests like best; the earliest wins ties (the model's own reply comes first)."""
    top_score, _, top = min((s, i, turn) for i, (s, turn) in enumerate(scored))
    return top, top_score


# Begins the result of an edit the harness refused to run (tune/ does not train on such a call).
NOT_APPLIED = "This edit was not applied"


def regression(before: Score, after: Score, command: str) -> str | None:
    """Why the best edit is not applied, when even it leaves the tests worse than they are now."""
    if after <= before or after[0] >= 2:
        return None  # not worse; an edit that fails or is not allowed reports its own error when run
    return (f"{NOT_APPLIED}: tried on a copy of the workspace, it leaves `{command}` worse "
            f"({-after[1]} tests passing instead of {-before[1]}). Read the code again and make a smaller, "
            "correct change.")
