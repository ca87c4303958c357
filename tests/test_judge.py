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


HARNESS = Harness(JsonProtocol(), TestGate(PYTEST), read_before_write=True, regression_guard=True, test_digests=True,
                  skip_reruns=True)


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
                   settings=settings, history=[SYSTEM], harness=HARNESS)
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


def test_a_bash_command_that_runs_the_tests_shows_their_digest_with_the_whole_output_in_a_file(tmp_path):
    root = project(tmp_path)
    model = script(turn("bash", command="python3 -m pytest -p no:cacheprovider"), turn("finish", answer="?"),
                   *[turn("finish", answer="?")] * 3)
    run(model, root)
    told = result_of(model, 1)
    assert told.startswith("Result of bash:\nError: 1 failed, 5 passed (pytest).\n\nFAILED test_shop.py::test_total\n"
                           "  assert 4 == 3\n")
    assert "  at test_shop.py:19 in test_total: assert Cart(items=[1, 2]).total() == 3\n[the whole output (24 lines) is in " in told
    assert told.endswith("read it with read_file (offset, limit) or grep]\nexit code: 1")
    saved = told.split(" is in ")[1].split(";")[0]
    assert "test_shop.py .....F" in open(saved if saved.startswith("/") else root / saved).read()


def test_which_commands_run_the_tests():
    from luban.harness.testcommand import runs_tests

    assert [runs_tests(c) for c in ("pytest -x", "python3 -m pytest tests/a.py", "cd sub && py.test",
                                    "python -m unittest discover", ".venv/bin/pytest -q")] == [True] * 5
    assert [runs_tests(c) for c in ("pip install pytest", "grep -r pytest .", "echo pytest", "ls", "mypytest",
                                    "python -m pytesting", "echo pytest | cat")] == [False] * 7
    assert runs_tests("ls tests && pytest -q | tail -5") and runs_tests("cd sub; python3 -m unittest")
    assert runs_tests("make check", configured="make check") and not runs_tests("make lint", configured="make check")


def test_the_same_command_with_no_file_changed_is_answered_from_its_last_run(tmp_path):
    root = project(tmp_path)
    listing = turn("bash", command="ls && wc -l shop.py")
    model = script(listing, listing, turn("read_file", path="shop.py"),
                   turn("edit_file", path="shop.py", old_string="return sum", new_string="return 0 + sum"),
                   listing, turn("bash", command=PYTEST), turn("finish", answer="?"), *[turn("finish", answer="?")] * 3)
    run(model, root)
    first = "Result of bash:\nshop.py\ntest_shop.py\n6 shop.py\nexit code: 0"
    assert result_of(model, 1) == first
    assert result_of(model, 2) == ("Result of bash:\n[unchanged since step 1: `ls && wc -l shop.py` ran then, and no "
                                   "file of the workspace has changed since, so it was not run again. What it printed "
                                   "then, in short:]\nshop.py\ntest_shop.py\n6 shop.py\nexit code: 0")
    assert result_of(model, 5) == first  # shop.py changed in between: run again
    # The test command right after the guard's own run of it, nothing changed since: its digest, not a new run.
    assert result_of(model, 6).startswith(f"Result of bash:\nError: [unchanged since step 4: `{PYTEST}` ran then")
    assert result_of(model, 6).endswith("]\n1 failed, 5 passed (pytest).\n\nFAILED test_shop.py::test_total\n"
                                        "  assert 4 == 3\n   +  where 4 = total()\n   +    where total = "
                                        "<shop.Cart object at 0x…>.total\n"
                                        "   +      where <shop.Cart object at 0x…> = Cart(items=[1, 2])\n"
                                        "  at test_shop.py:19 in test_total: assert Cart(items=[1, 2]).total() == 3\n\n"
                                        "exit code: 1")


def test_in_a_tree_too_big_to_copy_with_candidate_sampling_on_a_breaking_edit_is_still_put_back(tmp_path):
    # Candidate edits are tried on copies only in trees of up to MAX_COPY_FILES files; this edit was never judged.
    from luban.harness.candidates import MAX_COPY_FILES

    root = project(tmp_path)
    (root / "data").mkdir()
    for i in range(MAX_COPY_FILES + 1):
        (root / "data" / f"{i}.txt").write_text("x")
    rename = turn("edit_file", path="shop.py", old_string="def __init__(self, items):\n        self.items = items",
                  new_string="def __init__(self, goods):\n        self.items = goods")
    model = script(turn("read_file", path="shop.py"), rename, *[turn("finish", answer="done")] * 4)
    run(model, root, Settings(permission_mode="full-auto", edit_samples=4))
    assert (root / "shop.py").read_text() == SHOP
    assert result_of(model, 2).startswith("Result of edit_file:\nError: This edit was not applied: after it, "
                                          f"`{PYTEST}` had 0 tests passing instead of 5")


def test_each_call_of_a_reply_is_judged_the_breaking_one_put_back_the_good_one_kept(tmp_path):
    from luban.models.scripted import assistant as reply
    from luban.types import ToolCall

    root = project(tmp_path)
    calls = (ToolCall("a", "read_file", {"path": "shop.py"}),
             ToolCall("b", "edit_file", {"path": "shop.py", "old_string": " + 1", "new_string": ""}),
             ToolCall("c", "bash", {"command": "sed -i 's/self.items = items/self.items = None/' shop.py"}))
    model = script(reply("", calls), *[reply("done")] * 2)
    ws = Workspace.open(root, root.parent / "out")
    from luban.models.protocol import NativeProtocol
    harness = Harness(NativeProtocol(), TestGate(PYTEST), read_before_write=True, regression_guard=True)
    list(loop.run("fix it", model=model, tools=(read.TOOL, edit.TOOL, bash.TOOL), ws=ws,
                  settings=Settings(permission_mode="full-auto", edit_samples=1), history=[SYSTEM], harness=harness))
    assert (root / "shop.py").read_text() == SHOP.replace(" + 1", "")
    results = [m.content for m in model.requests[1].messages if m.role == "tool"]
    assert results[1].endswith(f"[Luban: `{PYTEST}` passes after this edit. If nothing else is left, finish.]")
    assert results[2].startswith("Error: This edit was not applied: after it, "
                                 f"`{PYTEST}` had 0 tests passing instead of 6, so Luban put back shop.py as before.")


def test_a_kept_edit_that_breaks_a_passing_test_names_it(tmp_path):
    """jinja2-18ad323c: an edit fixed 19 failing tests and broke one that passed; the model saw only the counts."""
    root = tmp_path / "p"
    root.mkdir()
    (root / "scale.py").write_text("FACTOR = 3\n\n\ndef double(x):\n    return x * FACTOR\n\n\n"
                                   "def triple(x):\n    return x * FACTOR\n")
    (root / "test_scale.py").write_text(
        "from scale import double, triple\n\n\ndef test_double_one():\n    assert double(1) == 2\n\n\n"
        "def test_double_two():\n    assert double(2) == 4\n\n\ndef test_triple():\n    assert triple(1) == 3\n")
    model = script(turn("read_file", path="scale.py"),
                   turn("edit_file", path="scale.py", old_string="FACTOR = 3", new_string="FACTOR = 2"),
                   *[turn("finish", answer="?")] * 4)
    ws = Workspace.open(root, tmp_path / "out")
    list(loop.run("double is wrong", model=model, tools=(read.TOOL, edit.TOOL), ws=ws,
                  settings=Settings(permission_mode="full-auto", edit_samples=1), history=[SYSTEM], harness=HARNESS))
    assert result_of(model, 2).endswith(
        f"[Luban: `{PYTEST}` after this edit: 1 failed, 2 passed (pytest).]\n[Luban kept the edit, as more tests "
        "pass, but these passed before it and fail now: test_scale.py::test_triple. Make them pass again without "
        "undoing the fix.]")


def test_a_test_run_that_cannot_import_the_workspaces_own_package_points_to_the_test_command(tmp_path):
    """A 1.5B ran plain pytest in a src/ layout, read "No module named 'cachetools'" and tried pip, offline."""
    from luban.harness.testcommand import tests_result

    root = tmp_path / "p"
    (root / "src" / "shelf").mkdir(parents=True)
    (root / "src" / "shelf" / "__init__.py").write_text("SIZE = 2\n")
    (root / "tests").mkdir()
    (root / "tests" / "test_shelf.py").write_text("from shelf import SIZE\n\n\ndef test_size():\n    assert SIZE == 2\n")
    ws = Workspace.open(root, tmp_path / "out")
    configured = f"PYTHONPATH=src {PYTEST} tests"
    plain = tests_result(f"{PYTEST} tests", ws, 60, configured=configured)
    assert plain.error and plain.content.split("\n[the whole output")[0].endswith(
        "\n\n[Luban: `shelf` is this workspace's own code (src/shelf), not a package to install; the project's test "
        f"command `{configured}` can import it. Run that command.]")
    right = tests_result(configured, ws, 60, configured=configured)
    assert not right.error and "Luban:" not in right.content


def test_a_tool_sent_to_bash_as_a_command_runs_as_that_tool(tmp_path):
    root = project(tmp_path)
    model = script(turn("bash", command="read_file shop.py"), *[turn("finish", answer="done")] * 4)
    events, _ = run(model, root)
    assert result_of(model, 1).startswith("Result of read_file:\n     1\tclass Cart:")


def test_a_test_run_that_passes_where_the_project_command_fails_says_so(tmp_path):
    """A 1.5B ran the suite without the project's PYTHONPATH, on the installed copy of the library: "784 passed"."""
    root = project(tmp_path)
    model = script(turn("bash", command=f"{PYTEST} -k count"), *[turn("finish", answer="done")] * 4)
    run(model, root)
    told = result_of(model, 1)
    assert told.startswith("Result of bash:\n5 passed (pytest).")
    assert told.endswith(
        f"[Luban: this passes, but the command the task is judged by, `{PYTEST}`, fails on the files as they are now "
        "(1 failed, 5 passed (pytest)): this run does not test the same code or the same tests.]")
