import os
import struct
import subprocess
from pathlib import Path

import pytest

from luban.errors import ConfigError, SandboxUnavailable
from luban.sandbox import (Bubblewrap, Landlock, Unconfined, bubblewrap_available, for_agent, landlock_unavailable,
                           make, without_secrets)
from luban.sandbox import landlock, landlock_exec, seccomp
from luban.tools import bash
from luban.workspace import Workspace

needs_bwrap = pytest.mark.skipif(not bubblewrap_available(), reason="bubblewrap is not installed")
needs_landlock = pytest.mark.skipif(landlock_unavailable() is not None, reason=str(landlock_unavailable()))
AS_ROOT = os.geteuid() == 0


@pytest.fixture
def host(tmp_path, monkeypatch):
    """A known host environment: what the sandboxes read when they wrap."""
    for name in list(os.environ):
        monkeypatch.delenv(name)
    for name, value in {"HOME": str(tmp_path / "home"), "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8",
                        "GITHUB_TOKEN": "t", "EDITOR": "vi", "LUBAN_HOME": str(tmp_path / "lh")}.items():
        monkeypatch.setenv(name, value)
    return tmp_path


def test_unconfined_passes_argv_through_and_adds_env(tmp_path):
    assert Unconfined().wrap(["ls", "-l"], tmp_path) == ["ls", "-l"]
    assert Unconfined({"A": "1"}).wrap(["ls"], tmp_path, network=True) == ["env", "A=1", "ls"]


def test_bubblewrap_argv(host):
    root = host / "ws"
    (root / ".git" / "hooks").mkdir(parents=True)
    (root / ".git" / "config").write_text("[core]\n")
    (root / ".luban").mkdir()
    git, home = str(root / ".git"), str(host / "home")
    argv = Bubblewrap(env={"K": "v"}, host=os.environ).wrap(["true"], root)
    assert argv == ["bwrap", "--unshare-all", "--cap-drop", "ALL", "--new-session", "--die-with-parent",
                    "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp", "--tmpfs", "/run",
                    *(["--tmpfs", "/root"] if AS_ROOT else []), "--tmpfs", home,
                    "--bind", str(root), str(root), "--bind", git, git,
                    "--ro-bind", f"{git}/hooks", f"{git}/hooks", "--ro-bind", f"{git}/config", f"{git}/config",
                    "--ro-bind", f"{root}/.luban", f"{root}/.luban",
                    "--unsetenv", "EDITOR", "--unsetenv", "GITHUB_TOKEN", "--unsetenv", "HOME",
                    "--unsetenv", "LUBAN_HOME", "--unsetenv", "PYTEST_CURRENT_TEST", "--setenv", "HOME", home, "--setenv", "K", "v",
                    "--chdir", str(root), "--", "true"]


def test_bubblewrap_with_network_shares_it_and_keeps_the_resolver(host):
    def bwrap(argv: list[str]) -> list[str]:
        return argv[argv.index("bwrap"):]  # after the placeholders' wrapper (this workspace has no .git)

    argv = bwrap(Bubblewrap(host=os.environ).wrap(["true"], host))
    networked = bwrap(Bubblewrap(host=os.environ).wrap(["true"], host, network=True))
    assert networked[:3] == ["bwrap", "--unshare-all", "--share-net"]
    resolver = networked.index("--ro-bind-try")
    assert networked[resolver: resolver + 9] == [
        "--ro-bind-try", "/run/systemd/resolve", "/run/systemd/resolve", "--ro-bind-try", "/run/resolvconf",
        "/run/resolvconf", "--ro-bind-try", "/run/NetworkManager", "/run/NetworkManager"]
    assert networked[:2] + networked[3:resolver] + networked[resolver + 9:] == argv
    assert bwrap(Bubblewrap(network=True, host=os.environ).wrap(["true"], host))[2] == "--share-net"


def test_bubblewrap_holds_absent_protected_paths_with_placeholders_it_removes(host):
    root = host / "ws"
    (root / ".git").mkdir(parents=True)
    (root / ".husky" / "_").mkdir(parents=True)
    (root / ".git" / "config").write_text('[core]\n\thooksPath = ".husky/_"\n')
    argv = Bubblewrap(host=os.environ).wrap(["true"], root)
    hooks, config, husky = str(root / ".git" / "hooks"), str(root / ".git" / "config"), str(root / ".husky" / "_")
    luban = str(root / ".luban")
    assert argv[:5] == ["/bin/sh", "-c", (
        f"command exec 9<{root}; flock -s 9 2>/dev/null; {{ mkdir -- {hooks}; mkdir -- {luban}; }} 2>/dev/null\n"
        f"clean() {{ flock -xn 9 2>/dev/null && {{ rmdir -- {hooks}; rmdir -- {luban}; }} 2>/dev/null; }}\n"
        "trap 'clean; exit 143' TERM; trap 'clean; exit 129' HUP; trap 'clean; exit 130' INT\n"
        '"$@" 9<&-; s=$?; clean; exit $s'), "luban-sandbox", "bwrap"]
    protect = argv[argv.index(str(root / ".git")) + 1: argv.index("--unsetenv")]
    assert protect == [str(root / ".git"), "--ro-bind", config, config, "--ro-bind", husky, husky,
                       "--ro-bind-try", hooks, hooks, "--ro-bind-try", luban, luban]


def test_bubblewrap_holds_a_missing_git_config_with_an_empty_file(host):
    root = host / "ws"
    (root / ".git" / "hooks").mkdir(parents=True)
    (root / ".luban").mkdir()
    config = str(root / ".git" / "config")
    script = Bubblewrap(host=os.environ).wrap(["true"], root)[2]
    assert script.splitlines()[:2] == [
        f"command exec 9<{root}; flock -s 9 2>/dev/null; {{ [ -e {config} ] || : > {config}; }} 2>/dev/null",
        f"clean() {{ flock -xn 9 2>/dev/null && {{ [ -s {config} ] || rm -f -- {config}; }} 2>/dev/null; }}"]


def test_bubblewrap_keeps_folders_under_hidden_places_visible_and_hides_lubans_own(host):
    (host / "lh" / "data").mkdir(parents=True)
    venv, usr = host / "home" / "venv", Path("/usr")
    argv = Bubblewrap(readable=(venv, usr), host=os.environ).wrap(["true"], host / "ws")
    assert argv[argv.index(str(host / "home")) + 1: argv.index("--unsetenv")] == [
        "--ro-bind-try", str(venv), str(venv), "--bind", str(host / "ws"), str(host / "ws"),
        "--tmpfs", str(host / "lh"), "--tmpfs", str(host / "lh" / "data")]


def test_landlock_argv_names_the_launcher_and_what_to_drop(host):
    argv = Landlock(host / "t", (host / "w",), {"K": "v"}, host=os.environ).wrap(["true"], host / "ws", network=True)
    assert argv[1:] == ["-m", "luban.sandbox.landlock_exec", "--workspace", str(host / "ws"), "--tmp", str(host / "t"),
                        "--home", str(host / "home"),
                        "--write", str(host / "w"), "--drop", "EDITOR", "--drop", "GITHUB_TOKEN", "--drop", "HOME",
                        "--drop", "LUBAN_HOME", "--drop", "PYTEST_CURRENT_TEST", "--set", "K=v", "--network", "--", "true"]


def test_the_launcher_environment_is_the_allowlist_with_a_private_home(host):
    options, argv = landlock_exec.parse(["--workspace", "/ws", "--tmp", "/t", "--home", str(host / "home"), "--drop",
                                         "EDITOR", "--drop", "HOME", "--set", "A=1=2", "--", "ls", "-l"])
    assert argv == ["ls", "-l"]
    inherited = {"EDITOR": "vi", "HOME": str(host / "home"), "PAGER": "cat", "NPM_TOKEN": "n",
                 "PATH": f"{host}/home/.cargo/bin:/usr/bin"}
    assert landlock_exec.environment(inherited, options) == {
        "PAGER": "cat", "PATH": "/usr/bin", "HOME": "/t/home", "TMPDIR": "/t", "A": "1=2"}


def test_the_launcher_refuses_bad_arguments():
    for args in (["--workspace", "/ws", "true"], ["--tmp", "/t", "--", "true"], ["--jail", "x", "--", "true"]):
        with pytest.raises(ValueError, match="usage: landlock_exec"):
            landlock_exec.parse(args)


def test_landlock_writes_each_top_level_entry_but_git_and_luban(tmp_path):
    for folder in (".git/hooks", ".git/objects", ".luban", "src"):
        (tmp_path / folder).mkdir(parents=True)
    for file in (".git/config", ".git/HEAD", "setup.py"):
        (tmp_path / file).write_text("")
    (tmp_path / "link").symlink_to("/etc")
    assert landlock.workspace_writable(tmp_path, tmp_path / "home") == [
        tmp_path / ".git" / "HEAD", tmp_path / ".git" / "objects", tmp_path / "setup.py", tmp_path / "src"]


def _bpf(prog, nr, args=(0, 0), arch=seccomp.AUDIT_ARCH_X86_64):
    """Run the filter as the kernel would on one system call; its return value."""
    data = struct.pack("=iIQ6Q", nr, arch, 0, *args, *([0] * (6 - len(args))))
    pc, acc = 0, 0
    while True:
        code, jt, jf, k = prog[pc]
        if code == seccomp.LD_ABS:
            acc, pc = struct.unpack_from("=I", data, k)[0], pc + 1
        elif code == seccomp.RET:
            return k
        else:
            hit = acc == k if code == seccomp.JEQ else acc >= k
            pc += 1 + (jt if hit else jf)


def test_the_seccomp_filter_denies_sockets_but_unix_without_network():
    eacces, eperm = seccomp.RET_ERRNO | 13, seccomp.RET_ERRNO | 1
    closed, open_ = seccomp.program(network=False), seccomp.program(network=True)
    calls = {"inet": (41, (2, 1)), "inet6 udp": (41, (10, 2)), "netlink": (41, (16, 3)), "unix": (41, (1, 1)),
             "tiocsti": (16, (0, 0x5412)), "tcgets": (16, (0, 0x5401)), "io_uring": (425, ()), "read": (0, ())}
    assert {name: _bpf(closed, nr, args) for name, (nr, args) in calls.items()} == {
        "inet": eacces, "inet6 udp": eacces, "netlink": eacces, "unix": seccomp.RET_ALLOW, "tiocsti": eperm,
        "tcgets": seccomp.RET_ALLOW, "io_uring": eperm, "read": seccomp.RET_ALLOW}
    assert {name: _bpf(open_, nr, args) for name, (nr, args) in calls.items()} == {
        name: eperm if name == "tiocsti" else seccomp.RET_ALLOW for name in calls}
    assert _bpf(closed, 0, arch=0x40000003) == seccomp.RET_KILL_PROCESS  # i386 system calls
    assert _bpf(closed, 0x40000000 + 41) == seccomp.RET_KILL_PROCESS  # x32


def _failing(reasons):
    return lambda kind, sandbox: reasons.get(kind)


@needs_bwrap
@needs_landlock
def test_for_agent_takes_the_first_sandbox_that_runs():
    first = for_agent("auto", full_auto=True, no_sandbox=False, host=os.environ, check=_failing({}))
    assert isinstance(first, Bubblewrap)
    chosen = for_agent("auto", full_auto=True, no_sandbox=False, host=os.environ,
                       check=_failing({"bwrap": "no user namespaces"}))
    assert isinstance(chosen, Landlock)


@needs_bwrap
@needs_landlock
def test_for_agent_fails_closed():
    broken = _failing({"bwrap": "no user namespaces", "landlock": "EPERM"})
    with pytest.raises(SandboxUnavailable) as full_auto:
        for_agent("auto", full_auto=True, no_sandbox=True, host=os.environ, check=broken)
    assert str(full_auto.value) == ("No sandbox for commands works here (bwrap: no user namespaces; landlock: EPERM), "
                                    "and full-auto never runs them unconfined.")
    with pytest.raises(SandboxUnavailable) as asking:
        for_agent("bwrap", full_auto=False, no_sandbox=False, host=os.environ, check=broken)
    assert str(asking.value) == ("No sandbox for commands works here (bwrap: no user namespaces); --no-sandbox runs "
                                 "them unconfined (never in full-auto).")
    assert for_agent("auto", full_auto=False, no_sandbox=True, env={"A": "1"}, host=os.environ,
                     check=broken) == Unconfined({"A": "1"})


def test_for_agent_none_is_the_users_choice_but_never_full_auto():
    assert for_agent("none", full_auto=False, no_sandbox=False, host=os.environ) == Unconfined()
    with pytest.raises(SandboxUnavailable, match="^full-auto needs a sandbox for commands, and the sandbox"):
        for_agent("none", full_auto=True, no_sandbox=True, host=os.environ)
    with pytest.raises(ConfigError, match="^Unknown sandbox 'jail'; use auto, bwrap, landlock or none.$"):
        for_agent("jail", full_auto=False, no_sandbox=False, host=os.environ)


@needs_bwrap
def test_for_agent_probes_for_real():
    assert isinstance(for_agent("auto", full_auto=True, no_sandbox=False, host=os.environ), Bubblewrap)


def test_unknown_sandbox_kind_is_a_config_error():
    with pytest.raises(ConfigError, match="Unknown sandbox 'jail'"):
        make("jail", host=os.environ)


@needs_bwrap
def test_bash_in_bubblewrap_writes_the_workspace_only(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    ws_root = tmp_path / "ws"
    ws_root.mkdir()
    ws = Workspace.open(ws_root, tmp_path / "out", make("bwrap", env={"CANARY": "c-42"}, host=os.environ))
    result = bash.TOOL({"command": f"echo $CANARY > mine.txt; touch {outside}/x; touch /usr/luban-x"}, ws)
    assert (ws_root / "mine.txt").read_text() == "c-42\n"
    assert not (outside / "x").exists()  # /tmp outside the workspace is the sandbox's own
    assert "touch: cannot touch '/usr/luban-x': Read-only file system" in result.content


@needs_landlock
def test_bash_under_landlock_writes_the_workspace_only(tmp_path):
    ws_root = tmp_path / "ws"
    (ws_root / "src").mkdir(parents=True)
    ws = Workspace.open(ws_root, tmp_path / "out", make("landlock", env={"CANARY": "c-42"}, host=os.environ))
    result = bash.TOOL({"command": "echo $CANARY > src/mine.txt; echo x > new.txt; echo $PAGER"}, ws)
    assert (ws_root / "src" / "mine.txt").read_text() == "c-42\n"
    assert result.content == "bash: line 1: new.txt: Permission denied\ncat\nexit code: 0"


@needs_bwrap
def test_bubblewrap_has_no_network(tmp_path):
    connect = "import socket; socket.create_connection(('1.1.1.1', 53), 2)"
    argv = make("bwrap", host=os.environ).wrap(["python3", "-c", connect], tmp_path)
    done = subprocess.run(argv, capture_output=True, text=True)
    assert done.returncode != 0
    assert "Network is unreachable" in done.stderr


def test_credential_looking_variables_are_dropped():
    environ = {"PATH": "/bin", "GITHUB_TOKEN": "t", "AWS_PROFILE": "p", "HF_TOKEN": "h", "DB_PASSWORD": "d",
               "SSH_AUTH_SOCK": "/s", "MY_API_KEY": "k", "KEYBOARD": "us", "TOKENIZERS_PARALLELISM": "false",
               "HOME": "/root", "NPM_AUTH": "n"}
    assert without_secrets(environ) == {"PATH": "/bin", "KEYBOARD": "us", "TOKENIZERS_PARALLELISM": "false",
                                        "HOME": "/root"}
