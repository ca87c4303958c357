"""`luban --transformers PATH [--adapter DIR]`: the CLI runs the loop on an in-process model, and the flags that
cannot go together are one sentence each."""

import json
import os

import pytest
import torch

from luban.ui.cli import main


@pytest.fixture
def home(tmp_path, monkeypatch):
    for name in [n for n in os.environ if n.startswith("LUBAN_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("LUBAN_HOME", str(tmp_path / "home"))
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "notes.txt").write_text("The secret word is PERSIMMON.\n")
    return repo


def test_a_task_runs_on_the_in_process_model(home, tiny_model, capsys, monkeypatch):
    # The tiny model is random, but its JSON turns are constrained: its first reply is a valid call (a tool call or
    # finish, depending on the seed and the prompt), and the last step's can only be the answer.
    monkeypatch.setenv("LUBAN_MAX_REPLY_TOKENS", "600")
    torch.manual_seed(1)
    code = main(["-p", "What is the secret word in notes.txt?", "--transformers", str(tiny_model), "--temperature",
                 "1.0", "--max-steps", "2", "--permission-mode", "plan", "--output-format", "stream-json",
                 "--cwd", str(home)])
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    uses = [c["name"] for e in events if e["type"] == "assistant" for c in e["message"]["content"]
            if c["type"] == "tool_use"]
    results = [c for e in events if e["type"] == "user" for c in e["message"]["content"]]
    assert (code, events[0]["model"], len(uses) == len(results) <= 1, events[-1]["subtype"]) == (
        0, "tiny-qwen2", True, "success")
    assert set(uses) <= set(events[0]["tools"])


def test_a_server_and_an_in_process_model_together_are_refused(home, capsys):
    assert main(["-p", "task", "--transformers", "model", "--base-url", "http://127.0.0.1:9", "--cwd", str(home)]) == 2
    assert capsys.readouterr().err == ("luban: Give either a model server (base_url) or an in-process model "
                                       "(transformers), not both.\n")


def test_an_adapter_with_a_server_is_refused(home, capsys):
    assert main(["-p", "task", "--adapter", "tuned", "--base-url", "http://127.0.0.1:9", "--cwd", str(home)]) == 2
    assert capsys.readouterr().err == ("luban: --adapter applies to the embedded model or an in-process one "
                                       "(--transformers); a server at --base-url loads its own adapters.\n")


def test_a_model_path_that_is_no_model_is_one_sentence(home, capsys):
    assert main(["-p", "task", "--transformers", str(home), "--cwd", str(home)]) == 1
    assert capsys.readouterr().err == f"luban: {home} is not a Hugging Face model folder: it has no config.json.\n"


def test_eval_on_an_in_process_model_runs_one_task_at_a_time(home, capsys):
    assert main(["eval", "humaneval", "--transformers", "model", "--jobs", "2", "--cwd", str(home)]) == 2
    assert capsys.readouterr().err == ("luban: An in-process model (--transformers) runs one task at a time; drop "
                                       "--jobs and --ray.\n")


def test_an_eval_runs_its_tasks_on_the_in_process_model(home, tiny_model, tmp_path, capsys):
    for name in ("one", "two"):
        (tmp_path / "suite" / name / "repo").mkdir(parents=True)
        (tmp_path / "suite" / name / "repo" / "calc.py").write_text("def add(a, b):\n    return a - b\n")
        (tmp_path / "suite" / name / "task.toml").write_text(
            'prompt = "add(2, 3) should be 5"\n[grade]\ncommand = "python -c \'from calc import add; '
            'assert add(2, 3) == 5\'"\n')
    torch.manual_seed(0)
    assert main(["eval", str(tmp_path / "suite"), "--transformers", str(tiny_model), "--max-steps", "1",
                 "--run-dir", str(tmp_path / "run"), "--cwd", str(home)]) == 0
    records = [json.loads(line) for line in (tmp_path / "run" / "results.jsonl").read_text().splitlines()]
    assert sorted((r["task"], r["model"], r["resolved"]) for r in records) == [
        ("one", "tiny-qwen2", False), ("two", "tiny-qwen2", False)]
