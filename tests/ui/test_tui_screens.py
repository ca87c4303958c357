"""The interactive terminal in a real terminal: tmux runs `luban` at 80x30 without colour against a scripted
server; keys are typed with send-keys and the whole pane is compared with golden screens (tests/ui/screens/).
Set UPDATE_SCREENS=1 to rewrite the goldens after a deliberate change, then read the diff."""

import itertools
import json
import os
import re
import sys
from pathlib import Path

import pytest

from tui_harness import STALL, TMUX, Pane, ScriptedServer, call, text

SCREENS = Path(__file__).parent / "screens"
LUBAN = str(Path(sys.executable).parent / "luban")
SESSION_ID = re.compile(r"\d{8}-\d{6}-[0-9a-f]{6}")
_names = itertools.count()

pytestmark = pytest.mark.skipif(TMUX is None, reason="the terminal tests need tmux")

FIX_ADD = [
    call("read_file", "I'll read calc.py first.", path="calc.py"),
    call("edit_file", path="calc.py", old_string="return a - b", new_string="return a * b"),
    call("edit_file", "Then addition it is.", path="calc.py", old_string="return a - b", new_string="return a + b"),
    call("write_file", path="NOTES.md", content="add() adds.\n"),
    text("Fixed: `add` now **adds**, and NOTES.md says so.\n\n- calc.py: `a + b`\n- NOTES.md: new"),
]


@pytest.fixture
def workspace(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    (work / "calc.py").write_text("def add(a, b):\n    return a - b\n")
    return work


def start(tmp_path: Path, server: ScriptedServer, *flags: str) -> Pane:
    env = {"LUBAN_HOME": str(tmp_path / "home"), "NO_COLOR": "1", "TERM": "xterm-256color", "LANG": "C.UTF-8",
           "PATH": os.environ.get("PATH", "")}
    command = f"{LUBAN} --base-url {server.url} --tool-protocol native {' '.join(flags)}"
    return Pane(f"luban-test-{os.getpid()}-{next(_names)}", command, env, tmp_path / "work")


def normalised(screen: str, tmp_path: Path) -> str:
    screen = screen.replace(str(tmp_path), "<tmp>")
    screen = SESSION_ID.sub("<session>", screen)
    screen = re.sub(r"Luban \S+ ·", "Luban <version> ·", screen)
    screen = re.sub(r"· \d+ s ·", "· <t> s ·", screen)
    screen = re.sub(r"\([0-9a-f]{12}\)", "(<commit>)", screen)
    return "\n".join(line.rstrip() for line in screen.rstrip().splitlines()) + "\n"


def check(name: str, screen: str, tmp_path: Path) -> None:
    golden = SCREENS / f"{name}.txt"
    actual = normalised(screen, tmp_path)
    if os.environ.get("UPDATE_SCREENS"):
        golden.parent.mkdir(exist_ok=True)
        golden.write_text(actual)
    assert actual == golden.read_text()


def answer(pane: Pane, key: str, waited: int) -> None:
    """Wait for the `waited`-th approval question, then press `key`."""
    pane.wait_for("Allow?", count=waited)
    pane.keys(key)


def test_an_edit_with_approvals_yes_always_and_no_with_a_message(tmp_path, workspace):
    server = ScriptedServer(FIX_ADD)
    pane = start(tmp_path, server)
    try:
        pane.wait_for("mode ask")
        pane.type("fix add in @calc.py")
        pane.keys("Enter")
        answer(pane, "t", 1)
        pane.wait_for("Tell the agent instead:")
        pane.type("multiply? no: it should add")
        pane.keys("Enter")
        answer(pane, "y", 2)
        answer(pane, "a", 3)
        pane.wait_for("── done")
        edited = ((workspace / "calc.py").read_text(), (workspace / "NOTES.md").read_text())
        pane.type("/undo")
        pane.keys("Enter")
        pane.wait_for("Conversation:")
        pane.keys("C-d")
        screen = pane.wait_for("[exited]")
    finally:
        pane.close()
        server.close()
    check("edit_and_approvals", screen, tmp_path)
    assert edited == ("def add(a, b):\n    return a + b\n", "add() adds.\n")
    assert (workspace / "calc.py").read_text() == "def add(a, b):\n    return a - b\n"
    assert not (workspace / "NOTES.md").exists()
    declined = server.bodies[2]["messages"][-1]
    assert declined == {"role": "tool", "tool_call_id": "call_edit_file",
                        "content": "Error: The user declined this edit_file call. multiply? no: it should add"}
    assert "Contents of calc.py:\n```\ndef add(a, b):\n    return a - b\n```" in server.bodies[0]["messages"][1]["content"]


def test_an_interruption_then_a_resume(tmp_path, workspace):
    server = ScriptedServer([STALL, text("Sorry for the wait. calc.py defines `add`."),
                             text("It still defines `add`, which subtracts.")])
    pane = start(tmp_path, server)
    try:
        pane.wait_for("mode ask")
        pane.type("what is in calc.py?")
        pane.keys("Enter")
        pane.wait_for("waiting for the model")
        pane.keys("C-c")
        pane.wait_for("⏹ Interrupted")
        pane.type("in one line, please")
        pane.keys("Enter")
        pane.wait_for("── done")
        pane.keys("C-c")
        pane.wait_for("press Ctrl-C again")
        pane.keys("C-c")
        first = pane.wait_for("[exited]")
    finally:
        pane.close()
    session = SESSION_ID.search(first.split("Resume it with")[-1]).group(0)
    check("interrupted", first, tmp_path)
    records = [json.loads(line) for line in (tmp_path / "home" / "data" / "sessions" / f"{session}.jsonl").open()]
    assert [r["status"] for r in records if r["type"] == "outcome"] == ["interrupted", "done"]
    pane = start(tmp_path, server, "--resume", session)
    try:
        pane.wait_for("mode ask")
        pane.type("and now?")
        pane.keys("Enter")
        pane.wait_for("which subtracts")
        pane.wait_for("── done")
        pane.type("/exit")
        pane.keys("Enter")
        resumed = pane.wait_for("[exited]")
    finally:
        pane.close()
        server.close()
    check("resumed", resumed, tmp_path)
    history = [m["content"] for m in server.bodies[2]["messages"] if m["role"] != "system"]
    assert history == ["what is in calc.py?", "[Interrupted by the user before this turn finished.]",
                       "in one line, please", "Sorry for the wait. calc.py defines `add`.", "and now?"]
