import pytest

from luban.errors import ConfigError
from luban.harness.hooks import Hook, Hooks, after_edit
from luban.types import ToolResult
from luban.workspace import Workspace


def test_parse_accepts_a_command_or_a_list_and_rejects_the_rest():
    assert Hooks.parse({"after_edit": "fmt {path}", "session_start": ["a", "b"]}) == Hooks(
        (Hook("after_edit", "fmt {path}"), Hook("session_start", "a"), Hook("session_start", "b")))
    with pytest.raises(ConfigError, match="Unknown hook event 'before_lunch'; use one of session_start, after_edit."):
        Hooks.parse({"before_lunch": ["x"]})
    with pytest.raises(ConfigError, match=r"hooks.after_edit must be a command or a list of commands, not \[1\]."):
        Hooks.parse({"after_edit": [1]})


def test_a_failing_after_edit_hook_is_shown_to_the_model_and_a_passing_one_is_not(tmp_path):
    ws = Workspace.open(tmp_path, tmp_path / ".out")
    (tmp_path / "a b.py").write_text("x = 1\n")
    edited = ToolResult("Edited a b.py.")
    quiet = Hooks.parse({"after_edit": ["test -f {path}"]})
    assert after_edit(quiet, ws, "a b.py", edited) == edited
    loud = Hooks.parse({"after_edit": ["echo checking {path}; exit 3"]})
    assert after_edit(loud, ws, "a b.py", edited) == ToolResult(
        "Edited a b.py.\n\n[hook `echo checking {path}; exit 3` failed after this edit:\nchecking a b.py\nexit code: 3]")
