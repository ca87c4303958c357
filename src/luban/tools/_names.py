"""Names a Python edit leaves undefined: used, but bound nowhere in the module and not a builtin.

Aider's lint gate reports these (flake8's F821) with the edit. The 1.5B rewrote a HumanEval solution with
write_file from its own memory of the file, dropped `from typing import List` with the docstring, and ran to
the time limit on a file that raised NameError on import (he-31, HumanEval-129). Only names that the edit
made undefined are reported, so code that already leaned on names from elsewhere (a star import, a Python 2
branch) does not nag on every edit.
"""

from __future__ import annotations

import ast
import builtins
import symtable

LISTED_NAMES = 5
EXCERPT_CHARS = 80
# Names every module has without binding them.
_MODULE_NAMES = frozenset({"__name__", "__file__", "__doc__", "__spec__", "__loader__", "__package__",
                           "__builtins__", "__path__", "__cached__", "__annotations__", "__dict__"})
_KNOWN = frozenset(dir(builtins)) | _MODULE_NAMES


def undefined_note(path: str, before: str | None, after: str) -> str:
    """A sentence naming what `after` uses that it defines nowhere and `before` did not already lack; ''
    when there is none, or when either text cannot be judged (no parse, a star import)."""
    now = _undefined(after)
    if not now:
        return ""
    was = set() if before is None else _undefined(before)
    if was is None:
        return ""
    new = sorted(now.keys() - was, key=lambda name: now[name])
    if not new:
        return ""
    shown = "; ".join(_where(name, now[name][0], after) for name in new[:LISTED_NAMES])
    more = f"; and {len(new) - LISTED_NAMES} more" if len(new) > LISTED_NAMES else ""
    return (f"Warning: {path} now uses names that nothing in it defines or imports (NameError when that code runs): "
            f"{shown}{more}. Add the missing import or definition.")


def _undefined(text: str) -> dict[str, tuple[int, int]] | None:
    """Each undefined name with the (line, column) of its first use; None where the text cannot be judged."""
    try:
        tree = ast.parse(text)
        table = symtable.symtable(text, "<edit>", "exec")
    except (SyntaxError, ValueError):
        return None
    if any(isinstance(node, ast.ImportFrom) and any(a.name == "*" for a in node.names) for node in ast.walk(tree)):
        return None  # a star import may bind anything
    defined, used = _bound_and_global_uses(table)
    missing = used - defined - _KNOWN
    first: dict[str, tuple[int, int]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id in missing:
            at = (node.lineno, node.col_offset)
            first[node.id] = min(first.get(node.id, at), at)
    return first


def _bound_and_global_uses(top: symtable.SymbolTable) -> tuple[set[str], set[str]]:
    """The module's bound names (with those a function assigns after `global`), and every name some scope
    reads from the module's globals."""
    defined = {s.get_name() for s in top.get_symbols() if s.is_assigned() or s.is_imported() or s.is_namespace()}
    used: set[str] = set()
    tables = [top]
    while tables:
        table = tables.pop()
        tables.extend(table.get_children())
        for symbol in table.get_symbols():
            if symbol.is_declared_global() and symbol.is_assigned():
                defined.add(symbol.get_name())
            if symbol.is_referenced() and symbol.is_global():
                used.add(symbol.get_name())
    return defined, used


def _where(name: str, line: int, text: str) -> str:
    lines = text.splitlines()
    excerpt = lines[line - 1].strip() if 0 < line <= len(lines) else ""
    if len(excerpt) > EXCERPT_CHARS:
        excerpt = excerpt[: EXCERPT_CHARS - 3] + "..."
    return f"`{name}` (line {line}: `{excerpt}`)"
