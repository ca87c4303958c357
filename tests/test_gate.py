import pytest

from luban.harness.gate import EXCERPT_HEAD, EXCERPT_TAIL, TestGate, TestRun, excerpt, relative_paths
from luban.workspace import Workspace

LOUD_FAILURE = "python3 -c \"print('x'*5000); raise SystemExit(1)\""


@pytest.fixture
def ws(tmp_path):
    return Workspace.open(tmp_path, tmp_path / ".out")


def test_a_passing_command(ws):
    assert TestGate("true").run(ws) == TestRun(True, "exit code: 0")


def test_a_failing_command(ws):
    assert TestGate("false").run(ws) == TestRun(False, "exit code: 1")


def test_long_output_keeps_head_and_tail(ws):
    full = "x" * 5000 + "\nexit code: 1"  # what the bash tool reports: 5013 characters
    assert TestGate(LOUD_FAILURE).run(ws) == TestRun(
        False, "x" * 1800 + "\n[... 2513 characters cut ...]\n" + "x" * 687 + "\nexit code: 1")
    assert len(full) - EXCERPT_HEAD - EXCERPT_TAIL == 2513


def test_excerpt_leaves_short_text_alone():
    text = "y" * (EXCERPT_HEAD + EXCERPT_TAIL)
    assert excerpt(text) == text
    assert excerpt(text + "z") == "y" * 1800 + "\n[... 1 characters cut ...]\n" + "y" * 699 + "z"


def test_briefing_when_the_tests_pass(ws):
    assert TestGate("true").briefing(ws) == "The test command `true` passes now. Its output:\nexit code: 0"


def test_briefing_when_the_tests_fail(ws):
    assert TestGate("false").briefing(ws) == "The test command `false` fails now. Its output:\nexit code: 1"


def test_refusal(ws):
    assert TestGate("pytest -q").refusal(TestRun(False, "1 failed"), ws) == (
        "You tried to finish, but `pytest -q` still fails:\n1 failed\n\nFix the code until it passes, then finish.")


def test_the_command_runs_in_the_workspace_root(ws, tmp_path):
    (tmp_path / "marker.txt").write_text("here\n")
    assert TestGate("cat marker.txt").run(ws) == TestRun(True, "here\nexit code: 0")


def test_paths_beneath_the_root_are_shown_relative(ws, tmp_path):
    (tmp_path / "test_it.py").write_text("import unittest\n\nclass T(unittest.TestCase):\n    def test_x(self):\n"
                                         "        self.assertEqual(1, 2)\n")
    output = TestGate("python3 -m unittest").run(ws).output
    assert ('File "test_it.py", line 5, in test_x' in output, str(tmp_path) in output) == (True, False)


def test_paths_elsewhere_and_lookalike_folders_keep_their_absolute_form(ws, tmp_path):
    # A sibling folder whose name starts with the root's name is not beneath the root.
    text = f"{tmp_path}-other/a.py /usr/lib/python3/b.py {tmp_path}/c.py"
    assert relative_paths(text, ws) == f"{tmp_path}-other/a.py /usr/lib/python3/b.py c.py"
