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
                 execute: Execute = bash.execute, configured: str = "") -> ToolResult:
    """Run `command` as the bash tool would and answer with the digest of its results, the whole output saved;
    `configured`: the project's test command, pointed to when `command` cannot import the workspace's own code."""
    tested = run_tests(command, ws, timeout, execute)
    shown = digest(tested.report, ws.root, baseline=baseline).replace(f"{ws.root}/", "")
    shown += _own_module_hint(tested.output, ws, command, configured)
    saved = ws.relative(ws.save_output("bash", tested.output)) if tested.output else ""
    parts = [shown] if shown else []
    if saved:
        parts.append(f"[the whole output ({len(tested.output.splitlines())} lines) is in {saved}; read it with "
                     "read_file (offset, limit) or grep]")
    parts.append(f"timed out after {timeout} s; process group killed" if tested.exit_code is None
                 else f"exit code: {tested.exit_code}")
    return ToolResult("\n".join(parts), error=tested.exit_code != 0)


_MISSING_MODULE = re.compile(r"No module named '([A-Za-z_]\w*)")


def _own_module_hint(output: str, ws: Workspace, command: str, configured: str) -> str:
    """A pointer to the configured test command when `command` failed to import a package of the workspace itself.

    Why: a 1.5B ran plain `python -m pytest` in a src/ layout whose test command sets PYTHONPATH=src, read
    "No module named 'cachetools'" and spent the rest of its run on `pip install cachetools`, offline.
    """
    if not configured.strip() or configured.strip() in command:
        return ""
    for name in dict.fromkeys(_MISSING_MODULE.findall(output)):
        where = next((rel for rel in (name, f"src/{name}", f"{name}.py", f"src/{name}.py")
                      if (ws.root / rel).exists()), None)
        if where:
            return (f"\n\n[Luban: `{name}` is this workspace's own code ({where}), not a package to install; the "
                    f"project's test command `{configured}` can import it. Run that command.]")
    return ""
