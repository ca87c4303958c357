"""The agent loop: ask the model, run the tools it calls, repeat; a generator of Events.

Drivers (headless, TUI, eval, tests) iterate it and answer ApprovalNeeded with `send(Decision)`.
It returns an Outcome: done when the model answers without a tool call, otherwise the limit that stopped it.
"""

from __future__ import annotations

from dataclasses import asdict, replace
from typing import Generator, Sequence

from ..config import Settings
from ..context.engine import maintain, refit
from ..errors import ContextOverflow, LubanError
from ..harness import rewrites
from ..harness import Harness
from ..harness.candidates import SAMPLE_TEMPERATURE, WORST, best, regression, score, tests_score, worth_sampling
from ..harness.gate import TestRun, quoted
from ..models import Model, drain
from ..models.protocol import Turn, view
from ..models.reasoning import reasoning_apart
from ..session import Transcript
from ..tools import Tool
from ..types import (AssistantText, Completion, Decision, Event, Message, ModelReplied, Notice, Outcome, ReplyRestarted,
                     Request, TurnEnded)
from ..workspace import Workspace
from ..workspace.checkpoints import Checkpoints
from .call import STUCK_AT, repeat_key, run_call, turn_hints
from .state import RunState

MALFORMED_LIMIT, UNSTICK_TEMPERATURE = 3, 0.7
# Stopped by the harness, not the user or an error. Not max_time: a test run would overrun the user's limit.
STOPPED = frozenset({"stuck", "max_steps", "max_tokens"})
PASSING = "[Luban: `{command}` passes after this edit. If nothing else is left, finish.]"
NO_TESTS_IN_PLAN = ("Plan mode runs no commands: the test command `{command}` was not run, and the answer is not "
                    "checked against it.")
CUT_OFF = ("Your reply was cut off by the length limit. Keep each reply short: change files with small "
           "edit_file replacements instead of rewriting them whole.")


def run(task: str, *, model: Model, tools: Sequence[Tool], ws: Workspace, settings: Settings,
        history: Sequence[Message], transcript: Transcript | None = None, harness: Harness = Harness(),
        checkpoints: Checkpoints | None = None, allowed: list[str] | None = None
        ) -> Generator[Event, Decision | None, Outcome]:
    """Run `task` (one user turn) on top of `history`, which starts with the system prompt the protocol wrote.

    With a test gate, the test command's output is shown with the task and a final answer is accepted only once
    it passes (or the gate refused `max_refusals` times). With `checkpoints`, files are snapshotted (workspace/checkpoints.py);
    `allowed` (the session's "always allow" patterns) is extended in place, so later turns keep them."""
    state = RunState.start(task, model, tools, ws, settings, history, transcript, harness, checkpoints, allowed)
    try:
        outcome = yield from _steps(task, state)
    except LubanError as exc:
        outcome = state.outcome(exc.status, str(exc))
    outcome = _tests_at_stop(outcome, state)
    if transcript:  # with the test command that judged it: a done run with one passed it (tune/ trains on those)
        gate = {"test_command": state.gate.command} if state.gate else {}
        transcript.append({"type": "outcome", **asdict(outcome), **gate})
    yield TurnEnded(outcome)
    return outcome


def _tests_at_stop(outcome: Outcome, st: RunState) -> Outcome:
    """A run the harness stopped (stuck, or a step or token limit) says whether the tests pass now: a weak
    model often fixes the code and then loops instead of finishing, and the user should not have to find out."""
    if not st.gate or outcome.status not in STOPPED or not st.gate.run(st.ws).passed:
        return outcome
    return replace(outcome, message=f"{outcome.message} `{st.gate.command}` passes now.")


def _steps(task: str, st: RunState) -> Generator[Event, Decision | None, Outcome]:
    if st.gate:
        tests = st.gate.run(st.ws)
        st.add(Message("user", f"{task}\n\n{st.gate.briefing(st.ws, tests)}"))
        _saw_quoted(tests, st)
    else:
        st.add(Message("user", task))
        if st.harness.gate:  # a gate the mode switched off (RunState.gate): say so rather than skip it silently
            yield st.record(Notice(NO_TESTS_IN_PLAN.format(command=st.harness.gate.command)))
    malformed = 0
    while True:
        limit = st.limit_reached()
        if limit:
            return limit
        for event in maintain(st.window, st.messages, st.summary, st.transcript):
            yield st.record(event)
        request, turn, finish_reason = yield from _complete_fitted(st, _request(st))
        rejected = passing = None
        if worth_sampling(turn, st):
            turn, rejected, passing = yield from _best_edit(turn, request, st)
        st.add(turn.message)
        text = turn.thought if turn.calls else (turn.answer or "")
        if text or turn.message.reasoning:
            yield st.record(AssistantText(text, turn.message.reasoning))
        if turn.error:  # a reply that could not be read counts as a rejected call
            st.stats["rejected"] += 1
            malformed += 1
            if malformed >= MALFORMED_LIMIT:
                return st.outcome("stuck", f"The model sent {malformed} malformed replies in a row.")
            st.add(Message("user", CUT_OFF if finish_reason == "length" else turn.error))
            continue
        rejected_before = st.stats["rejected"]
        if not turn.calls:
            malformed = 0
            outcome = yield from _answered(turn, finish_reason, st)
            if outcome:
                return outcome
            continue
        for call in turn.calls:
            call, result = yield from run_call(call, st, rejected, passing)
            path = call.arguments.get("path")
            st.add(st.window.result(call, view(result), [path] if isinstance(path, str) and path else []))
            if st.repeats[repeat_key(call, result)] >= STUCK_AT:
                return st.outcome("stuck", f"The model repeated the same {call.name} call {STUCK_AT} times.")
        # A turn in which nothing the model asked for could run counts as malformed.
        malformed = malformed + 1 if st.stats["rejected"] - rejected_before == len(turn.calls) else 0
        if malformed >= MALFORMED_LIMIT:
            return st.outcome("stuck", f"The model sent {malformed} invalid tool calls in a row.")


def _answered(turn: Turn, finish_reason: str | None, st: RunState) -> Generator[Event, Decision | None, Outcome | None]:
    """The model answered without a call: done, unless the reply was cut or the test gate refuses it."""
    if finish_reason == "length":
        st.add(Message("user", CUT_OFF))
        return None
    if st.gate:
        tests = st.gate.run(st.ws)
        if not tests.passed and st.refusals >= st.gate.max_refusals:
            return st.outcome("stuck", f"The model kept finishing while `{st.gate.command}` fails.")
        if not tests.passed:
            st.refusals += 1
            st.must_edit = True
            yield st.record(Notice(f"The model tried to finish but `{st.gate.command}` fails; sent it back to work."))
            st.add(Message("user", st.gate.refusal(tests, st.ws)))
            _saw_quoted(tests, st)
            return None
    return st.outcome("done", turn.answer or "")


def _saw_quoted(tests: TestRun, st: RunState) -> None:
    """The gate showed the model a definition as written: an edit of that file is grounded in its real text.
    (Measured: forced to edit after a refused finish, the 1.5B kept editing the quoted function without a
    read_file first, the read-before-write guard refused each edit, and the run ended stuck.)"""
    path = quoted(tests, st.ws)
    if path:
        st.guards.saw(st.ws.resolve(path))


def _request(st: RunState) -> Request:
    st.steps += 1
    specs = [t.spec for t in st.tools.values()]
    hints = turn_hints(st)
    # At temperature 0 a model that just repeated itself will do so again: sample more freely until it moves on.
    temperature = max(st.settings.temperature, UNSTICK_TEMPERATURE) if hints.avoid else st.settings.temperature
    request = st.protocol.request(st.messages, specs, temperature, st.settings.max_reply_tokens, hints)
    st.must_edit = False
    return replace(request, send_reasoning=st.harness.send_reasoning)


def _ask(st: RunState, request: Request) -> Generator[Event, Decision | None, Completion]:
    restarts: list[ReplyRestarted] = []
    completion = drain(st.model, replace(request, deadline=st.deadline), restarts.append)
    for restart in restarts:  # told once the reply is whole: a driver pausing mid-stream would stall the stream
        yield st.record(Notice(restart.text))
    st.usage += completion.usage
    st.model_s += completion.wall_s
    yield st.record(ModelReplied(completion.usage, completion.wall_s))
    return completion


def _complete_fitted(st: RunState, request: Request
                     ) -> Generator[Event, Decision | None, tuple[Request, Turn, str | None]]:
    """_complete, and once more after compacting the history if the server says the prompt exceeds its window."""
    try:
        return (request, *(yield from _complete(st, request)))
    except ContextOverflow as exc:
        for event in refit(st.window, st.messages, str(exc), st.summary, st.transcript):
            yield st.record(event)
    request = replace(request, messages=tuple(st.messages))
    try:
        return (request, *(yield from _complete(st, request)))
    except ContextOverflow as exc:
        raise ContextOverflow(f"{str(exc)[:-1]}, even after the history was compacted; give the server a larger "
                              "context window, or start a new session.") from None


def _complete(st: RunState, request: Request) -> Generator[Event, Decision | None, tuple[Turn, str | None]]:
    completion = yield from _ask(st, request)
    st.window.observed(len(request.messages), completion.usage)
    message = reasoning_apart(completion.message, st.harness.reasoning_format)
    specs = [t.spec for t in st.tools.values()]
    return st.protocol.read(message, specs, f"call_{st.steps}"), completion.finish_reason


def _best_edit(turn: Turn, request: Request, st: RunState
               ) -> Generator[Event, Decision | None, tuple[Turn, str | None, str | None]]:
    """Try alternatives to an edit until one makes the tests pass (at most `edit_samples` in all): replies
    sampled warmer, alternating with focused rewrites where the failing tests point at a definition. Keep the
    one the tests like best (candidates.py), and refuse it if even that one leaves the tests worse than now.

    Returns (the turn to run, why its edit must not run, what to tell the model once it ran: that the tests
    pass, when they did on the copy)."""
    now = st.gate.run(st.ws)
    before = tests_score(now)
    goal = rewrites.target(now, st.ws, st.guards) if st.settings.focused_rewrites else None
    scored, focused = [(score(turn, st), turn)], []
    warmer = replace(request, temperature=max(request.temperature or 0.0, SAMPLE_TEMPERATURE))
    while scored[-1][0][0] != 0 and len(scored) < st.settings.edit_samples:
        st.check_time("while trying candidate edits")
        sample = (yield from _rewrite(goal, now, warmer.temperature, st)) if goal and len(scored) % 2 else None
        if sample:
            focused.append(sample)
            # The model chose its own edits; a rewrite it did not ask for must earn its place by progress
            # (measured: one that only turned failures into NameErrors was taken and derailed the run).
            rewrite_score = score(sample, st)
            scored.append((rewrite_score if rewrite_score < before else WORST, sample))
        else:
            sample = (yield from _complete(st, warmer))[0]
            scored.append((score(sample, st), sample))
    chosen, after = best(scored)
    if chosen is not turn:
        how = f"the model's focused rewrite of {goal.name}" if any(chosen is r for r in focused) else "a sampled one"
        verdict = "pass" if after[0] == 0 else "do better" if after < before else "do no worse"
        yield st.record(Notice(f"Tried {len(scored)} candidate edits on a copy; took {how}, after which the tests "
                               f"{verdict}."))
    # Tells the model its edit worked without a step spent running the tests. (Text mode's 1.5B, its code
    # fixed, kept reading the test file until the run ended stuck, with this note as without it.)
    passing = PASSING.format(command=st.gate.command) if after[0] == 0 else None
    return chosen, regression(before, after, st.gate.command), passing


def _rewrite(goal: rewrites.Target, now: TestRun, temperature: float, st: RunState
             ) -> Generator[Event, Decision | None, Turn | None]:
    """The model's rewrite of `goal`, asked for in a separate short request, as an edit_file turn."""
    completion = yield from _ask(st, rewrites.request(goal, now, temperature, st.settings.max_reply_tokens))
    new = rewrites.rewritten(completion.message.content, goal)
    if st.transcript:  # not part of the conversation, but what the model wrote is kept for the record
        st.transcript.append({"type": "rewrite", "target": f"{goal.path}:{goal.name}",
                              "reply": completion.message.content, "usable": new is not None})
    if new is None:
        return None
    st.guards.saw(st.ws.resolve(goal.path))  # the request quoted the text the edit replaces
    return st.protocol.turn_for(rewrites.thought(goal), rewrites.edit_call(goal, new, f"call_{st.steps}_rewrite"))
