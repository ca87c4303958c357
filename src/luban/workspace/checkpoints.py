"""Checkpoints: the loop snapshots the files once, before a turn's first call that may change them, and records it
in the transcript; `rewind` takes a session back N such turns, its files and its conversation both. The snapshots
live in a shadow git repository (shadow.py)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from ..session import Transcript, history, read_records
from ..tools import Tool, declared
from ..types import Message, ToolCall
from .shadow import Checkpoint, CheckpointError, Checkpoints, Restored

__all__ = ["Checkpoint", "CheckpointError", "Checkpoints", "Restored", "Rewound", "TurnCheckpoints", "WritingTurn",
           "for_turn", "rewind", "writing_turns"]

NOTE_CHARS = 72
LISTED = 20  # paths and commands a summary names one by one; the rest it counts


@dataclass
class TurnCheckpoints:
    """The store, and what one turn (one `loop.run`) has snapshotted so far."""

    store: Checkpoints
    note: str
    before: tuple[Message, ...]  # the conversation before this turn's user message
    turn: str = field(default_factory=lambda: secrets.token_hex(4))
    taken: bool = False

    def before_write(self, messages: Sequence[Message], transcript: Transcript | None) -> str | None:
        """Snapshot once per turn, before its first call that may change files; what to tell the user when that
        failed (once a turn: the turn goes on without a checkpoint), else None."""
        if self.taken:
            return None
        try:
            self.snapshot(self.note, messages, transcript)
        except CheckpointError as exc:
            self.taken = True
            return f"No checkpoint for this turn, so rewind cannot restore its files: {exc}"
        return None

    def snapshot(self, note: str, messages: Sequence[Message], transcript: Transcript | None) -> str:
        """Snapshot the files now and record it in the transcript (`messages`: the history as it is now); returns
        the commit. For risky commands (git reset --hard, ...) as well as the turn's first write. Raises
        CheckpointError."""
        commit = self.store.snapshot(note)
        self.taken = True
        if transcript:
            # Compacted before its first snapshot: the list that the count counts survives only in the record.
            before = None if _unchanged(messages, self.before) else self.before
            transcript.append_checkpoint(commit, len(self.before), note, self.turn, before)
        return commit


def for_turn(store: Checkpoints | None, task: str, before: Sequence[Message]) -> TurnCheckpoints | None:
    if store is None:
        return None
    first = (task.strip().splitlines() or [""])[0]
    note = first if len(first) <= NOTE_CHARS else first[:NOTE_CHARS - 1] + "…"
    return TurnCheckpoints(store, note, tuple(before))


def _unchanged(messages: Sequence[Message], before: Sequence[Message]) -> bool:
    return len(messages) > len(before) and all(a is b for a, b in zip(messages, before))


@dataclass
class WritingTurn:
    """A turn that has a checkpoint, and the commands that ran from its checkpoint on."""

    commit: str
    messages: int
    note: str
    turn: str
    commands: list[str] = field(default_factory=list)


def writing_turns(records: Sequence[dict[str, Any]], tools: Sequence[Tool] = ()) -> list[WritingTurn]:
    """The session's turns that have a checkpoint and were not rewound, oldest first, each with the command lines
    its calls ran (as their tools declare: the session's `tools`, else the built-in ones)."""
    turns: list[WritingTurn] = []
    for record in records:
        kind = record.get("type")
        if kind == "checkpoint":
            if not (turns and record.get("turn") and turns[-1].turn == record.get("turn")):
                turns.append(WritingTurn(record["commit"], record["messages"], record.get("note", ""),
                                         record.get("turn", "")))
        elif kind == "rewind":
            cut = next((i for i, t in enumerate(turns) if t.commit == record.get("commit")), None)
            if cut is None:
                cut = next((i for i, t in enumerate(turns) if t.messages >= record["messages"]), len(turns))
            del turns[cut:]
        elif kind == "event" and record.get("kind") == "ToolFinished" and turns:
            call = record.get("call") or {}
            command = declared(ToolCall("", str(call.get("name", "")), call.get("arguments") or {}), tools).command
            if command is not None:
                turns[-1].commands.append(command)
    return turns


@dataclass(frozen=True)
class Rewound:
    """What `rewind` did; `summary()` is what the user reads."""

    turns: int
    commit: str
    note: str
    restored: Restored
    dropped: int  # messages the conversation lost
    commands: tuple[str, ...]  # command lines that ran since the checkpoint
    history: tuple[Message, ...]  # the conversation from here on

    def summary(self) -> str:
        r = self.restored
        plural = "s" if self.turns != 1 else ""
        lines = [f'Rewound {self.turns} turn{plural} to the checkpoint before "{self.note}" ({self.commit[:12]}).']
        if r.changed:
            lines.append(f"Files: {len(r.written)} written, {len(r.created)} created, {len(r.deleted)} deleted.")
            changes = sorted([(p, "written") for p in r.written] + [(p, "created") for p in r.created]
                             + [(p, "deleted") for p in r.deleted])
            lines += _listed([f"  {how:<8} {path}" for path, how in changes])
        else:
            lines.append("Files: already as they were at that checkpoint.")
        lines.append(f"Conversation: {self.dropped} messages dropped; it goes on from before that turn's message.")
        if self.commands:
            lines.append("These commands ran since; what they changed outside the workspace's files (or in files "
                         ".gitignore ignores) is not undone:")
            lines += _listed([f"  $ {_one_line(c)}" for c in self.commands])
        return "\n".join(lines)


def _listed(lines: list[str]) -> list[str]:
    return lines if len(lines) <= LISTED else lines[:LISTED] + [f"  … and {len(lines) - LISTED} more"]


def _one_line(command: str) -> str:
    lines = command.strip().splitlines() or [""]
    return lines[0] + (" …" if len(lines) > 1 else "")


def rewind(transcript_path: Path, data_dir: Path, turns: int = 1, transcript: Transcript | None = None,
           tools: Sequence[Tool] = ()) -> Rewound:
    """Put the files back as they were before the `turns`-th last turn that wrote, and the conversation too.

    `transcript`: the session's Transcript when the caller holds it open (the terminal UI), else it is
    opened here, which fails while another Luban process has the session. `tools`: the session's, which
    declare the commands the summary lists (writing_turns).
    """
    records, _ = read_records(transcript_path)
    session = transcript_path.stem
    live = writing_turns(records, tools)
    if turns < 1:
        raise CheckpointError(f"Rewind goes back 1 turn or more, not {turns}.")
    if not live:
        raise CheckpointError(f"Session {session} has no checkpoint: none of its turns changed files "
                              "(or it ran without checkpoints).")
    if turns > len(live):
        raise CheckpointError(f"Session {session} has {len(live)} turn(s) with a checkpoint; cannot rewind {turns}.")
    target = live[-turns]
    store = Checkpoints.open(_workspace(records, session), data_dir)
    owner = transcript or Transcript.reopen(transcript_path)
    try:
        restored = store.restore(target.commit)
        record = owner.append_rewind(target.messages, target.commit, turns)
    finally:
        if transcript is None:
            owner.close()
    before, after = history(records), history([*records, record])
    commands = tuple(c for t in live[-turns:] for c in t.commands)
    dropped = max(0, len(before) - len(after))  # after a compaction the two lists count differently
    return Rewound(turns, target.commit, target.note, restored, dropped, commands, tuple(after))


def _workspace(records: Sequence[dict[str, Any]], session: str) -> Path:
    header = records[0] if records else {}
    if header.get("type") != "session" or not header.get("cwd"):
        raise CheckpointError(f"Session {session} does not say which workspace it ran in.")
    return Path(header["cwd"])
