"""Focused writes for a weak model: the stubs a task names are written from a short, separate request first, and
judged by the tests, else by the file's docstring examples (HumanEval has no test command)."""

import json

import pytest

from luban.agent import loop
from luban.config import Settings
from luban.harness import Harness
from luban.harness.gate import TestGate
from luban.harness import selfchecks
from luban.harness.candidates import SAMPLE_TEMPERATURE
from luban.harness.selfchecks import SAMPLES
from luban.harness.writes import PROMPT, Stub, request, stubs, written
from luban.models.protocol import JsonProtocol
from luban.models.scripted import assistant, script
from luban.tools import edit, read
from luban.types import Message, Notice
from luban.workspace import Workspace

STUB = '''\
from typing import List


def below_zero(operations: List[int]) -> bool:
    """Whether the balance, starting at zero, ever falls below zero.
    >>> below_zero([1, 2, 3])
    False
    >>> below_zero([1, 2, -4, 5])
    True
    """
'''
GOOD = "```python\ndef below_zero(operations: List[int]) -> bool:\n    balance = 0\n    for op in operations:\n" \
       "        balance += op\n        if balance < 0:\n            return True\n    return False\n```"
BAD = "```python\ndef below_zero(operations):\n    return False\n```"
TASK = "Implement the function `below_zero` in `solution.py`."


def turn(tool, **args):
    return assistant(json.dumps({"thought": f"use {tool}", "tool": tool, "args": args}))


def run(model, root, harness, task=TASK, mode="full-auto", samples=SAMPLES + 1):
    ws = Workspace.open(root, root.parent / "out")
    events = list(loop.run(task, model=model, tools=(read.TOOL, edit.TOOL), ws=ws,
                           settings=Settings(permission_mode=mode, edit_samples=samples),
                           history=[Message("system", "s")], harness=harness))
    return events


def test_stubs_are_the_undecorated_top_level_functions_still_to_write_that_the_task_names_in_files_it_names(tmp_path):
    (tmp_path / "solution.py").write_text(STUB + "\n\ndef done():\n    return 1\n\n\ndef todo():\n    pass\n\n\n"
                                          "def later():\n    raise NotImplementedError\n")
    (tmp_path / "api.py").write_text("class P:\n    def m(self): ...\n\n\n@overload\ndef f(x): ...\n")
    (tmp_path / "other.py").write_text("def elsewhere():\n    pass\n")
    ws = Workspace.open(tmp_path, tmp_path.parent / "out")
    task = "Write below_zero, todo, later, m, f and elsewhere in solution.py and api.py"
    assert [(s.path, s.name) for s in stubs(ws, task)] == [
        ("solution.py", "below_zero"), ("solution.py", "todo"), ("solution.py", "later")]
    assert [s.name for s in stubs(ws, "Fill in solution.py: below_zero")] == ["below_zero"]  # only those it names


def test_the_reply_replaces_the_stub_with_its_imports_and_helpers():
    source = STUB[STUB.index("def below_zero"):].rstrip("\n")
    stub = Stub("solution.py", "below_zero", source, STUB)
    reply = "Here:\n```python\nimport math\n\ndef helper(x):\n    return x\n\ndef below_zero(ops):\n    return False\n```"
    docstring = STUB[STUB.index('    """'):].rstrip("\n")
    assert written(reply, stub) == ("from typing import List\n\n\nimport math\n\ndef helper(x):\n    return x\n\n"
                                    f"def below_zero(ops):\n{docstring}\n    return False\n")
    assert written("```python\ndef other():\n    pass\n```", stub) is None
    assert written("no code at all", stub) is None
    # The request's reply is stopped once it holds the function: what follows it goes unread.
    enough = request(stub, 512).enough
    assert not enough("Here:\n```python\nimport math\n\ndef below_zero(ops):\n")
    assert enough(reply)


def test_without_a_test_command_the_write_is_judged_by_its_docstring_examples_and_then_guarded_by_them(tmp_path):
    (tmp_path / "solution.py").write_text(STUB)
    breaking = turn("edit_file", path="solution.py", old_string="return True", new_string="return False")
    model = script(assistant(GOOD), turn("read_file", path="solution.py"), breaking, turn("finish", answer="done"))
    events = run(model, tmp_path, Harness(JsonProtocol(), read_before_write=True, regression_guard=True,
                                          focused_writes=True))
    assert model.requests[0].messages == (Message("user", PROMPT.format(code=STUB.strip("\n"))),)
    assert model.requests[0].temperature == 0.0 and model.requests[0].response_format is None
    assert model.requests[1].messages[1].content == (
        f"{TASK}\n\n[Luban wrote below_zero in solution.py from a short, separate request; its docstring examples "
        "(`python3 -m doctest solution.py`) pass. Check it against the task; finish if it is right.]")
    assert "Focused write of below_zero in solution.py." in [e.text for e in events if isinstance(e, Notice)]
    # The model's later edit breaks an example: it is put back.
    assert model.requests[3].messages[-1].content.startswith(
        "Result of edit_file:\nError: This edit was not applied: after it, `python3 -m doctest solution.py` had 0 "
        "tests passing instead of 1")
    assert "            return True\n" in (tmp_path / "solution.py").read_text()


def test_a_write_whose_examples_fail_is_tried_again_warmer_and_kept_with_the_failure_shown(tmp_path):
    (tmp_path / "solution.py").write_text(STUB)
    model = script(assistant(BAD), *[assistant("no code")] * SAMPLES, turn("finish", answer="done"))
    run(model, tmp_path, Harness(JsonProtocol(), focused_writes=True))
    assert [r.temperature for r in model.requests[:1 + SAMPLES]] == [0.0] + [SAMPLE_TEMPERATURE] * SAMPLES
    first = model.requests[1 + SAMPLES].messages[1].content
    assert first.startswith(f"{TASK}\n\n[Luban wrote below_zero in solution.py from a short, separate request; 1 "
                            "of 2 of its docstring examples (`python3 -m doctest solution.py`) fail:\n")
    assert "Expected:\n    True\nGot:\n    False" in first
    assert first.endswith("\nCheck whether the function or the example is wrong, and fix the function if it is.]")
    assert "return False" in (tmp_path / "solution.py").read_text()


def test_a_warmer_sample_that_passes_more_examples_replaces_the_greedy_write(tmp_path):
    (tmp_path / "solution.py").write_text(STUB)
    model = script(assistant(BAD), assistant(BAD), assistant(GOOD), turn("finish", answer="done"))
    run(model, tmp_path, Harness(JsonProtocol(), focused_writes=True))
    assert len(model.requests) == 4  # no sample after the one that passes them all
    assert "balance += op" in (tmp_path / "solution.py").read_text()
    assert "its docstring examples (`python3 -m doctest solution.py`) pass." in model.requests[3].messages[1].content


def test_one_edit_sample_turns_the_warmer_tries_off(tmp_path):
    (tmp_path / "solution.py").write_text(STUB)
    model = script(assistant(BAD), turn("finish", answer="done"))
    run(model, tmp_path, Harness(JsonProtocol(), focused_writes=True), samples=1)
    assert len(model.requests) == 2 and "1 of 2 of its docstring examples" in model.requests[1].messages[1].content


STATED = '''\
def add_two(xs):
    """Add two to each number.
    Example: for xs = [1, 2] the result is [3, 4]; add_two([]) gives [].
    """
'''
ADDS = "```python\ndef add_two(xs):\n    return [x + 2 for x in xs]\n```"


def test_examples_stated_in_prose_are_checked_as_asserts_the_model_writes_from_the_docstring(tmp_path):
    (tmp_path / "solution.py").write_text(STATED)
    wrong = "```python\ndef add_two(xs):\n    return [x + 1 for x in xs]\n```"
    checks = "```python\nassert add_two([1, 2]) == [3, 4]\nassert add_two([]) == []\nprint('done')\n```"
    model = script(assistant(wrong), assistant(checks), assistant(ADDS), turn("finish", answer="done"))
    run(model, tmp_path, Harness(JsonProtocol(), focused_writes=True), task="Implement `add_two` in `solution.py`.")
    assert model.requests[1].messages[0].content == selfchecks.request_text("add_two", STATED)
    assert "return [x + 2 for x in xs]" in (tmp_path / "solution.py").read_text()
    assert model.requests[3].messages[1].content.endswith(
        "; the checks Luban had written from its docstring's examples pass:\nassert add_two([1, 2]) == [3, 4]\n"
        "assert add_two([]) == []\nCheck it against the task; finish if it is right.]")


def test_the_asserts_a_write_passed_guard_the_models_later_edits(tmp_path):
    """HumanEval-122: after a correct focused write the 1.5B rewrote the function to do something else."""
    (tmp_path / "solution.py").write_text(STATED)
    checks = "```python\nassert add_two([1, 2]) == [3, 4]\nassert add_two([]) == []\n```"
    breaking = turn("edit_file", path="solution.py", old_string="x + 2", new_string="x * 2")
    harmless = turn("edit_file", path="solution.py", old_string="for x in xs]", new_string="for x in list(xs)]")
    model = script(assistant(ADDS), assistant(checks), turn("read_file", path="solution.py"), breaking, harmless,
                   turn("finish", answer="done"))
    run(model, tmp_path, Harness(JsonProtocol(), read_before_write=True, regression_guard=True, focused_writes=True),
        task="Implement `add_two` in `solution.py`.")
    refused = model.requests[4].messages[-1].content
    assert refused.startswith("Result of edit_file:\nError: This edit was not applied: after it, `Luban's checks of "
                              "solution.py` had 1 tests passing instead of 2, so Luban put back solution.py as before. "
                              "The tests after your change:\n1 failed, 1 passed (unittest).")
    assert "assert add_two([1, 2]) == [3, 4]  # failed; the left side is [2, 4]" in refused
    assert "LUBAN_CHECKS" not in refused
    assert model.requests[5].messages[-1].content.startswith(
        "Result of edit_file:\nEdited solution.py (1 replacement).")
    assert "[Luban: `Luban's checks of solution.py` passes after this edit." in model.requests[5].messages[-1].content
    assert "return [x + 2 for x in list(xs)]" in (tmp_path / "solution.py").read_text()


def test_asserts_with_values_the_docstring_does_not_state_are_left_out():
    """HumanEval-122: asked for the docstring's example, the 1.5B added four of its own, one of them wrong."""
    source = ('def add_elements(arr, k):\n    """Sum the elements of at most two digits among the first k.\n\n'
              '    Input: arr = [111,21,3,4000,5,6,7,8,9], k = 4\n    Output: 24 # sum of 21 + 3\n    """\n')
    reply = ("assert add_elements([111, 21, 3, 4000, 5, 6, 7, 8, 9], 4) == 24.0\n"
             "assert add_elements([100, 200, 300, 400, 500], 2) == 500\nassert add_elements([-21, 3], 2) == -18\n")
    assert selfchecks.asserts([reply], "add_elements", source) == (
        "assert add_elements([111, 21, 3, 4000, 5, 6, 7, 8, 9], 4) == 24.0",)
    words = 'def greet(name):\n    """greet("Ann") gives "Hello, Ann!"."""\n'
    reply = "assert greet('Ann') == 'Hello, Ann!'\nassert greet('Bob') == 'Hello, Bob!'\n"
    assert selfchecks.asserts([reply], "greet", words) == ("assert greet('Ann') == 'Hello, Ann!'",)


def test_asserts_are_the_ones_that_call_the_function_and_a_file_that_does_not_load_passes_none(tmp_path):
    blocks = ["assert f(1) == 2\nassert g(1) == 2\nassert f(1) == 2\nx = f(3)", "not python (", "assert f(2)"]
    assert selfchecks.asserts(blocks, "f", 'def f(x):\n    """f(1) is 2, f(2) is true."""') == (
        "assert f(1) == 2", "assert f(2)")
    (tmp_path / "solution.py").write_text("def f(x):\n    return x +\n")
    result = selfchecks.run(selfchecks.Checks("solution.py", ("assert f(1) == 2",)), Workspace.open(tmp_path, tmp_path.parent / "out"))
    assert (result.passed, result.total) == (0, 1) and "SyntaxError" in result.report
    (tmp_path / "solution.py").write_text("def f(x):\n    print('noise')\n    return x\n")
    result = selfchecks.run(selfchecks.Checks("solution.py", ("assert f(1) == 2", "assert f(2) == 2")),
                            Workspace.open(tmp_path, tmp_path.parent / "out"))
    assert (result.passed, result.total, result.report) == (1, 2, "assert f(1) == 2  # failed; the left side is 1")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["solution.py"]  # no __pycache__ left behind


def test_with_a_test_command_a_write_that_leaves_fewer_tests_passing_is_put_back(tmp_path):
    (tmp_path / "solution.py").write_text(STUB + "\n\ndef twice(x):\n    return 2 * x\n")
    (tmp_path / "test_solution.py").write_text("from solution import twice\n\ndef test_twice():\n"
                                               "    assert twice(2) == 4\n")
    breaks_import = "```python\ndef below_zero(operations):\n    return False\n\nraise ImportError('no')\n```"
    model = script(assistant(breaks_import), turn("finish", answer="done"), *[turn("finish", answer="done")] * 3)
    gate = TestGate("python3 -m pytest -q -p no:cacheprovider test_solution.py")
    run(model, tmp_path, Harness(JsonProtocol(), gate, regression_guard=True, focused_writes=True))
    assert (tmp_path / "solution.py").read_text() == STUB + "\n\ndef twice(x):\n    return 2 * x\n"
    first = model.requests[1].messages[1].content
    assert "[Luban wrote below_zero in solution.py from a short, separate request, but the tests did worse with " \
           "it, so it was put back:" in first


@pytest.mark.parametrize("mode, writes", [("plan", False), ("ask", False), ("auto-edit", True)])
def test_focused_writes_change_files_only_where_the_mode_lets_edits_run_without_asking(tmp_path, mode, writes):
    (tmp_path / "solution.py").write_text(STUB)
    model = script(*([assistant(GOOD)] if writes else []), turn("finish", answer="done"))
    run(model, tmp_path, Harness(JsonProtocol(), focused_writes=True), mode=mode)
    assert ((tmp_path / "solution.py").read_text() != STUB) is writes
    assert len(model.requests) == 1 + writes
