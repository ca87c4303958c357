"""Tasks on standard input, through the real command line against a scripted model server."""

import os
import subprocess
import sys

import pytest

from tui_harness import ScriptedServer, text


@pytest.fixture
def env(tmp_path):
    clean = {k: v for k, v in os.environ.items() if not k.startswith("LUBAN_")}
    return {**clean, "LUBAN_HOME": str(tmp_path / "home")}


def luban(env, tmp_path, args, stdin):
    """Run `luban ARGS` with `stdin` piped in (None: the terminal-less /dev/null); the task the model got, and the
    finished process."""
    server = ScriptedServer([text("Done.")])
    try:
        run = subprocess.run([sys.executable, "-m", "luban.ui.cli", *args, "--base-url", server.url,
                              "--tool-protocol", "native", "--cwd", str(tmp_path)], input=stdin, env=env,
                             capture_output=True, text=True, timeout=60,
                             stdin=subprocess.DEVNULL if stdin is None else None)
    finally:
        server.close()
    tasks = [m["content"] for body in server.bodies[:1] for m in body["messages"] if m["role"] == "user"]
    return tasks, run


def test_dash_p_without_a_task_reads_it_from_stdin(env, tmp_path):
    tasks, run = luban(env, tmp_path, ["-p"], "Fix the bug in calc.py.\nIt divides by zero.\n")
    assert (run.returncode, run.stdout, tasks) == (0, "Done.\n", ["Fix the bug in calc.py.\nIt divides by zero."])


def test_dash_p_dash_reads_it_from_stdin(env, tmp_path):
    tasks, run = luban(env, tmp_path, ["-p", "-"], "Add a docstring.")
    assert (run.returncode, tasks) == (0, ["Add a docstring."])


def test_stdin_beside_a_task_is_appended_as_context(env, tmp_path):
    tasks, run = luban(env, tmp_path, ["-p", "why does this fail?"], "Traceback: ZeroDivisionError\n")
    assert (run.returncode, tasks) == (0, ["why does this fail?\n\n<stdin>\nTraceback: ZeroDivisionError\n</stdin>"])


def test_a_task_with_nothing_piped_in_runs_as_given(env, tmp_path):
    tasks, run = luban(env, tmp_path, ["-p", "say hi"], None)
    assert (run.returncode, tasks) == (0, ["say hi"])


def test_dash_p_with_empty_stdin_says_how_to_give_a_task(env, tmp_path):
    tasks, run = luban(env, tmp_path, ["-p"], None)
    assert (run.returncode, run.stderr, tasks) == (
        2, "luban: -p without a task reads it from standard input, which was empty; give the task (luban -p TASK) or "
           "pipe it in (cat issue.md | luban -p).\n", [])


def test_a_pipe_beside_a_task_that_stays_silent_is_named_while_luban_waits(env, tmp_path):
    server = ScriptedServer([text("Done.")])
    try:
        run = subprocess.Popen([sys.executable, "-m", "luban.ui.cli", "-p", "summarise the log", "--base-url",
                                server.url, "--tool-protocol", "native", "--cwd", str(tmp_path)], env=env,
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        waited = run.stderr.readline()  # written before the pipe says anything
        out, _ = run.communicate("late line\n", timeout=60)
    finally:
        server.close()
    assert waited == ("luban: reading standard input as context for the task until it closes (run with </dev/null "
                      "to give none)\n")
    assert (run.returncode, out) == (0, "Done.\n")
    assert server.bodies[0]["messages"][-1]["content"] == "summarise the log\n\n<stdin>\nlate line\n</stdin>"
