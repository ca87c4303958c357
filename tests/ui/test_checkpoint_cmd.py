"""`luban undo` and `luban rewind N` through the command line: what the user reads, and the one-sentence errors."""

import os
import shutil

import pytest

from luban.agent import loop
from luban.workspace.checkpoints import Checkpoints
from luban.config import Settings
from luban.models.scripted import assistant, script
from luban.session import Transcript, find, read_records
from luban.tools import default_tools
from luban.types import Message, ToolCall
from luban.ui.cli import main
from luban.workspace import Workspace

SETTINGS = Settings(permission_mode="full-auto", edit_samples=1)


@pytest.fixture
def home(tmp_path, monkeypatch):
    for name in [n for n in os.environ if n.startswith("LUBAN_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("LUBAN_HOME", str(tmp_path / "home"))
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return tmp_path / "home"


def write_turns(home, root, *contents):
    """One session with a turn per content, each writing it to notes.txt (or running it, from "$ "); returns the
    session id."""
    ws = Workspace.open(root, root.parent / "out")
    transcript = Transcript.create(home / "data" / "sessions", ws.root, "scripted")
    transcript.append_message(Message("system", "s"))
    messages = [Message("system", "s")]
    for n, content in enumerate(contents):
        call = (ToolCall(f"c{n}", "bash", {"command": content[2:]}) if content.startswith("$ ")
                else ToolCall(f"c{n}", "write_file", {"path": "notes.txt", "content": content}))
        model = script(assistant(calls=[call]), assistant("ok"))
        list(loop.run(f"write {content.strip()}", model=model, tools=default_tools(), ws=ws, settings=SETTINGS,
                      history=messages, transcript=transcript, checkpoints=Checkpoints.open(ws.root, home / "data")))
        transcript.close()
        transcript, messages, _ = Transcript.resume(transcript.path)
    transcript.close()
    return transcript.id


def test_undo_rewinds_the_latest_session_in_the_workspace(home, tmp_path, capsys):
    work = tmp_path / "work"
    write_turns(home, work, "one\n", "two\n")

    assert main(["undo"]) == 0

    out = capsys.readouterr().out
    commit = out.split("(")[1].split(")")[0]
    assert out == (f'Rewound 1 turn to the checkpoint before "write two" ({commit}).\n'
                   "Files: 1 written, 0 created, 0 deleted.\n"
                   "  written  notes.txt\n"
                   "Conversation: 4 messages dropped; it goes on from before that turn's message.\n")
    assert (work / "notes.txt").read_text() == "one\n"


def test_rewind_n_of_a_named_session_from_another_directory(home, tmp_path, capsys):
    project = tmp_path / "project"
    project.mkdir()
    session = write_turns(home, project, "one\n", "two\n")

    assert main(["rewind", "2", "--session", session]) == 0

    assert capsys.readouterr().out.splitlines()[1:3] == ["Files: 0 written, 0 created, 1 deleted.",
                                                         "  deleted  notes.txt"]
    assert not (project / "notes.txt").exists()


def test_rewind_without_n_lists_the_turns_it_can_go_back_to(home, tmp_path, capsys):
    session = write_turns(home, tmp_path / "work", "one\n", "$ echo two > notes.txt", "three\n")
    assert main(["rewind"]) == 0
    assert capsys.readouterr().out == (
        f"Turns of session {session} that changed files, newest first (luban rewind N goes back to before turn N):\n"
        "    1  write three\n"
        "    2  write $ echo two > notes.txt  (1 command)\n"
        "    3  write one\n")
    assert main(["rewind", "3"]) == 0
    capsys.readouterr()
    assert main(["rewind"]) == 0
    assert capsys.readouterr().out == f"Session {session} has no turn that changed files to go back to.\n"


@pytest.mark.parametrize("argv, error", [
    (["undo"], "No session was started in {work}; name one with --session ID."),
    (["rewind", "1", "--session", "nope"], "No session 'nope' in {sessions}."),
])
def test_no_session_is_one_sentence(home, tmp_path, capsys, argv, error):
    (home / "data" / "sessions").mkdir(parents=True)
    assert main(argv) == 1
    work = (tmp_path / "work").resolve()
    assert capsys.readouterr().err == f"luban: {error.format(work=work, sessions=home / 'data' / 'sessions')}\n"


def test_too_many_turns_or_none_or_no_checkpoint_is_one_sentence(home, tmp_path, capsys):
    session = write_turns(home, tmp_path / "work", "one\n")
    assert main(["rewind", "2"]) == 1
    assert main(["rewind", "0"]) == 1
    assert main(["undo"]) == 0
    assert main(["undo"]) == 1
    assert capsys.readouterr().err.splitlines() == [
        f"luban: Session {session} has 1 turn(s) with a checkpoint; cannot rewind 2.",
        "luban: Rewind goes back 1 turn or more, not 0.",
        f"luban: Session {session} has no checkpoint: none of its turns changed files (or it ran without "
        "checkpoints)."]


def test_a_damaged_store_is_one_sentence_and_the_files_stay(home, tmp_path, capsys):
    work = tmp_path / "work"
    session = write_turns(home, work, "one\n")
    store = Checkpoints.open(work, home / "data")
    shutil.rmtree(store.git_dir / "objects")
    records, _ = read_records(find(home / "data" / "sessions", session))
    commit = next(r["commit"] for r in records if r["type"] == "checkpoint")

    assert main(["undo"]) == 1

    assert capsys.readouterr().err == (f"luban: Checkpoint {commit[:12]} is not in {store.git_dir}: the checkpoint "
                                       "store was removed or damaged.\n")
    assert (work / "notes.txt").read_text() == "one\n"
