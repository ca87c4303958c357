"""Scripted runs and task folders shared by the eval tests."""

import json
from pathlib import Path

from luban.config import Settings
from luban.eval.runner import RunOptions
from luban.models.scripted import ScriptedSource
from luban.sandbox import bubblewrap_available
from luban.types import Message, ToolCall

SETTINGS = Settings(tool_protocol="native", edit_samples=1, max_steps=6)
OPTIONS = RunOptions(SETTINGS, task_timeout_s=60, sandbox="bwrap" if bubblewrap_available() else "none")


def call(name, **arguments):
    return ToolCall(f"c-{name}", name, arguments)


FIX = ScriptedSource((
    Message("assistant", tool_calls=(call("read_file", path="calc.py"),)),
    Message("assistant", tool_calls=(call("edit_file", path="calc.py", old_string="a - b", new_string="a + b"),)),
    Message("assistant", "Fixed: add adds."),
))
BREAK = ScriptedSource((
    Message("assistant", tool_calls=(call("read_file", path="calc.py"),)),
    Message("assistant", tool_calls=(call("edit_file", path="calc.py", old_string="nope", new_string="x"),)),
    Message("assistant", tool_calls=(call("edit_file", path="calc.py", old_string="a - b", new_string="a * b"),)),
    Message("assistant", "Done."),
))


def write_task(root: Path, name: str, grade: str, **extra: str) -> None:
    (root / name / "repo").mkdir(parents=True)
    (root / name / "hidden").mkdir()
    (root / name / "repo" / "calc.py").write_text("def add(a, b):\n    return a - b\n")
    (root / name / "hidden" / "test_calc.py").write_text(
        "from calc import add\n\ndef test_add():\n    assert add(2, 3) == 5\n\ndef test_zero():\n"
        "    assert add(0, 0) == 0\n")
    body = "\n".join(f"{k} = {json.dumps(v)}" for k, v in extra.items())
    (root / name / "task.toml").write_text(f'prompt = "add(2, 3) should be 5"\ntier = "easy"\n{body}\n{grade}\n')
