import subprocess
from pathlib import Path

import pytest

from luban.errors import ConfigError
from luban.sandbox import Bubblewrap, Unconfined, bubblewrap_available, make, without_secrets
from luban.tools import bash
from luban.workspace import Workspace

needs_bwrap = pytest.mark.skipif(not bubblewrap_available(), reason="bubblewrap is not installed")


def test_unconfined_passes_argv_through_and_adds_env(tmp_path):
    assert Unconfined().wrap(["ls", "-l"], tmp_path) == ["ls", "-l"]
    assert Unconfined({"A": "1"}).wrap(["ls"], tmp_path) == ["env", "A=1", "ls"]


def test_bubblewrap_argv_binds_the_root_writable_and_cuts_the_network(tmp_path):
    (tmp_path / ".git" / "hooks").mkdir(parents=True)
    argv = Bubblewrap(env={"K": "v"}).wrap(["true"], tmp_path)
    hooks = str(tmp_path / ".git" / "hooks")
    assert argv == ["bwrap", "--unshare-all", "--cap-drop", "ALL", "--new-session", "--die-with-parent",
                    "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp",
                    "--bind", str(tmp_path), str(tmp_path), "--ro-bind", hooks, hooks, "--setenv", "K", "v",
                    "--chdir", str(tmp_path), "--", "true"]
    assert Bubblewrap(network=True).wrap(["true"], tmp_path)[:3] == ["bwrap", "--unshare-all", "--share-net"]


def test_unknown_sandbox_kind_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="Unknown sandbox 'jail'"):
        make("jail")


@needs_bwrap
def test_bash_in_bubblewrap_writes_the_workspace_only(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    ws_root = tmp_path / "ws"
    ws_root.mkdir()
    ws = Workspace.open(ws_root, tmp_path / "out", make("bwrap", env={"CANARY": "c-42"}))
    result = bash.TOOL({"command": f"echo $CANARY > mine.txt; touch {outside}/x; touch /usr/luban-x"}, ws)
    assert (ws_root / "mine.txt").read_text() == "c-42\n"
    assert not (outside / "x").exists()  # /tmp outside the workspace is the sandbox's own
    assert "touch: cannot touch '/usr/luban-x': Read-only file system" in result.content


@needs_bwrap
def test_bubblewrap_has_no_network(tmp_path):
    argv = make("bwrap").wrap(["python3", "-c", "import socket; socket.create_connection(('1.1.1.1', 53), 2)"],
                              tmp_path)
    done = subprocess.run(argv, capture_output=True, text=True)
    assert done.returncode != 0
    assert "Network is unreachable" in done.stderr


def test_readable_folders_under_tmp_are_bound_before_the_writable_workspace(tmp_path):
    argv = Bubblewrap(readable=(tmp_path / "venv",)).wrap(["true"], tmp_path / "ws")
    binds = argv[argv.index("/tmp") + 1: argv.index("--chdir")]
    assert binds == ["--ro-bind", str(tmp_path / "venv"), str(tmp_path / "venv"),
                     "--bind", str(tmp_path / "ws"), str(tmp_path / "ws")]


@needs_bwrap
def test_the_shell_cannot_remount_write_git_hooks_or_config_or_see_credentials(tmp_path, monkeypatch):
    ws_root = tmp_path / "ws"
    (ws_root / ".git" / "hooks").mkdir(parents=True)
    (ws_root / ".git" / "config").write_text("[core]\n")
    monkeypatch.setenv("GITHUB_TOKEN", "ghp-secret")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret")
    monkeypatch.setenv("LUBAN_HARMLESS", "kept")
    ws = Workspace.open(ws_root, tmp_path / "out", make("bwrap"))
    result = bash.TOOL({"command": "mount -o remount,rw / ; echo remount=$?; touch /etc/luban-x; "
                                   "touch .git/hooks/pre-commit; echo x >> .git/config; "
                                   "env | grep -c -e ghp-secret -e sk-secret; echo $LUBAN_HARMLESS"}, ws)
    assert "remount=32" in result.content  # mount(8): permission denied, as root too
    assert not Path("/etc/luban-x").exists()
    assert not (ws_root / ".git" / "hooks" / "pre-commit").exists()
    assert (ws_root / ".git" / "config").read_text() == "[core]\n"
    assert result.content.endswith("0\nkept\nexit code: 0")


def test_credential_looking_variables_are_dropped():
    environ = {"PATH": "/bin", "GITHUB_TOKEN": "t", "AWS_PROFILE": "p", "HF_TOKEN": "h", "DB_PASSWORD": "d",
               "SSH_AUTH_SOCK": "/s", "MY_API_KEY": "k", "KEYBOARD": "us", "TOKENIZERS_PARALLELISM": "false",
               "HOME": "/root", "NPM_AUTH": "n"}
    assert without_secrets(environ) == {"PATH": "/bin", "KEYBOARD": "us", "TOKENIZERS_PARALLELISM": "false",
                                        "HOME": "/root"}
