"""Does a source file still parse after an edit: tree-sitter for the languages the repo map knows, and for
Python also the compiler, which catches what tree-sitter forgives (a body that lost its indentation)."""

from __future__ import annotations

import ast
from dataclasses import dataclass

from ..context.tags import language_for
from ._names import undefined_note

EXCERPT_CHARS = 120


@dataclass(frozen=True)
class Problem:
    line: int
    message: str
    text: str  # the line itself, stripped and shortened

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}" + (f": `{self.text}`" if self.text else "")


@dataclass(frozen=True)
class Judgement:
    apply: bool
    said: str  # what to tell the model ("" when all is well)


def judge(path: str, before: str | None, after: str) -> Judgement:
    """Whether an edit that turns `before` (None: a new file) into `after` may be applied, and what to say.

    An edit that breaks a file which parsed is refused, with the error, and the file keeps its old text: the
    issue's rule is "never leave code that does not parse", and a weak model told "applied, but line 3 has a
    syntax error" moves on as often as not (three of Luban's eleven failed HumanEval runs ended on a file that
    did not parse). A file that did not parse before is changed as asked, with the error still reported: a
    repair in several steps must be able to take its first step. A new file is refused only for Python,
    whose compiler confirms the error; tree-sitter's other grammars stumble on valid code (C macros).
    A Python edit that parses but leaves a name undefined is applied with a warning (_names).
    """
    language = language_for(path)
    if language is None:
        return Judgement(True, "")
    if language == "python":
        strict = before is not None and _compiles(before)
        was_broken = before is not None and _python_problem(before, strict=False) is not None
        problem = _python_problem(after, strict=strict)
    else:
        was_broken = before is not None and _tree_problem(before, language) is not None
        problem = _tree_problem(after, language)
    if problem is None:
        return Judgement(True, undefined_note(path, before, after) if language == "python" else "")
    if was_broken or (before is None and language != "python"):
        return Judgement(True, f"{path} does not parse as {language} ({problem}).")
    verb = "would not parse" if before is None else "would no longer parse"
    return Judgement(False, f"{path} {verb} as {language} ({problem}).")


def problem_of(path: str, text: str) -> Problem | None:
    """The first syntax error of `text` as the file `path`, or None (also for languages it cannot check)."""
    language = language_for(path)
    if language is None:
        return None
    return _python_problem(text, strict=True) if language == "python" else _tree_problem(text, language)


def _compiles(text: str) -> bool:
    try:
        compile(text, "<edit>", "exec", ast.PyCF_ONLY_AST, dont_inherit=True)
        return True
    except (SyntaxError, ValueError):
        return False


def _python_problem(text: str, strict: bool) -> Problem | None:
    """The compiler's error. Not `strict` (the old text did not compile either: code for a newer Python, or a
    new file), it counts only where tree-sitter agrees, or for indentation, which no Python version allows."""
    try:
        compile(text, "<edit>", "exec", ast.PyCF_ONLY_AST, dont_inherit=True)
        return None
    except SyntaxError as error:
        found = Problem(error.lineno or 1, f"{type(error).__name__}: {error.msg}", _line(text, error.lineno or 1))
        if strict or isinstance(error, IndentationError) or _tree_problem(text, "python"):
            return found
        return None
    except ValueError as error:  # NUL bytes
        return Problem(1, str(error), "")


def _tree_problem(text: str, language: str) -> Problem | None:
    from tree_sitter_language_pack import get_parser  # deferred: tree-sitter

    root = get_parser(language).parse(text.encode("utf-8", errors="surrogateescape")).root_node
    if not root.has_error:
        return None
    node = _first_error(root)
    if node is None:
        return Problem(1, "syntax error", "")
    line = node.start_point[0] + 1
    what = f"missing `{node.type}`" if node.is_missing else "syntax error"
    return Problem(line, what, _line(text, line))


def _first_error(node):
    """The first ERROR or MISSING node in source order, descending only into subtrees that hold one."""
    if node.type == "ERROR" or node.is_missing:
        return node
    for child in node.children:
        if child.has_error or child.is_missing:
            found = _first_error(child)
            if found is not None:
                return found
    return None


def _line(text: str, number: int) -> str:
    lines = text.splitlines()
    line = lines[number - 1].strip() if 0 < number <= len(lines) else ""
    return line if len(line) <= EXCERPT_CHARS else line[: EXCERPT_CHARS - 3] + "..."
