"""The sandbox keeps the user's toolchains in home (pyenv shims, cargo's proxies and ~/.rustup, programs linked
from ~/.local/bin, a #! interpreter in home, the test command's venv) and hides the secrets beside them, even the
ones PATH points into: a fake home, under each sandbox this kernel has."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from luban.sandbox import make, probe
from luban.errors import ConfigError

from .test_sandbox_escapes import KINDS, SSH_KEY

SECRETS = {".ssh/id_rsa": SSH_KEY, ".cargo/credentials.toml": "token = 'cargo-secret'\n",
           ".aws/credentials": "aws_secret_access_key = aws-secret\n", ".netrc": "machine x password netrc-secret\n",
           ".config/gh/hosts.yml": "oauth_token: gh-secret\n"}


def _script(path: Path, body: str, *, shebang: str = "#!/bin/sh") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"{shebang}\n{body}\n")
    path.chmod(0o755)


def _home(home: Path) -> None:
    """Toolchains laid out as their installers do, reduced to what a command reaches into."""
    # pyenv: the shim names its root and execs into libexec, which reads the chosen version.
    _script(home / ".pyenv/shims/python", f'export PYENV_ROOT="{home}/.pyenv"\nexec "$PYENV_ROOT/libexec/pyenv" "$@"')
    _script(home / ".pyenv/libexec/pyenv", 'echo "python $(cat "$PYENV_ROOT/version") $*"')
    (home / ".pyenv/version").write_text("3.12.7\n")
    # rustup: cargo's proxy reads the toolchain from RUSTUP_HOME, by default ~/.rustup.
    _script(home / ".cargo/bin/cargo", 'echo "cargo $(cat "${RUSTUP_HOME:-$HOME/.rustup}/toolchain")"')
    (home / ".rustup").mkdir()
    (home / ".rustup/toolchain").write_text("stable\n")
    # ~/.local/bin links into an install elsewhere in home, which reads its own files.
    _script(home / "apps/tool-1.0/bin/tool", 'cat "$(dirname "$(readlink -f "$0")")/../share/greeting"')
    (home / "apps/tool-1.0/share").mkdir()
    (home / "apps/tool-1.0/share/greeting").write_text("tool 1.0\n")
    (home / ".local/bin").mkdir(parents=True)
    (home / ".local/bin/tool").symlink_to(home / "apps/tool-1.0/bin/tool")
    # A script whose interpreter lives in home.
    _script(home / "opt/py/bin/py", 'echo "py runs $(basename "$1")"')
    _script(home / ".local/bin/black", "", shebang=f"#!{home}/opt/py/bin/py")
    # The test command's own venv, named by its path.
    _script(home / "venvs/proj/bin/pytest", 'echo "pytest from $(dirname "$0")"')
    for name, text in SECRETS.items():
        (home / name).parent.mkdir(parents=True, exist_ok=True)
        (home / name).write_text(text)


@pytest.fixture(params=KINDS)
def sandbox_and_home(request, tmp_path, monkeypatch):
    home = tmp_path / "home"
    _home(home)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("LUBAN_HOME", str(tmp_path / "luban-home"))
    # PATH points into a secret folder too: that entry must stay hidden all the same.
    monkeypatch.setenv("PATH", os.pathsep.join([f"{home}/.pyenv/shims", f"{home}/.cargo/bin", f"{home}/.local/bin",
                                                f"{home}/.ssh", "/usr/bin", "/bin"]))
    try:
        sandbox = make(request.param, host=os.environ, programs=["~/venvs/proj/bin/pytest -q"])
    except ConfigError as exc:
        pytest.skip(f"{request.param}: {exc}")
    if reason := probe(request.param, sandbox, os.environ):
        pytest.skip(f"{request.param} does not run here: {reason}")
    root = tmp_path / "ws"
    root.mkdir()
    return sandbox, home, root


def _run(sandbox, root: Path, command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(sandbox.wrap(["bash", "-c", command], root), cwd=root, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=60)


def test_toolchains_in_home_run_inside_the_sandbox(sandbox_and_home):
    sandbox, home, root = sandbox_and_home
    done = _run(sandbox, root, f"python -V; cargo; tool; black; {home}/venvs/proj/bin/pytest")
    assert (done.stdout, done.stderr) == (
        f"python 3.12.7 -V\ncargo stable\ntool 1.0\npy runs black\npytest from {home}/venvs/proj/bin\n", "")


def test_secrets_beside_them_stay_hidden(sandbox_and_home):
    sandbox, home, root = sandbox_and_home
    reads = "; ".join(f"cat {home / name}" for name in SECRETS)
    done = _run(sandbox, root, f"{reads}; ls -A {home}/.ssh {home}/.cargo; cat ~/.ssh/id_rsa")
    leaked = [name for name, text in SECRETS.items() if text.strip() in done.stdout + done.stderr]
    assert (leaked, [name for name in ("id_rsa", "credentials.toml") if name in done.stdout]) == ([], [])
    assert [p.name for p in (home / ".ssh").iterdir()] == ["id_rsa"]
