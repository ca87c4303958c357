"""Shell commands that run the tests: recognized (pytest, `python -m pytest`, unittest, the configured test
command) and run with their results read as data, so the model reads the digest (counts, causes, the failing
lines) instead of rows of dots and warning summaries; the whole output is kept in a file it can read."""

from __future__ import annotations

import re

from ..tools import bash
from ..types import ToolResult
from ..workspace import Workspace
from .testdigest import digest
from .testrun import Execute, run_tests

# A pytest or unittest started anywhere in the command line: `pytest -x`, `python3 -m pytest`, `py.test`,
# `python -m unittest discover`, `cd sub && pytest`.
_RUNNER = re.compile(r"(?<![\w.-])(?:[\w./-]*/)?(?:python[\d.]*\s+-m\s+(?:pytest|unittest)|py\.test|pytest)(?![\w.-])")
# Commands that only look at a test runner (`pip install pytest`, `which pytest`) run no tests.
_NOT_A_RUN = re.compile(r"^\s*(?:pip\d?|uv|which|type|command|man|cat|grep|rg|ls|echo|head|tail|less)\b")


_SEGMENT = re.compile(r"&&|\|\||[;|\n]")


def runs_tests(command: str, configured: str = "") -> bool:
    """Whether `command` runs the project's tests: it contains the configured test command, or one of its
    commands (`cd x && pytest -q | tail`) starts pytest or unittest (not as an argument of pip, grep or echo)."""
    if configured and configured.strip() and configured.strip() in command:
        return True
    return any(_RUNNER.search(part) and not _NOT_A_RUN.match(part) for part in _SEGMENT.split(command))


def tests_result(command: str, ws: Workspace, timeout: int, *, baseline: frozenset[str] = frozenset(),
                 execute: Execute = bash.execute) -> ToolResult:
    """Run `command` as the bash tool would and answer with the digest of its results, the whole output saved."""
    tested = run_tests(command, ws, timeout, execute)
    shown = digest(tested.report, ws.root, baseline=baseline).replace(f"{ws.root}/", "")
    saved = ws.relative(ws.save_output("bash", tested.output)) if tested.output else ""
    parts = [shown] if shown else []
    if saved:
        parts.append(f"[the whole output ({len(tested.output.splitlines())} lines) is in {saved}; read it with "
                     "read_file (offset, limit) or grep]")
    parts.append(f"timed out after {timeout} s; process group killed" if tested.exit_code is None
                 else f"exit code: {tested.exit_code}")
    return ToolResult("\n".join(parts), error=tested.exit_code != 0)
