"""End to end with a real model: the embedded llama.cpp server, the real loop, real tools, the real CLI.

Runs serially (pytest's default): on two cores any parallel CPU work slows the model tenfold.
"""

import json
import os
import subprocess
import sys

import pytest

from luban.config import user_data_dir

pytestmark = pytest.mark.model
MODEL = "qwen2.5-coder-1.5b"


def luban(args, tmp_path, timeout=600):
    data = tmp_path / "data"
    data.mkdir(exist_ok=True)
    # Share the assembled GGUF (1 GB) with the user's data dir; keep this test's sessions apart.
    (data / "models").symlink_to(user_data_dir(os.environ) / "models", target_is_directory=True)
    env = {**os.environ, "LUBAN_DATA_DIR": str(data)}
    # No stdin: `luban -p TASK` appends whatever is piped in to the task.
    return subprocess.run([sys.executable, "-m", "luban.ui.cli", *args], capture_output=True, text=True,
                          timeout=timeout, env=env, stdin=subprocess.DEVNULL)


def test_real_model_reads_a_file_and_answers_from_it(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "notes.txt").write_text("Meeting notes, 3 March.\nThe secret word is PERSIMMON.\nBring snacks.\n")
    done = luban(["-p", "What is the secret word in the file notes.txt? Read the file to find out.",
                  "--embedded-model", MODEL, "--permission-mode", "plan", "--output-format", "stream-json",
                  "--cwd", str(repo)], tmp_path)
    assert done.returncode == 0, done.stderr
    events = [json.loads(line) for line in done.stdout.splitlines()]
    uses = [c for e in events if e["type"] == "assistant" for c in e["message"]["content"] if c["type"] == "tool_use"]
    results = [c for e in events if e["type"] == "user" for c in e["message"]["content"]]
    assert (uses[0]["name"], uses[0]["input"]["path"]) == ("read_file", "notes.txt")
    assert "     2\tThe secret word is PERSIMMON." in results[0]["content"]
    assert not results[0]["is_error"]
    final = events[-1]
    assert (final["type"], final["subtype"], final["is_error"]) == ("result", "success", False)
    assert "PERSIMMON" in final["result"]
    assert final["usage"]["cache_read_input_tokens"] > 0  # later turns reuse the server's KV cache
    assert (repo / "notes.txt").read_text().count("PERSIMMON") == 1  # plan mode: nothing written



def test_real_model_eval_run_on_a_task_folder_with_two_jobs(tmp_path):
    task = tmp_path / "suite" / "make-answer"
    (task / "repo").mkdir(parents=True)
    (task / "repo" / "README.md").write_text("An empty project.\n")
    (task / "task.toml").write_text(
        'prompt = "Create a file named answer.txt that contains exactly the word PERSIMMON."\n'
        '[grade]\ncommand = "grep -qx PERSIMMON answer.txt"\n')
    run = tmp_path / "run"
    done = luban(["eval", str(tmp_path / "suite"), "--embedded-model", MODEL, "--jobs", "2", "--max-steps", "4",
                  "--scaffold", "luban,bash-only", "--run-dir", str(run)], tmp_path)
    assert done.returncode == 0, done.stderr
    records = {r["scaffold"]: r for r in map(json.loads, (run / "results.jsonl").read_text().splitlines())}
    assert sorted(records) == ["bash-only", "luban"]
    luban_run = records["luban"]
    assert (luban_run["resolved"], luban_run["status"], luban_run["model"]) == (True, "done", MODEL)
    assert luban_run["prompt_tokens"] > 0 and 0 < luban_run["model_s"] <= luban_run["wall_s"]
    assert records["bash-only"]["steps"] >= 1 and records["bash-only"]["prompt_tokens"] > 0
    assert sorted(p.name for p in run.iterdir()) == ["report.html", "report.json", "report.md", "results.jsonl",
                                                     "run.json", "transcripts"]
    assert done.stdout.startswith("| scaffold | resolved |")
    assert json.loads((run / "run.json").read_text())["fresh_server"] is False  # two jobs share one server


def test_real_model_focused_write_of_a_stub_passes_its_docstring_examples(tmp_path):
    """Issue 16: the small model's profile has focused_writes; the stub is written from the direct prompt first."""
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "solution.py").write_text(
        "from typing import List\n\n\ndef below_zero(operations: List[int]) -> bool:\n"
        '    """Given deposits and withdrawals on an account that starts at zero, return True if the balance\n'
        "    ever falls below zero, else False.\n    >>> below_zero([1, 2, 3])\n    False\n"
        '    >>> below_zero([1, 2, -4, 5])\n    True\n    """\n')
    done = luban(["-p", "Implement the function `below_zero` in `solution.py`.", "--embedded-model", MODEL,
                  "--permission-mode", "auto-edit", "--max-steps", "4", "--cwd", str(repo)], tmp_path)
    assert done.returncode == 0, done.stderr
    checked = subprocess.run([sys.executable, "-m", "doctest", "solution.py"], cwd=repo, capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout


def test_real_model_eval_with_fresh_server_starts_each_run_on_an_empty_cache(tmp_path):
    """llama.cpp's greedy reply depends on what its prompt cache held; with --jobs 1 each run gets a new server
    unless --shared-server is asked for."""
    common = ["eval", "humaneval", "--embedded-model", "qwen2.5-coder-0.5b", "--scaffold", "direct",
              "--tasks", "HumanEval-0,HumanEval-2"]

    def cached(run):
        return [r["cached_tokens"] for r in map(json.loads, (run / "results.jsonl").read_text().splitlines())]

    shared, fresh = tmp_path / "shared", tmp_path / "fresh"
    for run, flags in ((shared, ["--shared-server"]), (fresh, [])):
        home = tmp_path / f"{run.name}-home"  # luban() keeps each call's data dir in the folder it is given
        home.mkdir()
        done = luban([*common, *flags, "--run-dir", str(run)], home)
        assert done.returncode == 0, done.stderr
    assert max(cached(shared)) > 0  # the second problem found the prompt template's start in the shared server
    assert cached(fresh) == [0, 0]
    assert [json.loads((run / "run.json").read_text())["fresh_server"] for run in (shared, fresh)] == [False, True]
