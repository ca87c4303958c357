"""Test results as data: real pytest and unittest runs on the small projects in fixtures/testreport, each
digest compared with its golden file; the JUnit XML and the printed text must give the same digest."""

import os
import shlex
import shutil
import sys
from pathlib import Path

import pytest

from luban.harness.testdigest import digest, unrelated
from luban.harness.testoutput import read
from luban.harness.testreport import Failure, Frame, TestReport, collecting, failure_from, node_id, read_junit
from luban.sandbox import bubblewrap_available, make
from luban.harness.testrun import run_tests
from luban.tools import bash
from luban.workspace import Workspace

FIXTURES = Path(__file__).parent / "fixtures" / "testreport"
PYTHON = shlex.quote(sys.executable)
PYTEST = f"{PYTHON} -m pytest -q -p no:cacheprovider"
COMMANDS = {
    "pytest_mixed": PYTEST,
    "pytest_collection_error": PYTEST,
    "pytest_missing_module": PYTEST,
    "unittest_mixed": f"{PYTHON} -m unittest",
    "generic_traceback": f"{PYTHON} check.py",
}


def project(case: str, tmp_path: Path, sandbox=None) -> Workspace:
    shutil.copytree(FIXTURES / case / "project", tmp_path / "project")
    return Workspace.open(tmp_path / "project", tmp_path / "out", sandbox)


def golden(case: str) -> str:
    return (FIXTURES / case / "digest.txt").read_text().removesuffix("\n")


@pytest.mark.parametrize("case", sorted(COMMANDS))
def test_the_digest_of_a_real_run(case, tmp_path):
    ws = project(case, tmp_path)
    tested = run_tests(COMMANDS[case], ws)
    assert tested.exit_code == (2 if case == "pytest_collection_error" else 1)
    assert digest(tested.report, ws.root) == golden(case)
    assert digest(read(tested.output), ws.root) == golden(case)  # the same from the printed text alone
    assert not list(ws.root.glob(".luban-junit-*"))  # the XML is gone again


@pytest.mark.skipif(not bubblewrap_available(), reason="bubblewrap is not installed")
def test_the_junit_xml_comes_back_out_of_the_sandbox(tmp_path):
    ws = project("pytest_mixed", tmp_path, make("bwrap", host=os.environ))
    tested = run_tests(f"{PYTEST} > /dev/null", ws)  # nothing printed: all the report knows is from the XML
    assert (tested.exit_code, tested.output) == (1, "")
    assert digest(tested.report, ws.root) == golden("pytest_mixed")


def test_the_fixture_prints_dots_and_warnings_the_digest_leaves_out(tmp_path):
    ws = project("pytest_mixed", tmp_path)
    tested = run_tests(PYTEST, ws)
    assert tested.output.startswith("." * 30)
    assert "warnings summary" in tested.output and "DeprecationWarning" in tested.output
    assert tested.output.index("= ERRORS =") < tested.output.index("= FAILURES =")
    assert tested.report.runner == "pytest"
    assert tested.report.counts == (("failed", 3), ("error", 1), ("passed", 30), ("xfailed", 1))


def test_a_bare_pytest_script_with_a_folder_gets_the_xml_too(tmp_path):
    ws = project("pytest_missing_module", tmp_path)
    script = shlex.quote(str(Path(sys.executable).parent / "pytest"))
    tested = run_tests(f"{script} tests/ -q -p no:cacheprovider > /dev/null", ws)
    assert (tested.exit_code, tested.output) == (1, "")
    assert digest(tested.report, ws.root) == golden("pytest_missing_module")


@pytest.mark.parametrize("options", ["--tb=short", "-v", "--tb=long -rfE"])
def test_other_report_options_give_the_same_digest(options, tmp_path):
    ws = project("pytest_mixed", tmp_path)
    tested = run_tests(f"{PYTEST} {options}", ws)
    assert digest(tested.report, ws.root) == golden("pytest_mixed")
    assert digest(read(tested.output), ws.root) == golden("pytest_mixed")


def test_a_pytest_without_junitxml_is_run_again_as_it_was(tmp_path):
    ws = project("pytest_missing_module", tmp_path)
    tested = run_tests(f"{PYTEST} -p no:junitxml", ws)
    assert tested.exit_code == 1
    assert digest(tested.report, ws.root) == golden("pytest_missing_module")


def test_failures_that_failed_before_and_share_nothing_with_the_task_go_last(tmp_path):
    ws = project("pytest_missing_module", tmp_path)
    task = "mean() in tests/stats.py divides by the wrong number."
    baseline = unrelated(run_tests(PYTEST, ws).report, task)
    assert len(baseline) == 40
    assert digest(run_tests(PYTEST, ws).report, ws.root, baseline=baseline) == (
        "1 failed, 40 errors (pytest).\n\n"
        "FAILED tests/test_stats.py::test_mean\n"
        "  assert 3.0 == 2\n"
        "   +  where 3.0 = mean([1, 2, 3])\n"
        "  at tests/test_stats.py:12 in test_mean: assert mean([1, 2, 3]) == 2\n\n"
        "Pre-existing (failing before any change, and nothing in common with the task):\n"
        "- 40 errors: ModuleNotFoundError: No module named 'nolocale_pack' (tests/test_stats.py::test_formatting[0], "
        "tests/test_stats.py::test_formatting[1] and 38 more)")


def test_a_baseline_failure_the_task_names_stays_first(tmp_path):
    ws = project("pytest_missing_module", tmp_path)
    task = "Formatting numbers needs the nolocale_pack locale data."
    baseline = unrelated(run_tests(PYTEST, ws).report, task)
    assert digest(run_tests(PYTEST, ws).report, ws.root, baseline=baseline) == (
        "1 failed, 40 errors (pytest).\n\n"
        "Failures by cause:\n"
        "- 40 errors: ModuleNotFoundError: No module named 'nolocale_pack' (tests/test_stats.py::test_formatting[0], "
        "tests/test_stats.py::test_formatting[1] and 38 more)\n\n"
        "ERROR tests/test_stats.py::test_formatting[0]\n"
        "  ModuleNotFoundError: No module named 'nolocale_pack'\n"
        "  at conftest.py:6 in locale: import nolocale_pack\n\n"
        "Pre-existing (failing before any change, and nothing in common with the task):\n"
        "- 1 failed: assert 3.0 == 2 (tests/test_stats.py::test_mean)")


def test_without_a_baseline_nothing_is_pre_existing(tmp_path):
    ws = project("pytest_missing_module", tmp_path)
    assert digest(run_tests(PYTEST, ws).report, ws.root) == golden("pytest_missing_module")


def test_collecting_keeps_the_users_pytest_addopts(tmp_path):
    ws = Workspace.open(tmp_path, tmp_path / ".out")
    command = collecting('printf "%s" "$PYTEST_ADDOPTS"', Path("/w/r.xml"))
    assert bash.execute(f"export PYTEST_ADDOPTS=-x\n{command}", ws, 10) == (
        0, "-x --junitxml=/w/r.xml -o junit_family=xunit1")
    assert bash.execute(command, ws, 10) == (0, "--junitxml=/w/r.xml -o junit_family=xunit1")


def test_node_ids_from_junit_names():
    assert node_id("tests/test_a.py", "tests.test_a", "test_x[1]") == "tests/test_a.py::test_x[1]"
    assert node_id("tests/test_a.py", "tests.test_a.TestCart", "test_total") == "tests/test_a.py::TestCart::test_total"
    assert node_id("tests/test_a.py", "", "tests.test_a") == "tests/test_a.py"  # a collection error
    assert node_id("", "tests.test_a", "test_x") == "tests.test_a::test_x"


def test_a_syntax_error_names_the_file_and_the_error():
    body = ('E     File "/w/shop/pricing.py", line 3\n'
            "E       return (price +\n"
            "E              ^\n"
            "E   SyntaxError: '(' was never closed")
    assert failure_from("tests/test_a.py", "error", body) == Failure(
        "tests/test_a.py", "error", "SyntaxError: '(' was never closed",
        ('  File "/w/shop/pricing.py", line 3', "    return (price +", "           ^",
         "SyntaxError: '(' was never closed"),
        (Frame("/w/shop/pricing.py", 3),))


def test_unreadable_junit_falls_back_to_the_text():
    text = "F\n=== FAILURES ===\n___ test_a ___\nE   assert 1 == 2\n1 failed in 0.01s\n"
    assert read(text, "<testsuites><testcase") == TestReport(
        "pytest", (("failed", 1),), (Failure("test_a", "failed", "assert 1 == 2", ("assert 1 == 2",), ()),))
    assert read_junit("<testsuites/>") == TestReport("pytest", (), ())


def test_a_generic_runner_without_a_traceback_shows_its_last_lines(tmp_path):
    report = read("\n".join(f"step {i}" for i in range(30)) + "\nFAIL: 2 checks\n")
    assert digest(report, tmp_path) == "Last lines of the output:\n" + "\n".join(
        [*(f"step {i}" for i in range(16, 30)), "FAIL: 2 checks"])


def test_unittests_tally_of_one_failure_is_not_a_pytest_summary():
    output = ("F.\n" + "=" * 70 + "\nFAIL: test_a (test_m.T.test_a)\n" + "-" * 70 + "\n"
              'Traceback (most recent call last):\n  File "test_m.py", line 5, in test_a\n'
              "    self.assertEqual(1, 2)\nAssertionError: 1 != 2\n\n" + "-" * 70
              + "\nRan 2 tests in 0.001s\n\nFAILED (failures=1)\n")
    assert read(output) == TestReport("unittest", (("failed", 1), ("passed", 1)), (
        Failure("test_m.T.test_a", "failed", "AssertionError: 1 != 2", ("AssertionError: 1 != 2",),
                (Frame("test_m.py", 5, "test_a"),)),))


def test_causes_that_differ_only_in_object_ids_are_one_group(tmp_path):
    from luban.harness.testdigest import digest
    from luban.harness.testreport import Failure, TestReport

    failures = tuple(Failure(f"tests/t.py::test_{n}", "failed", f"KeyError: {id_}", (f"KeyError: {id_}",), ())
                     for n, id_ in enumerate(("140210738342976", "140210739323328", "0x7f3a5c2b1e40")))
    alone = Failure("tests/t.py::test_other", "failed", "AssertionError: assert 1 == 2", ("assert 1 == 2",), ())
    text = digest(TestReport("pytest", (("failed", 4),), (*failures, alone)), tmp_path)
    assert "- 3 failed: KeyError: <id> (tests/t.py::test_0, tests/t.py::test_1 and 1 more)" in text
    assert "FAILED tests/t.py::test_1" not in text  # one detail per cause
    assert "- 1 failed: AssertionError: assert 1 == 2 (tests/t.py::test_other)" in text
