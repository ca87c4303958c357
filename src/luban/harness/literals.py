"""Quoted values as evidence: a value the report or a failure quotes (`pluralize('cow')` gives 'cows', not 'kine')
that the code spells as a string literal in only a few places points at the function holding it, or, for a
statement that runs at import (a table built by module-level calls), at the functions that statement calls.

Why: coverage records import-time lines under no test, so the spectrum cannot rank them (spectrum.py leaves them
out). In inflection-27320799 the bug sat in a helper that builds the rule table at import, `_irregular('cow',
'kine')`, and every rewrite went to `pluralize`, which the report names. A programmer greps for the value."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Callable, Iterable, Sequence

# The contents of a '...' or "..." quote on one line: three characters at least, as 'a' or '' match anywhere.
_QUOTED = re.compile(r"""(['"])((?:(?!\1)[^\\\n]){3,80})\1""")
# A value spelled in more places than this (an encoding, a format) points nowhere in particular.
MAX_PLACES = 3


def quoted(text: str) -> set[str]:
    """The values `text` quotes."""
    return {found[2] for found in _QUOTED.finditer(text) if found[2].strip()}


def places(root: Path, files: Iterable[str], values: set[str], function_at: Callable[[str, int], str]
           ) -> list[tuple[str, str, int]]:
    """(path, qualified function, line) for each place a quoted value is spelled, when it is spelled in at most
    MAX_PLACES places of `files`: the function around it, or each function of the same file that the module-level
    statement holding it calls. `function_at(path, line)` names the innermost function around a line, or ""."""
    if not values:
        return []
    spelled: dict[str, list[tuple[str, ast.Module, ast.Constant]]] = {}
    for rel in files:
        tree = _parsed(root / rel, values)
        for node in ast.walk(tree) if tree else ():
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in values:
                spelled.setdefault(node.value, []).append((rel, tree, node))
    found: list[tuple[str, str, int]] = []
    for where in spelled.values():
        if len(where) > MAX_PLACES:
            continue
        for rel, tree, node in where:
            if function := function_at(rel, node.lineno):
                found.append((rel, function, node.lineno))
            else:
                found += [(rel, name, line) for name, line in _called_at(tree, node.lineno)]
    return found


def _parsed(path: Path, values: set[str]) -> ast.Module | None:
    """The file's syntax tree when its text holds one of `values` (most files are never parsed: a large repository
    has thousands), else None."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
        return ast.parse(text) if any(value in text for value in values) else None
    except (OSError, SyntaxError, ValueError):
        return None


def _called_at(tree: ast.Module, line: int) -> Sequence[tuple[str, int]]:
    """The module-level functions of `tree` that its top-level statement around `line` calls, with their lines."""
    defined = {node.name: node.lineno for node in tree.body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))}
    statement = next((node for node in tree.body if node.lineno <= line <= (node.end_lineno or node.lineno)), None)
    if statement is None or isinstance(statement, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
        return ()  # a class attribute or a default value: what calls in the definition's body do is another matter
    called = {node.func.id for node in ast.walk(statement)
              if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in defined}
    return sorted((name, defined[name]) for name in called)
