import os
import stat

import pytest

from luban.context.memory import MemoryFile, memory_files, project_memory, repository_root
from luban.context.prompt import system_prompt
from luban.types import ToolResult
from luban.tools.write import TOOL as WRITE
from luban.workspace import Workspace


def write(root, files):
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_no_instruction_files_is_empty(tmp_path):
    (tmp_path / "README.md").write_text("not instructions\n")
    assert project_memory(tmp_path) == ""


def test_root_only(tmp_path):
    write(tmp_path, {"AGENTS.md": "# Project\n\nRun `make test`.\n\n", "src/AGENTS.md": "not on the way\n"})
    assert project_memory(tmp_path) == "# AGENTS.md\n\n# Project\n\nRun `make test`."


def test_from_the_top_down_to_a_nested_workspace(tmp_path):
    write(tmp_path, {"AGENTS.md": "Use tabs.", "src/pkg/AGENTS.md": "This package is pure.",
                     "src/other/AGENTS.md": "Not on the way.", "src/pkg/mod/x.py": ""})
    assert project_memory(tmp_path / "src" / "pkg" / "mod", tmp_path) == (
        "# ../../../AGENTS.md\n\nUse tabs.\n\n# ../AGENTS.md\n\nThis package is pure.")


def test_claude_md_only_where_agents_md_is_absent(tmp_path):
    write(tmp_path, {"AGENTS.md": "root agents", "CLAUDE.md": "root claude",
                     "sub/CLAUDE.md": "sub claude", "sub/QWEN.md": "sub qwen"})
    assert memory_files(tmp_path / "sub", tmp_path) == [
        MemoryFile("../AGENTS.md", "root agents"), MemoryFile("CLAUDE.md", "sub claude")]


def test_qwen_md_when_neither_of_the_others_is_there(tmp_path):
    write(tmp_path, {"QWEN.md": "qwen notes", "a/b/AGENTS.md": "deep"})
    assert project_memory(tmp_path / "a" / "b", tmp_path) == "# ../../QWEN.md\n\nqwen notes\n\n# AGENTS.md\n\ndeep"


def test_an_empty_agents_md_still_stands_in_for_the_fallbacks(tmp_path):
    write(tmp_path, {"AGENTS.md": "\n", "CLAUDE.md": "claude"})
    assert project_memory(tmp_path) == ""


def test_a_top_not_above_the_workspace_gives_the_workspace_only(tmp_path):
    write(tmp_path, {"ws/AGENTS.md": "workspace", "elsewhere/AGENTS.md": "elsewhere"})
    assert project_memory(tmp_path / "ws", tmp_path / "elsewhere") == "# AGENTS.md\n\nworkspace"


def test_crlf_and_bad_utf8_read_the_same_every_time(tmp_path):
    (tmp_path / "AGENTS.md").write_bytes(b"line one\r\nline \xff two\r\n")
    assert project_memory(tmp_path) == "# AGENTS.md\n\nline one\nline \ufffd two"


def test_over_the_cap_the_deeper_file_wins_and_the_cut_is_marked(tmp_path):
    root_text = "\n".join(f"root rule {i}" for i in range(1, 21))  # 20 lines, 250 characters
    write(tmp_path, {"AGENTS.md": root_text, "sub/AGENTS.md": "deep rule " * 10})
    memory = project_memory(tmp_path / "sub", tmp_path, cap_chars=230)
    assert memory == (
        "# ../AGENTS.md\n\n"
        "root rule 1\nroot rule 2\n"  # cut at a line end
        "[... 227 more characters of ../AGENTS.md, outside the workspace, left out]\n\n"
        "# AGENTS.md\n\n" + ("deep rule " * 10).strip())
    assert len(memory) == 228


def test_a_deep_file_over_the_cap_on_its_own_still_leaves_the_root_its_marker(tmp_path):
    write(tmp_path, {"AGENTS.md": "root", "sub/AGENTS.md": "x" * 500})
    memory = project_memory(tmp_path / "sub", tmp_path, cap_chars=150)
    assert memory == (
        "# ../AGENTS.md\n\nroot\n\n"
        "# AGENTS.md\n\n" + "x" * 60 + "\n[... 440 more characters; read AGENTS.md for the rest]")
    assert len(memory) == 150


@pytest.mark.parametrize("cap", range(0, 400, 7))
def test_the_cap_always_holds(tmp_path, cap):
    write(tmp_path, {"AGENTS.md": "a\n" * 100, "b/CLAUDE.md": "b " * 80, "b/c/QWEN.md": "c\n" * 90})
    assert len(project_memory(tmp_path / "b" / "c", tmp_path, cap_chars=cap)) <= cap


def test_a_symlink_out_of_the_root_is_not_followed(tmp_path):
    write(tmp_path, {"outside/secret.md": "do what I say", "ws/CLAUDE.md": "the project's own"})
    (tmp_path / "ws" / "AGENTS.md").symlink_to(tmp_path / "outside" / "secret.md")
    assert project_memory(tmp_path / "ws") == "# CLAUDE.md\n\nthe project's own"


def test_a_symlink_within_the_root_is_followed(tmp_path):
    write(tmp_path, {"docs/agents.md": "shared notes"})
    (tmp_path / "AGENTS.md").symlink_to("docs/agents.md")
    assert project_memory(tmp_path) == "# AGENTS.md\n\nshared notes"


@pytest.mark.parametrize("make", ["directory", "dangling link", "link loop", "fifo"])
def test_what_cannot_be_read_as_a_file_is_skipped(tmp_path, make):
    agents = tmp_path / "AGENTS.md"
    if make == "directory":
        agents.mkdir()
    elif make == "dangling link":
        agents.symlink_to("missing.md")
    elif make == "link loop":
        agents.symlink_to("AGENTS.md")
    else:
        os.mkfifo(agents)  # opening a FIFO for reading would block without a writer
    write(tmp_path, {"CLAUDE.md": "fallback"})
    assert project_memory(tmp_path) == "# CLAUDE.md\n\nfallback"


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_a_file_without_read_permission_is_skipped(tmp_path):
    write(tmp_path, {"AGENTS.md": "private", "sub/AGENTS.md": "readable"})
    (tmp_path / "AGENTS.md").chmod(0)
    try:
        assert project_memory(tmp_path / "sub", tmp_path) == "# AGENTS.md\n\nreadable"
    finally:
        (tmp_path / "AGENTS.md").chmod(stat.S_IRUSR | stat.S_IWUSR)


def _no_repository_above(path):
    if any(os.path.lexists(p / ".git") for p in path.parents):
        pytest.skip(f"{path} is inside a git repository, so it cannot stand for a folder outside one")


@pytest.mark.parametrize("git", ["folder", "file"])  # a worktree or submodule has a .git file
def test_a_workspace_in_a_subfolder_reads_from_the_repository_root(tmp_path, git):
    write(tmp_path, {"AGENTS.md": "Above the repository.", "repo/AGENTS.md": "Root rules.",
                     "repo/pkg/CLAUDE.md": "Package rules.", "repo/pkg/sub/x.py": ""})
    if git == "folder":
        (tmp_path / "repo" / ".git").mkdir()
    else:
        (tmp_path / "repo" / ".git").write_text("gitdir: /elsewhere/.git/worktrees/repo\n")
    workspace = tmp_path / "repo" / "pkg" / "sub"
    assert repository_root(workspace) == tmp_path / "repo"
    assert project_memory(workspace) == "# ../../AGENTS.md\n\nRoot rules.\n\n# ../CLAUDE.md\n\nPackage rules."


def test_outside_a_repository_only_the_workspace_counts(tmp_path):
    _no_repository_above(tmp_path)
    write(tmp_path, {"AGENTS.md": "Not ours.", "ws/AGENTS.md": "Ours."})
    assert (repository_root(tmp_path / "ws"), project_memory(tmp_path / "ws")) == (
        tmp_path / "ws", "# AGENTS.md\n\nOurs.")


def test_the_root_files_reach_the_prompt_but_not_the_writable_workspace(tmp_path):
    """Started in a subfolder, the prompt holds the repository root's AGENTS.md, and the workspace (what the
    agent may write) is still the subfolder: the root's file cannot be edited through it."""
    write(tmp_path, {"AGENTS.md": "Run make check.", "app/main.py": "print(1)\n"})
    (tmp_path / ".git").mkdir()
    ws = Workspace.open(tmp_path / "app")
    assert ws.root == tmp_path / "app"
    assert "\n\n# ../AGENTS.md\n\nRun make check.\n\n" in system_prompt(ws).content
    assert WRITE({"path": "../AGENTS.md", "content": "Obey me.\n"}, ws) == ToolResult(
        f"../AGENTS.md is outside the workspace {ws.root}; use a path inside it.", error=True)
    assert (tmp_path / "AGENTS.md").read_text() == "Run make check."
