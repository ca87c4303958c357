"""The agent loop: ask the model, run the tools it calls, repeat; a generator of Events.

Drivers (headless, TUI, eval, tests) iterate it and answer ApprovalNeeded with `send(Decision)`.
It returns an Outcome: done when the model answers without a tool call, otherwise the limit that stopped it.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Generator, Sequence

from ..config import Settings
from ..context.engine import maintain
from ..errors import LubanError
from ..harness import Harness
from ..harness.candidates import search, worth_sampling
from ..models import Model
from ..models.protocol import Turn, view
from ..session import Transcript
from ..tools import Tool, touched_by
from ..types import AssistantText, Decision, Event, Message, Notice, Outcome, Request, ToolCall, TurnEnded
from ..workspace import Workspace
from ..workspace.checkpoints import Checkpoints
from .call import STUCK_AT, run_call
from .state import CUT_OFFS, RunState

MALFORMED_LIMIT, UNSTICK_TEMPERATURE = 3, 0.7
# Stopped by the harness, not the user or an error. Not max_time: a test run would overrun the user's limit.
STOPPED = frozenset({"stuck", "max_steps", "max_tokens"})
NO_TESTS_IN_PLAN = ("Plan mode runs no commands: the test command `{command}` was not run, and the answer is not "
                    "checked against it.")


def run(task: str, *, model: Model, tools: Sequence[Tool], ws: Workspace, settings: Settings,
        history: Sequence[Message], transcript: Transcript | None = None, harness: Harness = Harness(),
        checkpoints: Checkpoints | None = None, allowed: list[str] | None = None,
        conversation: list[Message] | None = None) -> Generator[Event, Decision | None, Outcome]:
    """Run `task` (one user turn) on top of `history`, which starts with the system prompt the protocol wrote.

    With a test gate, the test command's output is shown with the task and a final answer is accepted only once
    it passes (or the gate refused `max_refusals` times). With `checkpoints`, files are snapshotted before the
    turn writes; `allowed` (the session's "always allow" patterns) is extended in place for later turns, and
    `conversation` (the terminal UI's history) holds the messages as the model saw them, in place, as they go."""
    state = RunState.start(task, model, tools, ws, settings, history, transcript, harness, checkpoints, allowed,
                           conversation)
    try:
        outcome = yield from _steps(task, state)
    except LubanError as exc:
        outcome = state.outcome(exc.status, str(exc))
    outcome = _tests_at_stop(outcome, state)
    if transcript:
        transcript.append_outcome(outcome, state.gate.command if state.gate else None)
    yield TurnEnded(outcome)
    return outcome


def _tests_at_stop(outcome: Outcome, st: RunState) -> Outcome:
    """A run the harness stopped (stuck, or a step or token limit) says whether the tests pass now: a weak
    model often fixes the code and then loops instead of finishing, and the user should not have to find out."""
    if not st.judge or outcome.status not in STOPPED or not st.judge.run(st.ws).passed:
        return outcome
    return replace(outcome, message=f"{outcome.message} `{st.gate.command}` passes now.")


def _steps(task: str, st: RunState) -> Generator[Event, Decision | None, Outcome]:
    st.add((yield from st.opening(task)))
    if not st.judge:
        if st.harness.gate:  # a gate the mode switched off (RunState.gate): say so rather than skip it silently
            yield st.record(Notice(NO_TESTS_IN_PLAN.format(command=st.harness.gate.command)))
    malformed = 0
    while True:
        limit = st.limit_reached()
        if limit:
            return limit
        for event in maintain(st.window, st.messages, st.summary, st.transcript):
            yield st.record(event)
        request, turn, finish_reason = yield from st.fitted_reply(_request(st, malformed))
        rejected = passing = None
        if st.trial and worth_sampling(turn, st.trial):
            turn, rejected, passing = yield from search(turn, request, st.trial, st, f"call_{st.steps}_rewrite")
        st.add(turn.message)
        text = turn.thought if turn.calls else (turn.answer or "")
        st.thought(turn.thought if turn.calls else "")
        if text or turn.message.reasoning:
            yield st.record(AssistantText(text, turn.message.reasoning))
        if turn.error:  # a reply that could not be read counts as a rejected call
            st.stats["rejected"] += 1
            malformed += 1
            if malformed < MALFORMED_LIMIT:
                st.add(Message("user", CUT_OFFS.get(finish_reason, turn.error)))
        elif turn.calls:
            rejected_before = st.stats["rejected"]
            # With the regression guard the edit's own test run says how the tests stand after it.
            stuck = yield from _ran(turn.calls, st, rejected, None if st.harness.regression_guard else passing)
            if stuck:
                return stuck
            # A turn in which nothing the model asked for could run counts as malformed.
            malformed = malformed + 1 if st.stats["rejected"] - rejected_before == len(turn.calls) else 0
        else:
            malformed = 0
            outcome = yield from _answered(turn, finish_reason, st)
            if outcome:
                return outcome
        if malformed >= MALFORMED_LIMIT:
            what = "malformed replies" if turn.error else "invalid tool calls"
            return st.outcome("stuck", f"The model sent {malformed} {what} in a row.")


def _ran(calls: tuple[ToolCall, ...], st: RunState, rejected: str | None, passing: str | None
         ) -> Generator[Event, Decision | None, Outcome | None]:
    """Run the turn's calls in order; the outcome when one repeated until the model counts as stuck."""
    for call in (c for c in calls if not st.finished):  # finish_on_pass: the calls after a passing one do not run
        call, result = yield from run_call(call, st, rejected, passing)
        paths = [p for p in touched_by(st.tools.get(call.name), call.arguments).paths if p]
        st.add(st.window.result(call, view(result), paths))
        if st.repeats[st.last_key] >= STUCK_AT:
            return st.outcome("stuck", f"The model repeated the same {call.name} call {STUCK_AT} times.")
    return None


def _answered(turn: Turn, finish_reason: str | None, st: RunState) -> Generator[Event, Decision | None, Outcome | None]:
    """The model answered without a call: done, unless the reply was cut or the test gate refuses it."""
    if finish_reason in CUT_OFFS:
        st.add(Message("user", CUT_OFFS[finish_reason]))
        return None
    if st.judge and not (tests := st.judge.run(st.ws)).passed:
        if st.refusals >= st.gate.max_refusals:  # once, before giving up: the harness's own rewrites of the suspects
            if (yield from st.last_repairs(tests)):
                return None
            return st.outcome("stuck", f"The model kept finishing while `{st.gate.command}` fails.")
        st.refusals += 1
        st.must_edit = True
        yield st.record(Notice(f"The model tried to finish but `{st.gate.command}` fails; sent it back to work."))
        st.add(Message("user", st.refusal(tests)))
        st.guards.saw_quoted(tests, st.ws)
        return None
    return st.outcome("done", turn.answer or "")


def _request(st: RunState, malformed: int) -> Request:
    st.steps += 1
    hints = st.hints()
    # At temperature 0 a model that just repeated itself or sent an unreadable reply will do so again (bf-35's
    # toolz-830dbf1f: one reply cut at the length limit three times, ~70 s each): sample more freely until it moves on.
    unstick = (hints.avoid or malformed) and not (st.must_read or hints.final)
    temperature = max(st.settings.temperature, UNSTICK_TEMPERATURE) if unstick else st.settings.temperature
    request = st.protocol.request(st.messages, st.specs, temperature, st.settings.max_reply_tokens, hints)
    st.must_edit = False
    st.must_read = None
    return replace(request, send_reasoning=st.harness.send_reasoning)
