"""A pytest plugin the suite builder loads (via PYTEST_ADDOPTS) to write each test's outcome and, for a
failure, what a problem statement and a difficulty tier are made from: the crash message, the failing
statement in the test, and the frames it went through. The path comes from LUBAN_PROBE_REPORT."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest

from ..pytest_report import record

_outcomes: dict[str, str] = {}
_failures: dict[str, dict[str, Any]] = {}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: Any, call: Any) -> Any:
    report = (yield).get_result()
    if call.excinfo is None or not report.failed or report.nodeid in _failures:
        return
    frames, statement = [], ""
    for entry in call.excinfo.traceback:
        path = str(entry.path)
        if "site-packages" in path or "/_pytest/" in path or "/pluggy/" in path:
            continue
        frames.append([path, entry.lineno + 1, entry.name])
        if path == str(item.path):
            try:
                statement = str(entry.statement).strip()
            except Exception:  # a frame without source (exec'd code)
                statement = ""
    _failures[report.nodeid] = {"crash": call.excinfo.exconly()[:2000], "statement": statement[:1000],
                                "frames": frames, "test_file": str(item.path), "params": _literal_params(item)}


def _literal_params(item: Any) -> dict[str, str]:
    """A parametrized test's arguments that are plain literals, as source text, to build a reproduction."""
    import ast

    params = getattr(getattr(item, "callspec", None), "params", {})
    literal = {}
    for name, value in params.items():
        text = repr(value)
        try:
            if ast.literal_eval(text) == value and len(text) <= 200:
                literal[name] = text
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            pass
    return literal


def pytest_runtest_logreport(report: Any) -> None:
    record(_outcomes, report)


def pytest_sessionfinish(session: Any, exitstatus: int) -> None:
    path = os.environ.get("LUBAN_PROBE_REPORT")
    if path:
        with open(path, "w", encoding="utf-8") as f:
            json.dump({"outcomes": _outcomes, "failures": _failures}, f, sort_keys=True)
