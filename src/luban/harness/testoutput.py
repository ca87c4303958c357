"""What a test runner printed, read as a TestReport (pytest's JUnit XML preferred where a run wrote one):
pytest's FAILURES and ERRORS and summary, unittest's FAIL:/ERROR: blocks and tally, any other runner's
Python tracebacks and last lines."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from .testreport import OUTCOMES, Failure, TestReport, failure_from, read_junit

_SECTION = re.compile(r"^=+ (.+?) =+$")
_TITLE = re.compile(r"^_{3,} (.+?) _{3,}$")
# Not unittest's tally, `FAILED (failures=1)`.
_SHORT = re.compile(r"^(FAILED|ERROR) ([^\s(]\S*)(?: - (.*))?$")
_PYTEST_SUMMARY = re.compile(r"^=*\s*(\d+ \w+.*|no tests ran) in \d+(?:\.\d+)?s\b")
_INTERRUPTED = re.compile(r"^!+ (Interrupted: .+?) !+$")
_COUNT = re.compile(r"(\d+) (failed|passed|skipped|xfailed|xpassed|errors?)\b")
_UNITTEST_RULE, _UNITTEST_DASHES = "=" * 70, "-" * 70
_UNITTEST_HEAD = re.compile(r"^(FAIL|ERROR|UNEXPECTED SUCCESS): (\S+) \(([^)]*)\)")
_UNITTEST_RAN = re.compile(r"^Ran (\d+) tests? in ")
_UNITTEST_TALLY = re.compile(r"^(?:OK|FAILED)(?: \((.*)\))?$")
_UNITTEST_KINDS = {"failures": "failed", "errors": "error", "skipped": "skipped",
                   "expected failures": "xfailed", "unexpected successes": "xpassed"}
GENERIC_TAIL_LINES = 15
_CHAINED = ("Traceback", "During handling", "The above exception")


def read(output: str, junit: str | None = None) -> TestReport:
    """The report of a run from its JUnit XML when pytest wrote one, else from the text it printed."""
    if junit:
        try:
            return read_junit(junit, interruption(output))
        except ET.ParseError:
            pass  # a run killed while writing it: the text still says what happened
    lines = output.splitlines()
    if any(_PYTEST_SUMMARY.match(line) or _SHORT.match(line) for line in lines):
        return _pytest(lines)
    if any(_UNITTEST_RAN.match(line) for line in lines):
        return _unittest(lines)
    return _generic(lines)


def interruption(output: str) -> str:
    found = [m.group(1) for line in output.splitlines() if (m := _INTERRUPTED.match(line))]
    return found[-1] if found else ""


def _counts(found: dict[str, int]) -> tuple[tuple[str, int], ...]:
    return tuple((k, found[k]) for k in OUTCOMES if found.get(k))


# --- pytest -------------------------------------------------------------------------------------------


def _pytest(lines: list[str]) -> TestReport:
    blocks: list[tuple[str, str, list[str]]] = []  # (section, title, body)
    section, short, body = "", {}, None
    for line in lines:
        if (found := _SECTION.match(line)) and not _PYTEST_SUMMARY.match(line):
            section, body = found.group(1), None
        elif section in ("FAILURES", "ERRORS") and (found := _TITLE.match(line)):
            body = []
            blocks.append((section, found.group(1), body))
        elif (found := _SHORT.match(line)) and section == "short test summary info":
            short[_short_key(found.group(2))] = (found.group(2), found.group(3) or "")
        elif body is not None:
            body.append(line)
    failures = [_block(section, title, body, short) for section, title, body in blocks]
    # --tb=line and --tb=no print no titled blocks: the summary lines say which tests failed.
    shown = {f.test for f in failures}
    failures += [failure_from(test, "error" if test in _errors(lines) else "failed", "", message)
                 for test, message in short.values() if test not in shown]
    summary = [m.group(1) for line in lines if (m := _PYTEST_SUMMARY.match(line))]
    counts = {("error" if kind.startswith("error") else kind): int(n)
              for n, kind in _COUNT.findall(summary[-1] if summary else "")}
    return TestReport("pytest", _counts(counts), tuple(failures), interruption("\n".join(lines)))


def _short_key(node: str) -> str:
    """What a FAILURES title shows of a node id: the part after the file, `Class.test`; a file alone for a
    collection error."""
    parts = node.split("::")
    return ".".join(parts[1:]) if len(parts) > 1 else parts[0]


def _errors(lines: list[str]) -> set[str]:
    return {m.group(2) for line in lines if (m := _SHORT.match(line)) and m.group(1) == "ERROR"}


def _block(section: str, title: str, body: list[str], short: dict[str, tuple[str, str]]) -> Failure:
    name = re.sub(r"^ERROR (?:at (?:setup|teardown) of|collecting) ", "", title)
    test, message = short.get(name, (name, ""))
    return failure_from(test, "error" if section == "ERRORS" else "failed", "\n".join(body), message)


# --- unittest -----------------------------------------------------------------------------------------


def _unittest(lines: list[str]) -> TestReport:
    failures, i = [], 0
    while i < len(lines):
        head = _UNITTEST_HEAD.match(lines[i + 1]) if lines[i] == _UNITTEST_RULE and i + 1 < len(lines) else None
        if head is None:
            i += 1
            continue
        body_at = i + 3 if i + 2 < len(lines) and lines[i + 2] == _UNITTEST_DASHES else i + 2
        end = next((j for j in range(body_at, len(lines)) if lines[j] in (_UNITTEST_RULE, _UNITTEST_DASHES)),
                   len(lines))
        outcome = "error" if head.group(1) == "ERROR" else "failed"
        failures.append(failure_from(_unittest_id(head.group(2), head.group(3)), outcome, "\n".join(lines[body_at:end])))
        i = end
    return TestReport("unittest", _counts(_unittest_tally(lines)), tuple(failures))


def _unittest_id(name: str, where: str) -> str:
    """The dotted id `python -m unittest` takes: `mod.Class.test` (3.11 prints it whole; older, the class)."""
    if where.startswith("unittest.loader._FailedTest"):
        return name  # a module that failed to import
    return where if where.endswith(f".{name}") else f"{where}.{name}"


def _unittest_tally(lines: list[str]) -> dict[str, int]:
    ran = [int(m.group(1)) for line in lines if (m := _UNITTEST_RAN.match(line))]
    tallies = [m.group(1) or "" for line in lines if (m := _UNITTEST_TALLY.match(line))]
    counts: dict[str, int] = {}
    for part in (tallies[-1] if tallies else "").split(", "):
        kind, _, number = part.partition("=")
        if kind in _UNITTEST_KINDS and number.isdigit():
            counts[_UNITTEST_KINDS[kind]] = int(number)
    if ran:
        counts["passed"] = ran[-1] - sum(counts.values())
    return counts


# --- anything else ------------------------------------------------------------------------------------


def _generic(lines: list[str]) -> TestReport:
    """Each Python traceback printed is a failure; the last lines stand in for a summary."""
    failures = []
    for start, line in enumerate(lines):
        if line.startswith("Traceback (most recent call last):"):
            end = start + 1
            while end < len(lines) and lines[end][:1].isspace():  # frames and their source lines
                end += 1
            while end < len(lines) and lines[end].strip() and not lines[end].startswith(_CHAINED):
                end += 1  # the exception's own lines
            failures.append(failure_from("", "error", "\n".join(lines[start:end])))
    shown = [line for line in lines if line.strip()][-GENERIC_TAIL_LINES:]
    return TestReport("generic", (), tuple(failures), tail="\n".join(shown))
