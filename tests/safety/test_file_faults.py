"""What the system refuses on a path (a symlink loop, a name too long, a permission, a FIFO or device, a folder
where a file should be) reaches the model as one sentence from every file tool, and never ends the run."""

from __future__ import annotations

import errno
import os
import stat

import pytest

from luban.agent import loop
from luban.workspace.resolver import Openat2, Walk, default_resolver
from luban.config import Settings
from luban.models.scripted import assistant, script
from luban.tools import default_tools, edit, glob, grep, ls, read, write
from luban.types import Message, ToolCall, ToolFinished, ToolResult
from luban.workspace import Workspace

NATIVE = default_resolver()
RESOLVERS = [
    pytest.param(NATIVE, id="openat2",
                 marks=pytest.mark.skipif(not isinstance(NATIVE, Openat2), reason="this kernel does not answer openat2")),
    pytest.param(Walk(), id="walk"),
]
LOOP = "it leads through a loop of symbolic links (or more than 40 of them); use the path of the real file."
TOO_LONG = "the path is too long for this system (a name may have at most 255 bytes); use a shorter one."
DENIED = "permission denied (this user may not use it, or a folder on its way)."
# (tool, its verb in the message, the arguments besides the path)
TOOLS = [
    (read.TOOL, "read", {}),
    (write.TOOL, "write", {"content": "x\n"}),
    (edit.TOOL, "edit", {"old_string": "a", "new_string": "b"}),
    (ls.TOOL, "list", {}),
    (glob.TOOL, "search", {"pattern": "*"}),
    (grep.TOOL, "search", {"pattern": "x"}),
]
IDS = [tool.spec.name for tool, _, _ in TOOLS]


@pytest.fixture(params=RESOLVERS)
def ws(request, tmp_path) -> Workspace:
    root = tmp_path / "root"
    root.mkdir()
    return Workspace.open(root, tmp_path / "scratch", resolver=request.param)


@pytest.mark.parametrize(("tool", "verb", "extra"), TOOLS, ids=IDS)
def test_a_symlink_to_itself(ws, tool, verb, extra):
    os.symlink("self", ws.root / "self")
    assert tool({"path": "self", **extra}, ws) == ToolResult(f"Could not {verb} self: {LOOP}", error=True)


@pytest.mark.parametrize(("tool", "verb", "extra"), TOOLS, ids=IDS)
def test_two_symlinks_pointing_at_each_other_and_a_path_beneath_them(ws, tool, verb, extra):
    os.symlink("b", ws.root / "a")
    os.symlink("a", ws.root / "b")
    assert [tool({"path": path, **extra}, ws) for path in ("a", "a/inside")] == [
        ToolResult(f"Could not {verb} a: {LOOP}", error=True),
        ToolResult(f"Could not {verb} a/inside: {LOOP}", error=True),
    ]


@pytest.mark.parametrize(("tool", "verb", "extra"), TOOLS, ids=IDS)
def test_a_name_too_long_is_one_sentence_with_the_path_cut(ws, tool, verb, extra):
    name = "n" * 300
    assert tool({"path": name, **extra}, ws) == ToolResult(f"Could not {verb} {'n' * 117}...: {TOO_LONG}",
                                                           error=True)


def denying(dir_fd: int, path: str, flags: int, mode: int = 0o666) -> int:
    """A resolver for a tree this user may not enter: every open beneath the root is refused."""
    raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), path)


@pytest.mark.parametrize(("tool", "verb", "extra"), TOOLS, ids=IDS)
def test_permission_denied_on_the_way_is_one_sentence(tmp_path, tool, verb, extra):
    (tmp_path / "root").mkdir()
    ws = Workspace.open(tmp_path / "root", tmp_path / "scratch", resolver=denying)
    assert tool({"path": "src/app.py", **extra}, ws) == ToolResult(f"Could not {verb} src/app.py: {DENIED}",
                                                                   error=True)


@pytest.mark.skipif(os.geteuid() == 0, reason="root passes every permission check (the run as nobody covers it)")
def test_a_folder_this_user_may_not_enter(tmp_path):
    root = tmp_path / "root"
    (root / "closed").mkdir(parents=True)
    (root / "closed" / "app.py").write_text("x = 1\n")
    ws = Workspace.open(root, tmp_path / "scratch")
    (root / "closed").chmod(0)
    try:
        results = [tool({"path": "closed/app.py" if verb in ("read", "write", "edit") else "closed", **extra}, ws)
                   for tool, verb, extra in TOOLS if tool is not grep.TOOL]
    finally:
        (root / "closed").chmod(0o755)
    assert results == [
        ToolResult(f"Could not read closed/app.py: {DENIED}", error=True),
        ToolResult(f"Could not write closed/app.py: {DENIED}", error=True),
        ToolResult(f"Could not edit closed/app.py: {DENIED}", error=True),
        ToolResult(f"Could not list closed: {DENIED}", error=True),
        ToolResult(f"Could not search closed: {DENIED}", error=True),
    ]


def test_a_fifo_is_refused_by_the_tools_that_open_files(ws):
    os.mkfifo(ws.root / "pipe")
    assert [
        read.TOOL({"path": "pipe"}, ws),
        write.TOOL({"path": "pipe", "content": "x"}, ws),
        edit.TOOL({"path": "pipe", "old_string": "a", "new_string": "b"}, ws),
        grep.TOOL({"pattern": "x", "path": "pipe"}, ws),
        ls.TOOL({"path": "pipe"}, ws),
    ] == [
        ToolResult("pipe is not a regular file; read_file only reads files.", error=True),
        ToolResult("pipe is not a regular file; the file tools only write files.", error=True),
        ToolResult("pipe is not a regular file; the file tools only read files.", error=True),
        ToolResult("pipe is not a regular file; the file tools only read files.", error=True),
        ToolResult("pipe is a file, not a folder; use read_file to read it.", error=True),
    ]


@pytest.mark.skipif(os.geteuid() != 0, reason="only root may make a device node")
def test_a_device_node_in_the_workspace_is_refused(ws):
    os.mknod(ws.root / "null", stat.S_IFCHR | 0o666, os.makedev(1, 3))
    assert [read.TOOL({"path": "null"}, ws), write.TOOL({"path": "null", "content": "x"}, ws)] == [
        ToolResult("null is not a regular file; read_file only reads files.", error=True),
        ToolResult("null is not a regular file; the file tools only write files.", error=True),
    ]


def test_a_folder_where_a_file_is_expected(ws):
    (ws.root / "pkg").mkdir()
    assert [
        read.TOOL({"path": "pkg"}, ws),
        write.TOOL({"path": "pkg", "content": "x"}, ws),
        edit.TOOL({"path": "pkg", "old_string": "a", "new_string": "b"}, ws),
        write.TOOL({"path": "pkg/", "content": "x"}, ws),
    ] == [
        ToolResult("pkg is a folder, not a file; use list_dir to see what is in it.", error=True),
        ToolResult("pkg is a folder; give write_file the path of a file.", error=True),
        ToolResult("pkg is a folder, not a file; give edit_file the path of a file.", error=True),
        ToolResult("pkg is a folder; give write_file the path of a file.", error=True),
    ]


def test_a_run_that_reads_a_symlink_loop_goes_on(tmp_path):
    """The loop looked the path up for its permission rules and guards before the tool ran: a RuntimeError there
    ended the run."""
    root = tmp_path / "root"
    root.mkdir()
    os.symlink("loop", root / "loop")
    ws = Workspace.open(root, tmp_path / "scratch")
    read_loop = ToolCall("c1", "read_file", {"path": "loop"})
    model = script(assistant(calls=[read_loop]), assistant("It is a symlink loop."))
    run = loop.run("read loop", model=model, tools=default_tools(), ws=ws, history=[Message("system", "s")],
                   settings=Settings(permission_mode="full-auto"))
    events = []
    with pytest.raises(StopIteration) as stop:
        while True:
            events.append(next(run))
    finished = [e.result for e in events if isinstance(e, ToolFinished)]
    assert (stop.value.value.status, finished) == ("done", [ToolResult(f"Could not read loop: {LOOP}", error=True)])
