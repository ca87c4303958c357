"""Fault localization: the functions most likely to hold the bug, from the coverage spectrum (a test's
traceback often ends on its own assert line; a line only failing tests run does not), the failures' frames
in the workspace, and the names the failures and the task mention, among the repo map's definitions."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path
from typing import Callable, Iterable, Mapping, Sequence

from ..tools import bash
from ..workspace import Workspace
from .guards import TEST_FILES
from .literals import places, quoted
from .spectrum import measure
from .testreport import Failure, TestReport
from .testrun import Execute

# How much each kind of evidence counts. The spectrum is the strongest where there is one; a frame says where
# the failure surfaced, which is near the bug more often than not; a name the report mentions, least. A
# definition the task spells out by its qualified name (`pkg.module.Class.method`) counts as much as a frame:
# a user who names the call that misbehaves points at it, where a bare word such as `length` may be anything.
# A value the report or a failure quotes, spelled in few places of the code (literals.py), counts between a name and a
# frame: a rare string says more than a bare name, less than where the failure surfaced.
WEIGHTS = {"spectrum": 0.6, "frames": 0.3, "names": 0.1, "qualified": 0.3, "literals": 0.2}
# Each frame further out from where the exception was raised counts this much less.
FRAME_DECAY = 0.7
TOP = 5
# In a failing gate's briefing or refusal: this many suspects, from a second run of the tests under coverage
# when one run took at most COVERAGE_MAX_S, else from the run's own frames and names.
BRIEFING_TOP, COVERAGE_MAX_S = 3, 60.0
# The harness's protected test files and pytest's conftest: test code is never a suspect.
TEST_CODE = (*TEST_FILES, "conftest.py", "*/conftest.py")
# Names defined in more files than this (`get`, `run`, `__init__`) point nowhere in particular.
COMMON_DEFINERS = 5
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{2,}")
_DOTTED = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+")


@dataclass(frozen=True)
class Suspect:
    path: str
    line: int  # its most suspicious line; its first line when only its name was mentioned
    function: str  # qualified: `Cart.total`
    score: float

    def __str__(self) -> str:
        return f"{self.path}:{self.line} {self.function} {self.score:.2f}"


@dataclass(frozen=True)
class Localization:
    suspects: tuple[Suspect, ...]
    evidence: str  # what the ranking rests on, in words

    def render(self) -> str:
        if not self.suspects:
            return f"No suspects: {self.evidence}."
        return (f"Most likely places of the bug, best first (path:line function score), from {self.evidence}:\n"
                + "\n".join(str(s) for s in self.suspects))


def locate(command: str, ws: Workspace, *, task: str = "", timeout: int = 600, top: int = TOP,
           execute: Execute = bash.execute, which: Callable[[str], str | None] | None = None) -> Localization:
    """Run `command` under coverage and rank the workspace's functions; `task` is the user's report."""
    measured = measure(command, ws, timeout, execute, which)
    if measured.tested.passed:
        return Localization((), "the tests pass, so no failing test points anywhere")
    report = measured.tested.report
    scores = measured.spectrum.ochiai() if measured.spectrum else {}
    suspects = rank(ws.root, scores, report.failures, mentions(task, report), task)[:top]
    if measured.spectrum is None:
        return Localization(tuple(suspects), f"traceback frames and names in the failures only (no coverage: "
                                             f"{measured.problem})")
    spectrum = measured.spectrum
    return Localization(tuple(suspects), f"coverage of {len(spectrum.failing)} failing and "
                                         f"{len(spectrum.passing)} passing tests, traceback frames and names "
                                         "in the failures")


def for_briefing(command: str, ws: Workspace, report: TestReport, seconds: float, *, task: str = "",
                 top: int = BRIEFING_TOP) -> Localization:
    """The top suspects to show when the test gate fails; `report` and `seconds`: the gate's own run."""
    if seconds <= COVERAGE_MAX_S:
        return locate(command, ws, task=task, top=top)
    suspects = rank(ws.root, {}, report.failures, mentions(task, report), task)[:top]
    return Localization(tuple(suspects), "traceback frames and names in the failures only (the tests take too long "
                                         "to run again under coverage)")


def mentions(task: str, report: TestReport) -> str:
    parts = [task]
    for failure in report.failures:
        parts += [failure.test, *failure.details]
    return "\n".join(parts)


def rank(root: Path, line_scores: Mapping[tuple[str, int], float], failures: Sequence[Failure], text: str,
         task: str = "", test_code: Sequence[str] = TEST_CODE, weights: Mapping[str, float] = WEIGHTS
         ) -> list[Suspect]:
    """Functions by their combined evidence (each kind counted as `weights` says), best first; ties go to the path,
    then the line. `text`: where names count as mentions (the task and the failures); `task`: where qualified
    names count more."""
    spans = _Spans(root)
    evidence: dict[tuple[str, str], dict[str, float]] = {}
    lines: dict[tuple[str, str], int] = {}

    def add(rel: str, function: str, kind: str, score: float, line: int) -> None:
        key = (rel, function)
        found = evidence.setdefault(key, {})
        if score > found.get(kind, 0.0):
            found[kind] = score
            if kind == "spectrum" or key not in lines:
                lines[key] = line

    for (rel, line), score in line_scores.items():
        if not _is_test(rel, test_code) and (function := spans.function(rel, line)):
            add(rel, function, "spectrum", score, line)
    for rel, line, weight in _frame_weights(root, failures, test_code):
        if function := spans.function(rel, line):
            add(rel, function, "frames", weight, line)
    tags = _source_tags(root, test_code)
    for rel, function, line, kind in _mentioned(tags, text, set(_DOTTED.findall(task))):
        add(rel, function, kind, 1.0, line)
    python = [rel for rel in tags if rel.endswith(".py")]
    for rel, function, line in places(root, python, quoted(text), spans.function):
        add(rel, function, "literals", 1.0, line)
    ranked = sorted((-sum(weights[k] * v for k, v in found.items()), rel, lines[(rel, fn)], fn)
                    for (rel, fn), found in evidence.items())
    return [Suspect(rel, line, fn, round(-score, 2)) for score, rel, line, fn in ranked]


def _is_test(rel: str, test_code: Sequence[str]) -> bool:
    return any(fnmatch(rel, pattern) for pattern in test_code)


def _frame_weights(root: Path, failures: Sequence[Failure], test_code: Sequence[str]
                   ) -> Iterable[tuple[str, int, float]]:
    """Each failure's workspace frames outside the tests, from where it was raised outwards, each weaker."""
    for failure in failures:
        weight = 1.0
        for frame in reversed(failure.frames):
            path = Path(frame.path)
            rel = path.relative_to(root).as_posix() if path.is_absolute() and path.is_relative_to(root) else (
                "" if path.is_absolute() else path.as_posix())
            if rel and not _is_test(rel, test_code) and "site-packages" not in rel and (root / rel).is_file():
                yield rel, frame.line, weight
                weight *= FRAME_DECAY


def _source_tags(root: Path, test_code: Sequence[str]) -> dict:
    """The repo map's definitions of the workspace's source files outside the tests, by path."""
    from ..context.repomap import definitions  # deferred: tree-sitter

    return {rel: t for rel, t in definitions(root).items() if not _is_test(rel, test_code)}


def _mentioned(tags: Mapping, text: str, dotted: set[str]) -> Iterable[tuple[str, str, int, str]]:
    """(path, qualified name, line, kind) of the definitions in `tags` that `text` mentions by name ("names"; not
    the names defined all over) or `dotted` spells out ("qualified", however common the name)."""
    words = set(_NAME.findall(text))
    if not words:
        return
    definers: dict[str, int] = {}
    for found in tags.values():
        for name in {d.name for d in found.definitions}:
            definers[name] = definers.get(name, 0) + 1
    for rel, found in tags.items():
        for d in found.definitions:
            if d.name not in words or d.name.startswith("__"):
                continue
            function = _qualified(found.definitions, d)
            if definers[d.name] <= COMMON_DEFINERS:
                yield rel, function, d.line, "names"
            if _spelled_out(rel, function, dotted):
                yield rel, function, d.line, "qualified"


def _spelled_out(rel: str, function: str, dotted: set[str]) -> bool:
    """Whether a dotted name of the task ends with `function` qualified by its class (`Cart.total`) or, for a
    module-level function, by its module (`pricing.total` for pricing.py)."""
    owner = function if "." in function else f"{Path(rel).stem}.{function}"
    return any(name == owner or name.endswith(f".{owner}") for name in dotted)


def _qualified(definitions, definition) -> str:
    names = [definition.name]
    while definition.parent is not None:
        definition = definitions[definition.parent]
        names.append(definition.name)
    return ".".join(reversed(names))


class _Spans:
    """The innermost function or method around a line of a workspace Python file, by qualified name."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._files: dict[str, list[tuple[int, int, str]]] = {}

    def function(self, rel: str, line: int) -> str:
        inner = [(start, name) for start, end, name in self._spans(rel) if start <= line <= end]
        return max(inner)[1] if inner else ""

    def _spans(self, rel: str) -> list[tuple[int, int, str]]:
        if rel not in self._files:
            try:
                tree = ast.parse((self.root / rel).read_bytes())
            except (OSError, SyntaxError, ValueError):
                tree = None
            self._files[rel] = list(_functions(tree.body, "")) if tree else []
        return self._files[rel]


def _functions(body: list[ast.stmt], prefix: str) -> Iterable[tuple[int, int, str]]:
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            name = f"{prefix}{node.name}"
            if not isinstance(node, ast.ClassDef):
                yield node.lineno, node.end_lineno or node.lineno, name
            yield from _functions(node.body, f"{name}.")
