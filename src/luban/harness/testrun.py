"""Run the project's test command as the harness does: sandboxed, unchanged, with pytest also writing JUnit
XML where it runs, and return the output with the report read from it."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Callable

from ..errors import PathRefused
from ..tools import bash
from ..workspace import Workspace
from .testoutput import read
from .testreport import NO_JUNIT, TestReport, collecting

# (command, workspace, timeout) -> (exit code or None on timeout, whole output): tools/bash.py's, or a test's.
Execute = Callable[[str, Workspace, int], "tuple[int | None, str]"]
MAX_JUNIT_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class Tested:
    exit_code: int | None  # None: timed out
    output: str
    report: TestReport

    @property
    def passed(self) -> bool:
        return self.exit_code == 0


def run_tests(command: str, ws: Workspace, timeout: int = 600, execute: Execute = bash.execute) -> Tested:
    """Run `command` with JUnit XML collected beside it; rerun it plain when this pytest has no junitxml."""
    # In the workspace: the sandbox's /tmp is its own. A fresh name per run, so no stale report is read.
    name = f".luban-junit-{secrets.token_hex(6)}.xml"
    code, output = execute(collecting(command, ws.root / name), ws, timeout)
    try:
        xml = _read(ws, name)
    finally:
        (ws.root / name).unlink(missing_ok=True)
    if code == 4 and NO_JUNIT in output:  # `-p no:junitxml` in the project's config
        code, output = execute(command, ws, timeout)
    return Tested(code, output, read(output, xml))


def _read(ws: Workspace, name: str) -> str | None:
    """The report through the file boundary: the tests ran first and could have put a symlink there."""
    try:
        with ws.files.open_read(ws.files.place(name)) as f:
            return f.read(MAX_JUNIT_BYTES).decode("utf-8", errors="replace")
    except (OSError, PathRefused):
        return None
