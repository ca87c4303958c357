"""The definition most like a rewrite's target, shown beside it: parallel functions carry each other's fixes."""

import ast
import shlex
import sys

from luban.harness.analogues import most_like
from luban.harness.faults import Suspect
from luban.harness.gate import TestGate
from luban.harness.guards import Guards
from luban.harness.rewrites import request, target
from luban.workspace import Workspace

MEMOS = '''def _wrap(store, size):
    return (store, size)


def stack_memo(size=8):
    """A memo of `size` entries; None: unbounded."""
    if size is not None:
        return _wrap({}, None)
    elif callable(size):
        return _wrap(Stack(8), 8)
    return _wrap(Stack(size), size)


def queue_memo(size=8):
    """A memo of `size` entries; None: unbounded."""
    if size is None:
        return _wrap({}, None)
    elif callable(size):
        return _wrap(Queue(8), 8)
    return _wrap(Queue(size), size)


def render(rows):
    out = []
    for row in rows:
        out.append(", ".join(row))
    return "\\n".join(out)


def stack_copy(size=8):
    if size is not None:
        return _wrap({}, None)
    elif callable(size):
        return _wrap(Stack(8), 8)
    return _wrap(Stack(size), size)


def lookup(table, key, default=None):
    if key in table:
        value = table[key]
    else:
        table[key] = value = default
    return value


def take(table, key, default=_MISSING):
    if key in table:
        value = table[key]
        del table[key]
    elif default is _MISSING:
        raise KeyError(key)
    else:
        value = default
    return value
'''


def definition(name):
    return next(n for n in ast.parse(MEMOS).body if getattr(n, "name", "") == name)


def test_the_sibling_most_like_the_function_is_found_without_its_docstring():
    assert most_like(MEMOS, definition("stack_memo")) == (
        "def queue_memo(size=8):\n    if size is None:\n        return _wrap({}, None)\n    elif callable(size):\n"
        "        return _wrap(Queue(8), 8)\n    return _wrap(Queue(size), size)")


def test_no_analogue_for_a_function_like_no_other_alike_only_in_shape_or_one_only_its_copies_resemble():
    assert most_like(MEMOS, definition("render")) == ""
    # take and lookup share three quarters of their tokens and differ in meaning (Cache.pop and setdefault).
    assert most_like(MEMOS, definition("take")) == ""
    # stack_copy is stack_memo token for token but for the name: it cannot show what is wrong, so the next is taken.
    assert most_like(MEMOS, definition("stack_memo")).startswith("def queue_memo(")
    assert most_like("def broken(:\n", ast.parse("def f(): pass").body[0]) == ""


def test_a_nested_function_is_not_its_own_analogue():
    text = ("def outer(x):\n    def inner(x):\n        if x:\n            return x + 1\n        return x\n"
            "    return inner(x)\n")
    assert most_like(text, ast.parse(text).body[0]) == ""


def test_a_rewrite_request_shows_the_analogue_of_its_target(tmp_path):
    (tmp_path / "memos.py").write_text(MEMOS)
    (tmp_path / "test_memos.py").write_text(
        "from memos import stack_memo\n\n\ndef test_unbounded():\n    assert stack_memo(None) == ({}, None)\n")
    ws = Workspace.open(tmp_path, tmp_path.parent / "out")
    run = TestGate(f"{shlex.quote(sys.executable)} -m pytest -q -p no:cacheprovider").run(ws)
    goal = target(run, ws, Guards(), (Suspect("memos.py", 8, "stack_memo", 0.9),))
    assert goal.like == most_like(MEMOS, definition("stack_memo"))
    prompt = request(goal, run, 0.0, None).messages[1].content
    assert ("A function much like it in the same file, to compare with (a difference may be the bug, or may be "
            "meant):\n\n```python\ndef queue_memo(size=8):\n    if size is None:") in prompt
    assert prompt.index("def stack_memo(") < prompt.index("def queue_memo(") < prompt.index("Find the bug")
