"""The direct scaffold: one greedy request, its code graded by the task's hidden tests (scripted model)."""

import json

import pytest

from luban.errors import ConfigError, ModelTimeout
from luban.eval.direct import PROMPT, run, solution
from luban.eval.evaluate import pending_jobs
from luban.eval.folder import load_folder
from luban.eval.humaneval import problem_task
from luban.eval.runner import run_task
from luban.models.scripted import ScriptedSource, script
from luban.types import Message, Request, TurnEnded
from luban.workspace import Workspace

from .fixtures import OPTIONS

STUB = 'from typing import List\n\n\ndef total(xs: List[int]) -> int:\n    """The sum of xs."""\n'
TASK = problem_task({"task_id": "Toy/0", "prompt": STUB, "entry_point": "total", "canonical_solution": "",
                     "test": "def check(candidate):\n    assert candidate([1, 2, 3]) == 6\n    assert candidate([]) == 0\n"})
RIGHT = "Here it is:\n```python\ndef total(xs):\n    return sum(xs)\n```\nIt adds them up."
WRONG = "```python\ndef total(xs):\n    return len(xs)\n```"


@pytest.mark.parametrize("reply, resolved", [
    (RIGHT, True),
    ("```python\n    return sum(xs)\n```", True),  # a body alone completes the stub
    (WRONG, False),
    ("I cannot do that.", False),
])
def test_the_reply_is_graded_by_the_hidden_tests(reply, resolved, tmp_path):
    transcript = tmp_path / "Toy-0.direct.jsonl"
    record = run_task(TASK, "direct", ScriptedSource((Message("assistant", reply),)), OPTIONS, transcript)
    assert (record.scaffold, record.status, record.steps, record.resolved) == ("direct", "done", 1, resolved)
    kinds = [json.loads(line)["type"] for line in transcript.read_text().splitlines()]
    assert kinds == ["ModelReplied", "AssistantText", "ToolStarted", "ToolFinished", "TurnEnded", "verdict"]


def test_one_greedy_request_without_tools_and_the_file_it_leaves(tmp_path):
    model = script(Message("assistant", RIGHT))
    (tmp_path / "ws").mkdir()
    ws = Workspace.open(tmp_path / "ws", tmp_path / "out")
    TASK.source.prepare(ws.root)
    events = list(run(TASK, model=model, ws=ws, max_reply_tokens=512))
    assert model.requests == [Request((Message("user", PROMPT.format(code=STUB.strip("\n"))),), (), 0.0, 512)]
    assert isinstance(events[-1], TurnEnded) and events[-1].outcome.status == "done"
    assert (ws.root / "solution.py").read_text() == STUB.rstrip() + "\n\n\ndef total(xs):\n    return sum(xs)\n"


def test_a_model_that_fails_ends_the_run_as_an_error(tmp_path):
    record = run_task(TASK, "direct", ScriptedSource((ModelTimeout("no first token in 600 s"),)), OPTIONS,
                      tmp_path / "t.jsonl")
    assert (record.status, record.detail, record.resolved) == ("error", "grading command failed (exit 1): AssertionError", False)


def test_the_prompt_holds_the_stub_in_a_code_block():
    assert PROMPT.format(code="def f():\n    pass") == (
        "Complete the following Python code. Reply with the complete function, and any imports it needs, in one "
        "```python code block.\n\n```python\ndef f():\n    pass\n```")


def test_the_block_that_defines_the_function_is_chosen():
    reply = "```python\nprint(total([1]))\n```\nand\n```py\ndef total(xs):\n    return sum(xs)\n```"
    assert solution(STUB, reply, "total") == STUB.rstrip() + "\n\n\ndef total(xs):\n    return sum(xs)\n"
    assert solution("def f():\n", "no code here", "f") == "def f():\nno code here\n"


def test_tasks_that_are_not_one_function_are_refused_before_the_run(suite_dir):
    tasks = load_folder(suite_dir).tasks
    with pytest.raises(ConfigError, match="The direct scaffold asks for one function in one file, as humaneval's "
                                          "tasks do; task by-test-id is not like that."):
        pending_jobs(tasks, ["luban", "direct"], set())
    assert [(j.task.id, j.scaffold) for j in pending_jobs([TASK], ["luban", "direct"], set())] == [
        ("Toy-0", "luban"), ("Toy-0", "direct")]
