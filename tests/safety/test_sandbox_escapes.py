"""Adversarial tests: what a prompt-injected shell command tries, under each sandbox that this kernel has
(a kind is skipped, with the reason, only where the machine lacks it). Run as root and, through
test_unprivileged.py, as nobody."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from luban.errors import ConfigError
from luban.sandbox import Sandbox, make, probe

KINDS = ("bwrap", "landlock")
SSH_KEY = "-----BEGIN OPENSSH PRIVATE KEY----- luban-fake-key"


@dataclass(frozen=True)
class Jail:
    kind: str
    sandbox: Sandbox
    root: Path  # the workspace
    home: Path  # the (fake) home directory of the user

    def run(self, command: str, env: dict[str, str] | None = None, network: bool = False,
            timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """The command through the sandbox alone: the host environment passed whole, secrets included."""
        argv = self.sandbox.wrap(["bash", "-c", command], self.root, network=network)
        return subprocess.run(argv, cwd=self.root, env=env, capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)


def working(kind: str) -> Sandbox:
    """The sandbox of that kind, or a skip that says why this machine cannot have it."""
    try:
        sandbox = make(kind, host=os.environ)
    except ConfigError as exc:
        pytest.skip(f"{kind}: {exc}")
    if reason := probe(kind, sandbox, os.environ):
        pytest.skip(f"{kind} does not run here: {reason}")
    return sandbox


@pytest.fixture(params=KINDS)
def jail(request, tmp_path, monkeypatch) -> Jail:
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "id_rsa").write_text(SSH_KEY)
    (home / ".bashrc").write_text("# bashrc\n")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("LUBAN_HOME", str(home / ".luban-home"))
    root = tmp_path / "ws"
    (root / ".git" / "hooks").mkdir(parents=True)
    (root / ".git" / "config").write_text("[core]\n")
    (root / ".luban").mkdir()
    (root / ".luban" / "config.toml").write_text("max_steps = 5\n")
    (root / "src").mkdir()
    (root / "etc-link").symlink_to("/etc")
    (root / "ssh-link").symlink_to(home / ".ssh")
    sandbox = working(request.param)
    return Jail(request.param, sandbox, root, home)


def test_writes_outside_the_workspace_fail(jail: Jail):
    name = f"luban-escape-{uuid.uuid4().hex}"
    done = jail.run(f"echo x > ../{name}; echo x > /etc/{name}; echo x > /usr/{name}; echo x > /{name}; "
                    f"echo pwned >> {jail.home}/.bashrc; echo pwned >> ~/.bashrc; echo ok > src/inside")
    assert [p for p in (jail.root.parent / name, Path("/etc") / name, Path("/usr") / name, Path("/") / name)
            if p.exists()] == []
    assert (jail.home / ".bashrc").read_text() == "# bashrc\n"
    assert (jail.root / "src" / "inside").read_text() == "ok\n"  # the workspace itself is writable
    assert done.returncode == 0


def test_git_hooks_and_config_and_the_project_config_cannot_be_written(jail: Jail):
    jail.run("echo evil > .git/hooks/pre-commit; echo '[core] fsmonitor = evil' >> .git/config; "
             "echo 'permission_mode = \"full-auto\"' > .luban/config.toml; rm -rf .luban .git/hooks")
    assert sorted(p.name for p in (jail.root / ".git" / "hooks").iterdir()) == []
    assert (jail.root / ".git" / "config").read_text() == "[core]\n"
    assert (jail.root / ".luban" / "config.toml").read_text() == "max_steps = 5\n"


def test_git_hooks_cannot_be_replaced_by_renaming_git_away(jail: Jail):
    jail.run("mv .git .git-old; mkdir -p .git/hooks; echo evil > .git/hooks/pre-commit; "
             "cp .git-old/config .git/config; echo '[core] fsmonitor = evil' >> .git/config")
    assert not (jail.root / ".git-old").exists()
    assert not (jail.root / ".git" / "hooks" / "pre-commit").exists()
    assert (jail.root / ".git" / "config").read_text() == "[core]\n"


def test_the_root_remount_escape_fails(jail: Jail):
    name = f"luban-remount-{uuid.uuid4().hex}"
    done = jail.run(f"mount -o remount,rw / ; echo remount=$?; echo x > /etc/{name}")
    assert "remount=32" in done.stdout  # mount(8): permission denied (as root too: no capabilities)
    assert not (Path("/etc") / name).exists()


def test_repository_links_to_etc_and_ssh_neither_leak_nor_write(jail: Jail):
    name = f"luban-link-{uuid.uuid4().hex}"
    done = jail.run(f"cat ssh-link/id_rsa; cat {jail.home}/.ssh/id_rsa; echo x > etc-link/{name}; "
                    f"echo x > ssh-link/authorized_keys")
    assert SSH_KEY not in done.stdout
    assert not (Path("/etc") / name).exists()
    assert sorted(p.name for p in (jail.home / ".ssh").iterdir()) == ["id_rsa"]


def test_credentials_and_host_variables_are_not_passed(jail: Jail):
    host = {**os.environ, "GITHUB_TOKEN": "ghp-secret", "OPENAI_API_KEY": "sk-secret", "MY_KEY": "k-secret",
            "AWS_PROFILE": "aws-secret", "LUBAN_HARMLESS": "host-only", "LANG": "C.UTF-8"}
    os.environ.update(host)  # the sandbox reads the host's names when it wraps
    try:
        done = jail.run("env", env=host)
    finally:
        for name in ("GITHUB_TOKEN", "OPENAI_API_KEY", "MY_KEY", "AWS_PROFILE", "LUBAN_HARMLESS"):
            del os.environ[name]
    seen = dict(line.split("=", 1) for line in done.stdout.splitlines() if "=" in line)
    assert sorted(k for k in seen if k.endswith(("_TOKEN", "_KEY")) or k.startswith("AWS_")) == []
    assert "LUBAN_HARMLESS" not in seen
    assert seen["LANG"] == "C.UTF-8"
    assert not seen["HOME"].startswith(str(jail.root))
    assert os.listdir(jail.home / ".ssh") == ["id_rsa"]


class Listener:
    """A TCP and a UDP socket on the host's loopback: what reaches them got out of the sandbox."""

    def __init__(self) -> None:
        self.tcp = socket.create_server(("127.0.0.1", 0))
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", 0))
        for sock in (self.tcp, self.udp):
            sock.setblocking(False)

    def reached(self) -> list[str]:
        got = []
        try:
            self.tcp.accept()[0].close()
            got.append("tcp")
        except BlockingIOError:
            pass
        try:
            self.udp.recv(512)
            got.append("udp")
        except BlockingIOError:
            pass
        return got


def _network_attempts(listener: Listener) -> dict[str, str]:
    tcp, udp = listener.tcp.getsockname()[1], listener.udp.getsockname()[1]
    url = f"http://127.0.0.1:{tcp}/"
    python = ("import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); "
              f"s.sendto(b'\\x12\\x34dns', ('127.0.0.1', {udp}))")
    return {"curl": f"curl -s -m 3 {url}", "wget": f"wget -q -T 3 -t 1 -O /dev/null {url}",
            "python tcp": f"python3 -c \"import socket; socket.create_connection(('127.0.0.1', {tcp}), 3)\"",
            "dev tcp": f"echo x > /dev/tcp/127.0.0.1/{tcp}", "python udp": f"python3 -c \"{python}\"",
            "dev udp": f"echo dns > /dev/udp/127.0.0.1/{udp}"}


def test_no_network_without_approval(jail: Jail):
    listener = Listener()
    escaped = {}
    for name, command in _network_attempts(listener).items():
        jail.run(command, timeout=30)
        time.sleep(0.05)
        escaped[name] = listener.reached()
    assert escaped == {name: [] for name in escaped}


def test_an_approved_command_reaches_the_network(jail: Jail):
    """The control for the test above: the same attempts get through once the command may use the network
    (bwrap shares the host's network namespace then, so its loopback is the host's)."""
    listener = Listener()
    attempts = _network_attempts(listener)
    jail.run(attempts["python tcp"], network=True)
    jail.run(attempts["python udp"], network=True)
    time.sleep(0.05)
    assert listener.reached() == ["tcp", "udp"]


def _running(marker: str) -> list[int]:
    """The `sleep <marker>` processes (not the shells or sandboxes whose command lines name it)."""
    pids = []
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            if Path(f"/proc/{entry}/cmdline").read_bytes() == f"sleep\0{marker}\0".encode():
                pids.append(int(entry))
        except OSError:
            continue
    return pids


def _gone(marker: str, within: float = 5.0) -> bool:
    deadline = time.monotonic() + within
    while _running(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not _running(marker)


def test_a_background_child_ends_with_the_command(jail: Jail):
    marker = f"3{uuid.uuid4().int % 10**8}.5"  # sleep takes fractions: a number no one else sleeps
    done = jail.run(f"setsid sleep {marker} > /dev/null 2>&1 & sleep 0.3; echo started")
    assert done.stdout == "started\n"
    assert _gone(marker)


def test_a_background_child_is_killed_with_the_sandbox(jail: Jail):
    marker = f"3{uuid.uuid4().int % 10**8}.5"
    argv = jail.sandbox.wrap(["bash", "-c", f"setsid sleep {marker} > /dev/null 2>&1 & sleep 600"], jail.root)
    proc = subprocess.Popen(argv, cwd=jail.root, start_new_session=True, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while not _running(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _running(marker) != []
    os.killpg(proc.pid, signal.SIGTERM)  # what the bash tool does on timeout or cancel
    proc.wait(timeout=10)
    assert _gone(marker)
