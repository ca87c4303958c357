"""The Landlock launcher: `python -m luban.sandbox.landlock_exec --workspace R --tmp T --home H [...] -- argv`.

Forks: the child clears the environment to the allowlist, confines itself (no_new_privs, Landlock, seccomp)
and execs argv; the parent stays a subreaper, so background processes end with the command or its killing.
"""

from __future__ import annotations

import ctypes
import errno
import os
import signal
import sys
from pathlib import Path
from typing import NoReturn, Sequence

from ..config import environment as host_environment
from . import landlock, scope, seccomp

PR_SET_PDEATHSIG, PR_CAPBSET_DROP, PR_SET_CHILD_SUBREAPER = 1, 24, 36
USAGE = "usage: landlock_exec --workspace ROOT --tmp DIR --home HOME [--read P] [--write P] [--drop NAME] " \
        "[--set K=V] [--network] -- argv"


def parse(args: Sequence[str]) -> tuple[dict[str, list[str]], list[str]]:
    """(options, argv): each option's values in order; argv is what follows `--`."""
    if "--" not in args:
        raise ValueError(USAGE)
    cut = list(args).index("--")
    options: dict[str, list[str]] = {"workspace": [], "tmp": [], "home": [], "read": [], "write": [], "drop": [],
                                     "set": [], "network": []}
    head = list(args[:cut])
    while head:
        name = head.pop(0).removeprefix("--")
        if name not in options:
            raise ValueError(f"unknown option --{name}; {USAGE}")
        options[name].append("yes" if name == "network" else head.pop(0) if head else "")
    argv = list(args[cut + 1:])
    if any(len(options[name]) != 1 for name in ("workspace", "tmp", "home")) or not argv:
        raise ValueError(USAGE)
    return options, argv


def environment(inherited: dict[str, str], options: dict[str, list[str]]) -> dict[str, str]:
    """The inherited environment less the host's variables named by --drop and anything credential-like,
    HOME and TMPDIR in the private temp folder, then --set."""
    dropped = set(options["drop"])
    env = {k: v for k, v in inherited.items() if k not in dropped and not scope.SECRET_NAME.search(k)}
    tmp = Path(options["tmp"][0])
    env.update(HOME=str(tmp / "home"), TMPDIR=str(tmp))
    env.update(item.split("=", 1) for item in options["set"] if "=" in item)  # type: ignore[misc]
    if "PATH" in env:
        env["PATH"] = _reachable_path(env["PATH"], options)
    return env


def _reachable_path(path: str, options: dict[str, list[str]]) -> str:
    """PATH less the folders in the (unreadable) home: bash stops at the first one with `Permission denied`
    instead of looking on (under bwrap they are simply missing)."""
    granted = [*scope.own_install(), *map(Path, options["read"] + options["write"] + options["workspace"])]
    homes = scope.homes({"HOME": options["home"][0]})
    keep = [p for p in path.split(os.pathsep) if not scope.beneath(Path(p), homes) or scope.beneath(Path(p), granted)]
    return os.pathsep.join(keep)


def _prctl(option: int, value: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(option, ctypes.c_ulong(value), 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), f"prctl({option}) failed")


def drop_capabilities() -> None:
    """Empty the bounding set, so root keeps no capability past exec (as bwrap's --cap-drop ALL): else it
    could load a kernel module or make device nodes."""
    if os.geteuid() != 0:
        return  # no capabilities to lose past exec, and no right to change the bounding set
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in range(64):
        if libc.prctl(PR_CAPBSET_DROP, ctypes.c_ulong(cap), 0, 0, 0) != 0 and ctypes.get_errno() != errno.EINVAL:
            raise OSError(ctypes.get_errno(), "dropping capabilities failed")


def confine_and_exec(options: dict[str, list[str]], argv: list[str], env: dict[str, str], version: int) -> NoReturn:
    """In the child: confine, then exec; a failure is one line on stderr and exit 126 (127: no such program)."""
    try:
        _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        root, tmp = Path(options["workspace"][0]), Path(options["tmp"][0])
        (tmp / "home").mkdir(parents=True, exist_ok=True)
        rules = landlock.rules_for(root, tmp, map(Path, options["read"]), map(Path, options["write"]),
                                   bool(options["network"]), Path(options["home"][0]))
        drop_capabilities()
        seccomp.install(bool(options["network"]))  # sets no_new_privs, which Landlock needs first
        landlock.restrict(rules, version)
        os.chdir(root)
        os.execvpe(argv[0], argv, env)
    except FileNotFoundError:
        sys.stderr.write(f"luban sandbox: {argv[0]}: command not found\n")
        os._exit(127)
    except OSError as exc:
        sys.stderr.write(f"luban sandbox: {exc.strerror or exc}\n")
        os._exit(126)


def _children(parent: int) -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == parent:
                pids.append(int(entry))
    return pids


def end_all() -> None:
    """Kill every process left below us: orphans come to us (the subreaper) as their parents die."""
    me = os.getpid()
    while True:
        for pid in _children(me):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            return


def supervise(child: int) -> int:
    def stop(signum: int, frame: object) -> None:
        end_all()
        os._exit(128 + signum)

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, stop)
    _, status = os.waitpid(child, 0)
    end_all()
    code = os.waitstatus_to_exitcode(status)
    return 128 - code if code < 0 else code


def main(args: Sequence[str]) -> int:
    try:
        options, argv = parse(args)
    except ValueError as exc:
        sys.stderr.write(f"luban sandbox: {exc}\n")
        return 2
    version = landlock.abi()
    reason = seccomp.supported() or ("" if version else "this kernel has no Landlock (or it is disabled)")
    if reason:
        sys.stderr.write(f"luban sandbox: {reason}; refusing to run the command unconfined.\n")
        return 126
    env = environment(dict(host_environment()), options)
    # Set before forking, so the command's orphans (double forks, setsid) come to us, not to init.
    _prctl(PR_SET_CHILD_SUBREAPER, 1)
    # Die with Luban, as bwrap's --die-with-parent; the handler then ends the command's processes.
    _prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    child = os.fork()
    if child == 0:
        confine_and_exec(options, argv, env, version)
    return supervise(child)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
