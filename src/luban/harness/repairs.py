"""Opening repairs: for a weak model (its profile's `focused_writes`) whose task starts with the tests failing,
the likeliest places of the bug are rewritten from short, separate requests before the agent's conversation
starts, each rewrite tried on a copy of the workspace. The best that leaves more tests passing is applied, and
the model starts from there, told what was done; the regression guard judges it like any edit.

Why: the focused rewrites of candidates.py waited for the model to propose an edit. In the bugfix transcripts
the 1.5B spent its first steps reading whole files (a minute of prefill each) before it proposed one, and then
every rewrite went to the same definition. Here the same short requests go first, one per suspect in turn, greedy
the first time, and cost only their decoding and a test run each.
"""

from __future__ import annotations

from typing import Callable, Generator

from ..models.protocol import Turn
from ..types import Decision, Event, Notice
from . import rewrites
from .candidates import (SAMPLE_TEMPERATURE, Sampler, Score, Trial, rewrite_turn, tests_score,
                         with_each_place_alone)
from .gate import TestRun

CHANGE_SHOWN = 1500  # characters of the applied edit's diff in the note: a function's rewrite, not a file
OPENING_REWRITES = 3  # rewrites a round asks for, a suspect each in turn; the first after which the tests pass ends it
# Rounds: the best rewrite of a round that leaves more tests passing is applied, and the next round starts from it,
# shown only the failures left (in bf-30 four first rewrites were partial, cachetools 446 -> 459 of 465 passing, and
# the model, deep in its conversation, fixed none of the rest; in bf-32 a second round ran in two such tasks and
# found nothing better in either); after a round that found nothing better, the next samples again. OPENING_TRIES
# bounds the rewrites of all rounds: seven of the eight bugfix tasks resolved in bf-30 were resolved by a focused
# rewrite, the warmer ones differ from run to run (inflection-7eca6cfe's second rewrite failed in bf-30 and passed
# in bf-32), and each costs about 30 s where the model's own conversation costs the rest of the 600.
OPENING_ROUNDS = 3
OPENING_TRIES = 6


def repair(trial: Trial, sampler: Sampler, now: TestRun, may_write: Callable[[str], bool],
           tries: int = OPENING_REWRITES, when: str = "before the first step"
           ) -> Generator[Event, Decision | None, tuple[Turn, rewrites.Target] | None]:
    """The edit_file turn of the best of `tries` focused rewrites of the top suspects and its target, when one
    leaves more tests passing than `now` (the gate's failing run); None when none does, or none may be written
    unasked. `when` the repair ran, for the notice."""
    before = tests_score(now)
    chosen: tuple[Score, Turn, rewrites.Target] | None = None
    for _ in range(tries):
        sampler.check_time("while rewriting the likeliest places of the bug")
        goal = rewrites.target(now, trial.ws, trial.guards, trial.suspects, trial.rewritten)
        if goal is None or not may_write(goal.path):
            break
        # Greedy first; a suspect asked again is asked warmer, as the same greedy request gives the same reply
        # (measured: three identical rewrites of one function, 22 s of decoding each).
        temperature = SAMPLE_TEMPERATURE if trial.rewritten.get(goal.key) else 0.0
        turn = yield from rewrite_turn(goal, now, temperature, trial, sampler, "call_0_repair")
        if turn is None:
            continue
        for after, turn in with_each_place_alone(turn, goal, now, trial):
            if after < before and (chosen is None or after < chosen[0]):
                chosen = (after, turn, goal)
        if chosen and chosen[0][0] == 0:
            break
    if chosen is None:
        return None
    after, turn, goal = chosen
    yield sampler.record(Notice(f"Rewrote {goal.name} in {goal.path} {when}, tried on a copy: "
                                f"{-after[1]} tests pass after it instead of {-before[1]}."))
    return turn, goal


def note(goal: rewrites.Target, run: TestRun | None, refused: bool, change: str = "", last: bool = True) -> str:
    """What the model is told of an applied repair: which definition, the change (the edit's diff), and, after the
    `last` round, how the tests stand.

    Why the change: told only that a rewrite made the tests pass, the 1.5B set out to "check the change" by
    reading the 867-line file 200 lines a step, four steps, before it finished."""
    what = f"[Luban rewrote {goal.name} in {goal.path} from a short, separate request"
    if refused or run is None:
        return f"{what}, but the tests did worse with it, so it was put back.]"
    shown = f"\n{change.strip()[:CHANGE_SHOWN]}\n" if change.strip() else " "
    if run.passed:
        return f"{what}, and now the tests pass. The change:{shown}If it is right and nothing else is left, finish.]"
    tests = f"The tests now:\n{run.view[:1500]}" if last else ""
    return f"{what}; more tests pass after it, but not all. The change:{shown}{tests}".rstrip() + "]"
