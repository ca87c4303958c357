"""bash: run a shell command in the workspace root in its own process group, output cut to fit the model.

The command gets no stdin and a pager-free, colour-free environment. On timeout the whole process group gets
SIGTERM, then SIGKILL. Background children still holding the output pipe after the shell exits are stopped the
same way (otherwise reading the output would never end); ones that redirected their output keep running.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from typing import IO, Any, Mapping

from ..context.output import Limits, fit
from ..sandbox import without_secrets
from ..types import Effect, ToolResult, ToolSpec, Touched
from ..workspace import Workspace
from ._input import ToolError, parse_args

DEFAULT_TIMEOUT_S = 120
MAX_TIMEOUT_S = 600
KILL_GRACE_S = 2.0
# How long background children may keep the output open after the shell itself has exited.
DRAIN_S = 1.0
# Output over either limit is cut to a head and a tail (the loop may cut it further to fit the model's window).
LIMITS = Limits(chars=16_000, lines=400)
# Beyond this the output is still read (so the command never blocks) but not kept.
MAX_CAPTURE_BYTES = 32 * 1024 * 1024
ENV = {"PAGER": "cat", "GIT_PAGER": "cat", "GIT_TERMINAL_PROMPT": "0", "TERM": "dumb", "NO_COLOR": "1"}

SPEC = ToolSpec(
    name="bash",
    description=(
        "Run a shell command with bash in the workspace root. Returns its output (stdout and stderr together) "
        "and its exit code. The command gets no input, so do not start interactive programs. Long output is "
        "cut in the middle and saved in full to a file you can read with read_file. Processes started in the "
        "background end with the command (it runs in a sandbox), so start a server and use it in one command."
    ),
    parameters={
        "type": "object",
        "properties": {
            "command": {"type": "string", "description": "The bash command line to run."},
            "timeout": {
                "type": "integer",
                "minimum": 1,
                "maximum": MAX_TIMEOUT_S,
                "default": DEFAULT_TIMEOUT_S,
                "description": "Seconds before the command and its child processes are killed.",
            },
        },
        "required": ["command"],
        "additionalProperties": False,
    },
)


@dataclass(frozen=True)
class Bash:
    spec: ToolSpec = SPEC
    effect: Effect = "exec"

    def touches(self, args: Mapping[str, Any]) -> Touched:
        command = args.get("command")
        return Touched(command=command if isinstance(command, str) else None)

    def __call__(self, args: Mapping[str, Any], ws: Workspace) -> ToolResult:
        try:
            checked = parse_args(self.spec, args)
            if not checked["command"].strip():
                raise ToolError("command is empty; give the shell command to run.")
        except ToolError as error:
            return error.result()
        run = (_in_terminal if ws.terminal else _run)(checked["command"], ws, checked["timeout"])
        return _report(ws, run, checked["timeout"])


TOOL = Bash()


def execute(command: str, ws: Workspace, timeout: int) -> tuple[int | None, str]:
    """Run `command` as the tool does (sandboxed, its own process group), uncut: (exit code, or None when it
    timed out; all its output). For the harness, which reads test output as data before the model sees it."""
    run = _run(command, ws, timeout)
    return run.exit_code, relative_paths(run.output.decode("utf-8", errors="replace"), ws)


@dataclass(frozen=True)
class _Run:
    output: bytes
    exit_code: int | None  # None: timed out
    dropped: int  # bytes beyond MAX_CAPTURE_BYTES
    stopped_background: bool


class _Capture:
    """Reads a pipe to EOF on a daemon thread, so a chatty command never blocks on a full pipe."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._chunks: list[bytes] = []
        self._size = 0
        self.dropped = 0
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._pump, args=(stream,), daemon=True)
        self._thread.start()

    def _pump(self, stream: IO[bytes]) -> None:
        with stream:
            while chunk := os.read(stream.fileno(), 65536):
                with self._lock:
                    if self._size < MAX_CAPTURE_BYTES:
                        self._chunks.append(chunk)
                        self._size += len(chunk)
                    else:
                        self.dropped += len(chunk)

    def join(self, timeout: float | None) -> bool:
        """Wait for EOF; whether it came."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def output(self) -> bytes:
        with self._lock:
            return b"".join(self._chunks)


def _run(command: str, ws: Workspace, timeout: int) -> _Run:
    cwd = ws.root
    proc = subprocess.Popen(
        ws.sandbox.wrap(["bash", "-c", command], cwd),
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        env={**without_secrets(ws.environ), **ENV},
    )
    assert proc.stdout is not None
    capture = _Capture(proc.stdout)
    try:
        code: int | None = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        code = None
    except BaseException:  # Ctrl-C or a cancelled turn: leave no processes behind
        _stop_group(proc, capture)
        raise
    stopped_background = code is not None and not capture.join(DRAIN_S)
    if code is None or stopped_background:
        _stop_group(proc, capture)
    ws.listing.changed()  # a command may have created or removed files
    return _Run(capture.output(), code, capture.dropped, stopped_background)


def _in_terminal(command: str, ws: Workspace, timeout: int) -> _Run:
    """Run `command` where the front-end runs commands (Workspace.terminal), in the same sandbox and with the same
    environment as a child process of Luban's: `env -i` sets exactly that, whatever the terminal's own is."""
    assert ws.terminal is not None
    environment = {**without_secrets(ws.environ), **ENV}
    argv = ["env", "-i", *(f"{k}={v}" for k, v in environment.items()),
            *ws.sandbox.wrap(["bash", "-c", command], ws.root)]
    output, code = ws.terminal(argv, ws.root, timeout)
    ws.listing.changed()
    return _Run(output[:MAX_CAPTURE_BYTES], code, max(0, len(output) - MAX_CAPTURE_BYTES), False)


def _stop_group(proc: subprocess.Popen[bytes], capture: _Capture) -> None:
    """SIGTERM the process group, give it KILL_GRACE_S to exit, then SIGKILL whatever is left."""
    deadline = time.monotonic() + KILL_GRACE_S
    _signal_group(proc.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=KILL_GRACE_S)
    capture.join(max(0.0, deadline - time.monotonic()))
    _signal_group(proc.pid, signal.SIGKILL)
    proc.wait()
    # A process that left the group (setsid) may hold the pipe for ever; keep what was read by now.
    capture.join(0.5)


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, sig)


def relative_paths(text: str, ws: Workspace) -> str:
    """`text` with paths under the workspace root written relative to it, as the command ran there.

    Why: a traceback or doctest report names files by their absolute path. In an eval the workspace is a new
    temporary folder each run, and its random name in the prompt changed the model's replies from one run of the
    same task to the next (he-43's HumanEval-10 took 8 steps where he-42's took 4 from the same start)."""
    return text.replace(f"{ws.root}{os.sep}", "")  # the root is resolved already (Workspace.open)


def _report(ws: Workspace, run: _Run, timeout: int) -> ToolResult:
    text = relative_paths(run.output.decode("utf-8", errors="replace"), ws)
    parts = [_fit(ws, text)] if text else []
    if run.dropped:
        parts.append(f"[output after the first {MAX_CAPTURE_BYTES} bytes was not kept: {run.dropped} bytes]")
    if run.stopped_background:
        parts.append("[background processes still writing to the output were stopped]")
    if run.exit_code is None:
        parts.append(f"timed out after {timeout} s; process group killed")
    else:
        parts.append(f"exit code: {run.exit_code}")
    return ToolResult("\n".join(parts), error=run.exit_code != 0)


def _fit(ws: Workspace, text: str) -> str:
    return fit(text, LIMITS, lambda full: ws.relative(ws.save_output("bash", full)))
