"""Transcript: an append-only JSONL file per session, fsync'd per record; resume and crash repair.

Record kinds: {"type": "session", ...} header (with the tool protocol and tool names), {"type": "message", "message": {...}} for every message the
model sees, {"type": "event", ...} for what happened around them, {"type": "outcome", ...} per run, and
{"type": "compaction", "messages": [...]} where compaction replaced the history the model sees from then on,
{"type": "checkpoint", "commit": ..., "messages": N, ...} for a snapshot of the files before a turn that wrote
(N: messages before the turn), and {"type": "rewind", "messages": N, "commit": ...} where the user went back to one.
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable

from .errors import SessionError
from .types import Message, ToolCall

INTERRUPTED = "interrupted before this tool finished — its side effects are unknown; verify them before going on"


def message_to_record(message: Message) -> dict[str, Any]:
    data = asdict(message)
    data["tool_calls"] = [asdict(c) for c in message.tool_calls]
    return data


def message_from_record(data: dict[str, Any]) -> Message:
    calls = tuple(ToolCall(c["id"], c["name"], c["arguments"]) for c in data.get("tool_calls") or ())
    return Message(data["role"], data.get("content", ""), calls, data.get("tool_call_id"), data.get("reasoning"))


@dataclass
class Transcript:
    path: Path
    id: str
    _file: Any = field(default=None, repr=False)

    @classmethod
    def create(cls, sessions_dir: Path, cwd: Path, model: str, protocol: str = "",
               tools: Iterable[str] = ()) -> Transcript:
        """A new session; `protocol` (protocol.label) and `tools` (the names offered) say how to read its
        messages again, e.g. to train on them (tune/)."""
        sessions_dir.mkdir(parents=True, exist_ok=True)
        session_id = time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(3)
        transcript = cls(sessions_dir / f"{session_id}.jsonl", session_id)
        transcript._open()
        header = {"type": "session", "id": session_id, "cwd": str(cwd), "model": model, "time": time.time()}
        if protocol:
            header.update(protocol=protocol, tools=list(tools))
        transcript.append(header)
        return transcript

    @classmethod
    def resume(cls, path: Path) -> tuple[Transcript, list[Message], list[str]]:
        """Open an existing session for appending; returns its repaired history and warnings."""
        records, warnings = read_records(path)
        transcript = cls(path, path.stem)
        transcript._open()
        transcript._mend_tail(drop_partial=bool(warnings))
        repaired, repairs = repair_history(history(records))
        for message in repairs:
            transcript.append_message(message)
        if repairs:
            warnings.append(f"{len(repairs)} tool call(s) had no result; marked as interrupted.")
        return transcript, repaired, warnings

    @classmethod
    def reopen(cls, path: Path) -> Transcript:
        """Open an existing session to append a record (a rewind) without resuming it."""
        _, warnings = read_records(path)
        transcript = cls(path, path.stem)
        transcript._open()
        transcript._mend_tail(drop_partial=bool(warnings))
        return transcript

    def _open(self) -> None:
        self._file = open(self.path, "a+b")
        try:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._file.close()
            raise SessionError(f"Session {self.path.stem} is in use by another Luban process.") from None

    def _mend_tail(self, drop_partial: bool) -> None:
        """Cut a partial last line, or end a complete one that lacks its newline, before appending."""
        data = self.path.read_bytes()
        if drop_partial:
            self._file.truncate(data.rfind(b"\n") + 1)
        elif data and not data.endswith(b"\n"):
            self._file.write(b"\n")

    def append(self, record: dict[str, Any]) -> None:
        line = json.dumps(record, ensure_ascii=False) + "\n"
        self._file.write(line.encode("utf-8"))
        self._file.flush()
        os.fsync(self._file.fileno())

    def append_message(self, message: Message) -> None:
        self.append({"type": "message", "message": message_to_record(message)})

    def close(self) -> None:
        if self._file:
            self._file.close()
            self._file = None


def read_records(path: Path) -> tuple[list[dict[str, Any]], list[str]]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SessionError(f"Cannot read the session file {path}: {exc.strerror}.") from None
    records, warnings = [], []
    lines = data.split(b"\n")
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except (json.JSONDecodeError, UnicodeDecodeError):
            if number == len(lines):  # no newline after it: the write was cut (kill -9, power loss)
                warnings.append(f"Dropped a partial last line of {path.name} (the previous run was cut off).")
            else:
                raise SessionError(f"Line {number} of the session file {path} is not valid JSON.") from None
    return records, warnings


def history(records: Iterable[dict[str, Any]]) -> list[Message]:
    """The messages the model saw last: those after the latest compaction, which replaced all before it, and
    none from a turn that was rewound (a rewind goes back to the conversation before its checkpoint's turn)."""
    messages: list[Message] = []
    before_turn: dict[str, list[Message]] = {}  # by checkpoint commit: the conversation before its turn
    for record in records:
        kind = record.get("type")
        if kind == "message":
            messages.append(message_from_record(record["message"]))
        elif kind == "compaction":
            messages = [message_from_record(m) for m in record["messages"]]
        elif kind == "checkpoint":
            # "history" is there when the turn was compacted before its first snapshot: N counts the old list.
            kept = record.get("history")
            before_turn[record["commit"]] = ([message_from_record(m) for m in kept] if kept is not None
                                             else messages[:record["messages"]])
        elif kind == "rewind":
            earlier = before_turn.get(record.get("commit", ""))
            messages = list(earlier) if earlier is not None else messages[:record["messages"]]
    return messages


def repair_history(messages: Iterable[Message]) -> tuple[list[Message], list[Message]]:
    """Give every tool call a result; servers reject a history with an orphan call.

    Returns the repaired history and the result messages that were added.
    """
    out: list[Message] = []
    added: list[Message] = []
    pending: list[ToolCall] = []
    for message in [*messages, None]:  # None: the end, where the calls still pending get results too
        if (message is None or message.role != "tool") and pending:
            results = _interrupted(pending)
            added += results
            out += results
            pending = []
        if message is None:
            break
        out.append(message)
        if message.role == "assistant":
            pending = list(message.tool_calls)
        elif message.role == "tool":
            pending = [c for c in pending if c.id != message.tool_call_id]
    return out, added


def _interrupted(calls: list[ToolCall]) -> list[Message]:
    return [Message("tool", f"Error: {INTERRUPTED}", tool_call_id=c.id) for c in calls]


def latest_for(sessions_dir: Path, cwd: Path) -> Path | None:
    """The newest session started in `cwd`, for --continue."""
    candidates = sorted(sessions_dir.glob("*.jsonl"), key=lambda p: p.stat().st_mtime, reverse=True)
    for path in candidates:
        with path.open("rb") as f:
            try:
                header = json.loads(f.readline())
            except (json.JSONDecodeError, UnicodeDecodeError):
                continue
        if header.get("type") == "session" and header.get("cwd") == str(cwd):
            return path
    return None


def find(sessions_dir: Path, session_id: str) -> Path:
    path = sessions_dir / f"{session_id}.jsonl"
    if not path.exists():
        raise SessionError(f"No session {session_id!r} in {sessions_dir}.")
    return path
