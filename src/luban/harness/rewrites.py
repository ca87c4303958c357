"""Focused rewrites: a second source of candidate edits for the verifier (candidates.py).

Deep in an agent conversation a 1.5B model patches symptoms: on the bundled example it kept special-casing
the one failing input. Asked in a short, separate request to rewrite just the definition the failing tests
call most, shown its current text and the failing output and nothing else, the same model writes a correct
function most of the time (the task now has HumanEval's shape). Its rewrite becomes an ordinary edit_file
call, tried on a copy and judged by the tests like every sampled edit; the model's words decide nothing.
"""

from __future__ import annotations

import ast
import re
import textwrap
from dataclasses import dataclass, replace
from typing import Mapping, Sequence

from ..types import Message, Request, ToolCall
from ..workspace import Workspace
from .faults import Suspect
from .gate import TestRun, quote
from . import analogues, windows
from .guards import Guards

_SYSTEM = "You are a careful programmer. You fix bugs by reading the code and the failing tests closely."
_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
_DEFINITIONS = (*_FUNCTIONS, ast.ClassDef)
SUSPECTS_TRIED = 3
# Longer than the 30 lines a briefing quotes: library functions carry long docstrings. At 30 a jinja2 filter of 46
# lines, the top suspect by far, was never rewritten, and every rewrite went to the traceback's plumbing instead.
REWRITE_MAX_LINES = 60
WINDOW_MAX_LINES = 30  # of a longer function, the statements around its likeliest line (windows.py)
# Suspects scored under half the top one's are not rewritten: in four jinja2 runs the top suspect was the bug each
# time, and suspects at a quarter of its score (Template.render, Environment.handle_exception, met on every
# traceback) took two thirds of the rewrites.
CLOSE_TO_TOP = 0.5
TEST_MAX_LINES = 30  # a failing test shown with a rewrite request, decorators included
_FENCED = re.compile(r"```[\w+-]*[ \t]*\n(.*?)```", re.DOTALL)


@dataclass(frozen=True)
class Target:
    """The definition to rewrite: its file, its name, and its text as it is now (whole lines); or, for a function
    too long to rewrite whole, a window of its statements (windows.py) and the function's `def` line(s)."""

    path: str
    name: str
    source: str
    test: tuple[str, str] | None = None  # a failing test's path and text: what it expects, where a digest may not say
    header: str = ""  # set for a window: the `def` line(s) of the function `source` is a part of
    like: str = ""  # the function in the same file most like this one (analogues.py), shown for comparison

    @property
    def key(self) -> str:
        return f"{self.path}:{self.name}"


def target(run: TestRun, ws: Workspace, guards: Guards, suspects: Sequence[Suspect] = (),
           tried: Mapping[str, int] | None = None) -> Target | None:
    """The definition to rewrite: of fault localization's first SUSPECTS_TRIED suspects that score close to the top
    one and may be changed (whole, or for a function too long to write out in one reply a window of the statements
    around its likeliest line), the one rewritten least often so far (`tried`, by Target.key), the likeliest first
    among equals; without such suspects, the definition the failing lines call
    most (a failing assertion's traceback often ends in the test, and then names only what the test calls).
    (Measured: every rewrite of a run went to the top suspect, the function where the exception surfaced, twelve
    times in one run, while the bug sat in the third, the property that returned None. And the definition the
    failing lines call is often plumbing: jinja2's Template.render for every template test.)"""
    top = max((s.score for s in suspects), default=0.0)
    likely = [s for s in suspects[:SUSPECTS_TRIED] if s.score >= CLOSE_TO_TOP * top]
    test = failing_test(run, ws)
    goals = [goal for s in likely if not guards.is_protected(s.path) and (goal := _goal(ws, s, test))]
    if not goals and (called := _called(run, ws, guards)):
        goals.append(replace(called, test=test))
    tried = tried or {}
    return min(goals, key=lambda g: tried.get(g.key, 0)) if goals else None


def _goal(ws: Workspace, suspect: Suspect, test: tuple[str, str] | None) -> Target | None:
    """The suspect's whole definition as a Target, or the window around its likeliest line when it is too long."""
    found = _located(ws, suspect.path, suspect.function)
    if found is None:
        return None
    text, node = found
    name = suspect.function.rsplit(".", 1)[-1]
    lines = text.splitlines()[node.lineno - 1:node.end_lineno]
    if len(lines) <= REWRITE_MAX_LINES:
        like = analogues.most_like(text, node) if isinstance(node, _FUNCTIONS) else ""
        return Target(suspect.path, name, "\n".join(lines), test, like=like)
    if isinstance(node, _FUNCTIONS) and (window := windows.around(text, node, suspect.line, WINDOW_MAX_LINES)):
        return Target(suspect.path, name, window.source, test, window.header)
    return None


def _called(run: TestRun, ws: Workspace, guards: Guards) -> Target | None:
    found = quote(run, ws)
    if not found or not found[1]:
        return None
    pointer, source, _ = found
    path, _, rest = pointer.partition(":")
    name = rest.split(" ", 1)[1].removeprefix("class ").split("(", 1)[0]
    return None if guards.is_protected(path) else Target(path, name, source)


def failing_test(run: TestRun, ws: Workspace) -> tuple[str, str] | None:
    """The path and text of the first failing test that can be shown whole (pytest ids such as
    `tests/test_x.py::Class::test[p]`), or None.

    Why: a failure's digest names the exception, not always what the test expected. Shown only
    `TypeError: unsupported operand type(s) for -: 'str' and 'str'`, the 1.5B rewrote `token - ".1"` into other
    subtractions and int() conversions in each of seven rewrites; the test's parameters say what it must give.
    Its decorators come with it, as pytest's parameters are where the expected values often are."""
    for failure in run.report.failures if run.report else ():
        path, _, names = failure.test.partition("::")
        qualified = ".".join(name.split("[", 1)[0] for name in names.split("::"))
        if path.endswith(".py") and qualified and (source := definition(ws, path, qualified, TEST_MAX_LINES, True)):
            return path, textwrap.dedent(source)
    return None


def definition(ws: Workspace, rel: str, qualified: str, max_lines: int, decorated: bool = False) -> str:
    """The text of the function `qualified` (`Cart.total`) in `rel`, whole lines from its `def` (from its first
    decorator if `decorated`), or "" when it cannot be found or is longer than `max_lines`."""
    found = _located(ws, rel, qualified)
    if found is None:
        return ""
    text, node = found
    start = min([node.lineno, *(d.lineno for d in node.decorator_list)]) if decorated else node.lineno
    lines = text.splitlines()[start - 1:node.end_lineno]
    return "\n".join(lines) if len(lines) <= max_lines else ""


def _located(ws: Workspace, rel: str, qualified: str) -> tuple[str, ast.FunctionDef | ast.AsyncFunctionDef |
                                                                  ast.ClassDef] | None:
    """The text of `rel` and the node of its definition `qualified`, or None."""
    try:
        text = (ws.root / rel).read_text(errors="replace")
        body = ast.parse(text).body
    except (OSError, SyntaxError, ValueError):
        return None
    node = None
    for name in qualified.split("."):
        node = next((n for n in body if isinstance(n, _DEFINITIONS) and n.name == name), None)
        if node is None:
            return None
        body = node.body
    return (text, node) if node else None


def request(goal: Target, run: TestRun, temperature: float, max_tokens: int | None) -> Request:
    kind = "class" if goal.source.lstrip().startswith("class ") else "function"
    test = f"One of them, in {goal.test[0]}:\n\n```python\n{goal.test[1]}\n```\n\n" if goal.test else ""
    if goal.header:
        return _window_request(goal, f"These tests fail:\n\n{run.view.strip()}\n\n{test}", temperature, max_tokens)
    # A function's docstring is put back by `rewritten`: the 1.5B copied 300 tokens of it into every rewrite,
    # over ten seconds of decoding each on 2 cores.
    keep = ("Keep its name and signature; leave out its docstring, which stays as it is." if kind == "function"
            else "Keep its name, signature and docstring.")
    like = (f"A function much like it in the same file, to compare with (a difference may be the bug, or may be "
            f"meant):\n\n```python\n{textwrap.dedent(goal.like)}\n```\n\n" if goal.like else "")
    prompt = (f"These tests fail:\n\n{run.view.strip()}\n\n{test}The {kind} they call, in {goal.path}:\n\n"
              f"```python\n{textwrap.dedent(goal.source)}\n```\n\n{like}"
              f"Find the bug in `{goal.name}` and write the whole corrected {kind} in one ```python block. "
              f"{keep} Change as little as the bug needs. Do not special-case the test inputs: make it right for "
              "every input its docstring allows.")
    return _asking(prompt, goal, temperature, max_tokens)


def _asking(prompt: str, goal: Target, temperature: float, max_tokens: int | None) -> Request:
    """The request, stopped once its reply holds a usable rewrite. Why: of the 107 rewrite replies in bf-51, the text
    after the first code block (what the fix does, unread) was 13 % of their characters, and decoding was three
    quarters of a run's model time."""
    return Request((Message("system", _SYSTEM), Message("user", prompt)), (), temperature, max_tokens,
                   enough=lambda text: rewritten(text, goal) is not None)


def _window_request(goal: Target, failing: str, temperature: float, max_tokens: int | None) -> Request:
    prompt = (f"{failing}The function they call, `{goal.name}` in {goal.path}, is too long to show whole. "
              f"It starts\n\n```python\n{goal.header}\n```\n\nand these lines of it are the likeliest place of the "
              f"bug:\n\n```python\n{textwrap.dedent(goal.source)}\n```\n\nFind the bug in these lines and write them "
              "corrected in one ```python block: all of them, in the same order, changed only where the bug is. Do "
              "not special-case the test inputs.")
    return _asking(prompt, goal, temperature, max_tokens)


def rewritten(reply: str, goal: Target) -> str | None:
    """The definition named `goal.name` from the reply's first code block that parses, indented as the original,
    or None when there is none or it changes nothing; for a window, the first block that parses and keeps at
    least half its lines."""
    if goal.header:
        return _rewritten_window(reply, goal)
    for block in _FENCED.findall(reply):
        code = textwrap.dedent(block)
        try:
            tree = ast.parse(code)
        except SyntaxError:
            continue
        for node in tree.body:
            if isinstance(node, _DEFINITIONS) and node.name == goal.name:
                lines = code.splitlines()[node.lineno - 1:node.end_lineno]
                lines = _with_docstring(lines, node, goal.source)
                indent = goal.source[:len(goal.source) - len(goal.source.lstrip())]
                new = textwrap.indent("\n".join(lines), indent, lambda line: bool(line.strip()))
                return None if new.strip() == goal.source.strip() else new
    return None


def _rewritten_window(reply: str, goal: Target) -> str | None:
    indent = goal.source[:len(goal.source) - len(goal.source.lstrip())]
    for block in _FENCED.findall(reply):
        code = textwrap.dedent(block).strip("\n")
        try:
            tree = ast.parse(code)
        except SyntaxError:
            continue
        # A whole function in place of its few lines, or a few lines in place of many, is not the window rewritten.
        whole = any(isinstance(node, _FUNCTIONS) and node.name == goal.name for node in tree.body)
        if whole or 2 * len(code.splitlines()) < len(goal.source.splitlines()):
            continue
        new = textwrap.indent(code, indent, lambda line: bool(line.strip()))
        return None if new.strip() == goal.source.strip() else new
    return None


def _with_docstring(lines: list[str], node: ast.AST, original: str) -> list[str]:
    """The reply's function `lines` (parsed as `node`) with the original's docstring put back where the reply
    left it out, as the request asks."""
    old = _docstring(original)
    if not old or not isinstance(node, _FUNCTIONS) or ast.get_docstring(node) is not None:
        return lines
    first = node.body[0]
    start = min([first.lineno, *(d.lineno for d in getattr(first, "decorator_list", ()))])
    if start == node.lineno:
        return lines  # `def f(): return x` has no line to put a docstring above
    at, indent = start - node.lineno, " " * first.col_offset
    return [*lines[:at], *(indent + line if line.strip() else "" for line in old), *lines[at:]]


def _docstring(source: str) -> list[str]:
    """The docstring lines of the function `source`, indented relative to its body, or []."""
    code = textwrap.dedent(source)
    try:
        node = ast.parse(code).body[0]
    except (SyntaxError, IndexError):
        return []
    if not isinstance(node, _FUNCTIONS) or ast.get_docstring(node) is None:
        return []
    doc = node.body[0]
    lines = code.splitlines()[doc.lineno - 1:doc.end_lineno]
    return [line[doc.col_offset:] if not line[:doc.col_offset].strip() else line.lstrip() for line in lines]


def edit_call(goal: Target, new: str, call_id: str) -> ToolCall:
    return ToolCall(call_id, "edit_file", {"path": goal.path, "old_string": goal.source, "new_string": new})


def thought(goal: Target) -> str:
    what = (f"the likeliest lines of {goal.name} in {goal.path}" if goal.header
            else f"{goal.name} in {goal.path} as a whole")
    return f"Rewrite {what} so that the failing tests pass."
