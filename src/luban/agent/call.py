"""One tool call, from the model's request to the result it sees: repair, permission and approval, guards,
execution, and repeat detection (nudge, and the per-turn hints that steer a repeating model away)."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from typing import Any, Generator, Mapping

from ..errors import PathRefused
from ..harness import hooks
from ..harness.judge import Judge
from ..harness.testcommand import runs_tests, tests_result
from ..models.repair import repair_call
from ..safety import policy
from ..safety.redact import MARKER_PREFIX, carries_marker
from ..tools import Tool, bash, touched_by
from ..types import (ApprovalNeeded, Decision, Denial, Effect, Event, Notice, ToolCall, ToolFinished, ToolResult,
                     ToolStarted, Touched)
from ..workspace import Workspace
from ..workspace.checkpoints import CheckpointError
from .state import RunState

NUDGE_AT, STUCK_AT = 3, 5
RECENT = 3  # calls looked back on for repeats: catches A-A, A-B-A-B and A-B-C-A-B-C loops
NUDGE = ("[Luban: this exact call has now given this exact result {n} times. Repeating it will not help; "
         "try a different approach.]")
# A result the model has right above, whole, is not appended again: a weak model re-reading the file it just read
# cost 2.6k prompt tokens, about 60 s of prefill on 2 cores, for nothing new.
SAME_AS_ABOVE = "[{name} gave exactly the result of your previous call, shown just above; nothing has changed since.]"
SAME_MIN_CHARS = 300  # a shorter result costs less to show again than to point at


def run_call(call: ToolCall, st: RunState, refusal: str | None = None, note: str | None = None
             ) -> Generator[Event, Decision | None, tuple[ToolCall, ToolResult]]:
    """Repair the call if it is unambiguous, run it if allowed; returns the call as run and its result.

    `refusal`: the harness already decided not to run it (an edit that was tried and made the tests worse).
    `note`: what the harness adds to the result if the call succeeds (the tests pass after this edit).
    """
    checked = repair_call(call.name, call.written, [t.spec for t in st.tools.values()])
    st.stats["rejected" if checked.error else "repaired" if checked.repaired else "valid"] += 1
    if not checked.error:
        call = ToolCall(call.id, checked.call_name, checked.arguments)
    yield st.record(ToolStarted(call))
    started = time.monotonic()
    if checked.error or refusal:
        result = ToolResult(checked.error or refusal, error=True)
    else:
        result = yield from _checked_call(call, st)
        if note and not result.error:
            result = ToolResult(f"{result.content}\n\n{note}", False)
    # Secrets never reach the transcript or the model, whichever tool (or hook) printed them.
    result = ToolResult(st.harness.redactor(result.content), result.error)
    key = repeat_key(call, result)
    st.repeats[key] += 1
    count = st.repeats[key]
    st.recent = (*st.recent[-(RECENT - 1):], (call.name, count >= 2))
    if key == st.last_key and st.harness.skip_reruns and len(result.content) > SAME_MIN_CHARS:
        result = ToolResult(SAME_AS_ABOVE.format(name=call.name), result.error)
    st.last_key = key
    if NUDGE_AT <= count < STUCK_AT:
        yield st.record(Notice(f"{call.name} repeated {count} times with the same result; nudging the model."))
        result = ToolResult(result.content + "\n\n" + NUDGE.format(n=count), result.error)
    yield st.record(ToolFinished(call, result, round(time.monotonic() - started, 3)))
    return call, result


def _checked_call(call: ToolCall, st: RunState) -> Generator[Event, Decision | None, ToolResult]:
    """Permission first (rules, mode, the user's answer), then the harness's guards, then the tool, then the
    user's after-edit hooks."""
    tool = st.tools[call.name]
    touched = touched_by(tool, call.arguments)
    refused = yield from _permitted(call, tool.effect, touched, st)
    if refused:
        return refused
    if st.checkpoints and tool.effect != "read":
        warning = st.checkpoints.before_write(st.messages, st.transcript)
        if warning:
            yield st.record(Notice(warning))
    marked = carries_marker(call.arguments) if tool.effect == "write" else None
    if marked:
        return ToolResult(f"{marked} contains a {MARKER_PREFIX}…] marker: that is where a secret was hidden from you, "
                          "and writing it would destroy the secret. Change the text around it instead.", error=True)
    refusal = st.guards.refuse(call, tool.effect, st.ws, touched)
    if refusal:
        # A weak model refused for a file it never read tends to retry the edit: its next reply, where the
        # protocol can constrain it, is that read.
        st.must_read = st.guards.unread(call, tool.effect, st.ws, touched)
        return ToolResult(refusal, error=True)
    judged = (st.judge or st.checks) if st.harness.regression_guard and tool.effect != "read" else None
    command = touched.command if tool.effect == "exec" and st.harness.skip_reruns else None
    if command and (again := st.reruns.again(command, st.ws)):
        return again
    if judged:
        judged.before(st.ws)
    result = yield from _executed(call, tool, touched, st)
    if tool.effect != "read":
        st.ws.listing.changed()
    if judged:
        result = yield from _judged_result(judged, call, result, st)
    if command:
        st.reruns.ran(command, st.ws, st.steps, result)
    return result


def _executed(call: ToolCall, tool: Tool, touched: Touched, st: RunState
              ) -> Generator[Event, Decision | None, ToolResult]:
    """The tool's result, and the user's after-edit hooks'; a command that runs the tests answers with their
    digest (harness/testcommand.py)."""
    try:
        # A tool that runs agent work (the task tool: agent/subagent.py) passes its events on as it goes.
        delegate = getattr(tool, "delegate", None)
        if delegate:
            result = yield from delegate(call, st)
        elif st.harness.test_digests and tool.effect == "exec" and touched.command and runs_tests(
                touched.command, st.gate.command if st.gate else ""):
            result = tests_result(touched.command, st.ws, _timeout(call.arguments),
                                  baseline=st.judge.baseline if st.judge else frozenset(),
                                  configured=st.gate.command if st.gate else "")
        else:
            result = tool(call.arguments, st.ws)
    except Exception as exc:  # the loop's one boundary with tool code: a tool bug must not end the session
        return ToolResult(f"{call.name} failed unexpectedly: {type(exc).__name__}: {exc}", error=True)
    st.guards.observe(call, tool.effect, result, st.ws, touched)
    for path in touched.paths if tool.effect == "write" and not result.error else ():
        result = hooks.after_edit(st.harness.hooks, st.ws, path, result)
    return result


def _timeout(arguments: Mapping[str, Any]) -> int:
    value = arguments.get("timeout")
    return value if isinstance(value, int) and 0 < value <= bash.MAX_TIMEOUT_S else bash.DEFAULT_TIMEOUT_S


def _judged_result(judge: Judge, call: ToolCall, result: ToolResult, st: RunState
                   ) -> Generator[Event, Decision | None, ToolResult]:
    """The result with the regression guard's verdict: the files put back when fewer tests pass (whichever tool
    changed them, bash included), else how the tests stand now."""
    verdict = judge.after(st.ws)
    if verdict is None:
        return _passes_elsewhere(judge, call, result)
    st.reruns.ran(judge.gate.command, st.ws, st.steps, ToolResult(verdict.run.view, not verdict.run.passed))
    if verdict.refused:
        yield st.record(Notice(f"{call.name} left fewer tests passing; its changes were undone."))
        return ToolResult(f"{verdict.text}\n\nThe call's own result was:\n{result.content}", error=True)
    if verdict.run.passed and judge.started_failing:  # the call is the model's, or a candidate Luban chose for it
        st.ends_here(judge.gate.name, f"the {call.name} call of step {st.steps}")
    return ToolResult(f"{result.content}\n\n{verdict.text}", result.error)


def _passes_elsewhere(judge: Judge, call: ToolCall, result: ToolResult) -> ToolResult:
    """A test run through bash that passes, on files the judge's command (the project's tests, or the checks of a
    focused write) last failed on, with a note that it tests something else.

    Why: a 1.5B ran `coverage run -m pytest tests` without the project's PYTHONPATH=src, so the tests imported the
    installed copy of the library, read "784 passed", and concluded that the bug was gone; the gate's run of the
    same files had two failures. In he-38's HumanEval-10 it ran `python3 -m doctest solution.py` on a file whose
    examples it had deleted (exit 0, nothing run) and finished."""
    command = call.arguments.get("command")
    last = judge.last
    if (result.error or not isinstance(command, str) or last is None or last.passed
            or not runs_tests(command, judge.gate.name)):
        return result
    counts = last.headline.rstrip(".")
    return ToolResult(f"{result.content}\n\n[Luban: this passes, but the command the task is judged by, "
                      f"`{judge.gate.name}`, fails on the files as they are now ({counts}): this run does not test the "
                      "same code or the same tests.]", result.error)


def _permitted(call: ToolCall, effect: Effect, touched: Touched, st: RunState
               ) -> Generator[Event, Decision | None, ToolResult | None]:
    """None when the call may run: allowed by mode and rules, or approved by the user (a risky command only
    after a snapshot of the files); otherwise the refusal the model sees."""
    judged, seen = _judged(call, touched, st.ws)
    asked_before = f"{call.name} {json.dumps(judged.arguments, sort_keys=True, default=str)}"
    if asked_before in st.declined:
        return _denied(st, call, "The user already declined this call in this run.",
                       f"The user already declined this {call.name} call in this run, and a rejected call is not "
                       "asked again; do something else.")
    ruling = policy.decide(judged, effect, st.settings.permission_mode, policy.rules_of(st.settings.permissions),
                           st.session_allow, seen)
    if ruling.verdict == "deny":
        return _denied(st, call, ruling.reason, ruling.reason)
    if ruling.verdict == "ask":
        decision = yield st.record(ApprovalNeeded(call, ruling.reason, ruling.risky,
                                                  *_unasked(judged, effect, seen, st)))
        if not isinstance(decision, Decision) or not decision.approved:
            st.declined.append(asked_before)
            reason = decision.message if isinstance(decision, Decision) and decision.message else ""
            return _denied(st, call, ruling.reason, f"The user declined this {call.name} call. {reason}".strip())
        if decision.always and policy.narrowest(judged, seen) not in st.session_allow:
            st.session_allow.append(policy.narrowest(judged, seen))
    if ruling.risky:
        turn = st.checkpoints
        fresh = turn is not None and not turn.taken  # else the turn's own snapshot is older
        try:
            if turn:
                what = touched.command if touched.command is not None else call.name
                turn.snapshot(turn.note if fresh else f"before: {what}", st.messages, st.transcript)
        except CheckpointError as exc:
            return ToolResult(f"Not run: this command needs a checkpoint of the files first, and taking one "
                              f"failed: {exc}", error=True)
    return None


def _unasked(call: ToolCall, effect: Effect, touched: Touched, st: RunState) -> tuple[str | None, bool]:
    """What would let a call that asks run without asking (ApprovalNeeded.looser_mode and .rule_would), found by
    asking policy.decide itself, so the answer cannot drift from the rules."""
    mode, rules, allowed = st.settings.permission_mode, policy.rules_of(st.settings.permissions), st.session_allow
    looser = policy.MODES[policy.MODES.index(mode) + 1:]
    by_mode = next((m for m in looser if policy.decide(call, effect, m, rules, allowed, touched).verdict == "allow"),
                   None)
    rule = policy.narrowest(call, touched)
    by_rule = policy.decide(call, effect, mode, rules, [*allowed, rule], touched).verdict == "allow"
    return by_mode, by_rule


def _denied(st: RunState, call: ToolCall, why: str, told: str) -> ToolResult:
    """The refusal the model sees (`told`); the run's outcome lists the call and `why` (permission_denials)."""
    st.denials.append(Denial(call, why))
    return ToolResult(told, error=True)


def _judged(call: ToolCall, touched: Touched, ws: Workspace) -> tuple[ToolCall, Touched]:
    """The call as the rules see it: the paths it touches relative to the workspace with symlinks followed, so
    that `/abs/ws/secrets/x` or a link into secrets/ meets the rule `edit_file(secrets/**)`."""
    relative = {}
    for path in touched.paths:
        try:
            relative[path] = ws.relative(ws.resolve(path)) if path.strip() else path
        except PathRefused:
            pass  # the tool refuses it itself
    if not relative:
        return call, touched
    arguments = {k: relative.get(v, v) if isinstance(v, str) else v for k, v in call.arguments.items()}
    seen = replace(touched, paths=tuple(relative.get(p, p) for p in touched.paths))
    return ToolCall(call.id, call.name, arguments), seen


def repeat_key(call: ToolCall, result: ToolResult) -> tuple[str, str, str]:
    written = call.raw if call.raw is not None else json.dumps(call.arguments, sort_keys=True, default=str)
    return call.name, written, result.content
