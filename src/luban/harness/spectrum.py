"""The coverage spectrum: which lines each test ran (the coverage library, one context per test, the project's test
command run as the gate runs it with `coverage run` in front of its pytest or unittest), and each line's Ochiai
score over the failing and passing tests.

A test is a pytest test case, each parametrization its own (a small plugin names the context by node id), or a
unittest test method (coverage's own `test_function` contexts). Why cases: coverage's contexts merge a parametrized
test's cases into one. In inflection each pluralize test is one function with sixty cases; one failing case made
the whole function a failing test (3 failing and 19 passing "tests" in bf-51), so every line of `pluralize` scored
as if mostly failing tests ran it, above the helper that held the bug (bench/localize.py)."""

from __future__ import annotations

import math
import os
import re
import secrets
import shlex
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..tools import bash
from ..workspace import Workspace
from .testrun import Execute, Tested, run_tests

# The first pytest or unittest the command runs: `python -m pytest`, `python3.12 -m unittest`, `pytest`.
_INVOCATION = re.compile(
    r"(?P<python>(?<![\w.-])(?:[\w./-]*/)?python[\d.]*)\s+-m\s+(?P<module>pytest|unittest)(?![\w.])"
    r"|(?P<script>(?<![\w.-])(?:[\w./-]*/)?(?:py\.test|pytest))(?![\w.-])"
)
_SHEBANG_ENV = re.compile(r"^#!\s*\S*/env\s+(?:-S\s+)?(\S+)")
_SHEBANG = re.compile(r"^#!\s*(\S+)")
# pip's launcher for interpreters with long paths: `#!/bin/sh` then `'''exec' "/venv/bin/python" "$0" "$@"`.
_SH_EXEC = re.compile(r"""^'''exec' (?:"([^"]+)"|(\S+))""", re.MULTILINE)
_PARAMETERS = re.compile(r"\[.*\]$")
SHIM_PREFIX = ".luban-coverage-"
CASES_PLUGIN = "luban_test_cases"
LAUNCHER = "luban_coverage_run.py"
_CASES_SOURCE = '''\
"""Written by Luban for one coverage run: a coverage context per pytest test case, named by its node id."""
import coverage
import pytest


def _switch(name):
    running = coverage.Coverage.current()
    if running is not None:
        running.switch_context(name)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    _switch(item.nodeid)
    yield
    _switch("")
'''
_LAUNCHER_SOURCE = '''\
"""Written by Luban for one coverage run. Started by its path, so its folder comes first on sys.path whatever
PYTHONPATH the test command sets, and coverage is imported from there. Then `coverage run` with the arguments
given, which puts the command's own first path in place of this folder; the folder stays at the end of the path,
where pytest finds the test-case plugin. (Imported here, the plugin would make pytest warn that it cannot rewrite
its asserts, an error in projects that turn warnings into errors: jinja2, itsdangerous, toolz.)"""
import os
import sys

sys.path.append(os.path.dirname(os.path.abspath(__file__)))
from coverage.cmdline import main  # noqa: E402

sys.exit(main(["run", *sys.argv[1:]]))
'''


@dataclass(frozen=True)
class Spectrum:
    """Per workspace file, per line, the ids of the tests that ran it; and which tests failed and passed."""

    lines: dict[str, dict[int, frozenset[str]]]
    failing: frozenset[str]
    passing: frozenset[str]

    def ochiai(self) -> dict[tuple[str, int], float]:
        """Ochiai = failed(line) / sqrt(all failed × ran(line)): 1 for a line every failing test and no passing
        test ran; lines no failing test ran are left out."""
        scores = {}
        for rel, by_line in self.lines.items():
            for line, tests in by_line.items():
                failed = len(tests & self.failing)
                if failed:
                    ran = failed + len(tests & self.passing)
                    scores[(rel, line)] = failed / math.sqrt(len(self.failing) * ran)
        return scores


@dataclass(frozen=True)
class Measured:
    spectrum: Spectrum | None
    tested: Tested  # the run's own test results
    problem: str = ""  # why there is no spectrum


def measure(command: str, ws: Workspace, timeout: int = 600, execute: Execute = bash.execute,
            which: Callable[[str], str | None] | None = None) -> Measured:
    """Run `command` under coverage with a context per test and read the spectrum back. `which` finds a
    program (by default on the PATH of the workspace's environment)."""
    which = which or (lambda name: shutil.which(name, path=ws.environ.get("PATH", os.defpath)))
    shim = ws.root / f"{SHIM_PREFIX}{secrets.token_hex(6)}"
    covered = coverage_command(command, shim, ws.root, which)
    if covered is None:  # the failures still say something: their frames and the names they mention
        return Measured(None, run_tests(command, ws, timeout, execute),
                        "the test command runs neither pytest nor unittest in a way coverage can wrap")
    shim.mkdir()
    try:
        _prepare(shim, cases=f"-p {CASES_PLUGIN}" in covered)
        tested = run_tests(covered, ws, timeout, execute)
        lines = _read(shim / "coverage.db", ws.root)
    finally:
        shutil.rmtree(shim, ignore_errors=True)
    if not lines:
        return Measured(None, tested, "coverage recorded nothing (" + _last_line(tested.output) + ")")
    contexts = {c for by_line in lines.values() for tests in by_line.values() for c in tests}
    failing = frozenset(c for c in contexts if any(same_test(c, f.test) for f in tested.report.failures))
    return Measured(Spectrum(lines, failing, frozenset(contexts - failing)), tested)


def coverage_command(command: str, shim: Path, root: Path, which: Callable[[str], str | None]) -> str | None:
    """`command` with its first pytest or unittest run by `coverage run` (through the launcher in `shim`), or None
    when it has none."""
    found = _INVOCATION.search(command)
    if found is None:
        return None
    python = found["python"] or interpreter(found["script"], root, which)
    module = found["module"] or "pytest"
    wrapped = (f"{python} {shlex.quote(str(shim / LAUNCHER))} --rcfile={shlex.quote(str(shim / 'coveragerc'))} "
               f"-m {module}" + (f" -p {CASES_PLUGIN}" if module == "pytest" else ""))
    return command[:found.start()] + wrapped + command[found.end():]


def interpreter(script: str, root: Path, which: Callable[[str], str | None]) -> str:
    """The Python a `pytest` script runs on, from its first lines; `python3` when they cannot be read."""
    path = str(root / script) if "/" in script else which(script)
    try:
        with open(path or "", "rb") as f:
            head = f.read(512).decode("utf-8", errors="replace")
    except OSError:
        return "python3"
    for pattern in (_SHEBANG_ENV, _SH_EXEC, _SHEBANG):
        found = pattern.search(head) if pattern is _SH_EXEC else pattern.match(head)
        python = next((group for group in found.groups() if group), "") if found else ""
        if python and not python.endswith("/sh"):
            return shlex.quote(python)
    return "python3"


def _prepare(shim: Path, cases: bool) -> None:
    """The launcher, Luban's own coverage package beside it (the project need not have one), the pytest plugin that
    names a context per test case when `cases`, else coverage's context per test function, and the config."""
    import coverage  # deferred: only a localization needs it

    (shim / "coverage").symlink_to(Path(coverage.__file__).parent, target_is_directory=True)
    (shim / LAUNCHER).write_text(_LAUNCHER_SOURCE, encoding="utf-8")
    if cases:
        (shim / f"{CASES_PLUGIN}.py").write_text(_CASES_SOURCE, encoding="utf-8")
    (shim / "coveragerc").write_text(
        "[run]\n"
        f"data_file = {shim / 'coverage.db'}\n"
        + ("" if cases else "dynamic_context = test_function\n")
        + f"omit =\n    {shim}/*\n",
        encoding="utf-8",
    )


def _read(data_file: Path, root: Path) -> dict[str, dict[int, frozenset[str]]]:
    """The measured lines of files in the workspace, by path relative to it, each with its test contexts."""
    from coverage import CoverageData

    if not data_file.is_file():
        return {}
    data = CoverageData(basename=str(data_file))
    data.read()
    lines = {}
    for measured in data.measured_files():
        path = Path(measured)
        if path.is_relative_to(root):
            by_line = {n: frozenset(c for c in found if c) for n, found in data.contexts_by_lineno(measured).items()}
            lines[path.relative_to(root).as_posix()] = {n: tests for n, tests in by_line.items() if tests}
    return {rel: by_line for rel, by_line in lines.items() if by_line}


def same_test(context: str, test: str) -> bool:
    """Whether a coverage context (a pytest node id, or coverage's `module.Class.test_name`) is the test a runner
    calls `test`: a pytest node id (`tests/test_a.py::Class::test_name[1]`) or a unittest id (`module.Class.test_name`)."""
    if "::" in context:
        return context == test
    if "::" not in test:
        return context == test or context.endswith(f".{test}")
    file, *names = test.split("::")
    tail = ".".join(_PARAMETERS.sub("", name) for name in names)
    module = context.removesuffix(f".{tail}")
    return module != context and module.rsplit(".", 1)[-1] == Path(file).stem


def _last_line(output: str) -> str:
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    return lines[-1][:200] if lines else "no output"
