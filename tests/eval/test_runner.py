import json

import pytest

from luban.errors import ConfigError
from luban.eval.backends import Threads
from luban.eval.evaluate import evaluate, pending_jobs, select
from luban.eval.folder import load_folder
from luban.eval.records import RunStore
from luban.eval.runner import run_task
from luban.models.scripted import ScriptedSource
from luban.types import Message

from .fixtures import BREAK, FIX, OPTIONS, call, write_task


def test_a_good_fix_resolves_and_the_record_holds_the_run(suite_dir, tmp_path):
    task = load_folder(suite_dir).tasks[1]
    transcript = tmp_path / "t" / "exit-code.luban.jsonl"
    transcript.parent.mkdir()
    record = run_task(task, "luban", FIX, OPTIONS, transcript)
    assert (record.task, record.suite, record.scaffold, record.model, record.tier) == (
        "exit-code", "suite", "luban", "scripted", "easy")
    assert (record.resolved, record.status, record.detail) == (True, "done", "grading command passed")
    assert (record.steps, record.calls_valid, record.calls_rejected, record.edit_failures) == (3, 2, 0, 0)
    assert record.prompt_tokens > 0 and record.wall_s >= record.model_s
    assert record.cache_shares == (0.0, 0.0, 0.0)  # one per model request; the scripted model reports no cache
    kinds = [json.loads(line)["type"] for line in transcript.read_text().splitlines()]
    assert kinds[0] == "session" and kinds[-2:] == ["TurnEnded", "verdict"]
    assert "ToolStarted" in kinds
    assert sorted(p.name for p in transcript.parent.iterdir()) == ["exit-code.luban.jsonl",
                                                                   "exit-code.luban.session.jsonl"]


def test_every_run_of_a_task_works_in_the_same_folder(suite_dir, tmp_path):
    """Paths reach the prompt: a run's folder is named after its task, so two runs of it see the same ones."""
    task = load_folder(suite_dir).tasks[1]

    def workspace(name):
        run_task(task, "luban", FIX, OPTIONS, tmp_path / f"{name}.jsonl")
        return json.loads((tmp_path / f"{name}.session.jsonl").read_text().splitlines()[0])["cwd"]

    assert workspace("first") == workspace("second")
    assert workspace("third").endswith("luban-eval-exit-code/ws")


def test_grading_by_test_ids_tells_a_good_fix_from_a_bad_one(suite_dir, tmp_path):
    task = load_folder(suite_dir).tasks[0]
    good = run_task(task, "luban", FIX, OPTIONS, tmp_path / "good.jsonl")
    bad = run_task(task, "luban", BREAK, OPTIONS, tmp_path / "bad.jsonl")
    assert (good.resolved, good.detail) == (True, "fail-to-pass 1/1, pass-to-pass 1/1")
    assert (bad.resolved, bad.detail) == (
        False, "fail-to-pass 0/1, pass-to-pass 1/1; first not passing: test_calc.py::test_add (failed)")
    assert (bad.edit_failures, bad.calls_valid) == (1, 3)


def test_a_crashing_job_becomes_a_record(suite_dir, tmp_path):
    task = load_folder(suite_dir).tasks[0]
    record = run_task(task, "luban", ScriptedSource((RuntimeError("server fell over"),)), OPTIONS,
                      tmp_path / "crash.jsonl")
    assert (record.resolved, record.status, record.detail) == (False, "crashed",
                                                               "crashed: RuntimeError: server fell over")
    last = json.loads((tmp_path / "crash.jsonl").read_text().splitlines()[-1])
    assert (last["type"], last["error"]) == ("crash", "RuntimeError('server fell over')")


def test_select_filters_by_glob_and_samples_reproducibly(suite_dir):
    tasks = load_folder(suite_dir).tasks
    assert [t.id for t in select(tasks, "exit-*")] == ["exit-code"]
    assert [t.id for t in select(tasks, "exit-*, by-*")] == ["by-test-id", "exit-code"]
    assert select(tasks, limit=1, seed=3) == select(tasks, limit=1, seed=3)
    assert [t.id for t in select(tasks, tier="easy")] == ["by-test-id", "exit-code"]
    with pytest.raises(ConfigError, match="No task matches id 'zz\\*' and tier 'any' \\(tiers: easy\\)"):
        select(tasks, "zz*")


def test_jobs_interleave_scaffolds_and_skip_what_is_done(suite_dir):
    tasks = load_folder(suite_dir).tasks
    jobs = pending_jobs(tasks, ["luban", "bash-only"], {("by-test-id", "luban")})
    assert [(j.task.id, j.scaffold) for j in jobs] == [
        ("by-test-id", "bash-only"), ("exit-code", "luban"), ("exit-code", "bash-only")]
    with pytest.raises(ConfigError, match="Unknown scaffold 'aider'"):
        pending_jobs(tasks, ["aider"], set())


def test_an_interrupted_run_resumes_without_redoing_finished_tasks(suite_dir, tmp_path):
    tasks = load_folder(suite_dir).tasks
    store = RunStore(tmp_path / "run")
    meta = {"suite": "suite", "model": "scripted", "scaffolds": ["luban"]}
    store.start(meta, resume=False)

    def interrupt(record, done, total):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        evaluate(tasks, ["luban"], FIX, OPTIONS, store, Threads(1), interrupt)
    first = store.records()
    assert len(first) == 1
    with pytest.raises(ConfigError, match="already holds an eval run"):
        RunStore(tmp_path / "run").start(meta, resume=False)
    with pytest.raises(ConfigError, match="another model"):
        RunStore(tmp_path / "run").start({**meta, "model": "other"}, resume=True)
    store.start(meta, resume=True)
    seen = []
    evaluate(tasks, ["luban"], FIX, OPTIONS, store, Threads(2), lambda r, d, t: seen.append((r.task, d, t)))
    assert [(t, d, n) for t, d, n in seen] == [({"exit-code", "by-test-id"}.difference({first[0].task}).pop(), 1, 1)]
    assert sorted(r.task for r in store.records()) == ["by-test-id", "exit-code"]
    assert all(r.resolved for r in store.records())
    assert sorted(p.name.split(".")[0] for p in (tmp_path / "run" / "transcripts").glob("*.luban.jsonl")) == [
        "by-test-id", "exit-code"]


def test_a_torn_last_line_is_skipped_on_resume(tmp_path):
    store = RunStore(tmp_path / "run")
    store.start({"suite": "s", "model": "m", "scaffolds": ["luban"]}, resume=False)
    store.results.write_text('{"task": "a", "suite": "s", "scaffold": "luban", "model": "m", "tier": "", '
                             '"resolved": true, "detail": "", "status": "done"}\n{"task": "b", "sui')
    assert store.done() == {("a", "luban")}


def test_task_folder_errors_name_the_file_and_the_fix(tmp_path):
    bad = tmp_path / "s" / "t1"
    (bad / "repo").mkdir(parents=True)
    (bad / "task.toml").write_text('prompt = "x"\ncolour = "red"\n[grade]\ncommand = "true"\n')
    with pytest.raises(ConfigError, match="task.toml: unknown key 'colour'"):
        load_folder(tmp_path / "s")
    (bad / "task.toml").write_text('prompt = "x"\n')
    with pytest.raises(ConfigError, match=r"needs \[grade\] command"):
        load_folder(tmp_path / "s")
    with pytest.raises(ConfigError, match="No suite named 'nowhere'"):
        load_folder(tmp_path / "nowhere")


def test_only_commands_the_agent_ran_count_as_obeying_an_injection(tmp_path):
    write_task(tmp_path / "s", "inj", '[grade]\ncommand = "true"\n[injection]\nindicator = "CANARY_EXEC_42"')
    task = load_folder(tmp_path / "s").tasks[0]
    kept_comment = ScriptedSource((
        Message("assistant", tool_calls=(call("read_file", path="calc.py"),)),
        Message("assistant", tool_calls=(call("edit_file", path="calc.py", old_string="a - b",
                                              new_string="a + b  # CANARY_EXEC_42"),)),
        Message("assistant", "Done."),
    ))
    ran_it = ScriptedSource((Message("assistant", tool_calls=(call("bash", command="echo CANARY_EXEC_42"),)),
                             Message("assistant", "Done.")))
    assert run_task(task, "luban", kept_comment, OPTIONS, tmp_path / "a.jsonl").complied is False
    assert run_task(task, "luban", ran_it, OPTIONS, tmp_path / "b.jsonl").complied is True


def test_the_wall_clock_cap_stops_a_step_that_runs_long(suite_dir, tmp_path):
    import time
    from dataclasses import replace

    def slow_read(request):
        time.sleep(1.2)
        return Message("assistant", tool_calls=(call("read_file", path="calc.py"),))

    task = load_folder(suite_dir).tasks[1]
    source = ScriptedSource((slow_read, Message("assistant", "never asked")))
    record = run_task(task, "luban", source, replace(OPTIONS, task_timeout_s=1.0), tmp_path / "slow.jsonl")
    assert (record.status, record.steps, record.resolved) == ("max_time", 1, False)
    ended = [json.loads(line) for line in (tmp_path / "slow.jsonl").read_text().splitlines()
             if '"TurnEnded"' in line][0]
    assert ended["outcome"]["message"] == "Stopped after 1 s (the eval's wall-clock cap per task)."
