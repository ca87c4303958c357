"""Where a headless task comes from: the -p argument, standard input, or both (stdin appended as context)."""

from __future__ import annotations

from typing import TextIO

from ..errors import ConfigError

FROM_STDIN = "-"  # `-p -`, and `-p` with no argument, read the task from standard input


def task_from(argument: str, stdin: TextIO | None) -> str:
    """The task to run. Standard input is read only when it is not a terminal: piped into `-p` (or `-p -`) it is the
    task; piped beside a task it follows it as context, as Claude Code does (`luban -p "fix it" < log`)."""
    piped = _piped(stdin)
    if argument != FROM_STDIN:
        return f"{argument}\n\n<stdin>\n{piped.rstrip()}\n</stdin>" if piped.strip() else argument
    if not piped.strip():
        where = "is a terminal" if stdin is not None and stdin.isatty() else "was empty"
        raise ConfigError(f"-p without a task reads it from standard input, which {where}; give the task "
                          "(luban -p TASK) or pipe it in (cat issue.md | luban -p).")
    return piped.strip()


def _piped(stdin: TextIO | None) -> str:
    # A stream that cannot be read (none, closed, or a test runner's stand-in) has nothing piped into it.
    if stdin is None or stdin.closed or stdin.isatty() or not stdin.readable():
        return ""
    return stdin.read()
