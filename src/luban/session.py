"""Transcript: an append-only JSONL file per session, fsync'd per record; resume and crash repair.

One typed writer per record kind (Transcript.append_*), the only code that builds records: the session header,
every message the model sees, the events around them, each run's outcome, compactions, checkpoints, rewinds and
focused rewrites.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import secrets
import time
from dataclasses import dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

from .errors import SessionError, SessionUnwritable
from .types import Event, Message, Outcome, ToolCall, ToolResult

INTERRUPTED = "interrupted before this tool finished — its side effects are unknown; verify them before going on"


def message_to_record(message: Message) -> dict[str, Any]:
    return _plain(message)


def message_from_record(data: dict[str, Any]) -> Message:
    calls = tuple(ToolCall(c["id"], c["name"], c["arguments"], c.get("raw")) for c in data.get("tool_calls") or ())
    return Message(data["role"], data.get("content", ""), calls, data.get("tool_call_id"), data.get("reasoning"))


@dataclass
class Transcript:
    path: Path
    id: str
    _file: Any = field(default=None, repr=False)
    _end: int = field(default=0, repr=False)  # where the last whole record ends
    # How bytes reach the file (os.write's signature): the seam where tests put a disk that fills up.
    write: Callable[[int, bytes], int] = field(default=os.write, repr=False)

    @classmethod
    def create(cls, sessions_dir: Path, cwd: Path, model: str, protocol: str = "", tools: Iterable[str] = (),
               write: Callable[[int, bytes], int] = os.write, parent: Mapping[str, str] | None = None) -> Transcript:
        """A new session; `protocol` (protocol.label) and `tools` (the names offered) say how to read its
        messages again, e.g. to train on them (tune/). `parent`: for a subagent's session, which session and
        call started it (child_dir says where it goes)."""
        session_id = time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(3)
        transcript = cls(sessions_dir / f"{session_id}.jsonl", session_id, write=write)
        header = {"type": "session", "id": session_id, "cwd": str(cwd), "model": model, "time": time.time()}
        if protocol:
            header.update(protocol=protocol, tools=list(tools))
        if parent:
            header["parent"] = dict(parent)
        try:
            sessions_dir.mkdir(parents=True, exist_ok=True)
            transcript._open()
            transcript._put(encode_record(header))
        except OSError as exc:
            transcript.close()
            with contextlib.suppress(OSError):
                transcript.path.unlink()  # it holds nothing, and an empty session would only be skipped later
            raise SessionUnwritable(f"Could not start a session in {sessions_dir}: {_why(exc)}.") from None
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
        self._file = open(self.path, "a+b", buffering=0)
        try:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._file.close()
            raise SessionError(f"Session {self.path.stem} is in use by another Luban process.") from None
        self._end = os.fstat(self._file.fileno()).st_size

    def _mend_tail(self, drop_partial: bool) -> None:
        """Cut a partial last line, or end a complete one that lacks its newline, before appending."""
        data = self.path.read_bytes()
        if drop_partial:
            self._end = data.rfind(b"\n") + 1
            os.ftruncate(self._file.fileno(), self._end)
        elif data and not data.endswith(b"\n"):
            self._save(b"\n")

    def _append(self, record: dict[str, Any]) -> dict[str, Any]:
        self._save(encode_record(record))
        return record

    def _save(self, data: bytes) -> None:
        try:
            self._put(data)
        except OSError as exc:
            raise SessionUnwritable(
                f"Could not save session {self.id} to {self.path}: {_why(exc)}; everything recorded before this is "
                f"kept, so once that is fixed, go on with --resume {self.id}."
            ) from None

    def _put(self, data: bytes) -> None:
        """Append `data` whole and fsync it, or leave the file as it was: a write the disk cut short is cut
        back to the last whole record (else the next append would glue a record to half of one)."""
        fd = self._file.fileno()
        if os.fstat(fd).st_size != self._end:
            os.ftruncate(fd, self._end)  # an earlier failed write whose cut failed too
        view = memoryview(data)
        try:
            while view:
                view = view[self.write(fd, view):]
            os.fsync(fd)
        except OSError:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, self._end)
            raise
        self._end += len(data)

    def append_message(self, message: Message) -> None:
        """A message the model sees, in the order it sees them."""
        self._append({"type": "message", "message": message_to_record(message)})

    def append_event(self, event: Event) -> None:
        """Something that happened around the messages (types.Event), under its class name as `kind`."""
        self._append({"type": "event", "kind": type(event).__name__, **_plain(event)})

    def append_outcome(self, outcome: Outcome, test_command: str | None = None) -> None:
        """How one run ended; with the test command that judged it, if one did (tune/ trains on the runs it
        passed)."""
        gate = {"test_command": test_command} if test_command else {}
        self._append({"type": "outcome", **_plain(outcome), **gate})

    def append_compaction(self, messages: Sequence[Message]) -> None:
        """The history the model sees from here on, replacing all messages before (history())."""
        self._append({"type": "compaction", "messages": [message_to_record(m) for m in messages]})

    def append_checkpoint(self, commit: str, messages: int, note: str, turn: str,
                          before: Sequence[Message] | None = None) -> None:
        """A snapshot of the files before turn `turn` wrote; `messages` counts the history before that turn.
        `before`: that history itself, when a compaction since has made the count meaningless."""
        record: dict[str, Any] = {"type": "checkpoint", "commit": commit, "messages": messages, "note": note,
                                  "turn": turn}
        if before is not None:
            record["history"] = [message_to_record(m) for m in before]
        self._append(record)

    def append_rewind(self, messages: int, commit: str, turns: int) -> dict[str, Any]:
        """The user went back `turns` turns to the checkpoint `commit`; returns the record (history() reads it)."""
        return self._append({"type": "rewind", "messages": messages, "commit": commit, "turns": turns})

    def append_rewrite(self, target: str, reply: str, usable: bool) -> None:
        """A focused rewrite the harness asked for (harness/candidates.py): not part of the conversation, but what
        the model wrote is kept for the record."""
        self._append({"type": "rewrite", "target": target, "reply": reply, "usable": usable})

    def child_dir(self) -> Path:
        """Where the sessions of this session's subagents go: a folder named after it, beside it (so --continue
        and session listings, which look at one folder, never pick a subagent's)."""
        return self.path.parent / self.id

    def close(self) -> None:
        if self._file:
            self._file.close()
            self._file = None


def _plain(value: Any) -> Any:
    """A value as a record holds it: dataclasses.asdict, except that a tool call's raw text appears only where
    there is one (so records of well-formed calls read as they always have)."""
    if isinstance(value, ToolCall):
        call = {"id": value.id, "name": value.name, "arguments": _plain(dict(value.arguments))}
        return call if value.raw is None else {**call, "raw": value.raw}
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


# Why a session file could not be written, in words; other errors say the system's own words.
_WHY = {errno.ENOSPC: "the disk is full", errno.EDQUOT: "the disk quota is used up",
        errno.EROFS: "the file system is read-only", errno.EACCES: "permission denied", errno.EPERM: "not permitted"}


def _why(error: OSError) -> str:
    return _WHY.get(error.errno or 0) or (error.strerror or str(error)).rstrip(".").lower()


def encode_record(record: dict[str, Any]) -> bytes:
    """One JSONL line, readable UTF-8 where it can be. A lone surrogate (half of a UTF-16 pair, as a model's
    JSON "\\udcff" decodes to) has no UTF-8 form, so such a record is written all in \\u escapes, which read back
    to the very same string."""
    try:
        return (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")
    except UnicodeEncodeError:
        return (json.dumps(record) + "\n").encode("ascii")


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


def finished_calls(records: Iterable[dict[str, Any]]) -> list[tuple[ToolCall, ToolResult]]:
    """The tool calls that finished, with their results, as the transcript's events have them, oldest first; none
    from a turn that was rewound. (A turn ends at its outcome record; a rewind goes back to before its
    checkpoint's turn, or, where that checkpoint is unknown, forgets them all.)"""
    done: list[tuple[ToolCall, ToolResult]] = []
    turn_start = 0
    before_turn: dict[str, int] = {}  # by checkpoint commit: how many calls had finished before its turn
    for record in records:
        kind = record.get("type")
        if kind == "event" and record.get("kind") == "ToolFinished":
            call, result = record["call"], record["result"]
            done.append((ToolCall(call["id"], call["name"], call["arguments"], call.get("raw")),
                         ToolResult(result["content"], result["error"])))
        elif kind == "outcome":
            turn_start = len(done)
        elif kind == "checkpoint":
            before_turn[record["commit"]] = turn_start
        elif kind == "rewind":
            done = done[:before_turn.get(record.get("commit", ""), 0)]
            turn_start = len(done)
    return done


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
