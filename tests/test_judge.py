"""The regression guard through the loop: a real pytest project, the scripted model, edits by the edit tool and
by bash; a change that leaves fewer tests passing is put back and the model shown the digest."""

import json

from luban.agent import loop
from luban.config import Settings
from luban.harness import Harness
from luban.harness.gate import TestGate
from luban.models.protocol import JsonProtocol
from luban.models.scripted import assistant, script
from luban.tools import bash, edit, read
from luban.types import Message, Notice
from luban.workspace import Workspace

SYSTEM = Message("system", "s")
PYTEST = "python3 -m pytest -q -p no:cacheprovider"
SHOP = ('class Cart:\n    def __init__(self, items):\n        self.items = items\n\n'
        '    def total(self):\n        return sum(self.items) + 1\n')
TESTS = ("from shop import Cart\n\n" + "".join(f"def test_count_{i}():\n    assert len(Cart(items=[1] * {i}).items) == {i}\n\n"
                                              for i in range(5))
         + "def test_total():\n    assert Cart(items=[1, 2]).total() == 3\n")


def turn(tool, **args):
    return assistant(json.dumps({"thought": f"use {tool}", "tool": tool, "args": args}))


def project(tmp_path):
    root = tmp_path / "p"
    root.mkdir()
    (root / "shop.py").write_text(SHOP)
    (root / "test_shop.py").write_text(TESTS)
    return root


def run(model, root, settings=Settings(permission_mode="full-auto", edit_samples=1)):
    ws = Workspace.open(root, root.parent / "out")
    gen = loop.run("Cart.total is off by one", model=model, tools=(read.TOOL, edit.TOOL, bash.TOOL), ws=ws,
                   settings=settings, history=[SYSTEM], harness=Harness(JsonProtocol(), TestGate(PYTEST),
                                                                          read_before_write=True))
    events = []
    try:
        while True:
            events.append(next(gen))
    except StopIteration as stop:
        return events, stop.value


def result_of(model, step):
    """The tool result the model read at `step`, without the JSON protocol's reminder after it."""
    return model.requests[step].messages[-1].content.split("\n\nUse this result for the next step.")[0]


def test_an_edit_that_breaks_every_test_is_put_back_with_the_digest(tmp_path):
    root = project(tmp_path)
    rename = turn("edit_file", path="shop.py", old_string="def __init__(self, items):\n        self.items = items",
                  new_string="def __init__(self, goods):\n        self.items = goods")
    model = script(turn("read_file", path="shop.py"), rename, turn("finish", answer="done"),
                   turn("finish", answer="done"), turn("finish", answer="done"), turn("finish", answer="done"))
    events, _ = run(model, root)
    assert (root / "shop.py").read_text() == SHOP
    told = result_of(model, 2)
    assert told.startswith(
        "Result of edit_file:\nError: This edit was not applied: after it, "
        f"`{PYTEST}` had 0 tests passing instead of 5, so Luban put back shop.py as before. The tests after your "
        "change:\n6 failed (pytest).\n\nFailures by cause:\n"
        "- 6 failed: TypeError: Cart.__init__() got an unexpected keyword argument 'items' "
        "(test_shop.py::test_count_0, test_shop.py::test_count_1 and 4 more)\n\n"
        "FAILED test_shop.py::test_count_0\n  TypeError: Cart.__init__() got an unexpected keyword argument 'items'\n"
        "  at test_shop.py:4 in test_count_0: assert len(Cart(items=[1] * 0).items) == 0\n\nexit code: 1\n\n"
        "Read the code again and make a smaller, correct change that breaks no passing test.")
    assert "edit_file left fewer tests passing; its changes were undone." in [
        e.text for e in events if isinstance(e, Notice)]


def test_a_sed_through_bash_that_breaks_tests_is_put_back_too(tmp_path):
    root = project(tmp_path)
    sed = turn("bash", command="sed -i 's/self.items = items/self.items = list(reversed(items))[1:]/' shop.py")
    model = script(sed, turn("finish", answer="done"), *[turn("finish", answer="done")] * 3)
    run(model, root)
    assert (root / "shop.py").read_text() == SHOP
    told = result_of(model, 1)
    assert told.startswith("Result of bash:\nError: This edit was not applied: after it, "
                           f"`{PYTEST}` had 1 tests passing instead of 5, so Luban put back shop.py as before.")
    assert told.endswith("The call's own result was:\nexit code: 0")


def test_a_python_heredoc_that_fixes_the_bug_is_kept_and_says_the_tests_pass(tmp_path):
    root = project(tmp_path)
    fix = turn("bash", command="python3 - <<'EOF'\nimport pathlib\np = pathlib.Path('shop.py')\n"
                               "p.write_text(p.read_text().replace(' + 1', ''))\nEOF")
    model = script(fix, turn("finish", answer="fixed"))
    _, outcome = run(model, root)
    assert (outcome.status, (root / "shop.py").read_text()) == ("done", SHOP.replace(" + 1", ""))
    assert result_of(model, 1) == (f"Result of bash:\nexit code: 0\n\n[Luban: `{PYTEST}` passes after this edit. "
                                   "If nothing else is left, finish.]")


def test_a_command_that_changes_no_file_runs_no_tests_and_one_that_keeps_the_count_says_where_they_stand(tmp_path):
    root = project(tmp_path)
    model = script(turn("bash", command="echo hi > notes.txt"), turn("read_file", path="shop.py"),
                   turn("edit_file", path="shop.py", old_string="return sum", new_string="return 0 + sum"),
                   turn("finish", answer="?"), *[turn("finish", answer="?")] * 3)
    run(model, root)
    assert result_of(model, 1) == "Result of bash:\nexit code: 0"
    assert result_of(model, 3).endswith(f"[Luban: `{PYTEST}` after this edit: 1 failed, 5 passed (pytest).]")
    assert "return 0 + sum" in (root / "shop.py").read_text()
