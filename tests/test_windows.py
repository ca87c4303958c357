"""Windows of long functions for focused rewrites: cut along statements around the suspicious line, asked for with
the function's head, and put back indented like the lines they replace."""

import ast
import shutil
from pathlib import Path

from luban.harness.faults import Suspect
from luban.harness.gate import TestRun
from luban.harness.guards import Guards
from luban.harness.rewrites import Target, edit_call, request, rewritten, target
from luban.harness.windows import around
from luban.workspace import Workspace

# Line 1 def, 2-5 its docstring, 6 total = 0, 7-70 a loop of 64 lines (its `if`: 8-19), 71 return: too long
# to rewrite whole (REWRITE_MAX_LINES).
LOOP = "".join(f"        step_{n} = item * {n}\n" for n in range(50))
LONG = ('def tally(items, limit=10):\n    """Sum the items up to `limit`.\n\n    Items over the limit count as the limit.\n'
        '    """\n    total = 0\n    for item in items:\n        if item > limit:\n'
        + "".join(f"            note_{n} = item - {n}\n" for n in range(10)) +
        '            item = limit + 1\n' + LOOP + '        total += item\n    return total\n')
BUGGY_LINE = 19  # `item = limit + 1`


def tree():
    return ast.parse(LONG).body[0]


def test_the_window_is_whole_statements_of_the_innermost_block_around_the_line_that_fits():
    window = around(LONG, tree(), BUGGY_LINE, 30)
    lines = LONG.splitlines()
    assert window.header == "def tally(items, limit=10):"
    # The loop (64 lines) is too long; its body's statements around the line are taken, the `if` whole.
    assert window.source.startswith("        if item > limit:\n")
    assert "            item = limit + 1\n" in window.source
    assert len(window.source.splitlines()) <= 30
    assert window.source == "\n".join(lines[lines.index("        if item > limit:"):][:len(window.source.splitlines())])
    ast.parse("\n".join(line[8:] for line in window.source.splitlines()))  # whole statements, dedented, parse


def test_no_window_for_a_line_outside_any_statement_or_in_the_head_of_one_too_long_to_take():
    assert around(LONG, tree(), 7, 30) is None  # `for item in items:` heads 64 lines
    assert around(LONG, tree(), 200, 30) is None


def test_a_short_function_is_one_window_of_all_its_statements():
    short = "def f(x):\n    y = x + 1\n    return y\n"
    window = around(short, ast.parse(short).body[0], 3, 30)
    assert (window.source, window.header) == ("    y = x + 1\n    return y", "def f(x):")


def test_a_suspect_too_long_to_rewrite_whole_becomes_a_window_with_its_head_in_the_request(tmp_path):
    root = tmp_path / "project"
    root.mkdir()
    (root / "tally.py").write_text(LONG)
    ws = Workspace.open(root, tmp_path / "out")
    run = TestRun(False, "AssertionError: 11 != 10\n")
    goal = target(run, ws, Guards(), (Suspect("tally.py", BUGGY_LINE, "tally", 0.9),))
    assert (goal.path, goal.name, goal.header) == ("tally.py", "tally", "def tally(items, limit=10):")
    assert goal.source == around(LONG, tree(), BUGGY_LINE, 30).source
    prompt = request(goal, run, 0.0, None).messages[-1].content
    assert "is too long to show whole. It starts\n\n```python\ndef tally(items, limit=10):\n```" in prompt
    assert "```python\nif item > limit:\n" in prompt  # dedented
    assert "Find the bug in these lines and write them corrected" in prompt


def test_a_window_is_put_back_indented_like_the_lines_it_replaces_and_applies_as_an_edit(tmp_path):
    goal = Target("tally.py", "tally", "        if item > limit:\n            item = limit + 1", header="def tally(items):")
    fixed = "```python\nif item > limit:\n    item = limit\n```"
    assert rewritten(fixed, goal) == "        if item > limit:\n            item = limit"
    assert edit_call(goal, rewritten(fixed, goal), "c").arguments["old_string"] == goal.source
    # The whole function instead of its lines, far fewer lines, or the same lines: no rewrite.
    assert rewritten("```python\ndef tally(items):\n    return 0\n```", goal) is None
    assert rewritten("```python\npass\n```", replace_source(goal, 6)) is None
    assert rewritten("```python\nif item > limit:\n    item = limit + 1\n```", goal) is None


def replace_source(goal, lines):
    return Target(goal.path, goal.name, "\n".join(f"        x_{n} = {n}" for n in range(lines)), header=goal.header)


def test_a_long_suspect_in_a_real_file_gets_its_window(tmp_path):
    shutil.copytree(Path(ast.__file__).parent / "json", tmp_path / "json", ignore=shutil.ignore_patterns("__pycache__"))
    ws = Workspace.open(tmp_path, tmp_path / "out")
    # json.encoder._make_iterencode is over 200 lines; its `_iterencode_dict` holds the line.
    source = (tmp_path / "json" / "encoder.py").read_text()
    line = next(i for i, text in enumerate(source.splitlines(), 1) if "item_separator = _item_separator" in text)
    goal = target(TestRun(False, "boom\n"), ws, Guards(), (Suspect("json/encoder.py", line, "_make_iterencode", 1.0),))
    assert goal.header.startswith("def _make_iterencode(")
    assert "item_separator = _item_separator" in goal.source and len(goal.source.splitlines()) <= 30


def test_a_window_in_an_elif_chain_never_starts_at_an_elif():
    # The chain is too long to take whole, its `elif` part is short: taken whole, it would start with `elif`.
    first = "".join(f"        b_{n} = {n}\n" for n in range(30))
    chain = ("def pick(x):\n    if x == 1:\n" + first + "    elif x == 2:\n        c = x\n"
             "    else:\n        if x:\n            d = 4\n")
    lines = chain.splitlines()
    window = around(chain, ast.parse(chain).body[0], lines.index("        c = x") + 1, 30)
    assert window.source == "        c = x"
    nested = around(chain, ast.parse(chain).body[0], lines.index("            d = 4") + 1, 30)
    assert nested.source == "        if x:\n            d = 4"  # an `if` in an `else:` is a statement of its own
