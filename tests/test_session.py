import errno
import json
import os

import pytest

from luban.errors import SessionError, SessionUnwritable
from luban.session import INTERRUPTED, Transcript, find, finished_calls, history, latest_for, read_records
from luban.types import CallStats, Message, Notice, Outcome, ToolCall, ToolFinished, ToolResult, Usage

CALL = ToolCall("c1", "bash", {"command": "make"})


def test_messages_round_trip_through_resume(tmp_path):
    t = Transcript.create(tmp_path, tmp_path / "repo", "m")
    history = [Message("system", "s"), Message("user", "u"), Message("assistant", "", (CALL,), reasoning="think"),
               Message("tool", "ok", tool_call_id="c1"), Message("assistant", "done")]
    for m in history:
        t.append_message(m)
    t.close()
    resumed, messages, warnings = Transcript.resume(t.path)
    resumed.close()
    assert (messages, warnings) == (history, [])


def test_a_call_the_model_wrote_broken_keeps_its_raw_text_through_resume(tmp_path):
    broken = ToolCall("c2", "bash", {}, raw='{"command": "ls')
    history = [Message("user", "u"), Message("assistant", "", (CALL, broken)), Message("tool", "ok", tool_call_id="c1"),
               Message("tool", "Error: cut off", tool_call_id="c2")]
    t = Transcript.create(tmp_path, tmp_path, "m")
    for m in history:
        t.append_message(m)
    t.close()
    resumed, messages, _ = Transcript.resume(t.path)
    resumed.close()
    calls = read_records(t.path)[0][2]["message"]["tool_calls"]
    assert (messages, calls) == (history, [{"id": "c1", "name": "bash", "arguments": {"command": "make"}},
                                           {"id": "c2", "name": "bash", "arguments": {}, "raw": '{"command": "ls'}])


def test_kill_9_mid_tool_call_resumes_with_interrupted_result(tmp_path):
    t = Transcript.create(tmp_path, tmp_path, "m")
    t.append_message(Message("user", "u"))
    t.append_message(Message("assistant", "", (CALL,)))
    t.close()
    with t.path.open("ab") as f:
        f.write(b'{"type": "message", "message": {"role": "to')  # the write that kill -9 cut short
    resumed, messages, warnings = Transcript.resume(t.path)
    resumed.append_message(Message("user", "next"))
    resumed.close()
    assert messages == [Message("user", "u"), Message("assistant", "", (CALL,)),
                        Message("tool", f"Error: {INTERRUPTED}", tool_call_id="c1")]
    assert warnings == [f"Dropped a partial last line of {t.path.name} (the previous run was cut off).",
                        "1 tool call(s) had no result; marked as interrupted."]
    records, problems = read_records(t.path)
    assert problems == []
    assert [r["message"]["role"] for r in records if r["type"] == "message"] == ["user", "assistant", "tool", "user"]


def test_corrupt_line_in_the_middle_is_an_error_not_silently_dropped(tmp_path):
    path = tmp_path / "s.jsonl"
    path.write_text('{"type": "session"}\nnot json\n{"type": "event"}\n')
    with pytest.raises(SessionError, match="Line 2 of the session file .* is not valid JSON."):
        read_records(path)


def test_a_session_cannot_be_opened_twice(tmp_path):
    t = Transcript.create(tmp_path, tmp_path, "m")
    with pytest.raises(SessionError, match=f"Session {t.id} is in use by another Luban process."):
        Transcript.resume(t.path)
    t.close()


def test_records_are_on_disk_after_each_append(tmp_path):
    t = Transcript.create(tmp_path, tmp_path, "m")
    t.append_event(Notice("x"))
    lines = t.path.read_text().splitlines()
    assert json.loads(lines[-1]) == {"type": "event", "kind": "Notice", "text": "x"}
    t.close()


def test_each_record_kind_has_its_typed_writer_and_reads_back(tmp_path):
    t = Transcript.create(tmp_path, tmp_path / "repo", "m", "native", ["bash"])
    system, user, summary = Message("system", "s"), Message("user", "u"), Message("user", "summary")
    t.append_message(system)
    t.append_message(user)
    t.append_event(ToolFinished(CALL, ToolResult("ok"), 0.5))
    t.append_outcome(Outcome("done", "fixed", 2, Usage(10, 2), 1.5, 1.0, CallStats(1)), "pytest -q")
    t.append_checkpoint("c0ffee", 1, "fix it", "t1")
    t.append_compaction([system, summary])
    t.append_checkpoint("beef", 2, "more", "t2", before=[system, user])
    rewind = t.append_rewind(2, "beef", 1)
    t.append_rewrite("a.py:f", "```python\ndef f(): ...\n```", False)
    t.close()
    records, _ = read_records(t.path)
    usage = {"prompt_tokens": 10, "completion_tokens": 2, "cached_tokens": 0, "prompt_ms": 0.0, "decode_ms": 0.0,
             "requests": 0}
    as_record = [{"role": m.role, "content": m.content, "tool_calls": [], "tool_call_id": None, "reasoning": None}
                 for m in (system, user, summary)]
    assert records[1:] == [
        {"type": "message", "message": as_record[0]},
        {"type": "message", "message": as_record[1]},
        {"type": "event", "kind": "ToolFinished", "call": {"id": "c1", "name": "bash", "arguments": {"command": "make"}},
         "result": {"content": "ok", "error": False}, "wall_s": 0.5},
        {"type": "outcome", "status": "done", "message": "fixed", "steps": 2, "usage": usage, "wall_s": 1.5,
         "model_s": 1.0, "calls": {"valid": 1, "repaired": 0, "rejected": 0}, "denials": [],
         "test_command": "pytest -q"},
        {"type": "checkpoint", "commit": "c0ffee", "messages": 1, "note": "fix it", "turn": "t1"},
        {"type": "compaction", "messages": [as_record[0], as_record[2]]},
        {"type": "checkpoint", "commit": "beef", "messages": 2, "note": "more", "turn": "t2",
         "history": as_record[:2]},
        {"type": "rewind", "messages": 2, "commit": "beef", "turns": 1},
        {"type": "rewrite", "target": "a.py:f", "reply": "```python\ndef f(): ...\n```", "usable": False}]
    assert (rewind, history(records), finished_calls(records)) == (
        records[-2], [system, user], [(CALL, ToolResult("ok"))])


def test_latest_for_picks_the_newest_session_of_that_directory(tmp_path):
    a = Transcript.create(tmp_path, tmp_path / "a", "m")
    b = Transcript.create(tmp_path, tmp_path / "b", "m")
    a.close(), b.close()
    assert latest_for(tmp_path, tmp_path / "a") == a.path
    assert latest_for(tmp_path, tmp_path / "c") is None
    assert find(tmp_path, b.id) == b.path
    with pytest.raises(SessionError, match="No session 'nope'"):
        find(tmp_path, "nope")


def test_a_lone_surrogate_round_trips_and_the_file_stays_utf8(tmp_path):
    """A model's JSON "\\udcff" decodes to a lone surrogate, which has no UTF-8 form: writing it crashed the run."""
    t = Transcript.create(tmp_path, tmp_path, "m")
    edit = ToolCall("c1", "edit_file", {"path": "calc.py", "old_string": "a + b", "new_string": "a + b\udcff"})
    history = [Message("user", "ünïcode stays readable"), Message("assistant", "half an emoji \ud83d", (edit,))]
    for m in history:
        t.append_message(m)
    t.close()
    lines = t.path.read_bytes().decode("utf-8").splitlines()
    resumed, messages, _ = Transcript.resume(t.path)
    resumed.close()
    assert messages[:2] == history
    assert ('"ünïcode stays readable"' in lines[1], '"a + b\\udcff"' in lines[2]) == (True, True)


class Disk:
    """A disk with `room` bytes left, at Transcript's write seam: a write that does not fit is cut short
    (as write(2) does), and the next one fails with ENOSPC."""

    def __init__(self, room: int) -> None:
        self.room = room

    def write(self, fd: int, data) -> int:
        if self.room <= 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        written = os.write(fd, bytes(data[: self.room]))
        self.room -= written
        return written


def test_a_session_cannot_start_on_a_full_disk_and_leaves_no_empty_file(tmp_path):
    with pytest.raises(SessionUnwritable) as error:
        Transcript.create(tmp_path, tmp_path, "m", write=Disk(0).write)
    assert (str(error.value), list(tmp_path.iterdir())) == (
        f"Could not start a session in {tmp_path}: the disk is full.", [])


def test_a_record_the_disk_cut_short_is_cut_back_and_the_session_goes_on_once_there_is_room(tmp_path):
    disk = Disk(10_000)
    t = Transcript.create(tmp_path, tmp_path, "m", write=disk.write)
    t.append_message(Message("user", "u"))
    disk.room = 40  # less than the next record: half of it reaches the file
    with pytest.raises(SessionUnwritable) as error:
        t.append_message(Message("assistant", "a reply longer than forty bytes, cut short by the disk"))
    kept = t.path.read_bytes()
    disk.room = 10_000  # space is back
    t.append_message(Message("assistant", "after"))
    t.close()
    records, warnings = read_records(t.path)
    assert str(error.value) == (f"Could not save session {t.id} to {t.path}: the disk is full; everything recorded "
                                f"before this is kept, so once that is fixed, go on with --resume {t.id}.")
    assert (kept.endswith(b'"reasoning": null}}\n'), kept.count(b"\n"), warnings) == (True, 2, [])
    assert [r["message"]["content"] for r in records if r["type"] == "message"] == ["u", "after"]


def finished(call_id: str, path: str) -> dict:
    return {"type": "event", "kind": "ToolFinished", "call": {"id": call_id, "name": "read_file",
            "arguments": {"path": path}}, "result": {"content": "x", "error": False}, "wall_s": 0.0}


def test_finished_calls_leave_out_the_turns_a_rewind_undid():
    records = [finished("c1", "kept.py"), {"type": "outcome", "status": "done"},
               finished("c2", "turn2.py"), {"type": "checkpoint", "commit": "abc", "messages": 4},
               finished("c3", "turn2b.py"), {"type": "outcome", "status": "done"},
               finished("c4", "turn3.py"), {"type": "outcome", "status": "done"},
               {"type": "rewind", "messages": 4, "commit": "abc"}, finished("c5", "after.py")]
    assert [(call.id, call.arguments["path"], result) for call, result in finished_calls(records)] == [
        ("c1", "kept.py", ToolResult("x")), ("c5", "after.py", ToolResult("x"))]
