"""A pytest plugin the grader loads (via PYTEST_ADDOPTS) to write each test's outcome as JSON.

Node ids are the ones tasks name in fail_to_pass / pass_to_pass; the path comes from LUBAN_TEST_REPORT.
"""

from __future__ import annotations

import json
import os
from typing import Any

_outcomes: dict[str, str] = {}


def record(outcomes: dict[str, str], report: Any) -> None:
    """A test fails if any phase (setup, call, teardown) fails; it passed only if its call phase passed."""
    if report.failed:
        outcomes[report.nodeid] = "failed"
    elif report.skipped and report.nodeid not in outcomes:
        outcomes[report.nodeid] = "skipped"
    elif report.when == "call" and report.passed and outcomes.get(report.nodeid) != "failed":
        outcomes[report.nodeid] = "passed"


def pytest_runtest_logreport(report: Any) -> None:
    record(_outcomes, report)


def pytest_sessionfinish(session: Any, exitstatus: int) -> None:
    path = os.environ.get("LUBAN_TEST_REPORT")
    if path:
        with open(path, "w", encoding="utf-8") as f:
            json.dump(_outcomes, f, indent=0, sort_keys=True)
