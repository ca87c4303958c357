"""Single-site bugs found with `ast` and applied as exact text edits, so the rest of the file stays
byte-identical: operator and comparison flips, constant changes, a `not` removed or added, a condition
dropped, operands swapped, off-by-one bounds, `and`/`or` swapped, a return value replaced."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

BINOP_FLIPS = {ast.Add: ("+", "-"), ast.Sub: ("-", "+"), ast.Mult: ("*", "/"), ast.Div: ("/", "*"),
               ast.FloorDiv: ("//", "*"), ast.Mod: ("%", "//"), ast.BitAnd: ("&", "|"), ast.BitOr: ("|", "&"),
               ast.LShift: ("<<", ">>"), ast.RShift: (">>", "<<")}
COMPARE_FLIPS = {ast.Lt: ("<", "<="), ast.LtE: ("<=", "<"), ast.Gt: (">", ">="), ast.GtE: (">=", ">"),
                 ast.Eq: ("==", "!="), ast.NotEq: ("!=", "=="), ast.In: ("in", "not in"),
                 ast.NotIn: ("not in", "in"), ast.Is: ("is", "is not"), ast.IsNot: ("is not", "is")}
NON_COMMUTATIVE = (ast.Sub, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow)
# Bounds that are simple enough to take `+ 1` / `- 1` without parentheses.
ATOMS = (ast.Name, ast.Attribute, ast.Call, ast.Subscript, ast.Constant)
_GAP = r"[\s()\\]*"  # what may sit between an operand and its operator: spaces, parentheses, continuations


class EditMismatch(ValueError):
    """An edit's old text is not where the edit says it is: the tree is not the one it was made for."""


@dataclass(frozen=True)
class Edit:
    """Replace `old` with `new` at character `offset` of `file` (relative to the tree's top)."""

    file: str
    offset: int
    old: str
    new: str

    def apply_to(self, text: str) -> str:
        if text[self.offset:self.offset + len(self.old)] != self.old:
            raise EditMismatch(f"{self.file}: expected {self.old!r} at offset {self.offset}")
        return text[:self.offset] + self.new + text[self.offset + len(self.old):]

    def revert(self) -> Edit:
        return Edit(self.file, self.offset, self.new, self.old)

    def apply(self, root: Path) -> None:
        path = root / self.file
        # newline="" keeps line endings exactly as they are.
        changed = self.apply_to(read_exact(path) if path.exists() else "")  # before opening it for writing
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "w", encoding="utf-8", newline="") as f:
            f.write(changed)


@dataclass(frozen=True)
class Mutation:
    edit: Edit
    kind: str
    line: int
    function: str  # qualified name of the enclosing function

    def describe(self) -> str:
        return f"{self.kind} in {self.function} ({self.edit.file}:{self.line}): {self.edit.old!r} -> {self.edit.new!r}"


def read_exact(path: Path) -> str:
    """A file's text with its line endings untouched."""
    with open(path, encoding="utf-8", newline="") as f:
        return f.read()


class _Source:
    """A file's text with ast positions (line, UTF-8 byte column) turned into character offsets."""

    def __init__(self, text: str):
        self.text = text
        # Lines as the tokenizer sees them (not str.splitlines, which also splits at \f and \u2028).
        self._lines = re.findall(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$", text)
        self._starts = [0]
        for line in self._lines:
            self._starts.append(self._starts[-1] + len(line))

    def offset(self, line: int, col: int) -> int:
        chars = len(self._lines[line - 1].encode("utf-8")[:col].decode("utf-8", "replace"))
        return self._starts[line - 1] + chars

    def start(self, node: ast.AST) -> int:
        return self.offset(node.lineno, node.col_offset)

    def end(self, node: ast.AST) -> int:
        return self.offset(node.end_lineno, node.end_col_offset)

    def segment(self, node: ast.AST) -> str:
        return self.text[self.start(node):self.end(node)]


def mutations(root: Path, rel: str) -> list[Mutation]:
    """Every mutation of the functions in the file `rel` under `root`, in source order."""
    text = read_exact(root / rel)
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return []
    src = _Source(text)
    found: list[Mutation] = []
    for qualname, func in _functions(tree):
        for node in _own_nodes(func):
            for kind, start, old, new in _sites(src, node):
                line = text.count("\n", 0, start) + 1
                if "pragma: no cover" not in src._lines[line - 1]:
                    found.append(Mutation(Edit(rel, start, old, new), kind, line, qualname))
    unique = {(m.edit.offset, m.edit.old, m.edit.new): m for m in found}
    return sorted((m for m in unique.values() if _parses(m.edit.apply_to(text))),
                  key=lambda m: (m.edit.offset, m.kind, m.edit.new))


def _parses(text: str) -> bool:
    # ast leaves the parentheses around an operand out of its span, so a few text edits unbalance them.
    try:
        ast.parse(text)
    except SyntaxError:
        return False
    return True


def _functions(tree: ast.AST, prefix: str = "") -> Iterator[tuple[str, ast.AST]]:
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield prefix + node.name, node
            yield from _functions(node, f"{prefix}{node.name}.")
        elif isinstance(node, ast.ClassDef):
            yield from _functions(node, f"{prefix}{node.name}.")
        elif isinstance(node, (ast.If, ast.Try, ast.With)):  # functions defined under a version check
            yield from _functions(node, prefix)


def _own_nodes(func: ast.AST) -> Iterator[ast.AST]:
    """The nodes of a function's body, minus nested functions/classes (they are visited on their own),
    its docstring, decorators and default values."""
    body = list(func.body)
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]
    stack = body[::-1]
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue
        yield node
        stack.extend(reversed(list(ast.iter_child_nodes(node))))


def _between(src: _Source, left: ast.AST, right: ast.AST, op: str) -> int | None:
    """Offset of the operator `op` written between two operands, if nothing else is there."""
    start, end = src.end(left), src.start(right)
    gap = src.text[start:end]
    words = _pattern(op)
    match = re.fullmatch(f"({_GAP})({words})({_GAP})", gap)
    if match is None or "#" in gap:
        return None
    return start + match.start(2)


def _pattern(op: str) -> str:
    """A regex for an operator as written; word operators (`and`, `not in`) must stand alone."""
    words = r"\s+".join(re.escape(w) for w in op.split())
    return rf"\b{words}\b" if op[0].isalpha() else words


def _sites(src: _Source, node: ast.AST) -> Iterator[tuple[str, int, str, str]]:
    """(kind, offset, old, new) for each way to break this one node."""
    if isinstance(node, ast.BinOp):
        yield from _binop(src, node)
    elif isinstance(node, ast.AugAssign) and type(node.op) in BINOP_FLIPS:
        old, new = BINOP_FLIPS[type(node.op)]
        at = _between(src, node.target, node.value, old + "=")
        if at is not None:
            yield "operator flip", at, old + "=", new + "="
    elif isinstance(node, ast.Compare):
        yield from _compare(src, node)
    elif isinstance(node, ast.BoolOp):
        yield from _boolop(src, node)
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        start = src.start(node)
        yield "not removed", start, src.text[start:src.start(node.operand)], ""
    elif isinstance(node, (ast.If, ast.While)) and not isinstance(node.test, (ast.BoolOp, ast.UnaryOp)):
        if isinstance(node.test, ast.Constant) or isinstance(node, ast.While):
            return
        yield "not added", src.start(node.test), "", "not "
    elif isinstance(node, ast.Constant):
        yield from _constant(src, node)
    elif isinstance(node, ast.Slice):
        for bound in (node.lower, node.upper):
            yield from _off_by_one(src, bound)
    elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "range" and node.args:
        yield from _off_by_one(src, node.args[-1])
    elif isinstance(node, ast.Return) and node.value is not None:
        if not (isinstance(node.value, ast.Constant) and node.value.value is None):
            yield "return value changed", src.start(node.value), src.segment(node.value), "None"


def _binop(src: _Source, node: ast.BinOp) -> Iterator[tuple[str, int, str, str]]:
    if type(node.op) in BINOP_FLIPS:
        old, new = BINOP_FLIPS[type(node.op)]
        if isinstance(node.op, ast.Mod) and isinstance(node.left, (ast.Constant, ast.JoinedStr)):
            return  # string formatting, not arithmetic
        at = _between(src, node.left, node.right, old)
        if at is not None:
            yield "operator flip", at, old, new
    if isinstance(node.op, NON_COMMUTATIVE) and not isinstance(node.left, ast.Constant):
        left, right = src.segment(node.left), src.segment(node.right)
        start = src.start(node.left)
        whole = src.text[start:src.end(node.right)]
        if whole.startswith(left) and whole.endswith(right) and "\n" not in whole:
            middle = whole[len(left):len(whole) - len(right)]
            if not middle.count("(") and not middle.count(")"):
                yield "swapped operands", start, whole, right + middle + left


def _compare(src: _Source, node: ast.Compare) -> Iterator[tuple[str, int, str, str]]:
    left = node.left
    for op, right in zip(node.ops, node.comparators):
        old, new = COMPARE_FLIPS[type(op)]
        at = _between(src, left, right, old)
        if at is not None:
            written = re.match(_pattern(old), src.text[at:]).group(0)
            yield "comparison flip", at, written, new
        left = right


def _boolop(src: _Source, node: ast.BoolOp) -> Iterator[tuple[str, int, str, str]]:
    old, new = ("and", "or") if isinstance(node.op, ast.And) else ("or", "and")
    first, second = node.values[0], node.values[1]
    at = _between(src, first, second, old)
    if at is None:
        return
    yield "and/or swap", at, old, new
    if len(node.values) == 2:
        start = src.start(first)
        whole = src.text[start:src.end(second)]
        yield "condition removed", start, whole, src.segment(first)
        yield "condition removed", start, whole, src.segment(second)


def _constant(src: _Source, node: ast.Constant) -> Iterator[tuple[str, int, str, str]]:
    value, written = node.value, src.segment(node)
    if isinstance(value, bool):
        yield "constant changed", src.start(node), written, str(not value)
    elif isinstance(value, int) and written.isdigit():
        yield "constant changed", src.start(node), written, str(value + 1 if value != 1 else 0)


def _off_by_one(src: _Source, bound: ast.AST | None) -> Iterator[tuple[str, int, str, str]]:
    if bound is None or not isinstance(bound, ATOMS) or isinstance(bound, ast.Constant):
        return  # constant bounds are already covered by "constant changed"
    written = src.segment(bound)
    if "\n" not in written:
        yield "off by one", src.start(bound), written, f"{written} + 1"
        yield "off by one", src.start(bound), written, f"{written} - 1"
