import os
import signal
import time
from pathlib import Path

import pytest

from luban.tools import read
from luban.tools.bash import TOOL
from luban.types import ToolResult
from luban.workspace import Workspace


def gone(pid: int) -> bool:
    """Whether a process has exited (a zombie waiting for a reaper counts as exited)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return True
    return state in ("Z", "X")


def wait_gone(pid: int) -> bool:
    deadline = time.monotonic() + 2
    while not gone(pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    return gone(pid)


def test_the_spec_is_a_closed_schema_with_command_required():
    params = TOOL.spec.parameters
    assert (TOOL.spec.name, TOOL.effect, params["required"], params["additionalProperties"]) == (
        "bash",
        "exec",
        ["command"],
        False,
    )


def test_stdout_and_stderr_come_together_then_the_exit_code(ws):
    assert TOOL({"command": "echo out; echo err >&2; echo more"}, ws) == ToolResult("out\nerr\nmore\nexit code: 0")


def test_a_failing_command_is_an_error_result(ws):
    assert TOOL({"command": "echo boom; exit 3"}, ws) == ToolResult("boom\nexit code: 3", error=True)


def test_no_output_shows_only_the_exit_code(ws):
    assert TOOL({"command": "true"}, ws) == ToolResult("exit code: 0")


def test_it_runs_in_the_workspace_root(ws):
    assert TOOL({"command": "pwd"}, ws) == ToolResult(f"{ws.root}\nexit code: 0")


def test_paths_under_the_workspace_are_shown_relative_to_it(ws):
    """A traceback's absolute paths would put the workspace's folder name into the prompt (a new temporary
    folder in each eval run, which changed the model's replies); the root itself is still shown as it is."""
    (ws.root / "boom.py").write_text("raise ValueError('x')\n")
    shown = TOOL({"command": "python3 \"$PWD/boom.py\"; pwd"}, ws).content
    assert 'File "boom.py", line 1, in <module>' in shown
    assert f"\n{ws.root}\nexit code: 0" in shown


def test_pagers_prompts_and_colours_are_turned_off(ws):
    command = 'echo "$PAGER $GIT_PAGER $GIT_TERMINAL_PROMPT $TERM $NO_COLOR"'
    assert TOOL({"command": command}, ws) == ToolResult("cat cat 0 dumb 1\nexit code: 0")


def test_stdin_is_empty_so_cat_returns_at_once(ws):
    assert TOOL({"command": "cat; echo done", "timeout": 5}, ws) == ToolResult("done\nexit code: 0")


def test_bytes_that_are_not_utf8_are_replaced(ws):
    assert TOOL({"command": r"printf 'caf\xe9\n'"}, ws) == ToolResult("caf\ufffd\nexit code: 0")


def test_a_timeout_kills_the_whole_process_group(ws):
    started = time.monotonic()
    result = TOOL({"command": "sleep 100 & echo $! > bg.pid; echo started; sleep 100", "timeout": 1}, ws)
    elapsed = time.monotonic() - started
    background = int((ws.root / "bg.pid").read_text())
    assert (result, elapsed < 4, wait_gone(background)) == (
        ToolResult("started\ntimed out after 1 s; process group killed", error=True),
        True,
        True,
    )


def test_a_process_that_ignores_sigterm_gets_sigkill(ws):
    started = time.monotonic()
    result = TOOL({"command": "trap '' TERM; sleep 100 & echo $! > bg.pid; sleep 100", "timeout": 1}, ws)
    elapsed = time.monotonic() - started
    background = int((ws.root / "bg.pid").read_text())
    assert (result, elapsed < 6, wait_gone(background)) == (
        ToolResult("timed out after 1 s; process group killed", error=True),
        True,
        True,
    )


def test_background_children_holding_the_output_are_stopped_when_the_shell_exits(ws):
    started = time.monotonic()
    result = TOOL({"command": "sleep 100 & echo $! > bg.pid; echo started"}, ws)
    elapsed = time.monotonic() - started
    background = int((ws.root / "bg.pid").read_text())
    assert (result, elapsed < 5, wait_gone(background)) == (
        ToolResult("started\n[background processes still writing to the output were stopped]\nexit code: 0"),
        True,
        True,
    )


def test_a_background_server_with_redirected_output_keeps_running(ws):
    result = TOOL({"command": "sleep 100 > /dev/null 2>&1 & echo $!"}, ws)
    server = int(result.content.split("\n")[0])
    try:
        assert (result, gone(server)) == (ToolResult(f"{server}\nexit code: 0"), False)
    finally:
        os.kill(server, signal.SIGKILL)


def test_big_output_keeps_head_and_tail_and_saves_the_whole(ws):
    result = TOOL({"command": "seq 1 100000"}, ws)
    [saved] = ws.scratch.iterdir()
    head = "\n".join(str(n) for n in range(1, 101))
    tail = "\n".join(str(n) for n in range(99751, 100001))
    marker = f"[... 99650 lines cut; full output in {saved} — read it with read_file (offset, limit) or grep ...]"
    assert (result, saved.read_text()) == (
        ToolResult(f"{head}\n{marker}\n{tail}\nexit code: 0"),
        "".join(f"{n}\n" for n in range(1, 100001)),
    )
    assert read.TOOL({"path": str(saved), "offset": 99999, "limit": 1}, ws) == ToolResult(
        " 99999\t99999\n100000\t100000\n[showing lines 99999-100000 of 100000]"
    )


def test_a_huge_line_is_shortened(ws):
    result = TOOL({"command": "head -c 20000 /dev/zero | tr '\\0' x"}, ws)
    [saved] = ws.scratch.iterdir()
    marker = f"[... long lines shortened; full output in {saved} — read it with read_file (offset, limit) or grep ...]"
    assert result == ToolResult("x" * 1000 + f" [... 19000 characters cut]\n{marker}\nexit code: 0")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({}, "bash needs the argument 'command' (a string)."),
        ({"command": "  "}, "command is empty; give the shell command to run."),
        ({"command": ["ls", "-l"]}, 'Argument \'command\' of bash must be a string, not the list ["ls", "-l"].'),
        ({"command": "ls", "timeout": 0}, "Argument 'timeout' of bash must be between 1 and 600, not 0."),
        ({"command": "ls", "timeout": 601}, "Argument 'timeout' of bash must be between 1 and 600, not 601."),
        ({"command": "ls", "timeout": "10"}, "Argument 'timeout' of bash must be an integer, not the string \"10\"."),
        ({"command": "ls", "cwd": "src"}, "bash has no argument 'cwd'; its arguments are command (required), timeout."),
    ],
)
def test_bad_arguments_say_how_to_fix_them(ws, args, message):
    assert TOOL(args, ws) == ToolResult(message, error=True)


def test_commands_start_from_the_workspaces_environment_less_credentials(tmp_path):
    """The environment comes down from config.environment() through the Workspace; bash reads no other."""
    ws = Workspace(tmp_path, tmp_path, environ={"PATH": os.environ["PATH"], "GREETING": "hi", "API_TOKEN": "secret"})
    assert TOOL({"command": 'echo "$GREETING-$API_TOKEN-$PAGER"'}, ws) == ToolResult("hi--cat\nexit code: 0")
