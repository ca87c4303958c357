import io
import json

import pytest

from luban.errors import ConfigError
from luban.eval.compare import compare, sides
from luban.eval.records import Record, RunStore
from luban.eval.report import md_table, summarize, summary_rows, tier_rows
from luban.ui.eval_cmd import write_reports


def rec(task, scaffold, resolved, tier="easy", **kw):
    base = dict(steps=4, prompt_tokens=1000, completion_tokens=100, cached_tokens=800, wall_s=40.0, model_s=30.0)
    return Record(task, "s", scaffold, "m", tier, resolved, "d", "done" if resolved else "max_steps", **{**base, **kw})


RECORDS = [rec("t1", "luban", True), rec("t1", "bash-only", False, steps=10, wall_s=80.0),
           rec("t2", "luban", False, tier="hard", calls_rejected=2),
           rec("t2", "bash-only", False, tier="hard", edit_failures=1)]


def test_summary_counts_rates_medians_and_stops():
    s = summarize(RECORDS, "luban")
    assert (s.tasks, s.resolved, s.rate, s.median_steps, s.median_wall_s, s.median_harness_s) == (
        2, 1, 0.5, 4, 40.0, 10.0)
    assert (s.prompt_tokens, s.cache_share, s.calls_rejected, s.stops) == (2000, 0.8, 2, {"done": 1, "max_steps": 1})


def test_tables_put_luban_first_and_split_tiers():
    assert md_table(tier_rows(RECORDS)) == ("| tier | luban | bash-only |\n|---|---|---|\n"
                                            "| easy | 1/1 | 0/1 |\n| hard | 0/1 | 0/1 |")
    assert [row[:3] for row in summary_rows(RECORDS)[1:]] == [("luban", "1/2", "50%"), ("bash-only", "0/2", "0%")]


def test_compare_two_scaffolds_of_one_run_with_ratios():
    text = compare(*sides(("run1", RECORDS), None))
    assert text.startswith("2 tasks in common.\n\n| metric | run1 luban | run1 bash-only | B/A |")
    assert "| resolved % | 50 | 0 | 0.00 |" in text
    assert "| median wall s | 40 | 60 | 1.50 |" in text
    assert text.endswith("Resolved only by B: none\nResolved only by A: t1\n")


def test_compare_needs_shared_tasks():
    with pytest.raises(ConfigError, match="share no finished task"):
        compare(*sides(("a", RECORDS[:1]), ("b", [rec("t9", "luban", True)])))


def test_reports_are_written_into_the_run_folder(tmp_path):
    store = RunStore(tmp_path / "run")
    store.start({"suite": "s", "model": "m", "scaffolds": ["luban", "bash-only"], "command": "luban eval s"}, False)
    for r in RECORDS:
        store.append(r)
    out = io.StringIO()
    write_reports(store.root, out)
    data = json.loads((store.root / "report.json").read_text())
    assert [(s["scaffold"], s["resolved"], s["tasks"]) for s in data["summary"]] == [("luban", 1, 2),
                                                                                     ("bash-only", 0, 2)]
    assert data["tiers"]["hard"] == {"luban": {"resolved": 0, "tasks": 1}, "bash-only": {"resolved": 0, "tasks": 1}}
    assert (store.root / "report.md").read_text().startswith("# Eval: s on m\n\nCommand: `luban eval s`")
    page = (store.root / "report.html").read_text()
    assert page.count("<img alt='plot' src='data:image/png;base64,") == 3
    assert out.getvalue().startswith("| scaffold | resolved |")


def test_tasks_are_listed_in_natural_order():
    from luban.eval.report import task_rows

    rows = task_rows([rec("HumanEval-10", "luban", True), rec("HumanEval-9", "luban", False)])
    assert [row[0] for row in rows[1:]] == ["HumanEval-9", "HumanEval-10"]


def test_base_against_tuned_leaves_out_the_tasks_and_libraries_the_adapter_learned_from(tmp_path):
    from luban.ui.eval_cmd import compare_runs, trained_on

    tasks = ("boltons-1", "boltons-2", "toolz-1", "toolz-2", "funcy-1")
    for name, resolved in (("base", {"boltons-1", "toolz-1"}), ("tuned", {"boltons-1", "boltons-2", "funcy-1"})):
        store = RunStore(tmp_path / name)
        store.start({"suite": "bugfix", "model": name, "scaffolds": ["luban"]}, resume=False)
        for task in tasks:
            store.append(rec(task, "luban", task in resolved))
    (tmp_path / "ds").mkdir()
    (tmp_path / "ds" / "card.json").write_text(json.dumps({"eval_tasks": ["funcy-1"], "libraries": ["boltons"]}))
    out = io.StringIO()
    compare_runs(str(tmp_path / "base"), str(tmp_path / "tuned"), out, str(tmp_path / "ds"))
    text = out.getvalue()
    assert text.startswith(f"2 tasks in common. Held out from the training data of {tmp_path / 'ds'}: 3 trained-on "
                           "task(s) left out (libraries boltons, funcy).\n\n| metric | base luban | tuned luban | B/A |")
    assert "| resolved % | 50 | 0 | 0.00 |" in text
    assert text.endswith("Resolved only by B: none\nResolved only by A: toolz-1\n")
    seen_all = trained_on(tmp_path / "ds")
    with pytest.raises(ConfigError) as caught:
        compare(*sides(("a", [rec("boltons-3", "luban", True)]), ("b", [rec("boltons-3", "luban", False)])), seen_all)
    assert str(caught.value) == (f"Every task a luban and b luban share comes from the training data of "
                                 f"{tmp_path / 'ds'}; compare on tasks from other libraries.")
    with pytest.raises(ConfigError) as caught:
        trained_on(tmp_path)
    assert str(caught.value) == (f"--held-out needs a dataset folder from luban tune data; {tmp_path} has no "
                                 "readable card.json.")


def test_a_record_keeps_its_per_step_cache_shares_through_json():
    import json
    from dataclasses import asdict

    from luban.eval.records import Record

    record = Record("t", "s", "luban", "m", "easy", True, "d", "done", cache_shares=(0.0, 0.91, 0.97))
    assert Record.from_json(json.loads(json.dumps(asdict(record)))) == record
