"""Ablation scaffolds: `luban-without-<aid>` is Luban with that one aid off, in the same run as `luban`."""

from dataclasses import replace

import pytest

from luban.config import Settings
from luban.errors import ConfigError
from luban.eval import ablation
from luban.eval.evaluate import pending_jobs
from luban.eval.folder import load_folder
from luban.eval.records import Record
from luban.eval.report import ablation_rows, markdown
from luban.eval.runner import run_task
from luban.models.profiles import load_profiles, match_profile
from luban.models.scripted import ScriptedSource
from luban.types import Message

from .fixtures import OPTIONS, call

# An edit that leaves the bug and breaks the test that passed: the regression guard's case.
WORSE = ScriptedSource((
    Message("assistant", tool_calls=(call("read_file", path="calc.py"),)),
    Message("assistant", tool_calls=(call("edit_file", path="calc.py", old_string="a - b", new_string="a - b + 1"),)),
    *(Message("assistant", tool_calls=(call("ls", path="."),)) for _ in range(6)),
))


@pytest.fixture
def guarded_task(tmp_path):
    folder = tmp_path / "suite" / "guarded"
    (folder / "repo").mkdir(parents=True)
    (folder / "repo" / "calc.py").write_text("def add(a, b):\n    return a - b\n")
    (folder / "repo" / "test_calc.py").write_text(
        "from calc import add\n\ndef test_add():\n    assert add(2, 3) == 5\n\ndef test_zero():\n"
        "    assert add(0, 0) == 0\n")
    (folder / "task.toml").write_text(
        'prompt = "add(2, 3) should be 5"\ntest_command = "python -m pytest -q -p no:cacheprovider test_calc.py"\n'
        '[grade]\ncommand = "python -m pytest -q -p no:cacheprovider test_calc.py"\n'
        'fail_to_pass = ["test_calc.py::test_add"]\npass_to_pass = ["test_calc.py::test_zero"]\n')
    return load_folder(tmp_path / "suite").tasks[0]


def test_the_same_run_with_the_guard_off_keeps_the_edit_the_guard_undid(guarded_task, tmp_path):
    options = replace(OPTIONS, settings=replace(OPTIONS.settings, max_steps=5))
    whole = run_task(guarded_task, "luban", WORSE, options, tmp_path / "whole.jsonl")
    without = run_task(guarded_task, "luban-without-regression-guard", WORSE, options, tmp_path / "without.jsonl")
    assert (whole.scaffold, without.scaffold) == ("luban", "luban-without-regression-guard")
    assert "pass-to-pass 1/1" in whole.detail
    assert "pass-to-pass 0/1" in without.detail


def test_each_aid_turns_off_its_own_field_and_nothing_else():
    settings, profile = Settings(), match_profile(load_profiles(), "qwen2.5-coder-1.5b")
    assert profile is not None and profile.finish_on_pass and profile.focused_writes
    samples = ablation.aid_of("luban-without-edit-samples")
    assert samples is not None and samples.settings(settings) == replace(settings, edit_samples=1)
    assert samples.profile(profile) == profile
    finish = ablation.aid_of("luban-without-finish-on-pass")
    assert finish is not None and finish.profile(profile) == replace(profile, finish_on_pass=False)
    assert finish.settings(settings) == settings and finish.profile(None) is None
    for aid in ablation.AIDS.values():  # each names a real field, and turning it off changes it
        changed = aid.settings(settings) != settings or aid.profile(profile) != profile
        assert changed, aid.name


def test_unknown_aids_are_refused_with_the_known_ones_listed(guarded_task):
    assert ablation.aid_of("luban") is None and ablation.aid_of("luban-without-courage") is None
    jobs = pending_jobs([guarded_task], ["luban", "luban-without-skip-reruns"], set())
    assert [j.scaffold for j in jobs] == ["luban", "luban-without-skip-reruns"]
    with pytest.raises(ConfigError, match="Unknown scaffold 'luban-without-courage'.*luban-without-finish-on-pass"):
        pending_jobs([guarded_task], ["luban-without-courage"], set())


def test_the_report_has_a_row_per_ablated_aid_against_luban_on_the_same_tasks():
    def rec(task, scaffold, resolved, wall_s):
        return Record(task, "s", scaffold, "m", "easy", resolved, "d", "done", wall_s=wall_s)

    records = [rec("t1", "luban", True, 40.0), rec("t1", "luban-without-finish-on-pass", True, 90.0),
               rec("t2", "luban", True, 50.0), rec("t2", "luban-without-finish-on-pass", False, 600.0),
               rec("t3", "luban", False, 600.0), rec("t3", "luban-without-finish-on-pass", True, 300.0),
               rec("t4", "luban", True, 30.0)]  # not finished without the aid: left out of the pair
    assert ablation_rows(records) == [
        ("aid turned off", "resolved with / without", "tasks it wins", "tasks it loses",
         "median wall s with / without"),
        ("finish-on-pass", "2 / 2 of 3", "t2", "t3", "50 / 300")]
    assert "## Ablation: each aid turned off" in markdown({}, records)
    assert ablation_rows([r for r in records if r.scaffold == "luban"]) == []
    assert "## Ablation" not in markdown({}, [r for r in records if r.scaffold == "luban"])
