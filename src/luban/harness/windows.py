"""Windows of long functions: the run of whole statements around a suspicious line, short enough for a focused
rewrite (rewrites.py) where the function is too long to write out in one reply.

Why: in the bugfix runs fault localization put the bug in `Lexer.tokeniter`, about 200 lines, which no focused
rewrite would take, so every rewrite went to shorter, unlikelier suspects. A window is cut along the syntax, never
through a statement: the statements of one block, so that its rewrite, indented like it, fits where it was.
"""

from __future__ import annotations

import ast
import textwrap
from dataclasses import dataclass
from typing import Iterator

_STATEMENT_LISTS = ("body", "orelse", "finalbody")


@dataclass(frozen=True)
class Window:
    source: str  # whole lines, as they are in the file
    header: str  # the enclosing function's `def` line(s), dedented


def around(text: str, function: ast.FunctionDef | ast.AsyncFunctionDef, line: int, max_lines: int) -> Window | None:
    """The statements of the innermost block of `function` around `line` that fit in `max_lines`: the statement
    holding `line` and its neighbours, a line below and then above in turn, while they fit; None when `line` is
    in no statement or in the head of a statement too long to take whole (the `for ...:` line of a long loop)."""
    block = function.body
    while (here := _holding(block, line)) is not None:
        if _end(block[here]) - _start(block[here]) < max_lines:
            first, last = _widened(block, here, max_lines)
            lines = text.splitlines()
            head = lines[_start(function) - 1:_start(function.body[0]) - 1]
            return Window("\n".join(lines[_start(block[first]) - 1:_end(block[last])]),
                          textwrap.dedent("\n".join(head)).strip())
        block = next((inner for inner in _blocks(block[here]) if _holding(inner, line) is not None), None)
        if block is None:
            return None
    return None


def _widened(block: list[ast.stmt], at: int, max_lines: int) -> tuple[int, int]:
    first = last = at
    grew = True
    while grew:
        grew = False
        if last + 1 < len(block) and _end(block[last + 1]) - _start(block[first]) < max_lines:
            last, grew = last + 1, True
        if first > 0 and _end(block[last]) - _start(block[first - 1]) < max_lines:
            first, grew = first - 1, True
    return first, last


def _holding(block: list[ast.stmt], line: int) -> int | None:
    return next((i for i, stmt in enumerate(block) if _start(stmt) <= line <= _end(stmt)), None)


def _blocks(stmt: ast.stmt) -> Iterator[list[ast.stmt]]:
    for name in _STATEMENT_LISTS:
        inner = getattr(stmt, name, None)
        if _is_elif(stmt, inner):
            yield from _blocks(inner[0])  # an `elif` is no statement of its own: a window starting there won't parse
        elif isinstance(inner, list) and inner and isinstance(inner[0], ast.stmt):
            yield inner
    for part in [*getattr(stmt, "handlers", ()), *getattr(stmt, "cases", ())]:
        yield part.body


def _is_elif(stmt: ast.stmt, orelse: object) -> bool:
    """Whether `orelse` is the `elif` of `stmt`: the only statement, an If aligned with `stmt` (an `if` nested in
    an `else:` is indented deeper)."""
    return (isinstance(stmt, ast.If) and isinstance(orelse, list) and len(orelse) == 1
            and isinstance(orelse[0], ast.If) and orelse[0].col_offset == stmt.col_offset)


def _start(stmt: ast.stmt) -> int:
    return min([stmt.lineno, *(d.lineno for d in getattr(stmt, "decorator_list", ()))])


def _end(stmt: ast.stmt) -> int:
    return stmt.end_lineno or stmt.lineno
