"""The mutable state of one agent run, kept apart from the loop's control flow."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Generator, Sequence

from ..config import Settings
from ..context.engine import Window, refit
from ..errors import ContextOverflow, TimeUp
from ..harness import Harness, repairs
from ..harness.candidates import Trial, copyable
from ..harness.gate import TestGate, TestRun
from ..harness.guards import Guards
from ..harness.judge import Judge
from ..harness.reruns import Reruns
from ..harness.writes import Written, checks_command, named_files, write_stubs
from ..models import Model, drain
from ..models.protocol import FINISH, ToolProtocol, Turn, TurnHints
from ..models.reasoning import reasoning_apart
from ..models.repetition import REPEAT
from ..safety import policy
from ..session import Transcript, finished_calls, read_records
from ..tools import EXISTING, Tool
from ..types import (CallStats, Completion, Decision, Denial, Event, Message, ModelReplied, Notice, Outcome,
                     ReplyRestarted, Request, ToolCall, ToolResult, ToolSpec, Usage)
from ..workspace import Workspace
from ..workspace.checkpoints import Checkpoints, TurnCheckpoints, for_turn


MAX_PATH_CHOICES = 300  # beyond this a path enum costs more grammar than it saves
# A weak model going nowhere gives the same reason word for word, step after step, while its calls differ (in a
# bugfix run the 1.5B read one file page by page for 14 steps, every thought the same): from the third such reply
# the reading tools it just used are left out of the next turn, sampled warmer, as for a repeated call.
SAME_THOUGHT_AT = 3
FINISHED = ("`{judged}` passes after {change}, and failed before it: the run ends here, as the model's profile asks "
            "(finish_on_pass).")
_SHORTER = " Keep each reply short: change files with small edit_file replacements instead of rewriting them whole."
# What the model is told of a reply cut short, by the finish reason: the server's length limit, or Luban stopping a
# reply that repeated one block of text over and over (models/repetition.py).
CUT_OFFS = {"length": "Your reply was cut off by the length limit." + _SHORTER,
            REPEAT: "Your reply was stopped: it repeated the same text over and over." + _SHORTER}


def _checks(task: str, ws: Workspace, written: Written) -> Judge | None:
    """A judge over the asserts a focused write was checked by, else over the docstring examples of the first file
    the task names that has any: the model's later edits must keep passing what the focused write passed (in
    HumanEval-122 a correct write was rewritten to do something else)."""
    checks = next((c for c in written.checks if c.asserts), None)
    if checks:
        judge = Judge(TestGate(checks.command, label=checks.label))
        judge.first(ws)
        return judge
    for rel in named_files(ws, task):
        command = checks_command(rel, (ws.root / rel).read_text(encoding="utf-8", errors="replace"))
        if command:
            judge = Judge(TestGate(command, label=f"python3 -m doctest {rel}"))
            judge.first(ws)
            return judge
    return None


def _reads_a_file(spec: ToolSpec) -> bool:
    """A tool whose path parameter must name an existing file (read_file)."""
    return any(p.get(EXISTING) == "file" for p in spec.parameters.get("properties", {}).values())


@dataclass
class RunState:
    """What a run has done so far; the loop and the call pipeline read and update it."""

    model: Model
    tools: dict[str, Tool]
    ws: Workspace
    settings: Settings
    transcript: Transcript | None
    messages: list[Message]
    harness: Harness
    guards: Guards
    window: Window
    started: float = field(default_factory=time.monotonic)
    steps: int = 0
    usage: Usage = field(default_factory=Usage)
    model_s: float = 0.0
    repeats: Counter = field(default_factory=Counter)
    refusals: int = 0
    must_edit: bool = False  # the test gate refused a finish: the next reply is constrained to an edit
    must_read: str | None = None  # an edit was refused as this file was never read: the next reply reads it
    stats: Counter = field(default_factory=Counter)  # valid / repaired / rejected tool calls
    # The last few calls (call.RECENT), and whether each merely repeated an earlier call and result: a
    # protocol that can constrain the next reply leaves those tools out for a turn, which breaks a weak
    # model's loop better than words do.
    recent: tuple[tuple[str, bool], ...] = ()
    last_thought: str = ""  # the latest reply's stated reason, and how many replies in a row gave it
    same_thoughts: int = 0
    last_key: tuple[str, str, str] | None = None  # the last call and its result (call.repeat_key)
    # Patterns the user allowed "always" during this session (policy.narrowest of the approved call).
    session_allow: list[str] = field(default_factory=list)
    # Calls the user declined (tool name and arguments as JSON): a rejected escalation is not asked again.
    declined: list[str] = field(default_factory=list)
    denials: list[Denial] = field(default_factory=list)  # every call refused by the rules, the mode or the user
    # Snapshots of the workspace taken before each turn that writes (workspace/checkpoints.py); None: not kept.
    checkpoints: TurnCheckpoints | None = None
    # With a test gate: the failures before any change, the best count so far, and (harness.regression_guard) the
    # files to put back when a change leaves fewer tests passing (harness/judge.py).
    judge: Judge | None = None
    # Without a test gate, after focused writes: the docstring examples of the written file, as the regression guard.
    checks: Judge | None = None
    reruns: Reruns = field(default_factory=Reruns)  # the commands run so far, for "unchanged since step N"
    refused: tuple[str, int] | None = None  # the last refused finish's whole text and its step
    asked: int = 0  # model requests so far (each one's seed is settings.seed plus this)
    rewritten: dict[str, int] = field(default_factory=dict)  # focused rewrites per definition (candidates.Trial)
    finished: str = ""  # why the harness ends the run before the model says so (finish_on_pass); "" while it goes on
    repaired_last: bool = False  # the last repairs (last_repairs) were tried: a run gets them once

    @classmethod
    def start(cls, task: str, model: Model, tools: Sequence[Tool], ws: Workspace, settings: Settings,
              history: Sequence[Message], transcript: Transcript | None, harness: Harness,
              checkpoints: Checkpoints | None, allowed: list[str] | None,
              conversation: list[Message] | None = None) -> RunState:
        """The state at the start of one turn (see loop.run for the arguments). The files earlier turns of the
        session read count as read, as the transcript records them: after --continue too."""
        messages = list(history) if conversation is None else conversation
        messages[:] = list(history)
        ws.listing.changed()  # the user may have changed files since the last turn
        window = Window.for_model(model, settings.max_reply_tokens, harness.protocol, [t.spec for t in tools], ws)
        window.whole = {} if harness.age_outputs else None
        window.earlier = {} if harness.skip_reruns else None
        guards = harness.guards()
        done = finished_calls(read_records(transcript.path)[0]) if transcript else []
        guards.recall(done, {t.spec.name: t for t in tools}, ws)
        gate = None if settings.permission_mode == "plan" else harness.gate
        return cls(model, {t.spec.name: t for t in tools}, ws, settings, transcript, messages, harness,
                   guards, window, checkpoints=for_turn(checkpoints, task, history),
                   session_allow=[] if allowed is None else allowed, judge=Judge(gate, task, localize=harness.localize_faults) if gate else None)

    @property
    def protocol(self) -> ToolProtocol:
        return self.harness.protocol

    @property
    def specs(self) -> list[ToolSpec]:
        return [t.spec for t in self.tools.values()]

    @property
    def gate(self) -> TestGate | None:
        # Plan mode promises read-only and the test command is a command: no gate there (the mode can change
        # between turns of one session, so this is decided per run, not when the harness is built: start() makes
        # the judge only outside plan mode). The judge's gate is paced by the suite's first run.
        return self.judge.gate if self.judge else None

    def opening(self, task: str) -> Generator[Event, Decision | None, Message]:
        """The task as the model first reads it: with a test gate, its first run's digest and where the bug likely
        is; with focused writes (a weak model's profile), the stubs the task names written first and judged."""
        judge, notes = self.judge, []
        if judge:
            judge.first(self.ws)
        if self.harness.focused_writes:
            written = yield from write_stubs(task, self.ws, self, judge, self.settings.max_reply_tokens,
                                             self.transcript, self.may_write, self.settings.edit_samples - 1)
            notes = list(written.notes)
            self.checks = None if judge else _checks(task, self.ws, written)
            # The stubs fail their own checks unwritten; a test command may not have run them at all.
            judged = self.checks if not judge else judge if judge.started_failing else None
            if written.passed and judged:
                self.ends_here(judged.gate.name, "Luban's focused write of what the task names")
        if not judge:
            return Message("user", "\n\n".join([task, *notes]))
        tests = judge.last
        assert tests is not None
        self.reruns.ran(judge.gate.command, self.ws, 0, ToolResult(tests.view, not tests.passed))
        self.guards.saw_quoted(tests, self.ws)
        briefing = judge.gate.briefing(self.ws, tests, judge.located(self.ws, tests))
        if not tests.passed and self.harness.focused_writes:
            notes += yield from self._repaired(tests)
        return Message("user", "\n\n".join([task, briefing, *notes]))

    def last_repairs(self, tests: TestRun) -> Generator[Event, Decision | None, bool]:
        """Before a run ends stuck on the model's finishing while the tests fail (`tests`), the opening repairs once
        more, from the code as it is now; whether one was applied (the model is told, and the run goes on, or ends
        with finish_on_pass when the tests pass).

        Why: in bf-53 three runs ended stuck with 92-238 s of their 600 left, while a focused rewrite costs 10-20 s
        of decoding; the samples of a rewrite differ, and the model alone had stopped looking. Rerun with these, one
        of the three (jinja2-213eea4b) was resolved at 382 s (bf-54)."""
        if self.repaired_last or not self.harness.focused_writes:
            return False
        self.repaired_last = True
        notes = yield from self._repaired(tests, sum(self.rewritten.values()), "after the model's last refused finish")
        if notes:
            self.add(Message("user", "\n\n".join(notes)))
        return bool(notes)

    def _repaired(self, tests: TestRun, spent: int = 0, when: str = "before the first step"
                  ) -> Generator[Event, Decision | None, list[str]]:
        """Opening repairs (harness/repairs.py), in rounds: each round's best focused rewrite of the suspects, when
        it leaves more tests passing, applied and judged; the next round starts from there, until the tests pass or
        the OPENING_TRIES rewrites allowed after the `spent` ones are spent."""
        trial, applied = self.trial, []
        if trial is None or not trial.focused or not copyable(trial):
            return []
        for _ in range(repairs.OPENING_ROUNDS):
            tries = min(repairs.OPENING_TRIES + spent - sum(trial.rewritten.values()), repairs.OPENING_REWRITES)
            if tries <= 0:
                break
            found = yield from repairs.repair(trial, self, tests, self.may_write, tries, when)
            if found is None:
                continue  # nothing better this round: the next one asks again, warmer
            run, refused, change = self._applied(found[0].calls[0])
            applied.append((found[1], run, refused, change))
            if run is None or refused or run.passed:
                break
            tests = run
        goal, run, refused, _ = applied[-1] if applied else (None, None, True, "")
        if goal and run and not refused and run.passed:
            self.ends_here(self.judge.gate.name, f"Luban's rewrite of {goal.name} in {goal.path}")
        return [repairs.note(*repair, last=i == len(applied) - 1) for i, repair in enumerate(applied)]

    def _applied(self, call: ToolCall) -> tuple[TestRun | None, bool, str]:
        """A harness edit applied like the model's (checkpointed first, then judged by the regression guard): the
        tests after it, whether the guard undid it, and the edit's result."""
        if self.checkpoints:
            self.checkpoints.before_write(self.messages, self.transcript)
        self.judge.before(self.ws)
        edited = self.tools[call.name](call.arguments, self.ws)
        self.ws.listing.changed()
        verdict = self.judge.after(self.ws)
        refused = edited.error or verdict is None or verdict.refused
        return (verdict.run if verdict else None), refused, edited.content

    def ends_here(self, judged: str, change: str) -> None:
        """With the profile's finish_on_pass, end the run: `change` made the judge `judged` pass, which failed before.

        Why: a weak model told that the tests now pass, and to finish if nothing is left, went on anyway: in
        cachetools-c55f50a5 the opening repair fixed the bug and the 1.5B spent the remaining nine minutes reading
        the file and running `pip install`; in HumanEval-124 it added twenty lines of its own to a correct write,
        and the hidden tests failed on them."""
        if self.harness.finish_on_pass:
            self.finished = FINISHED.format(judged=judged, change=change)

    def add(self, message: Message) -> None:
        self.messages.append(message)
        if self.transcript:
            self.transcript.append_message(message)

    def may_write(self, rel: str) -> bool:
        """Whether the harness may change `rel` on its own, as a focused write does: the mode and the rules let
        an edit of it run without asking (never in plan or ask mode), and no guard protects it."""
        call = ToolCall("harness", "write_file", {"path": rel})
        ruling = policy.decide(call, "write", self.settings.permission_mode, policy.rules_of(self.settings.permissions),
                               self.session_allow)
        return ruling.verdict == "allow" and not self.guards.is_protected(rel)

    @property
    def trial(self) -> Trial | None:
        """How candidate edits are tried (harness/candidates.py): only where a test gate judges them."""
        s = self.settings
        return Trial(self.gate, self.ws, self.tools, self.guards, self.protocol, s.edit_samples, s.focused_rewrites,
                     s.max_reply_tokens, self.transcript, self.judge.suspects if self.judge else (),
                     self.rewritten) if self.gate else None

    def refusal(self, tests: TestRun) -> str:
        """What the model is told when the gate refuses its finish; the same refusal again is one line."""
        text = self.gate.refusal(tests, self.ws, self.judge.located(self.ws, tests))
        if self.harness.skip_reruns and self.refused and self.refused[0] == text:
            return self.gate.refused_again(tests, self.refused[1])
        self.refused = (text, self.steps)
        return text

    def hints(self) -> TurnHints:
        """What the next reply may be constrained to: not the tools the model just repeated, paths that exist; after
        an edit refused for a file not read, a read of that file."""
        if self.must_read and not self.guards.has_seen(self.ws.resolve(self.must_read)):
            readers = {name for name, tool in self.tools.items() if tool.effect == "read" and _reads_a_file(tool.spec)}
            if readers:
                return TurnHints(frozenset({*self.tools, FINISH} - readers), (self.must_read,), (), ())
        if self.steps >= self.settings.max_steps > 1 and not self.judge:
            # The last step: an answer from what the run found beats a call the limit cuts off unanswered (with a
            # test gate the last step stays free, as an edit that makes the tests pass is worth more; a one-step run
            # has found nothing yet, so its one step stays free too).
            return TurnHints(frozenset(self.tools), final=True)
        files = self.ws.listing.files()
        if len(files) > MAX_PATH_CHOICES:
            files = ()
        dirs = sorted({".", *(str(Path(f).parent) for f in files)} - {""}) if files else []
        writable = tuple(f for f in files if not self.guards.is_protected(f))
        avoid = {name for name, repeated in self.recent if repeated}
        if self.same_thoughts >= SAME_THOUGHT_AT:
            avoid |= {name for name, _ in self.recent if name in self.tools and self.tools[name].effect == "read"}
        if self.must_edit:  # it claimed to be done while the tests fail: its next step has to change something
            avoid |= {name for name, tool in self.tools.items() if tool.effect != "write"} | {FINISH}
        return TurnHints(frozenset(avoid), tuple(files), tuple(dirs), writable)

    def thought(self, text: str) -> None:
        """Count the replies in a row that give `text` as their reason (SAME_THOUGHT_AT)."""
        self.same_thoughts = 0 if not text else self.same_thoughts + 1 if text == self.last_thought else 1
        self.last_thought = text

    def _under_way(self, request: Request) -> Request:
        """`request` under the run's deadline, with its seed when the settings fix one."""
        self.asked += 1
        seed = self.settings.seed + self.asked - 1 if self.settings.seed >= 0 else None
        return replace(request, deadline=self.deadline, seed=seed)

    def ask(self, request: Request) -> Generator[Event, Decision | None, Completion]:
        """One model request under the run's deadline, its usage counted."""
        restarts: list[ReplyRestarted] = []
        completion = drain(self.model, self._under_way(request), restarts.append)
        for restart in restarts:  # told once the reply is whole: a driver pausing mid-stream would stall the stream
            yield self.record(Notice(restart.text))
        self.usage += completion.usage
        self.model_s += completion.wall_s
        yield self.record(ModelReplied(completion.usage, completion.wall_s))
        return completion

    def reply(self, request: Request) -> Generator[Event, Decision | None, tuple[Turn, str | None]]:
        """The model's reply to `request` read as a turn of the run's protocol, and its finish reason."""
        completion = yield from self.ask(request)
        self.window.observed(len(request.messages), completion.usage)
        message = reasoning_apart(completion.message, self.harness.reasoning_format)
        return self.protocol.read(message, self.specs, f"call_{self.steps}"), completion.finish_reason

    def fitted_reply(self, request: Request) -> Generator[Event, Decision | None, tuple[Request, Turn, str | None]]:
        """reply, and once more after compacting the history if the server says the prompt exceeds its window."""
        try:
            return (request, *(yield from self.reply(request)))
        except ContextOverflow as exc:
            for event in refit(self.window, self.messages, str(exc), self.summary, self.transcript):
                yield self.record(event)
        request = replace(request, messages=tuple(self.messages))
        try:
            return (request, *(yield from self.reply(request)))
        except ContextOverflow as exc:
            raise ContextOverflow(f"{str(exc)[:-1]}, even after the history was compacted; give the server a larger "
                                  "context window, or start a new session.") from None

    def summary(self, request: Request) -> str:
        """The model's answer to a compaction's summary request, under the run's deadline and counted in its usage."""
        completion = drain(self.model, self._under_way(request),
                           lambda restart: self.record(Notice(restart.text)))
        self.usage += completion.usage
        self.model_s += completion.wall_s
        return completion.message.content

    def record(self, event: Event) -> Event:
        if self.transcript:
            self.transcript.append_event(event)
        return event

    def outcome(self, status: str, message: str = "") -> Outcome:
        wall = time.monotonic() - self.started
        calls = CallStats(self.stats["valid"], self.stats["repaired"], self.stats["rejected"])
        return Outcome(status, message, self.steps, self.usage, round(wall, 3), round(self.model_s, 3), calls,
                       tuple(self.denials))

    @property
    def deadline(self) -> float:
        """The time.monotonic() by which the run must stop (max_wall_s)."""
        return self.started + self.settings.max_wall_s

    def check_time(self, during: str) -> None:
        """Raise TimeUp once max_wall_s has passed: a long step (sampling candidate edits) checks as it goes."""
        if time.monotonic() >= self.deadline:
            raise TimeUp(f"Stopped after {self.settings.max_wall_s:.0f} s (max_wall_s), {during}.")

    def limit_reached(self) -> Outcome | None:
        """Why the run stops before its next step, if it does: the harness ended it (finish_on_pass), or a limit."""
        if self.finished:
            return self.outcome("done", self.finished)
        s = self.settings
        if self.steps >= s.max_steps:
            return self.outcome("max_steps", f"Stopped after {self.steps} steps (max_steps).")
        if time.monotonic() - self.started >= s.max_wall_s:
            return self.outcome("max_time", f"Stopped after {s.max_wall_s:.0f} s (max_wall_s).")
        if self.usage.prompt_tokens + self.usage.completion_tokens >= s.max_total_tokens:
            return self.outcome("max_tokens", f"Stopped after {s.max_total_tokens} tokens (max_total_tokens).")
        return None
