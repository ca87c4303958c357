"""Verifier-guided choice between candidate edits.

When the model's next step changes a file and the project has a test command, its edit is tried on a scratch
copy of the workspace; while no candidate makes the tests pass, another is made and tried (up to `edit_samples`
in all: replies sampled warmer, alternating with focused rewrites, rewrites.py), and the one after which the
tests do best is kept. The tests decide, never the model's confidence; the original reply wins ties.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Generator, Mapping, Protocol

from ..models.protocol import ToolProtocol, Turn
from ..models.repair import repair_call
from ..session import Transcript
from ..tools import Tool, touched_by
from ..types import Completion, Decision, Event, Notice, Request
from ..workspace import Workspace
from . import hunks, rewrites
from .faults import Suspect
from .gate import TestGate, TestRun
from .guards import Guards
from .judge import NOT_APPLIED

SAMPLE_TEMPERATURE = 0.8
MAX_COPY_FILES = 2000  # copying a bigger tree for every candidate costs more than the choice is worth
_FAILURE = re.compile(r"FAIL|ERROR|Error\b|failed|error")
WORST = (9, 0, 0)
Score = tuple[int, int, int]
PASSING = "[Luban: `{command}` passes after this edit. If nothing else is left, finish.]"


@dataclass(frozen=True)
class Trial:
    """Where candidate edits are tried and who judges them: copies of `ws`, the test gate, the turn's tools and
    guards; how many candidates in all (`samples`), and whether focused rewrites are among them."""

    gate: TestGate
    ws: Workspace
    tools: Mapping[str, Tool]
    guards: Guards
    protocol: ToolProtocol
    samples: int
    focused: bool
    max_tokens: int | None  # of a rewrite's reply
    transcript: Transcript | None  # keeps what the model wrote for each rewrite
    suspects: tuple[Suspect, ...] = ()  # fault localization's ranking, best first: where focused rewrites look first
    # How often each definition was rewritten in this run (by Target.key): the run's, counted here as they go.
    rewritten: dict[str, int] = field(default_factory=dict)


class Sampler(Protocol):
    """What the search asks of the agent's turn: more of the model's replies, each recorded as the turn's own."""

    def ask(self, request: Request) -> Generator[Event, Decision | None, Completion]: ...

    def reply(self, request: Request) -> Generator[Event, Decision | None, tuple[Turn, str | None]]: ...

    def check_time(self, during: str) -> None: ...

    def record(self, event: Event) -> Event: ...


def worth_sampling(turn: Turn, trial: Trial) -> bool:
    """One call that writes and that the guards allow, a test gate to judge it, and a tree small enough to
    copy. Sampling alternatives to an edit refused for a file not read yet only costs minutes (the model reads
    it next); one refused for changing a protected test is sampled, as candidates may change the code instead
    (measured: in text mode the 1.5B kept editing test_pricing.py until the run ended stuck, 4 of 5 runs)."""
    if trial.samples < 2 or len(turn.calls) != 1:
        return False
    call = turn.calls[0]
    tool = trial.tools.get(call.name)
    if tool is None or tool.effect != "write":
        return False
    touched = touched_by(tool, call.arguments)
    if trial.guards.refuse(call, tool.effect, trial.ws, touched) and not trial.guards.protects(call, trial.ws, touched):
        return False
    return copyable(trial)


def copyable(trial: Trial) -> bool:
    """Whether the workspace is small enough to copy for each candidate."""
    return len(trial.ws.listing.files()) <= MAX_COPY_FILES


def search(turn: Turn, request: Request, trial: Trial, sampler: Sampler, call_id: str
           ) -> Generator[Event, Decision | None, tuple[Turn, str | None, str | None]]:
    """Try alternatives to an edit until one makes the tests pass (at most `trial.samples` in all): replies
    sampled warmer, alternating with focused rewrites where the failing tests point at a definition. Keep the
    one the tests like best, and refuse it if even that one leaves the tests worse than now.

    Returns (the turn to run, why its edit must not run, what to tell the model once it ran: that the tests
    pass, when they did on the copy)."""
    now = trial.gate.run(trial.ws)
    before = tests_score(now)
    scored, focused = [(score(turn, trial), turn)], []
    warmer = replace(request, temperature=max(request.temperature or 0.0, SAMPLE_TEMPERATURE))
    while scored[-1][0][0] != 0 and len(scored) < trial.samples:
        sampler.check_time("while trying candidate edits")
        sample = goal = None
        if trial.focused and len(scored) % 2:
            goal = rewrites.target(now, trial.ws, trial.guards, trial.suspects, trial.rewritten)
        if goal:
            sample = yield from rewrite_turn(goal, now, warmer.temperature, trial, sampler, call_id)
        if sample:
            rewrite_score, sample = min(with_each_place_alone(sample, goal, now, trial), key=lambda pair: pair[0])
            focused.append((sample, goal.name))
            # The model chose its own edits; a rewrite it did not ask for must earn its place by progress
            # (measured: one that only turned failures into NameErrors was taken and derailed the run).
            scored.append((rewrite_score if rewrite_score < before else WORST, sample))
        else:
            sample = (yield from sampler.reply(warmer))[0]
            scored.append((score(sample, trial), sample))
    chosen, after = best(scored)
    if chosen is not turn and after >= before:
        # A sampled edit that changes no test's outcome is no progress, and it changes code the failing tests may
        # not even run (measured: in a boltons run it negated a type check 400 lines from the bug, which no test
        # covered, and stayed); one that does worse is refused anyway, and the model then read a refusal of an
        # edit it never wrote. The model's own edit is judged by itself: refused if it does worse.
        yield sampler.record(Notice(f"Tried {len(scored)} candidate edits on a copy; none did better than "
                                    "leaving the code as it is."))
        chosen, after = turn, scored[0][0]
    elif chosen is not turn:
        how = next((f"the model's focused rewrite of {name}" for sample, name in focused if sample is chosen),
                   "a sampled one")
        verdict = "pass" if after[0] == 0 else "do better"
        yield sampler.record(Notice(f"Tried {len(scored)} candidate edits on a copy; took {how}, after which the "
                                    f"tests {verdict}."))
    # Tells the model its edit worked without a step spent running the tests. (Text mode's 1.5B, its code
    # fixed, kept reading the test file until the run ended stuck, with this note as without it.)
    passing = PASSING.format(command=trial.gate.command) if after[0] == 0 else None
    return chosen, regression(before, after, trial.gate.command), passing


def rewrite_turn(goal: rewrites.Target, now: TestRun, temperature: float, trial: Trial, sampler: Sampler, call_id: str
             ) -> Generator[Event, Decision | None, Turn | None]:
    """The model's rewrite of `goal`, asked for in a separate short request, as an edit_file turn."""
    trial.rewritten[goal.key] = trial.rewritten.get(goal.key, 0) + 1
    completion = yield from sampler.ask(rewrites.request(goal, now, temperature, trial.max_tokens))
    new = rewrites.rewritten(completion.message.content, goal)
    if trial.transcript:  # not part of the conversation, but what the model wrote is kept for the record
        trial.transcript.append_rewrite(f"{goal.path}:{goal.name}", completion.message.content, new is not None)
    if new is None:
        return None
    trial.guards.saw(trial.ws.resolve(goal.path))  # the request quoted the text the edit replaces
    return trial.protocol.turn_for(rewrites.thought(goal), rewrites.edit_call(goal, new, call_id))


def with_each_place_alone(turn: Turn, goal: rewrites.Target, now: TestRun, trial: Trial) -> list[tuple[Score, Turn]]:
    """The rewrite's score, and where it changes a few separate places, makes some failing tests pass and still
    leaves the tests failing, each place applied alone with its score (hunks.py): the fix without the noise."""
    after, run = tried(turn, trial)
    scored = [(after, turn)]
    if after[0] != 1 or run is None or not now.failing - run.failing:
        return scored
    for variant in hunks.each_alone(goal.source, turn.calls[0].arguments["new_string"]):
        alone = trial.protocol.turn_for(rewrites.thought(goal), rewrites.edit_call(goal, variant, turn.calls[0].id))
        scored.append((score(alone, trial), alone))
    return scored


def score(turn: Turn, trial: Trial) -> Score:
    """Lower is better: (0 tests pass | 1 they fail | 2 the edit failed | 9 not an allowed edit,
    minus the tests passing, the failures)."""
    return tried(turn, trial)[0]


def tried(turn: Turn, trial: Trial) -> tuple[Score, TestRun | None]:
    """The turn's score (see `score`), and the test run it was scored by (None where the tests did not run)."""
    if len(turn.calls) != 1 or trial.tools.get(turn.calls[0].name) is None:
        return WORST, None
    call, tool = turn.calls[0], trial.tools[turn.calls[0].name]
    checked = repair_call(call.name, call.written, [t.spec for t in trial.tools.values()])
    if tool.effect != "write" or checked.error or trial.guards.refuse(call, tool.effect, trial.ws,
                                                                      touched_by(tool, call.arguments)):
        return WORST, None
    with tempfile.TemporaryDirectory(prefix="luban-try-") as tmp:
        copy = Path(tmp) / "ws"
        shutil.copytree(trial.ws.root, copy, symlinks=True, ignore=shutil.ignore_patterns(".git"))
        scratch = Workspace.open(copy, Path(tmp) / "out", trial.ws.sandbox)
        if tool(checked.arguments, scratch).error:
            return (2, 0, 0), None
        run = trial.gate.run(scratch)
        return tests_score(run), run


def tests_score(run: TestRun) -> Score:
    """The score of a test run; for the workspace as it is, that of changing nothing."""
    if run.report is None or not run.report.counts:  # a run read as no report: the words in its output
        passed, failed = test_counts(run.output)
        return (0 if run.passed else 1, -max(passed, run.passing), failed)
    counts = dict(run.report.counts)
    return (0 if run.passed else 1, -run.passing, counts.get("failed", 0) + counts.get("error", 0))


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


def regression(before: Score, after: Score, command: str) -> str | None:
    """Why the best edit is not applied, when even it leaves the tests worse than they are now."""
    if after <= before or after[0] >= 2:
        return None  # not worse; an edit that fails or is not allowed reports its own error when run
    return (f"{NOT_APPLIED}: tried on a copy of the workspace, it leaves `{command}` worse "
            f"({-after[1]} tests passing instead of {-before[1]}). Read the code again and make a smaller, "
            "correct change.")
