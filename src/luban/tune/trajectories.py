"""Trajectories worth learning from, read back from transcripts: sessions whose every run ended done with the
test gate passing, and eval runs the grader resolved. Each assistant turn is trained on, masked, or dropped:

- dropped: a rejected turn (a reply no protocol could read, one cut off by the length limit, calls that failed
  the schema check or an edit the harness refused to run) together with the harness's reply to it. Nothing ran;
  the error text belongs to the protocol it was made in, and what follows reads as a fresh attempt without it.
- masked (kept as context, no loss): a turn with a repaired call (its text is the malformed form), and a
  refused finish (it claimed done while the tests failed; the refusal carries the test output the next turns
  work from).
- trained: every other assistant turn, the final answer included.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Literal

from ..agent.state import CUT_OFFS
from ..context.prompt import RULES
from ..errors import SessionError
from ..harness.candidates import NOT_APPLIED
from ..harness.gate import REFUSED
from ..models.protocol import FINISH, ToolProtocol, protocol_labelled
from ..models.repair import repair_call
from ..session import history, read_records
from ..tools import default_tools
from ..tools.locate_fault import LocateFault
from ..types import Message, ToolCall, ToolSpec

# How a transcript older than the protocol header said its task was gated (gate.briefing's first words).
BRIEFING = re.compile(r"\n\nThe test command `(.+?)` (?:passes|fails) now\. Its output:")


@dataclass(frozen=True)
class Step:
    """One assistant turn as written, and the messages that answered its calls."""

    message: Message
    calls: tuple[ToolCall, ...]
    answer: str | None
    thought: str
    results: tuple[Message, ...]
    train: bool
    why: str = ""  # why a masked turn is not trained on: "repaired call", "refused finish"


@dataclass(frozen=True)
class Note:
    """A user message that answers no call: a later task, a gate refusal."""

    message: Message


@dataclass(frozen=True)
class Trajectory:
    origin: dict[str, Any]  # where it came from: a session, or an eval run's task
    protocol: str  # the label of the protocol it was made in (protocol.label)
    specs: tuple[ToolSpec, ...]
    system: Message  # as the model saw it
    system_parts: tuple[str, str]  # the system prompt before and after its tool instructions
    task: str
    items: tuple[Step | Note, ...]
    dropped: int = 0  # rejected turns left out

    @property
    def masked(self) -> Counter:
        return Counter(i.why for i in self.items if isinstance(i, Step) and not i.train)


@dataclass
class Found:
    """What a search for trajectories found, and why the rest was passed over (reason → count)."""

    trajectories: list[Trajectory] = field(default_factory=list)
    skipped: Counter = field(default_factory=Counter)


def from_sessions(sessions_dir: Path, found: Found) -> None:
    for path in sorted(sessions_dir.glob("*.jsonl")):
        try:
            records, _ = read_records(path)
        except SessionError:  # a line in the middle is broken: the transcript cannot be trusted as a whole
            found.skipped["unreadable session transcript"] += 1
            continue
        why = _unqualified(records)
        if why:
            found.skipped[why] += 1
            continue
        header = records[0]
        _add(found, records, {"kind": "session", "id": header.get("id", path.stem), "path": str(path),
                              "cwd": header.get("cwd", "")})


def from_eval_run(run_dir: Path, found: Found) -> None:
    """Resolved tasks of a run's Luban scaffold that the agent itself finished (done)."""
    from ..eval.records import latest, library, load_run

    store = load_run(run_dir)
    suite = store.meta().get("suite", "")
    for record in latest(store.records()):
        if record.scaffold != "luban":
            continue
        if not (record.resolved and record.status == "done"):
            found.skipped["eval task not resolved, or not finished by the agent"] += 1
            continue
        path = store.transcript_path(record.task, "luban").with_name(f"{record.task}.luban.session.jsonl")
        if not path.exists():
            found.skipped["eval task without its session transcript"] += 1
            continue
        records, _ = read_records(path)
        _add(found, records, {"kind": "eval", "run": str(run_dir), "suite": suite, "task": record.task,
                              "library": library(record.task)})


def _unqualified(records: list[dict[str, Any]]) -> str | None:
    outcomes = [r for r in records if r.get("type") == "outcome"]
    if not records or records[0].get("type") != "session":
        return "not a session transcript"
    if not outcomes:
        return "session without a finished run"
    if any(o.get("status") != "done" for o in outcomes):
        return "session with a run that did not end done"
    gated = sum(1 for o in outcomes if o.get("test_command")) or _briefed(records)
    if gated < len(outcomes):
        return "session with a run that had no test gate"
    return None


def _briefed(records: list[dict[str, Any]]) -> int:
    """Runs whose task carried the gate's briefing (transcripts written before outcomes named the gate)."""
    return sum(1 for r in records if r.get("type") == "message" and r["message"]["role"] == "user"
               and BRIEFING.search(r["message"].get("content", "")))


def _add(found: Found, records: list[dict[str, Any]], origin: dict[str, Any]) -> None:
    header = records[0]
    messages = history(records)
    if len(messages) < 3 or messages[0].role != "system" or messages[1].role != "user":
        found.skipped["transcript without a system prompt and a task"] += 1
        return
    label = header.get("protocol") or _guessed_protocol(messages)
    protocol = protocol_labelled(label)
    specs = _specs(header.get("tools"))
    if specs is None:
        found.skipped["session with tools outside Luban's built-in set"] += 1
        return
    parts = _system_parts(messages[0].content, protocol.system_text(specs))
    if parts is None:
        found.skipped["system prompt without the tool instructions its protocol writes"] += 1
        return
    items, dropped = _items(messages[2:], protocol, specs)
    found.trajectories.append(Trajectory(origin, label, specs, messages[0], parts, messages[1].content,
                                         tuple(items), dropped))


def _guessed_protocol(messages: list[Message]) -> str:
    """For a transcript without the protocol in its header: native if it has native calls or tool messages,
    json if the assistant wrote JSON turns, else text in the Hermes format (the default of the profiles)."""
    if any(m.tool_calls or m.role == "tool" for m in messages):
        return "native"
    first = next((m.content for m in messages if m.role == "assistant"), "")
    return "json" if first.lstrip().startswith('{"thought"') else "text:hermes"


def _specs(names: list[str] | None) -> tuple[ToolSpec, ...] | None:
    # locate_fault is offered beside the built-ins when a test command is set (harness.offered_tools).
    known = {t.spec.name: t.spec for t in (*default_tools(), LocateFault())}
    if names is None:  # an old transcript: the whole built-in set
        return tuple(known.values())
    if not set(names) <= set(known):
        return None
    return tuple(known[n] for n in names)


def _system_parts(system: str, tool_text: str) -> tuple[str, str] | None:
    if tool_text:
        before, found, after = system.partition(tool_text)
        return (before.rstrip("\n"), after.lstrip("\n")) if found else None
    if system.startswith(RULES):
        return RULES, system[len(RULES):].lstrip("\n")
    return system, ""


def _items(messages: list[Message], protocol: ToolProtocol, specs: tuple[ToolSpec, ...]
           ) -> tuple[list[Step | Note], int]:
    items: list[Step | Note] = []
    dropped, i = 0, 0
    while i < len(messages):
        message = messages[i]
        if message.role != "assistant":
            items.append(Note(message))
            i += 1
            continue
        turn = protocol.read(message, specs, "call")
        results = tuple(messages[i + 1:i + 1 + len(turn.calls)])
        after = messages[i + 1 + len(turn.calls)] if i + 1 + len(turn.calls) < len(messages) else None
        verdict = _verdict(turn, results, after, specs)
        if verdict == "drop":
            dropped += 1
            i += 1 + len(results) + (1 if not turn.calls and after is not None and after.role == "user" else 0)
            continue
        items.append(Step(message, turn.calls, turn.answer, turn.thought, results, verdict == "train",
                          "" if verdict == "train" else verdict))
        i += 1 + len(results)
    return items, dropped


def _verdict(turn, results: tuple[Message, ...], after: Message | None, specs) -> str:
    """"train", "drop", or why the turn is masked."""
    if turn.error or (not turn.calls and after is not None and after.content in CUT_OFFS.values()):
        return "drop"
    if turn.calls:
        checks = [repair_call(c.name, c.written, list(specs)) for c in turn.calls]
        ran = [not c.error and not _refused(r) for c, r in zip(checks, results)]
        if not any(ran) or len(results) < len(turn.calls):
            return "drop"
        if not all(ran):
            return "rejected call beside calls that ran"
        return "repaired call" if any(c.repaired for c in checks) else "train"
    if after is not None and after.role == "user" and after.content.startswith(REFUSED):
        return "refused finish"
    return "train"


def _refused(result: Message) -> bool:
    """The harness did not run the call (an edit that left the tests worse on a copy); each protocol wraps
    the error in a few words of its own."""
    return f"Error: {NOT_APPLIED}" in result.content[:100]


def finish_json(thought: str, answer: str) -> str:
    """A final answer as the JSON protocol's model writes it."""
    return json.dumps({"thought": thought, "tool": FINISH, "args": {"answer": answer}}, ensure_ascii=False)


def steps(trajectory: Trajectory) -> Iterator[Step]:
    return (i for i in trajectory.items if isinstance(i, Step))
