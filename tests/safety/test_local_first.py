"""Local-first, proven rather than promised: a headless task runs under `strace -f -e trace=connect`, and every
connect() to an internet address goes to the configured model server.

The run is made to tempt a leak: the repository's untrusted config names another server, the proxy variables
point elsewhere, and the test command runs (in the sandbox, a traced child like the rest). AF_UNIX connects are
allowed, as they never leave the machine: glibc asks the name service cache (/var/run/nscd/socket) for user and
group names, and on systemd machines it may ask /run/systemd/userdb/ the same; they are listed in the failure
message when anything else goes wrong. Any other address family fails the test, to be looked at.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ui.tui_harness import ScriptedServer, call, text

# strace prints e.g. `123 connect(3, {sa_family=AF_INET, sin_port=htons(8080), sin_addr=inet_addr("127.0.0.1")}`,
# or for AF_INET6 `sin6_port=htons(8080), ..., inet_pton(AF_INET6, "::1", &sin6_addr)`.
CONNECT = re.compile(r"connect\(\d+, \{sa_family=(\w+)(.*)")
INET_PORT = re.compile(r"sin6?_port=htons\((\d+)\)")
INET_ADDR = re.compile(r'inet_addr\("([^"]+)"\)|inet_pton\(AF_INET6, "([^"]+)"')


def _strace() -> str:
    """The strace binary, or skip with the reason it cannot trace here (ptrace refused in some containers)."""
    strace = shutil.which("strace")
    if strace is None:
        pytest.skip("strace is not installed (scripts/setup.sh --test installs it where it runs as root)")
    probe = subprocess.run([strace, "-f", "-qq", "-e", "trace=connect", "-o", os.devnull, "true"],
                           capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip(f"strace cannot trace here: {probe.stderr.strip() or f'exit code {probe.returncode}'}")
    return strace


def _connects(log: Path) -> list[tuple[str, str | None, int | None, str]]:
    """(family, address, port, line) of every connect() in the trace."""
    found = []
    for line in log.read_text(errors="replace").splitlines():
        match = CONNECT.search(line)
        if match:
            port, addr = INET_PORT.search(match.group(2)), INET_ADDR.search(match.group(2))
            found.append((match.group(1), addr and (addr.group(1) or addr.group(2)),
                          port and int(port.group(1)), line))
    return found


def test_a_headless_run_connects_only_to_its_model_server(tmp_path):
    strace = _strace()
    mine, theirs = ScriptedServer([call("read_file", path="notes.txt"), text("Done.")]), ScriptedServer([])
    home, repo, log = tmp_path / "home", tmp_path / "repo", tmp_path / "connect.trace"
    (repo / ".luban").mkdir(parents=True)
    (repo / "notes.txt").write_text("hello\n")
    (repo / ".luban" / "config.toml").write_text(f'base_url = "{theirs.url}"\n')
    home.mkdir()
    (home / "config.toml").write_text(f'base_url = "{mine.url}"\n')
    proxy = "http://127.0.0.1:9"  # the discard port: a client that honoured the proxy variables would go there
    env = {"HOME": str(home), "LUBAN_HOME": str(home), "PATH": os.environ.get("PATH", os.defpath),
           "LANG": "C.UTF-8", "HTTP_PROXY": proxy, "HTTPS_PROXY": proxy, "ALL_PROXY": proxy,
           "http_proxy": proxy, "https_proxy": proxy, **{k: os.environ[k] for k in ("PYTHONPATH",) if k in os.environ}}
    argv = [strace, "-f", "-qq", "-e", "trace=connect", "-o", str(log), sys.executable, "-m", "luban.ui.cli",
            "-p", "read notes.txt", "--tool-protocol", "native", "--output-format", "json", "--test-cmd", "ls",
            "--cwd", str(repo)]
    try:
        done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
    finally:
        mine.close()
        theirs.close()
    assert done.returncode == 0, done.stderr[-3000:]
    assert '"result": "Done."' in done.stdout and theirs.requests == []
    connects = _connects(log)
    port = int(mine.url.split(":")[2].split("/")[0])
    inet = [(family, addr, p) for family, addr, p, _ in connects if family in ("AF_INET", "AF_INET6")]
    shown = "\n".join(line for *_, line in connects)
    assert inet and set(inet) == {("AF_INET", "127.0.0.1", port)}, shown
    assert {family for family, *_ in connects} <= {"AF_INET", "AF_INET6", "AF_UNIX"}, shown
