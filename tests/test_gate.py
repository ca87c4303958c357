import math
from dataclasses import replace

import pytest

from luban.harness.gate import (EXCERPT_HEAD, EXCERPT_TAIL, HANG_FACTOR, HANG_MIN_S, TIMEOUT_S, TestGate, TestRun, excerpt,
                               relative_paths)
from luban.harness import selfchecks
from luban.harness.selfchecks import Checks
from luban.harness.testdigest import unrelated
from luban.harness.writes import checks_command
from luban.workspace import Workspace

LOUD_FAILURE = "python3 -c \"print('x'*5000); raise SystemExit(1)\""


@pytest.fixture
def ws(tmp_path):
    return Workspace.open(tmp_path, tmp_path / ".out")


def test_a_passing_command(ws):
    run = TestGate("true").run(ws)
    assert (run.passed, run.output, run.shown, run.view, run.passing) == (True, "", "exit code: 0", "exit code: 0", 1)


def test_a_failing_command(ws):
    run = TestGate("false").run(ws)
    assert (run.passed, run.shown, run.passing) == (False, "exit code: 1", 0)


def test_long_output_of_a_generic_runner_shows_its_last_lines_only(ws):
    run = TestGate(LOUD_FAILURE).run(ws)
    assert run.shown == "Last lines of the output:\n" + "x" * 5000 + "\n\nexit code: 1"
    assert run.output == "x" * 5000 + "\n"


def test_excerpt_leaves_short_text_alone():
    text = "y" * (EXCERPT_HEAD + EXCERPT_TAIL)
    assert excerpt(text) == text
    assert excerpt(text + "z") == "y" * 1800 + "\n[... 1 characters cut ...]\n" + "y" * 699 + "z"


def test_briefing_when_the_tests_pass(ws):
    assert TestGate("true").briefing(ws) == "The test command `true` passes now. Its output:\nexit code: 0"


def test_briefing_when_the_tests_fail(ws):
    assert TestGate("false").briefing(ws) == "The test command `false` fails now. Its output:\nexit code: 1"


def test_refusal(ws):
    assert TestGate("pytest -q").refusal(TestRun(False, "", "1 failed"), ws) == (
        "You tried to finish, but `pytest -q` still fails:\n1 failed\n\nFix the code until it passes, then finish.")


def test_a_pytest_run_is_shown_as_its_digest_without_dots_or_warnings(ws, tmp_path):
    (tmp_path / "calc.py").write_text("import warnings\n\ndef add(a, b):\n    warnings.warn('old', DeprecationWarning)\n"
                                      "    return a - b\n")
    (tmp_path / "test_calc.py").write_text("from calc import add\n\n" + "".join(
        f"def test_ok_{i}():\n    assert {i} == {i}\n\n" for i in range(30)) + "def test_add():\n    assert add(2, 3) == 5\n")
    run = TestGate("python3 -m pytest -q -p no:cacheprovider").run(ws)
    assert run.shown == ("1 failed, 30 passed (pytest).\n\n"
                         "FAILED test_calc.py::test_add\n  assert -1 == 5\n   +  where -1 = add(2, 3)\n"
                         "  at test_calc.py:94 in test_add: assert add(2, 3) == 5\n\nexit code: 1")
    assert (run.passing, run.failing) == (30, frozenset({"test_calc.py::test_add"}))
    assert "..." in run.output and "DeprecationWarning" in run.output


def test_failures_failing_before_any_change_and_unrelated_to_the_task_go_last(ws, tmp_path):
    (tmp_path / "test_two.py").write_text("def test_locale():\n    raise LookupError('no locale')\n\n"
                                          "def test_total():\n    assert 1 == 2\n")
    gate = TestGate("python3 -m pytest -q -p no:cacheprovider")
    first = gate.run(ws)
    later = gate.run(ws, unrelated(first.report, "the total is wrong"))
    assert later.shown == ("2 failed (pytest).\n\nFAILED test_two.py::test_total\n  assert 1 == 2\n  at test_two.py:5 in test_total: assert 1 == 2"
                           "\n\nPre-existing (failing before any change, and nothing in common with the task):\n"
                           "- 1 failed: LookupError: no locale (test_two.py::test_locale)\n\nexit code: 1")


def test_a_failure_that_fails_otherwise_after_a_change_is_no_longer_pre_existing(ws, tmp_path):
    # The change reached the test, so it is part of the work, whatever the task's words say.
    (tmp_path / "lookup.py").write_text("def find():\n    raise LookupError('no locale')\n")
    (tmp_path / "test_two.py").write_text("from lookup import find\n\ndef test_locale():\n    find()\n")
    gate = TestGate("python3 -m pytest -q -p no:cacheprovider")
    baseline = unrelated(gate.run(ws).report, "the total is wrong")
    assert "Pre-existing" in gate.run(ws, baseline).shown
    (tmp_path / "lookup.py").write_text("def find():\n    return int('None')\n")
    shown = gate.run(ws, baseline).shown
    assert ("Pre-existing" in shown, "FAILED test_two.py::test_locale" in shown) == (False, True)


def test_the_command_runs_in_the_workspace_root(ws, tmp_path):
    (tmp_path / "marker.txt").write_text("here\n")
    assert TestGate("cat marker.txt").run(ws).shown == "Last lines of the output:\nhere\n\nexit code: 0"


def test_paths_beneath_the_root_are_shown_relative(ws, tmp_path):
    (tmp_path / "test_it.py").write_text("import unittest\n\nclass T(unittest.TestCase):\n    def test_x(self):\n"
                                         "        self.assertEqual(1, 2)\n")
    output = TestGate("python3 -m unittest").run(ws).output
    assert ('File "test_it.py", line 5, in test_x' in output, str(tmp_path) in output) == (True, False)


def test_paths_elsewhere_and_lookalike_folders_keep_their_absolute_form(ws, tmp_path):
    # A sibling folder whose name starts with the root's name is not beneath the root.
    text = f"{tmp_path}-other/a.py /usr/lib/python3/b.py {tmp_path}/c.py"
    assert relative_paths(text, ws) == f"{tmp_path}-other/a.py /usr/lib/python3/b.py c.py"


def test_after_a_first_run_of_tests_a_hang_is_cut_off_at_ten_times_its_time(ws, tmp_path):
    (tmp_path / "test_a.py").write_text("def test_a():\n    assert 1 == 2\n\ndef test_b():\n    pass\n")
    gate = TestGate("python3 -m pytest -q -p no:cacheprovider test_a.py")
    first = gate.run(ws)
    paced = gate.paced(first)
    assert paced.timeout_s == max(HANG_MIN_S, math.ceil(HANG_FACTOR * first.wall_s)) < TIMEOUT_S
    # An edit that makes the suite loop forever: the run is cut off, says so, and counts no test passing.
    (tmp_path / "test_a.py").write_text("def test_a():\n    while True:\n        pass\n")
    hung = replace(paced, timeout_s=2).run(ws)
    assert (hung.exit_code, hung.passing, hung.view.endswith("timed out after 2 s")) == (None, 0, True)


def test_a_first_run_that_ran_no_test_leaves_the_limit_as_it_was(ws, tmp_path):
    (tmp_path / "test_a.py").write_text("import missing_module\n")
    gate = TestGate("python3 -m pytest -q -p no:cacheprovider test_a.py")
    assert gate.paced(gate.run(ws)).timeout_s == TIMEOUT_S
    assert TestGate("true").paced(TestGate("true").run(ws)).timeout_s == TIMEOUT_S


def test_a_failure_whose_test_names_share_a_part_with_the_task_is_not_pre_existing(ws, tmp_path):
    """A report on `TLRUCache.expire`: TLRUCacheTest::test_tlru_datetime failed only because of the bug, yet
    shared no whole word with it and was shown as pre-existing."""
    (tmp_path / "test_misc.py").write_text(
        "class TLRUCacheTest:\n    def test_tlru_datetime(self):\n        assert [(1, 1)] == []\n\n\n"
        "def test_locale():\n    raise LookupError('no locale')\n")
    report = TestGate("python3 -m pytest -q -p no:cacheprovider").run(ws).report
    assert unrelated(report, "`cachetools.TLRUCache.expire` misbehaves: KeyError: 3") == frozenset(
        {"test_misc.py::test_locale\nLookupError: no locale"})


def test_a_run_that_counts_no_tests_is_summed_up_by_the_error_it_ended_with(ws, tmp_path):
    (tmp_path / "solution.py").write_text("def first(x: List[int]) -> int:\n    return x[0]\n")
    checks = Checks("solution.py", ("assert first([1]) == 1",))
    run = TestGate(checks.command, label=checks.label).run(ws)
    assert run.view.startswith("Traceback\n")  # the digest's first line, which alone told the model nothing
    assert run.headline == "NameError: name 'List' is not defined. Did you mean: 'list'?"
    assert TestGate("python3 -m pytest -q").run(ws).headline == "No test ran (pytest)."  # a digest's first line


def test_a_runner_that_counts_nothing_is_summed_up_by_its_last_line(ws, tmp_path):
    (tmp_path / "solution.py").write_text("def double(x):\n    return x + 1\n")
    run = TestGate(checks_command("solution.py", ">>> double(2)")).run(ws)
    assert run.view.startswith("Last lines of the output:\n")
    assert run.headline == "solution.py has no docstring examples left to run: they were the checks of this task."
    assert not run.passed


def test_checks_of_docstring_examples_that_are_gone_do_not_pass(ws, tmp_path):
    """`python3 -m doctest` passes a file without examples: a write that dropped them passed nothing."""
    (tmp_path / "solution.py").write_text("def double(x):\n    return x + 1\n")
    result = selfchecks.run(Checks("solution.py"), ws)
    assert (result.passed, result.total, result.clean) == (0, 0, False)
    assert "solution.py has no docstring examples left to run" in result.report
    assert not TestGate(Checks("solution.py").command).run(ws).passed
