"""Faults a new user met, run end to end: `luban -p` against a scripted server on 127.0.0.1, in a fresh
LUBAN_HOME. Each ends in one sentence and an intact transcript, never a traceback."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from luban.session import read_records
from luban.ui.cli import main
from tui_harness import STALL, ScriptedServer, call, text

CALC = "def add(a, b):\n    return a + b\n"


@pytest.fixture
def repo(tmp_path, monkeypatch):
    for name in [n for n in os.environ if n.startswith("LUBAN_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("LUBAN_HOME", str(tmp_path / "home"))
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "calc.py").write_text(CALC)
    return repo


def luban(repo: Path, replies: list, *flags: str) -> tuple[int, ScriptedServer]:
    server = ScriptedServer(replies)
    try:
        code = main(["-p", "fix add", "--base-url", server.url, "--tool-protocol", "native", "--cwd", str(repo),
                     "--permission-mode", "auto-edit", *flags])
    finally:
        server.close()
    return code, server


def sessions(repo: Path) -> list[Path]:
    return sorted((repo.parent / "home" / "data" / "sessions").glob("*.jsonl"))


def test_a_lone_surrogate_in_an_edit_is_refused_and_everything_is_recorded(repo, capsys):
    edit = call("edit_file", path="calc.py", old_string="a + b", new_string="a + b\udcff")
    code, server = luban(repo, [call("read_file", path="calc.py"), edit, text("Gave up \ud83d.")],
                         "--output-format", "stream-json")
    out = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    refused = ("Argument 'new_string' of edit_file holds a lone surrogate (\\udcff at character 5), half of a UTF-16 "
               "pair, which is not text and cannot be saved as UTF-8; write the character itself, or leave it out.")
    results = [c for line in out if line["type"] == "user" for c in line["message"]["content"]]
    records, warnings = read_records(sessions(repo)[0])
    assert (code, (repo / "calc.py").read_text(), warnings) == (0, CALC, [])
    assert (results[1]["content"], results[1]["is_error"], out[-1]["result"]) == (refused, True, "Gave up \ud83d.")
    assert [r["message"]["content"] for r in records if r["type"] == "message"][-1] == "Gave up \ud83d."
    # The server got valid UTF-8: the history's broken half goes back as U+FFFD.
    assert server.bodies[2]["messages"][-2]["tool_calls"][0]["function"]["arguments"] == json.dumps(
        {"path": "calc.py", "old_string": "a + b", "new_string": "a + b\ufffd"}, ensure_ascii=False)


@pytest.fixture
def small_disk(repo):
    """LUBAN_HOME on a real 64 KB tmpfs, unmounted afterwards; mounting one needs root (CAP_SYS_ADMIN)."""
    home = repo.parent / "home"
    home.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a small tmpfs needs root and mount(8); the write seam tests in test_session.py stand in")
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(home)], capture_output=True,
                             text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    yield home
    subprocess.run(["umount", "-l", str(home)], check=False)


def fill(home: Path, keep: int) -> Path:
    """Fill the disk until `keep` bytes are free (tmpfs counts whole pages)."""
    free = os.statvfs(home).f_bavail * os.statvfs(home).f_frsize
    filler = home / "filler"
    with filler.open("wb") as f:
        with contextlib.suppress(OSError):
            f.write(b"x" * max(free - keep, 0))
    return filler


def test_a_full_data_folder_at_start_is_one_sentence_and_leaves_no_session(small_disk, repo, capsys):
    filler = fill(small_disk, 0)
    code, _ = luban(repo, [text("Nothing to do.")])
    err = capsys.readouterr().err
    filler.unlink()
    again, _ = luban(repo, [text("Nothing to do.")])
    assert (code, err, again, len(sessions(repo))) == (
        1, f"luban: Could not start a session in {small_disk}/data/sessions: the disk is full.\n", 0, 1)


def test_a_disk_that_fills_mid_run_keeps_whole_records_and_the_session_continues(small_disk, repo, capsys):
    (repo / "calc.py").write_text(CALC + "# a line to make each read bigger\n" * 100)
    fill(small_disk, 3 * 4096)
    reads = [call("read_file", path="calc.py", offset=n) for n in range(1, 10)]
    code, _ = luban(repo, [*reads, text("Read it all.")])
    err = capsys.readouterr().err
    [path] = sessions(repo)
    data = path.read_bytes()
    records, warnings = read_records(path)
    said = (f"Could not save session {path.stem} to {path}: the disk is full; everything recorded before this is "
            f"kept, so once that is fixed, go on with --resume {path.stem}.")
    assert (code, err.splitlines()[-1] in (said, f"luban: {said}"), data.endswith(b"\n"), warnings) == (
        1, True, True, [])
    (small_disk / "filler").unlink()
    code, server = luban(repo, [text("Carried on.")], "--continue")
    shown = [m["content"] for m in server.bodies[0]["messages"] if m["role"] == "tool"]
    assert (code, shown[0].splitlines()[0], len(read_records(path)[0]) > len(records)) == (
        0, "     1\tdef add(a, b):", True)


# Writes a big file with write_file, as the agent does, and dies by SIGKILL halfway through the write.
KILLED_MID_WRITE = """
import os, signal, sys, threading, time
from luban.tools import write
from luban.workspace import Workspace
ws = Workspace.open(sys.argv[1], sys.argv[2])
threading.Thread(target=write.TOOL, args=({"path": "big.txt", "content": "x" * 48_000_000}, ws), daemon=True).start()
deadline = time.monotonic() + 60
while not any(n.startswith(".big.txt.") for n in os.listdir(sys.argv[1])):
    if os.path.exists(os.path.join(sys.argv[1], "big.txt")) or time.monotonic() > deadline:
        sys.exit(3)  # the write ended before it could be cut
    time.sleep(0.0005)
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_temp_files_a_write_killed_with_kill_9_left_are_gone_after_continue(repo, capsys):
    assert luban(repo, [text("Hello.")])[0] == 0
    killed = subprocess.run([sys.executable, "-c", KILLED_MID_WRITE, str(repo), str(repo.parent / "scratch")])
    [left] = [p for p in repo.iterdir() if p.name.startswith(".big.txt.")]
    size = left.stat().st_size
    capsys.readouterr()
    code, _ = luban(repo, [text("Carried on.")], "--continue")
    err = capsys.readouterr().err
    shown = f"{size / 1e6:.1f} MB" if size >= 100_000 else f"{size} bytes"
    assert (killed.returncode, code, sorted(p.name for p in repo.iterdir())) == (-9, 0, ["calc.py"])
    assert f"! Removed 1 temp file(s) that a killed Luban run left: {left.name} ({shown}).\n" in err


def test_a_file_read_before_a_kill_can_be_edited_after_continue(repo, capsys):
    """The read-before-write guard started each run with nothing read: the first edit after --continue was
    refused although the model had read the file before the interruption."""
    server = ScriptedServer([call("read_file", path="calc.py"), STALL])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    run = subprocess.Popen([sys.executable, "-m", "luban.ui.cli", "-p", "fix add", "--base-url", server.url,
                            "--tool-protocol", "native", "--cwd", str(repo)], env=env,
                           stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not (sessions(repo) and b'"kind": "ToolFinished"' in sessions(repo)[0].read_bytes()):
            assert time.monotonic() < deadline and run.poll() is None, "the first run did not read calc.py"
            time.sleep(0.05)
        run.kill()  # SIGKILL: kill -9
        run.wait()
    finally:
        server.close()
    edit = call("edit_file", path="calc.py", old_string="a + b", new_string="a - b")
    code, _ = luban(repo, [edit, text("Done.")], "--continue")
    records, _ = read_records(sessions(repo)[0])
    results = [r["result"] for r in records if r.get("kind") == "ToolFinished" and r["call"]["name"] == "edit_file"]
    assert (run.returncode, code, (repo / "calc.py").read_text(), results[0]["error"]) == (
        -9, 0, "def add(a, b):\n    return a - b\n", False)
