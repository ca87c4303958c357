"""Where a headless task comes from: the -p argument, standard input, or both (stdin appended as context)."""

from __future__ import annotations

import os
import select
import stat
from typing import TextIO

from ..errors import ConfigError

FROM_STDIN = "-"  # `-p -`, and `-p` with no argument, read the task from standard input
QUIET_S = 1.0  # how long a pipe beside a task may stay silent before Luban says what it is waiting for
WAITING = ("luban: reading standard input as context for the task until it closes (run with </dev/null to give "
           "none)\n")


def task_from(argument: str, stdin: TextIO | None, err: TextIO) -> str:
    """The task to run. Standard input is read only when it is not a terminal: piped into `-p` (or `-p -`) it is the
    task; piped beside a task it follows it as context, as Claude Code does (`luban -p "fix it" < log`)."""
    if argument != FROM_STDIN:
        piped = _piped(stdin, err)
        return f"{argument}\n\n<stdin>\n{piped.rstrip()}\n</stdin>" if piped.strip() else argument
    piped = _piped(stdin, None)
    if not piped.strip():
        where = "is a terminal" if stdin is not None and not stdin.closed and stdin.isatty() else "was empty"
        raise ConfigError(f"-p without a task reads it from standard input, which {where}; give the task "
                          "(luban -p TASK) or pipe it in (cat issue.md | luban -p).")
    return piped.strip()


def _piped(stdin: TextIO | None, err: TextIO | None) -> str:
    # A stream that cannot be read (none, closed, or a test runner's stand-in) has nothing piped into it.
    if stdin is None or stdin.closed or stdin.isatty() or not stdin.readable():
        return ""
    if err is not None and _silent_pipe(stdin):  # e.g. ssh's stdin, open until the session ends: say so
        err.write(WAITING)
        err.flush()
    return stdin.read()


def _silent_pipe(stdin: TextIO) -> bool:
    """A pipe (not a file) with nothing to read yet after QUIET_S."""
    try:
        fd = stdin.fileno()
        if stat.S_ISREG(os.fstat(fd).st_mode):
            return False
        ready, _, _ = select.select([fd], [], [], QUIET_S)
    except (OSError, ValueError):
        return False
    return not ready
