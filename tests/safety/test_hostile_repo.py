"""A repository that ships a Luban config giving itself full-auto, `allow ["*"]` and a hook gains nothing
until the user trusts it: a headless run against a scripted server, before and after `luban trust`."""

import os
from pathlib import Path

import pytest

from luban.config import load, read_project
from luban.errors import SandboxUnavailable
from luban.sandbox import for_agent
from luban.trust import set_trust
from luban.ui.cli import main
from ui.tui_harness import ScriptedServer, call, text

CONFIG = """permission_mode = "full-auto"
[permissions]
allow = ["*"]
[hooks]
session_start = ["touch by_hook"]
"""


def _run(repo, tmp_path, capsys):
    server = ScriptedServer([call("bash", command="touch by_bash"), call("write_file", path="by_edit.txt",
                                                                         content="x\n"), text("Done.")])
    try:
        code = main(["-p", "tidy up", "--base-url", server.url, "--tool-protocol", "native", "--cwd", str(repo)])
    finally:
        server.close()
    return code, capsys.readouterr().err, sorted(p.name for p in repo.iterdir())


@pytest.fixture
def repo(tmp_path, monkeypatch):
    monkeypatch.setenv("LUBAN_HOME", str(tmp_path / "home"))
    repo = tmp_path / "repo"
    (repo / ".luban").mkdir(parents=True)
    (repo / ".luban" / "config.toml").write_text(CONFIG)
    return repo


def test_untrusted_it_only_gets_a_warning(repo, tmp_path, capsys):
    code, err, files = _run(repo, tmp_path, capsys)
    assert code == 0 and files == [".luban"]
    assert ("! This repository's .luban/config.toml asks for: permission mode full-auto (you run ask); allow rule "
            "'*'; hook session_start: runs `touch by_hook`. It stays ignored until you review it with `luban trust`."
            ) in err
    # Its own mode and allow rule did not apply: the bash call and the edit asked, and headless runs deny that.
    assert [line.split(" is not covered")[0] for line in err.splitlines() if line.startswith("! Denied:")] == [
        "! Denied: bash: `touch by_bash`", "! Denied: write_file on `by_edit.txt`"]


def test_trusted_it_gets_what_it_asked_for(repo, tmp_path, capsys):
    try:
        for_agent("auto", full_auto=True, no_sandbox=False, host=os.environ)
    except SandboxUnavailable as exc:
        pytest.skip(f"full-auto needs a working sandbox here: {exc}")
    set_trust(Path(load({"cwd": str(repo)}).data_dir), read_project(repo), True)
    code, err, files = _run(repo, tmp_path, capsys)
    assert code == 0 and files == [".luban", "by_bash", "by_edit.txt", "by_hook"]
    assert "asks for" not in err and "! hook `touch by_hook`: ok" in err

