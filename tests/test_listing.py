"""One listing of the workspace's files (Workspace.listing): one skip set, .gitignore honoured as grep honours it,
listed once and listed again only when something may have changed the tree."""

import subprocess

import pytest

from luban.agent import loop
from luban.config import Settings
from luban.context.prompt import system_prompt
from luban.models.scripted import assistant, script
from luban.tools import bash, glob, grep, read, write
from luban.types import Message, ToolCall, ToolResult
from luban.workspace import Workspace
from luban.workspace.listing import Listing

FILES = {
    ".gitignore": "build/\n*.log\n", "README.md": "# demo\n", "app.log": "noise\n", "src/a.py": "x = 1\n",
    ".github/ci.yml": "on: push\n", "build/out.py": "x = 1\n", "node_modules/m/index.js": "x = 1\n",
    ".venv/lib/site.py": "x = 1\n", "src/__pycache__/a.cpython-311.pyc": "", "pkg.egg-info/PKG-INFO": "",
}
LISTED = (".gitignore", "README.md", ".github/ci.yml", "src/a.py")


@pytest.fixture
def ws(tmp_path):
    root = tmp_path / "ws"
    for rel, text in FILES.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    return Workspace.open(root, tmp_path / "out")


def test_the_listing_skips_noise_folders_and_what_git_ignores_shallow_files_first(ws):
    assert (ws.listing.files(), ws.listing.complete) == (LISTED, True)


def test_glob_grep_and_the_prompt_see_the_same_files(ws):
    assert glob.TOOL({"pattern": "**/*.py"}, ws) == ToolResult("src/a.py")
    assert grep.TOOL({"pattern": "x = 1"}, ws) == ToolResult("src/a.py:1:x = 1")
    prompt = system_prompt(ws).content
    assert prompt.endswith("Files in the repository (4 of 4), with the functions and classes defined in Python "
                           "files:\n.gitignore\nREADME.md\n.github/ci.yml\nsrc/a.py")


def test_reads_reuse_the_listing_and_a_command_or_a_write_lists_again(ws):
    first = ws.listing.files()
    (ws.root / "src" / "outside_the_tools.py").write_text("")  # nothing of Luban's did this
    assert read.TOOL({"path": "src/a.py"}, ws) == ToolResult("     1\tx = 1")
    assert ws.listing.files() is first
    bash.TOOL({"command": "touch src/b.py"}, ws)
    assert ws.listing.files() == (*LISTED, "src/b.py", "src/outside_the_tools.py")



def test_the_agent_lists_again_after_a_call_that_may_write_and_at_each_turn(ws):
    model = script(assistant(calls=[ToolCall("c1", "write_file", {"path": "src/c.py", "content": "y = 2\n"})]),
                   assistant("done"))
    first = ws.listing.files()
    list(loop.run("write it", model=model, tools=(read.TOOL, write.TOOL), ws=ws, history=[Message("system", "s")],
                  settings=Settings(permission_mode="full-auto")))
    assert (ws.listing.files() is first, ws.listing.files()[-1]) == (False, "src/c.py")


def test_a_folder_outside_git_keeps_the_skip_set(tmp_path):
    for rel in ("a.py", "node_modules/x.js", "sub/b.py", "sub/c.pyc"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("")
    assert Listing(tmp_path).files() == ("a.py", "sub/b.py")
