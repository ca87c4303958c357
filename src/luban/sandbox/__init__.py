"""Sandboxes: a Sandbox only rewrites the argv of a command the agent runs, so tools stay unaware of it.

`for_agent` picks one that works here (bwrap, else Landlock + seccomp) or refuses; `make` is eval's older
chooser. `Unconfined` (none.py) runs commands as they are; bwrap.py and landlock.py say what each confines,
toolchains.py what of the home directory they still see. The host environment comes from the caller.
"""

from __future__ import annotations

import atexit
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Callable, Mapping, Protocol, Sequence

from ..errors import ConfigError, SandboxUnavailable
from . import landlock, seccomp, toolchains
from .bwrap import Bubblewrap
from .bwrap import available as bubblewrap_available
from .landlock import Landlock
from .none import Unconfined
from .scope import SECRET_NAME, own_install, without_secrets

__all__ = ["Sandbox", "Bubblewrap", "Landlock", "Unconfined", "SECRET_NAME", "without_secrets", "make",
           "for_agent", "bubblewrap_available", "landlock_unavailable", "probe", "SandboxUnavailable"]
KINDS = {"auto": ("bwrap", "landlock"), "bwrap": ("bwrap",), "landlock": ("landlock",)}
PROBE_TIMEOUT_S = 30


class Sandbox(Protocol):
    def wrap(self, argv: Sequence[str], root: Path, *, network: bool = False) -> list[str]:
        """The argv that runs `argv` in the workspace `root` (writable) inside the sandbox; with `network`
        (the user approved it for this command) it may reach the network."""
        ...


def landlock_unavailable() -> str | None:
    """None where the Landlock launcher can confine commands; else why not."""
    if reason := seccomp.supported():
        return reason
    return None if landlock.abi() >= 1 else "this kernel has no Landlock (or it is disabled)"


def _private_tmp() -> Path:
    """The Landlock commands' TMPDIR and HOME, removed when Luban exits."""
    tmp = Path(tempfile.mkdtemp(prefix="luban-sandbox-"))
    atexit.register(shutil.rmtree, tmp, True)
    return tmp


def _build(kind: str, writable: Sequence[Path], env: Mapping[str, str], host: Mapping[str, str],
           programs: Sequence[str]) -> Sandbox:
    """The named sandbox, or ConfigError with what it needs. Toolchains are looked up once, here."""
    paths = tuple(Path(p) for p in writable)
    if kind in ("bwrap", "landlock"):
        found = toolchains.find(host, env.get("PATH"), programs)
    if kind == "bwrap":
        if not bubblewrap_available(host):
            raise ConfigError("bubblewrap is not installed (apt-get install bubblewrap)")
        return Bubblewrap(paths, dict(env), readable=(*own_install(), *found.folders), host=host)
    if kind == "landlock":
        if reason := landlock_unavailable():
            raise ConfigError(reason)
        # Its commands get a private HOME: the toolchains are told where their roots are.
        return Landlock(_private_tmp(), paths, {**found.variables, **env}, readable=found.folders, host=host)
    if kind == "none":
        return Unconfined(dict(env))
    raise ConfigError(f"Unknown sandbox {kind!r}; use auto, bwrap, landlock or none.")


def make(kind: str, writable: Sequence[Path] = (), env: Mapping[str, str] | None = None, *,
         host: Mapping[str, str], programs: Sequence[str] = ()) -> Sandbox:
    """The sandbox named by a setting: `bwrap`, `landlock`, `none`, or `auto` (bwrap where it is installed,
    else none: eval's choice; the agent's commands go through `for_agent`, which never falls back silently).
    `host` is the environment Luban runs in; `programs`, command lines whose program must be reachable."""
    if kind == "auto":
        kind = "bwrap" if bubblewrap_available(host) else "none"
    try:
        return _build(kind, writable, env or {}, host, programs)
    except ConfigError as exc:
        if str(exc).startswith("Unknown"):
            raise
        raise ConfigError(f"The {kind} sandbox cannot run here: {exc}.") from None


_probed: dict[str, str | None] = {}


def probe(kind: str, sandbox: Sandbox, host: Mapping[str, str]) -> str | None:
    """Run `true` inside `sandbox` (once per kind and process), started with the `host` environment as commands
    are; None where it worked, else why not."""
    if kind not in _probed:
        with tempfile.TemporaryDirectory(prefix="luban-probe-") as root:
            try:
                done = subprocess.run(sandbox.wrap(["true"], Path(root)), cwd=root, capture_output=True, text=True,
                                      stdin=subprocess.DEVNULL, env=without_secrets(host),
                                      timeout=PROBE_TIMEOUT_S)
                lines = done.stderr.strip().splitlines()
                _probed[kind] = None if done.returncode == 0 else (lines[-1] if lines else f"exit {done.returncode}")
            except (OSError, subprocess.TimeoutExpired) as exc:
                _probed[kind] = str(exc)
    return _probed[kind]


def for_agent(kind: str, *, full_auto: bool, no_sandbox: bool, host: Mapping[str, str],
              writable: Sequence[Path] = (), env: Mapping[str, str] | None = None, programs: Sequence[str] = (),
              check: Callable[[str, Sandbox], str | None] | None = None) -> Sandbox:
    """The sandbox for the agent's commands: the first of `kind` (auto: bwrap, then landlock) that runs a
    command here (`check`: probe, by default). None working: Unconfined where `no_sandbox` allows it, never in
    full-auto; else SandboxUnavailable. `kind` "none" is the user's own choice (a project config cannot make
    it). `host` is the environment Luban runs in; `programs` (the test command) must be reachable."""
    env = env or {}
    check = check or (lambda name, sandbox: probe(name, sandbox, host))
    if kind == "none":
        if full_auto:
            raise SandboxUnavailable("full-auto needs a sandbox for commands, and the sandbox setting is none; "
                                     "choose auto, bwrap or landlock, or a mode that asks before commands.")
        return Unconfined(dict(env))
    if kind not in KINDS:
        raise ConfigError(f"Unknown sandbox {kind!r}; use auto, bwrap, landlock or none.")
    failures = []
    for name in KINDS[kind]:
        try:
            sandbox = _build(name, writable, env, host, programs)
        except ConfigError as exc:
            failures.append(f"{name}: {exc}")
            continue
        if (reason := check(name, sandbox)) is None:
            return sandbox
        failures.append(f"{name}: {reason}")
    if no_sandbox and not full_auto:
        return Unconfined(dict(env))
    tried = "; ".join(failures)
    if full_auto:
        raise SandboxUnavailable(f"No sandbox for commands works here ({tried}), and full-auto never runs them "
                                 "unconfined.")
    raise SandboxUnavailable(f"No sandbox for commands works here ({tried}); --no-sandbox runs them unconfined "
                             "(never in full-auto).")
