import pytest

from luban.harness.guards import Guards
from luban.types import ToolCall, ToolResult
from luban.workspace import Workspace


@pytest.fixture
def ws(tmp_path):
    root = tmp_path / "root"
    (root / "tests").mkdir(parents=True)
    (root / "calc.py").write_text("x = 1\n")
    (root / "tests" / "test_calc.py").write_text("def test(): pass\n")
    return Workspace.open(root, tmp_path / "scratch")


def call(name, **args):
    return ToolCall("c_0", name, args)


EDIT = call("edit_file", path="calc.py", old="1", new="2")
READ = call("read_file", path="calc.py")


def test_writing_an_existing_unread_file_is_refused(ws):
    assert Guards().refuse(EDIT, "write", ws) == (
        "Read calc.py with read_file before changing it, so your edit matches its real text. Your next step: "
        "read_file with path calc.py; then make your edit from what it shows.")


def test_writing_is_allowed_after_a_successful_read(ws):
    guards = Guards()
    guards.observe(READ, "read", ToolResult("     1\tx = 1"), ws)
    assert guards.refuse(EDIT, "write", ws) is None


def test_a_failed_read_does_not_count(ws):
    guards = Guards()
    guards.observe(READ, "read", ToolResult("no such file", error=True), ws)
    assert guards.refuse(EDIT, "write", ws) == (
        "Read calc.py with read_file before changing it, so your edit matches its real text. Your next step: "
        "read_file with path calc.py; then make your edit from what it shows.")


def test_a_read_under_another_spelling_of_the_path_counts(ws):
    guards = Guards()
    guards.observe(call("read_file", path=str(ws.root / "calc.py")), "read", ToolResult("ok"), ws)
    assert guards.refuse(call("edit_file", path="./calc.py"), "write", ws) is None


def test_a_successful_write_counts_as_seen(ws):
    guards = Guards()
    guards.observe(call("write_file", path="calc.py", content="x = 3\n"), "write", ToolResult("ok"), ws)
    assert guards.refuse(EDIT, "write", ws) is None


def test_a_new_file_can_be_written_without_reading(ws):
    assert Guards().refuse(call("write_file", path="new/module.py", content=""), "write", ws) is None


def test_read_before_write_can_be_turned_off(ws):
    assert Guards(read_before_write=False).refuse(EDIT, "write", ws) is None


def test_protected_glob_is_refused_even_after_reading(ws):
    guards = Guards(protected=("tests/*",))
    edit = call("edit_file", path="tests/test_calc.py")
    guards.observe(call("read_file", path="tests/test_calc.py"), "read", ToolResult("ok"), ws)
    assert guards.refuse(edit, "write", ws) == (
        "tests/test_calc.py is protected and must not be changed; change the code it tests instead.")
    assert guards.refuse(call("write_file", path="tests/test_new.py"), "write", ws) == (
        "tests/test_new.py is protected and must not be changed; change the code it tests instead.")


@pytest.mark.parametrize("effect", ["read", "exec"])
def test_calls_that_do_not_write_are_never_refused(ws, effect):
    guards = Guards(protected=("*",))
    assert guards.refuse(call("read_file", path="tests/test_calc.py"), effect, ws) is None
    assert guards.refuse(call("bash", command="rm calc.py"), effect, ws) is None


def test_a_write_without_a_path_argument_is_not_judged(ws):
    assert Guards(protected=("*",)).refuse(call("bash", command="rm calc.py"), "write", ws) is None


def test_a_path_escaping_the_workspace_is_left_to_the_tool(ws, tmp_path):
    (tmp_path / "outside.py").write_text("secret\n")
    guards = Guards(protected=("*",))
    assert guards.refuse(call("edit_file", path="../outside.py"), "write", ws) is None
    assert guards.refuse(call("edit_file", path=str(tmp_path / "outside.py")), "write", ws) is None
