"""finish_on_pass (a weak model's profile): the run ends once a change makes the judge pass that failed before it,
the project's tests or the checks of a focused write, instead of waiting for the model to say it is done."""

import json

from luban.agent import loop
from luban.agent.state import FINISHED
from luban.config import Settings
from luban.harness import Harness
from luban.harness.gate import TestGate
from luban.models.protocol import JsonProtocol
from luban.models.scripted import assistant, script
from luban.tools import bash, edit, read
from luban.types import Message
from luban.workspace import Workspace

PYTEST = "python3 -m pytest -q -p no:cacheprovider"
SHOP = "def total(items):\n    return sum(items) + 1\n"
TESTS = ("from shop import total\n\ndef test_total():\n    assert total([1, 2]) == 3\n\n"
         "def test_one_item():\n    assert total([1]) >= 1\n")
STUB = 'def double(x):\n    """Twice x.\n    >>> double(2)\n    4\n    """\n'
GOOD = "```python\ndef double(x):\n    return 2 * x\n```"
BAD = "```python\ndef double(x):\n    return x + 1\n```"


def turn(tool, **args):
    return assistant(json.dumps({"thought": f"use {tool}", "tool": tool, "args": args}))


def run(model, root, harness, task="total is off by one"):
    ws = Workspace.open(root, root.parent / "out")
    gen = loop.run(task, model=model, tools=(read.TOOL, edit.TOOL, bash.TOOL), ws=ws,
                   settings=Settings(permission_mode="full-auto", edit_samples=1), history=[Message("system", "s")],
                   harness=harness)
    try:
        while True:
            next(gen)
    except StopIteration as stop:
        return stop.value


def shop(tmp_path, code=SHOP):
    root = tmp_path / "p"
    root.mkdir()
    (root / "shop.py").write_text(code)
    (root / "test_shop.py").write_text(TESTS)
    return root


def guarded(finish_on_pass=True, **fields):
    return Harness(JsonProtocol(), TestGate(PYTEST), regression_guard=True, finish_on_pass=finish_on_pass, **fields)


FIX = turn("edit_file", path="shop.py", old_string="sum(items) + 1", new_string="sum(items)")


def test_an_edit_that_makes_the_failing_tests_pass_ends_the_run_there(tmp_path):
    root = shop(tmp_path)
    model = script(FIX, turn("edit_file", path="shop.py", old_string="sum(items)", new_string="sum(items) * 1"))
    outcome = run(model, root, guarded())
    assert outcome.status == "done" and outcome.steps == 1 and len(model.requests) == 1
    assert outcome.message == FINISHED.format(judged=PYTEST, change="the edit_file call of step 1")
    assert (root / "shop.py").read_text() == "def total(items):\n    return sum(items)\n"


def test_without_the_setting_the_model_is_told_and_goes_on(tmp_path):
    root = shop(tmp_path)
    model = script(FIX, turn("finish", answer="fixed"))
    outcome = run(model, root, guarded(finish_on_pass=False))
    assert (outcome.status, outcome.message, len(model.requests)) == ("done", "fixed", 2)


def test_tests_that_passed_from_the_start_end_nothing(tmp_path):
    """Passing before any change says nothing about the change: the task may be one the tests do not cover."""
    root = shop(tmp_path, "def total(items):\n    return sum(items)\n")
    model = script(turn("edit_file", path="shop.py", old_string="sum(items)", new_string="sum(list(items))"),
                   turn("finish", answer="done"))
    outcome = run(model, root, guarded())
    assert (outcome.status, outcome.message, len(model.requests)) == ("done", "done", 2)


def test_an_undone_edit_ends_nothing(tmp_path):
    root = shop(tmp_path)
    breaking = turn("edit_file", path="shop.py", old_string="sum(items) + 1", new_string="sum(items) +")
    model = script(breaking, FIX)
    outcome = run(model, root, guarded())
    assert outcome.status == "done" and len(model.requests) == 2


def test_a_focused_write_that_passes_its_docstring_examples_ends_the_run_before_the_first_step(tmp_path):
    root = tmp_path / "p"
    root.mkdir()
    (root / "solution.py").write_text(STUB)
    model = script(assistant(GOOD), turn("finish", answer="done"))
    harness = Harness(JsonProtocol(), regression_guard=True, focused_writes=True, finish_on_pass=True)
    outcome = run(model, root, harness, task="Implement `double` in `solution.py`.")
    assert outcome.status == "done" and outcome.steps == 0 and len(model.requests) == 1
    assert outcome.message == FINISHED.format(judged="python3 -m doctest solution.py",
                                              change="Luban's focused write of what the task names")
    assert "return 2 * x" in (root / "solution.py").read_text()


def test_after_a_failing_focused_write_the_edit_that_makes_its_checks_pass_ends_the_run(tmp_path):
    root = tmp_path / "p"
    root.mkdir()
    (root / "solution.py").write_text(STUB)
    fix = turn("edit_file", path="solution.py", old_string="return x + 1", new_string="return x + x")
    model = script(assistant(BAD), fix, turn("finish", answer="done"))
    harness = Harness(JsonProtocol(), regression_guard=True, focused_writes=True, finish_on_pass=True)
    outcome = run(model, root, harness, task="Implement `double` in `solution.py`.")
    assert outcome.status == "done" and outcome.steps == 1 and len(model.requests) == 2
    assert outcome.message == FINISHED.format(judged="python3 -m doctest solution.py", change="the edit_file call of step 1")


# An edit that deletes the stub's docstring, and with it the examples its checks run.
DROP_EXAMPLES = dict(path="solution.py", old_string='    """Twice x.\n    >>> double(2)\n    4\n    """\n',
                     new_string="")


def run_on_stub(tmp_path, *turns):
    """The focused write's BAD reply, then `turns`, on a project holding the stub, with finish_on_pass."""
    root = tmp_path / "p"
    root.mkdir()
    (root / "solution.py").write_text(STUB)
    model = script(assistant(BAD), *turns)
    harness = Harness(JsonProtocol(), regression_guard=True, focused_writes=True, finish_on_pass=True)
    return model, run(model, root, harness, task="Implement `double` in `solution.py`.")


def test_an_edit_that_deletes_the_docstring_examples_does_not_pass_them(tmp_path):
    """`python3 -m doctest` passes a file with no examples; the run must not end on a write that dropped them."""
    model, outcome = run_on_stub(tmp_path, turn("edit_file", **DROP_EXAMPLES), turn("finish", answer="done"))
    assert (outcome.status, outcome.message, len(model.requests)) == ("done", "done", 3)
    assert "solution.py has no docstring examples left to run" in model.requests[2].messages[-1].content


def test_running_doctest_by_hand_on_a_file_without_examples_is_told_that_the_checks_fail(tmp_path):
    """he-38's HumanEval-10: `python3 -m doctest solution.py` exits 0 on the file whose examples the model deleted."""
    by_hand = turn("bash", command="python3 -m doctest solution.py")
    model, _ = run_on_stub(tmp_path, turn("edit_file", **DROP_EXAMPLES), by_hand, turn("finish", answer="done"))
    assert ("[Luban: this passes, but the command the task is judged by, `python3 -m doctest solution.py`, fails on the "
            "files as they are now (solution.py has no docstring examples left to run: they were the checks of this "
            "task): this run does not test the same code or the same tests.]") in model.requests[3].messages[-1].content
