"""Faults a new user met, run end to end: `luban -p` against a scripted server on 127.0.0.1, in a fresh
LUBAN_HOME. Each ends in one sentence and an intact transcript, never a traceback."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from luban.session import read_records
from luban.ui.cli import main
from tui_harness import ScriptedServer, call, text

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
