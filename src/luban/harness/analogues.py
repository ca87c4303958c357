"""The definition in the same file most like a suspect: a fix's ingredients are often in the code beside it.

Libraries repeat themselves: cachetools' fifo_cache, lfu_cache, lru_cache and rr_cache are the same eight lines
with another cache class. In one run the 1.5B, asked to rewrite a fifo_cache that had lost its `maxsize is None`
branch, wrote six rewrites without it, while lru_cache, twenty lines below, held the branch word for word; the
rewrite request showed only fifo_cache. Program repair calls this the redundancy of code (the ingredients of
most fixes already exist in the same file); showing the nearest sibling lets a weak model compare instead of
invent. The rewrite is still judged by the tests, so a sibling that differs on purpose costs a wasted sample.
"""

from __future__ import annotations

import ast
import difflib
import re

_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
# Under this share of tokens in common a definition is merely alike in shape. Measured on cachetools and
# inflection: siblings such as fifo_cache and lru_cache share 0.97; Cache.pop and setdefault 0.76, pluralize and
# singularize 0.69, alike in shape and different in meaning. At 0.6, shown setdefault beside a broken pop, the
# 1.5B gave pop setdefault's KeyError in rewrite after rewrite (cachetools-c55f50a5, solved without it).
MIN_LIKENESS = 0.8
MAX_LINES = 30  # an analogue longer than this, docstring left out, costs more prompt than it is worth
MIN_LINES = 3  # one- and two-line getters are alike everywhere and say nothing
_TOKEN = re.compile(r"\w+|[^\w\s]")


def most_like(text: str, node: ast.AST) -> str:
    """The text, docstring left out, of the function in `text` (the file that holds `node`) most like `node`,
    neither inside the other; "" where none is alike enough or the file does not parse."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return ""
    lines = text.splitlines()
    own = _tokens(_source(lines, node), getattr(node, "name", ""))
    best, best_ratio = "", MIN_LIKENESS
    for other in ast.walk(tree):
        if not isinstance(other, _FUNCTIONS) or _overlaps(other, node):
            continue
        source = _source(lines, other)
        if not MIN_LINES <= len(source.splitlines()) <= MAX_LINES:
            continue
        theirs = _tokens(source, other.name)
        ratio = difflib.SequenceMatcher(None, own, theirs, autojunk=False).ratio()
        if best_ratio <= ratio < 1.0:  # identical code cannot show what is wrong with this one
            best, best_ratio = source, ratio
    return best


def _overlaps(a: ast.AST, b: ast.AST) -> bool:
    return a.lineno <= b.end_lineno and b.lineno <= a.end_lineno


def _source(lines: list[str], node: ast.AST) -> str:
    """The definition's lines from its `def` to its end, without its docstring."""
    body = node.body
    skip = range(0)
    if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant) \
            and isinstance(body[0].value.value, str) and len(body) > 1:
        skip = range(body[0].lineno, body[0].end_lineno + 1)
    return "\n".join(line for number, line in enumerate(lines[node.lineno - 1:node.end_lineno], node.lineno)
                     if number not in skip)


def _tokens(source: str, name: str) -> list[str]:
    """The source's tokens with the function's own name made anonymous: siblings differ in their names."""
    return ["<name>" if token == name else token for token in _TOKEN.findall(source)]
