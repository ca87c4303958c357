"""Rewind end to end: scripted-model turns that write, edit, delete and run commands, then the files come back
byte for byte and the resumed conversation is the one from before the rewound turns."""

import os
import stat
from pathlib import Path

import pytest

from luban.agent import loop
from luban.workspace.checkpoints import (CheckpointError, Checkpoints, TurnCheckpoints, WritingTurn, for_turn, rewind,
                                         writing_turns)
from luban.config import Settings
from luban.errors import SessionError
from luban.models.scripted import assistant, script
from luban.session import Transcript, history, message_to_record, read_records
from luban.tools import default_tools
from luban.types import Message, Notice, ToolCall
from luban.workspace import Workspace

SYSTEM = Message("system", "s")
SETTINGS = Settings(permission_mode="full-auto", edit_samples=1, read_before_write=False)


def tree(root: Path) -> dict[str, tuple]:
    entries = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            info = path.lstat()
            kind = ("link", os.readlink(path)) if stat.S_ISLNK(info.st_mode) else ("dir",) if stat.S_ISDIR(
                info.st_mode) else ("file", path.read_bytes(), bool(info.st_mode & 0o100))
            entries[str(path.relative_to(root))] = kind
    return entries


class Session:
    """One project, its data dir and one session, driven a turn at a time by scripted replies."""

    def __init__(self, tmp_path: Path):
        self.root = tmp_path / "project"
        self.root.mkdir()
        self.data = tmp_path / "data"
        self.out = tmp_path / "out"
        self.path: Path | None = None

    def turn(self, task: str, *replies):
        ws = Workspace.open(self.root, self.out)
        if self.path is None:
            transcript = Transcript.create(self.data / "sessions", ws.root, "scripted")
            transcript.append_message(SYSTEM)
            before = [SYSTEM]
            self.path = transcript.path
        else:
            transcript, before, _ = Transcript.resume(self.path)
        run = loop.run(task, model=script(*replies), tools=default_tools(), ws=ws, settings=SETTINGS,
                       history=before, transcript=transcript, checkpoints=Checkpoints.open(ws.root, self.data))
        try:
            events = list(run)
        finally:
            transcript.close()
        return events

    def history(self) -> list[Message]:
        transcript, messages, _ = Transcript.resume(self.path)
        transcript.close()
        return messages


def call(id, name, **arguments):
    return assistant(calls=[ToolCall(id, name, arguments)])


@pytest.fixture
def session(tmp_path):
    s = Session(tmp_path)
    (s.root / "app.py").write_bytes(b"def main():\n    return 'old'\n")
    (s.root / "old.txt").write_bytes(b"\x00binary\xff\n")
    (s.root / "lib").mkdir()
    (s.root / "lib" / "util.py").write_text("X = 1\n")
    return s


def test_undo_after_a_turn_that_created_edited_and_deleted_files_puts_back_every_byte(session, tmp_path):
    session.turn("add notes", call("a", "write_file", path="NOTES.md", content="notes\n"), assistant("Added."))
    after_first = tree(session.root)
    history_after_first = session.history()
    session.turn("rework it",
                 call("b", "edit_file", path="app.py", old_string="'old'", new_string="'new'"),
                 call("c", "write_file", path="pkg/new.py", content="created = True\n"),
                 call("d", "bash", command=f"rm old.txt && chmod +x app.py && rm -r lib && echo x > {tmp_path}/side"),
                 assistant("Done."))
    assert (session.root / "app.py").read_text() == "def main():\n    return 'new'\n"

    rewound = rewind(session.path, session.data)

    assert tree(session.root) == after_first
    assert session.history() == history_after_first
    assert rewound.summary() == "\n".join([
        f'Rewound 1 turn to the checkpoint before "rework it" ({rewound.commit[:12]}).',
        "Files: 1 written, 2 created, 1 deleted.",
        "  written  app.py",
        "  created  lib/util.py",
        "  created  old.txt",
        "  deleted  pkg/new.py",
        "Conversation: 8 messages dropped; it goes on from before that turn's message.",
        "These commands ran since; what they changed outside the workspace's files (or in files .gitignore "
        "ignores) is not undone:",
        f"  $ rm old.txt && chmod +x app.py && rm -r lib && echo x > {tmp_path}/side"])
    assert (tmp_path / "side").read_text() == "x\n"  # outside the workspace: said, not undone
    assert list(rewound.history) == history_after_first


def test_rewinding_again_goes_on_to_the_turn_before(session):
    before = tree(session.root)
    session.turn("one", call("a", "write_file", path="one.txt", content="1\n"), assistant("ok"))
    session.turn("look", call("r", "read_file", path="one.txt"), assistant("it says 1"))
    session.turn("two", call("b", "write_file", path="one.txt", content="2\n"), assistant("ok"))

    first = rewind(session.path, session.data)
    second = rewind(session.path, session.data)

    assert (first.note, first.dropped, second.note, second.dropped) == ("two", 4, "one", 8)
    assert tree(session.root) == before
    assert session.history() == [SYSTEM]
    with pytest.raises(CheckpointError) as error:
        rewind(session.path, session.data)
    assert str(error.value) == (f"Session {session.path.stem} has no checkpoint: none of its turns changed files "
                                "(or it ran without checkpoints).")


def test_rewind_n_goes_back_n_writing_turns_at_once(session):
    before = tree(session.root)
    session.turn("one", call("a", "write_file", path="a.txt", content="a\n"), assistant("ok"))
    session.turn("two", call("b", "bash", command="echo b > b.txt"), assistant("ok"))
    with pytest.raises(CheckpointError) as error:
        rewind(session.path, session.data, turns=3)
    assert str(error.value) == f"Session {session.path.stem} has 2 turn(s) with a checkpoint; cannot rewind 3."

    rewound = rewind(session.path, session.data, turns=2)

    assert (rewound.turns, rewound.restored.deleted, rewound.commands) == (2, ("a.txt", "b.txt"), ("echo b > b.txt",))
    assert tree(session.root) == before
    assert session.history() == [SYSTEM]


def test_a_turn_that_only_reads_takes_no_checkpoint(session):
    session.turn("look", call("r", "read_file", path="app.py"), assistant("It returns 'old'."))
    records, _ = read_records(session.path)
    assert [r for r in records if r["type"] == "checkpoint"] == []


def test_the_first_write_of_a_turn_is_snapshotted_once_and_recorded(session):
    session.turn("edit twice", call("a", "write_file", path="a.txt", content="1\n"),
                 call("b", "write_file", path="b.txt", content="2\n"), assistant("ok"))
    records, _ = read_records(session.path)
    checkpoints = [r for r in records if r["type"] == "checkpoint"]
    assert checkpoints == [{"type": "checkpoint", "commit": checkpoints[0]["commit"], "messages": 1,
                            "note": "edit twice", "turn": checkpoints[0]["turn"]}]
    # Taken once the call is allowed, before the tool runs.
    assert records.index(checkpoints[0]) < next(i for i, r in enumerate(records) if r.get("kind") == "ToolFinished")


def test_a_damaged_store_warns_and_the_turn_goes_on(session):
    store = Checkpoints.open(session.root, session.data)
    store.snapshot("made")
    (store.git_dir / "HEAD").write_text("garbage\n")
    events = session.turn("write", call("a", "write_file", path="a.txt", content="1\n"), assistant("ok"))
    assert [e for e in events if isinstance(e, Notice)] == [Notice(
        "No checkpoint for this turn, so rewind cannot restore its files: The checkpoint store "
        f"{store.git_dir} is damaged or unusable (git ls-files: fatal: not a git repository: '{store.git_dir}').")]
    assert (session.root / "a.txt").read_text() == "1\n"


def test_a_session_in_use_is_refused_before_any_file_changes_unless_its_transcript_is_given(session):
    session.turn("write", call("a", "write_file", path="a.txt", content="1\n"), assistant("ok"))
    held, _, _ = Transcript.resume(session.path)
    try:
        with pytest.raises(SessionError) as error:
            rewind(session.path, session.data)
        assert str(error.value) == f"Session {session.path.stem} is in use by another Luban process."
        assert (session.root / "a.txt").exists()
        rewound = rewind(session.path, session.data, transcript=held)
    finally:
        held.close()
    assert (rewound.restored.deleted, (session.root / "a.txt").exists()) == (("a.txt",), False)


def test_snapshot_before_a_risky_command_joins_the_turn_it_is_in(session):
    ws = Workspace.open(session.root, session.out)
    transcript = Transcript.create(session.data / "sessions", ws.root, "scripted")
    store = Checkpoints.open(ws.root, session.data)
    checkpoints = for_turn(store, "reset it\nplease", [SYSTEM])
    messages = [SYSTEM, Message("user", "reset it")]
    try:
        first = checkpoints.snapshot("reset it", messages, transcript)
        second = checkpoints.snapshot("before `git reset --hard`", messages, transcript)
    finally:
        transcript.close()
    records, _ = read_records(transcript.path)
    turn = checkpoints.turn
    assert records[1:] == [
        {"type": "checkpoint", "commit": first, "messages": 1, "note": "reset it", "turn": turn},
        {"type": "checkpoint", "commit": second, "messages": 1, "note": "before `git reset --hard`", "turn": turn}]
    assert writing_turns(records) == [WritingTurn(first, 1, "reset it", turn)]
    assert isinstance(checkpoints, TurnCheckpoints) and checkpoints.note == "reset it"
    assert for_turn(None, "x", []) is None


def test_history_after_a_rewind_is_the_conversation_before_the_rewound_turn():
    def message(role, text):
        return {"type": "message", "message": message_to_record(Message(role, text))}

    records = [message("system", "s"), message("user", "one"), message("assistant", "done one"),
               {"type": "checkpoint", "commit": "c2", "messages": 3, "note": "two", "turn": "t2"},
               message("user", "two"), message("assistant", "done two"),
               {"type": "rewind", "messages": 3, "commit": "c2", "turns": 1}, message("user", "three")]
    assert history(records) == [Message("system", "s"), Message("user", "one"), Message("assistant", "done one"),
                                Message("user", "three")]


def test_a_turn_compacted_before_its_snapshot_rewinds_to_the_list_it_counted():
    def message(role, text):
        return message_to_record(Message(role, text))

    before = [message("system", "s"), message("user", "one"), message("assistant", "done one")]
    records = [*({"type": "message", "message": m} for m in before),
               {"type": "message", "message": message("user", "two")},
               {"type": "compaction", "messages": [message("system", "s"), message("user", "summary; two")]},
               {"type": "checkpoint", "commit": "c2", "messages": 3, "note": "two", "turn": "t2", "history": before},
               {"type": "message", "message": message("assistant", "done two")},
               {"type": "rewind", "messages": 3, "commit": "c2", "turns": 1}]
    assert history(records) == [Message("system", "s"), Message("user", "one"), Message("assistant", "done one")]
    assert writing_turns(records) == []
