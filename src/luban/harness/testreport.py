"""Test results as data: which tests failed, why and where; one failure read from its traceback, a whole run
from pytest's JUnit XML collected beside the project's own command (testoutput.py reads printed text)."""

from __future__ import annotations

import re
import shlex
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path


# pytest's locations: `path:12: in name` (short entries), `path:12: Error` and `path:12: ` (long ones).
_PYTEST_FRAME = re.compile(r"^(?P<path>[^\s:\"']+\.\w+):(?P<line>\d+):(?: in (?P<function>\S+)| .*)?$")
_NATIVE_FRAME = re.compile(r'^\s*File "(?P<path>[^"]+)", line (?P<line>\d+)(?:, in (?P<function>\S+))?')
# pytest's failure lines ("E   assert 1 == 2"), the rest of them indented.
_E_LINE = re.compile(r"^E(?: |$)")
# A line that names what went wrong: an exception, or a bare assertion as pytest rewrites it.
_CAUSE = re.compile(r"^(?:[A-Za-z_][\w.]*(?:Error|Exception|Failure|Exit|Interrupt|Warning)\b|Failed:|assert )")
# pytest's advice inside an assertion diff, which says nothing about the failure.
_NOISE = re.compile(r"^\s*$|Use -v+ to get|use -vv to show|^\s*Omitting \d+ identical items")
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{6,}")
MAX_CAUSE_CHARS = 200
MAX_DETAIL_LINES = 12

# What a test can end as, in the order the digest counts them.
OUTCOMES = ("failed", "error", "passed", "skipped", "xfailed", "xpassed")
# pytest rejects the whole command line when the junitxml plugin is disabled (`-p no:junitxml`).
NO_JUNIT = "unrecognized arguments: --junitxml"


@dataclass(frozen=True)
class Frame:
    path: str  # as the runner printed it: relative to where it ran, or absolute
    line: int
    function: str = ""  # "" where the output does not name it (pytest's long entries)


@dataclass(frozen=True)
class Failure:
    test: str  # the runner's id for the test ("" for a generic runner's traceback)
    outcome: str  # failed | error
    cause: str  # one line; failures with the same cause are one problem
    details: tuple[str, ...]  # the assertion or exception lines, with the values they compared
    frames: tuple[Frame, ...]  # the traceback, outermost first


@dataclass(frozen=True)
class TestReport:
    __test__ = False  # not a pytest test class, despite the name
    runner: str  # pytest | unittest | generic
    counts: tuple[tuple[str, int], ...]  # (outcome, number) in OUTCOMES order, zeros left out
    failures: tuple[Failure, ...]  # failed and errored tests, in the order the runner reported them
    interrupted: str = ""  # the runner's own line when it stopped early ("Interrupted: 1 error during collection")
    tail: str = ""  # generic runners: the output's last lines, as nothing says where their failures are

    @property
    def failing(self) -> frozenset[str]:
        """The ids of the tests that failed or errored (for a baseline to compare later runs with)."""
        return frozenset(f.test for f in self.failures if f.test)


def collecting(command: str, junit: Path) -> str:
    """`command` with pytest told to also write JUnit XML to `junit`, through PYTEST_ADDOPTS so that every
    pytest the command starts (`pytest`, `python -m pytest`, `make test`) gets it and nothing else changes.

    The export goes into the command itself, not the environment Luban passes down: the sandbox keeps only
    the variables it allows from the host. `junit` must be writable inside the sandbox (the workspace is;
    its /tmp is private). xunit1 is the JUnit flavour that records each test's file and line.
    """
    extra = f"--junitxml={shlex.quote(str(junit))} -o junit_family=xunit1"
    return f'export PYTEST_ADDOPTS="${{PYTEST_ADDOPTS:+$PYTEST_ADDOPTS }}{extra}"\n{command}'


def read_junit(xml: str, interrupted: str = "") -> TestReport:
    """pytest's JUnit XML (any family); a test's id is its pytest node id where the XML names its file."""
    counts = dict.fromkeys(OUTCOMES, 0)
    failures = []
    for case in ET.fromstring(xml).iter("testcase"):
        outcome, failure = _case(case)
        counts[outcome] += 1
        if failure is not None:
            failures.append(failure)
    return TestReport("pytest", tuple((k, n) for k, n in counts.items() if n), tuple(failures), interrupted)


def _case(case: ET.Element) -> tuple[str, Failure | None]:
    test = node_id(case.get("file", ""), case.get("classname", ""), case.get("name", ""))
    for tag, outcome in (("failure", "failed"), ("error", "error")):
        found = case.find(tag)
        if found is not None:
            body = found.text or ""
            return outcome, failure_from(test, outcome, body, _message(found.get("message", "")))
    skipped = case.find("skipped")
    if skipped is not None:
        return ("xfailed" if skipped.get("type") == "pytest.xfail" else "skipped"), None
    return "passed", None


def _message(message: str) -> str:
    # junitxml's wording for errors outside the test's call: the exception is the quoted part.
    found = re.fullmatch(r'failed on (?:setup|teardown) with "(.*)"', message, re.DOTALL)
    return (found.group(1) if found else message).strip()


def failure_from(test: str, outcome: str, body: str, message: str = "") -> Failure:
    """One failure read from its traceback as pytest (any --tb style) or Python prints it; `message` is the
    runner's own one-line summary, the cause when the body names none (`--tb=no`)."""
    lines = body.splitlines()
    frames = tuple(_frames(lines))
    details = _details(lines) or ((message,) if message else ())
    causes = [line.strip() for line in details if _CAUSE.match(line.strip())]
    cause = causes[0] if causes else (details[0].strip() if details else message.splitlines()[0] if message else "")
    # Addresses differ from run to run (`<Cart object at 0x7f…>`); without them equal causes group.
    details = tuple(_ADDRESS.sub("0x…", line) for line in details[:MAX_DETAIL_LINES])
    return Failure(test, outcome, _ADDRESS.sub("0x…", cause)[:MAX_CAUSE_CHARS], details, frames)


def _frames(lines: list[str]):
    for line in lines:
        found = _NATIVE_FRAME.match(line.removeprefix("E")) if _E_LINE.match(line) else (
            _PYTEST_FRAME.match(line) or _NATIVE_FRAME.match(line))
        if found:
            yield Frame(found["path"], int(found["line"]), found["function"] or "")


def _details(lines: list[str]) -> tuple[str, ...]:
    """pytest's E lines; else what follows a Python traceback's last frame and its source lines."""
    marked = [line[1:] for line in lines if _E_LINE.match(line)]
    if not marked:
        last = max((i for i, line in enumerate(lines) if _NATIVE_FRAME.match(line)), default=-1)
        marked = lines[last + 1:]
        while last >= 0 and marked and marked[0][:1].isspace():
            marked = marked[1:]  # the frame's source line and its ^^^ markers
    kept = [line.rstrip() for line in marked if not _NOISE.search(line)]
    indent = min((len(line) - len(line.lstrip()) for line in kept), default=0)
    return tuple(line[indent:] for line in kept)


def node_id(file: str, classname: str, name: str) -> str:
    """The pytest node id junitxml's (file, classname, name) came from: classname is the node id's path with
    `/` turned into `.` and `.py` dropped, followed by any classes; a collection error has no classname."""
    if not file:
        return f"{classname}::{name}" if classname else name
    if not classname:
        return file
    module = file.removesuffix(".py").replace("/", ".")
    classes = classname.removeprefix(module).strip(".")
    return "::".join([file, *(classes.split(".") if classes else []), name])
