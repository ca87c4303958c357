"""What the model sees of a test run: the counts, the failures grouped by cause, each distinct failure's
assertion lines and last frames in the workspace (never progress dots or warnings), and last, the failures
that failed before any change, in the same way, and share no name with the task."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

from .testreport import Failure, Frame, TestReport

MAX_GROUPS = 8
MAX_DETAILED = 4
MAX_FRAMES = 3
MAX_IDS = 2
MAX_SOURCE_CHARS = 120
# Words a failure and a task share without being about the same code.
_COMMON = frozenset({
    "test", "tests", "assert", "assertion", "error", "errors", "exception", "failed", "failure", "self", "none",
    "true", "false", "module", "named", "line", "file", "from", "import", "return", "with", "where", "value",
    "type", "call", "init", "main", "setup", "teardown", "fixture", "conftest", "traceback", "most", "recent",
})  # fmt: skip
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]{3,}")
_PART = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")
_MIN_PART = 4
_LIBRARY = ("site-packages", "dist-packages")
# Object ids and addresses differ in every test (`KeyError: 140210738342976`, `<Foo at 0x7f3a…>`): one cause.
_ID = re.compile(r"\b0x[0-9a-fA-F]{6,}\b|\b\d{9,}\b")
_ID_SHOWN = "<id>"


@dataclass(frozen=True)
class _Group:
    cause: str
    failures: tuple[Failure, ...]
    pre_existing: bool

    @property
    def label(self) -> str:
        outcomes = {f.outcome for f in self.failures}
        n = len(self.failures)
        word = ("failed" if outcomes == {"failed"} else "error" if n == 1 else "errors") if len(outcomes) == 1 \
            else "tests"
        return f"{n} {word}"


def unrelated(report: TestReport | None, task: str) -> frozenset[str]:
    """The failures of a run before any change that share no name with `task` (the user's words), as `digest`'s
    `baseline` takes them: each test with its cause, so a later failure counts as pre-existing only while it
    fails the same way. (In a jinja2 run the model's edit turned a test's TypeError from the library, named in
    the report, into a ValueError in the test itself; by test id alone it was then shown as pre-existing.)"""
    if report is None:
        return frozenset()
    words = _task_words(task)
    return frozenset(_key(f) for f in report.failures if f.test and not (_code_words(f) & words))


def _key(failure: Failure) -> str:
    return f"{failure.test}\n{_cause(failure)}"


def _cause(failure: Failure) -> str:
    """The failure's cause with object ids folded, so that failures differing only in ids are one cause."""
    return _ID.sub(_ID_SHOWN, failure.cause)


def digest(report: TestReport, root: Path, *, baseline: frozenset[str] = frozenset()) -> str:
    """The report as the model should read it; `baseline` holds the failures before any change that the task
    is not about (`unrelated`), to tell pre-existing failures from the ones the task is about."""
    groups = _groups(report.failures, baseline)
    current = [g for g in groups if not g.pre_existing]
    old = [g for g in groups if g.pre_existing]
    parts = [_counts(report)]
    if len(current) > 1 or any(len(g.failures) > 1 for g in current):
        parts.append("Failures by cause:\n" + "\n".join(_overview(g) for g in current[:MAX_GROUPS])
                     + _more(len(current) - MAX_GROUPS, "cause"))
    source = _Source(root)
    parts += [_detail(g.failures[0], source) for g in current[:MAX_DETAILED]]
    if report.runner == "generic" and not report.failures and report.tail:
        parts.append("Last lines of the output:\n" + report.tail)
    if old:
        parts.append("Pre-existing (failing before any change, and nothing in common with the task):\n"
                     + "\n".join(_overview(g) for g in old[:MAX_GROUPS]) + _more(len(old) - MAX_GROUPS, "cause"))
    return "\n\n".join(part for part in parts if part)


def _counts(report: TestReport) -> str:
    if not report.counts:
        return "" if report.runner == "generic" else f"No test ran ({report.runner})."
    text = ", ".join(f"{n} {'errors' if k == 'error' and n > 1 else k}" for k, n in report.counts)
    return f"{text} ({report.runner})." + (f" {report.interrupted}." if report.interrupted else "")


def _groups(failures: tuple[Failure, ...], baseline: frozenset[str]) -> list[_Group]:
    """By cause, in the order: new failures first, assertion failures before errors, then as reported."""
    by_cause: dict[str, list[Failure]] = {}
    for failure in failures:
        by_cause.setdefault(_cause(failure), []).append(failure)
    groups = [_Group(found[0].cause if len(found) == 1 else cause, tuple(found),
                     all(_key(f) in baseline for f in found)) for cause, found in by_cause.items()]
    return sorted(groups, key=lambda g: (g.pre_existing, g.failures[0].outcome != "failed"))


def _code_words(failure: Failure) -> set[str]:
    """The names a failure is about: its test, the functions and files on its traceback, its cause."""
    test = re.split(r"::|\.|\[", failure.test)
    names = [*test, *(t.removeprefix("test_") for t in test), failure.cause]
    names += [name for frame in failure.frames for name in (frame.function, Path(frame.path).stem)]
    # The parts of the test's own names (after its file) and of the functions it ran: a test of TLRUCache is
    # TLRUCacheTest::test_tlru_datetime, which shares no whole word with a report on `TLRUCache.expire`, and
    # was shown to the model as pre-existing although it failed only because of the bug. The file's name is left
    # whole: test_stats.py holds tests of formatting as well as of stats.
    named = [*failure.test.split("::")[1:], *(frame.function for frame in failure.frames)]
    return _words(" ".join(names)) | _parts(" ".join(named))


def _words(text: str) -> set[str]:
    return {w.lower() for w in _WORD.findall(text)} - _COMMON


def _task_words(task: str) -> set[str]:
    return _words(task) | _parts(task)


def _parts(text: str) -> set[str]:
    """The snake_case and CamelCase parts of the names in `text`, lowercased, as long as a word counts."""
    found = {part.lower() for word in _WORD.findall(text) for part in _PART.findall(word)}
    return {part for part in found if len(part) >= _MIN_PART} - _COMMON


def _overview(group: _Group) -> str:
    ids = [f.test for f in group.failures if f.test]
    shown = ", ".join(ids[:MAX_IDS]) + (f" and {len(ids) - MAX_IDS} more" if len(ids) > MAX_IDS else "")
    return f"- {group.label}: {group.cause}" + (f" ({shown})" if shown else "")


def _more(hidden: int, noun: str) -> str:
    return f"\n[{hidden} more {noun}{'s' if hidden > 1 else ''} not shown]" if hidden > 0 else ""


def _detail(failure: Failure, source: _Source) -> str:
    head = f"{failure.outcome.upper()} {failure.test}" if failure.test else "Traceback"
    lines = [head, *(f"  {line}" for line in failure.details)]
    for frame in [f for f in failure.frames if source.inside(f)][-MAX_FRAMES:]:
        lines.append(f"  at {source.where(frame)}")
    return "\n".join(lines)


class _Source:
    """The workspace's files as the frames name them: which are its own, their lines and functions."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._texts: dict[str, list[str]] = {}

    def _relative(self, path: str) -> str:
        p = Path(path)
        if p.is_absolute():
            return p.relative_to(self.root).as_posix() if p.is_relative_to(self.root) else ""
        return p.as_posix()

    def inside(self, frame: Frame) -> bool:
        rel = self._relative(frame.path)
        return bool(rel) and not any(part in rel for part in _LIBRARY) and (self.root / rel).is_file()

    def lines(self, rel: str) -> list[str]:
        if rel not in self._texts:
            try:
                self._texts[rel] = (self.root / rel).read_text(errors="replace").splitlines()
            except OSError:
                self._texts[rel] = []
        return self._texts[rel]

    def where(self, frame: Frame) -> str:
        """`path:line in function: source line`, the function found in the file where the output has none."""
        rel = self._relative(frame.path)
        lines = self.lines(rel)
        function = frame.function or enclosing_function("\n".join(lines), frame.line)
        text = lines[frame.line - 1].strip()[:MAX_SOURCE_CHARS] if 0 < frame.line <= len(lines) else ""
        return f"{rel}:{frame.line}" + (f" in {function}" if function else "") + (f": {text}" if text else "")


def enclosing_function(source: str, line: int) -> str:
    """The name of the innermost function or class around `line` of Python `source`, or ""."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return ""
    name, span = "", None
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.end_lineno:
            if node.lineno <= line <= node.end_lineno and (span is None or node.lineno >= span):
                name, span = node.name, node.lineno
    return name
