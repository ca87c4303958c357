"""Luban's temp files beside the user's: recognisable by name, locked while written, swept on the next start
only when their writer is gone."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from luban.workspace import tempfiles
from luban.workspace.tempfiles import STALE_AFTER_S, Swept
from luban.workspace import Workspace

# A writer that dies as `kill -9` leaves it: the temp file created, half written, the process gone.
KILLED_WRITER = """
import os, signal, sys
from luban.workspace import tempfiles
folder = os.open(sys.argv[1], os.O_RDONLY | os.O_DIRECTORY)
tmp, fd = tempfiles.create(folder, sys.argv[2])
os.write(fd, b"half of it")
print(tmp, flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""
# A writer still at work: it holds its temp file locked until told to stop.
LIVE_WRITER = """
import os, sys
from luban.workspace import tempfiles
folder = os.open(sys.argv[1], os.O_RDONLY | os.O_DIRECTORY)
tmp, fd = tempfiles.create(folder, sys.argv[2])
print(tmp, flush=True)
sys.stdin.read()
"""


def killed_writer(folder: Path, name: str) -> str:
    done = subprocess.run([sys.executable, "-c", KILLED_WRITER, str(folder), name], capture_output=True, text=True)
    assert done.returncode == -9, done.stderr
    return done.stdout.strip()


@pytest.fixture
def ws(tmp_path) -> Workspace:
    (tmp_path / "root").mkdir()
    return Workspace.open(tmp_path / "root", tmp_path / "scratch")


def test_the_name_says_whose_it_is_and_which_process_writes_it():
    name = tempfiles.temp_name("calc.py")
    assert (name.startswith(f".calc.py.luban-{os.getpid()}-"), name.endswith(".tmp"), tempfiles.is_temp(name),
            len(name)) == (True, True, True, len(f".calc.py.luban-{os.getpid()}-01234567.tmp"))


@pytest.fixture
def dead_pid() -> int:
    done = subprocess.Popen(["true"])
    done.wait()
    return done.pid


def test_a_killed_writers_temp_files_are_swept_and_nothing_else(ws, dead_pid):
    root = ws.root
    (root / "src" / "deep").mkdir(parents=True)
    (root / "node_modules").mkdir()
    top = killed_writer(root, "big.bin")
    deep = killed_writer(root / "src" / "deep", "app.py")
    skipped = killed_writer(root / "node_modules", "x.js")
    link = f".link.luban-{dead_pid}-0123abcd.tmp"
    os.symlink("target", root / link)  # a restored symlink's temp
    users = [".notes.tmp", ".x.luban-12-nothex00.tmp", "a.luban-1-abcdef01.tmp", ".y.luban-1-abcdef01.tmp.bak"]
    for name in users:
        (root / name).write_text("the user's")
    swept = ws.sweep()
    assert sorted(swept, key=lambda s: s.path) == sorted([
        Swept(top, 10), Swept(f"src/deep/{deep}", 10), Swept(link, 6)],
        key=lambda s: s.path)
    assert sorted(p.name for p in root.iterdir() if p.is_file()) == sorted(users)
    assert (root / "node_modules" / skipped).exists()


def test_a_temp_file_a_live_process_is_writing_is_kept(ws):
    writer = subprocess.Popen([sys.executable, "-c", LIVE_WRITER, str(ws.root), "calc.py"], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        tmp = writer.stdout.readline().strip()
        old = time.time() - 2 * STALE_AFTER_S  # even an old one: its writer holds the lock
        os.utime(ws.root / tmp, (old, old))
        assert (ws.sweep(), (ws.root / tmp).exists()) == ([], True)
    finally:
        writer.communicate("")


def test_with_its_pid_alive_but_its_lock_free_only_an_old_one_is_swept(ws):
    """The pid was reused by another process, or the write is between its open and its lock."""
    young, old = (f".{n}.luban-{os.getppid()}-0123abcd.tmp" for n in ("young", "old"))
    for name in (young, old):
        (ws.root / name).write_text("x")
    then = time.time() - 2 * STALE_AFTER_S
    os.utime(ws.root / old, (then, then))
    assert (ws.sweep(), (ws.root / young).exists()) == ([Swept(old, 1)], True)
