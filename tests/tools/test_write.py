import os

import pytest

from luban.tools.write import TOOL
from luban.types import ToolResult


def test_the_spec_is_a_closed_schema_with_path_and_content_required():
    params = TOOL.spec.parameters
    assert (TOOL.spec.name, TOOL.effect, params["required"], params["additionalProperties"]) == (
        "write_file",
        "write",
        ["path", "content"],
        False,
    )


def test_a_new_file_is_created_with_its_parent_folders(ws):
    result = TOOL({"path": "pkg/sub/new.py", "content": "a = 1\nb = 2\n"}, ws)
    assert (result, (ws.root / "pkg/sub/new.py").read_text()) == (
        ToolResult("Wrote 2 lines to pkg/sub/new.py (created)."),
        "a = 1\nb = 2\n",
    )


def test_overwriting_keeps_the_file_mode(ws):
    script = ws.root / "run.sh"
    script.write_text("old\n")
    script.chmod(0o754)
    result = TOOL({"path": "run.sh", "content": "#!/bin/sh\necho hi"}, ws)
    assert (result, script.read_text(), script.stat().st_mode & 0o777) == (
        ToolResult("Wrote 2 lines to run.sh (overwritten)."),
        "#!/bin/sh\necho hi",
        0o754,
    )


@pytest.mark.parametrize(("content", "message"), [("", "Wrote 0 lines"), ("x", "Wrote 1 line"), ("\n", "Wrote 1 line")])
def test_lines_are_counted_as_an_editor_counts_them(ws, content, message):
    assert TOOL({"path": "f.txt", "content": content}, ws) == ToolResult(f"{message} to f.txt (created).")


def test_text_is_written_as_utf8(ws):
    TOOL({"path": "u.txt", "content": "café 😀"}, ws)
    assert (ws.root / "u.txt").read_bytes() == "café 😀".encode()


def test_writing_through_a_symlink_inside_the_workspace_writes_its_target(ws):
    (ws.root / "real.txt").write_text("old\n")
    (ws.root / "alias.txt").symlink_to("real.txt")
    result = TOOL({"path": "alias.txt", "content": "new\n"}, ws)
    assert (result, (ws.root / "real.txt").read_text(), (ws.root / "alias.txt").is_symlink()) == (
        ToolResult("Wrote 1 line to real.txt (overwritten)."),
        "new\n",
        True,
    )


def test_a_folder_is_refused(ws):
    (ws.root / "src").mkdir()
    assert TOOL({"path": "src", "content": "x"}, ws) == ToolResult(
        "src is a folder; give write_file the path of a file.", error=True
    )


def test_a_file_in_place_of_a_parent_folder_is_refused(ws):
    (ws.root / "notes.txt").write_text("")
    assert TOOL({"path": "notes.txt/a/b.txt", "content": "x"}, ws) == ToolResult(
        "notes.txt is a file, so notes.txt/a/b.txt cannot be created inside it.", error=True
    )


@pytest.mark.parametrize("path", ["../escaped.txt", "{outside}/escaped.txt", "out/escaped.txt", "etc/escaped.txt"])
def test_paths_outside_the_workspace_are_refused_before_writing(ws, path):
    path = path.format(outside=ws.root.parent)
    (ws.root / "out").symlink_to(ws.root.parent)
    (ws.root / "etc").symlink_to("/etc")
    result = TOOL({"path": path, "content": "x"}, ws)
    assert (result, (ws.root.parent / "escaped.txt").exists(), os.path.exists("/etc/escaped.txt")) == (
        ToolResult(f"{path} is outside the workspace {ws.root}; use a path inside it.", error=True),
        False,
        False,
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"path": "a.txt"}, "write_file needs the argument 'content' (a string)."),
        ({"content": "x"}, "write_file needs the argument 'path' (a string)."),
        (
            {"path": "a.txt", "content": ["x"]},
            "Argument 'content' of write_file must be a string, not the list [\"x\"].",
        ),
        (
            {"path": "a.txt", "content": "x", "mode": "w"},
            "write_file has no argument 'mode'; its arguments are path (required), content (required).",
        ),
    ],
)
def test_bad_arguments_say_how_to_fix_them(ws, args, message):
    assert (TOOL(args, ws), list(ws.root.iterdir())) == (ToolResult(message, error=True), [])


def test_a_new_python_file_that_does_not_parse_is_not_created(ws):
    assert TOOL({"path": "solution.py", "content": "def f(x):\nreturn x\n"}, ws) == ToolResult(
        "Not written: solution.py would not parse as python (line 2: IndentationError: expected an indented block "
        "after function definition on line 1: `return x`). Correct the content and try again; solution.py was not "
        "created.", error=True)
    assert not (ws.root / "solution.py").exists()


def test_overwriting_a_python_file_with_code_that_does_not_parse_is_refused(ws):
    (ws.root / "solution.py").write_text("def f(x):\n    return x\n")
    assert TOOL({"path": "solution.py", "content": "def f(x)\n    return x\n"}, ws) == ToolResult(
        "Not written: solution.py would no longer parse as python (line 1: SyntaxError: expected ':': "
        "`def f(x)`). Correct the content and try again; solution.py is unchanged.", error=True)
    assert (ws.root / "solution.py").read_text() == "def f(x):\n    return x\n"


def test_read_file_line_numbers_copied_into_content_are_left_out_where_that_makes_it_parse(ws):
    """The 1.5B began a file with read_file's numbered blank lines ("     1", the tab dropped) and a numbered line."""
    (ws.root / "solution.py").write_text("\n\ndef f(s):\n    return 0\n")
    content = "     1\n     2\t\n     3\tdef f(s):\n    return sum(map(ord, s))\n"
    assert TOOL({"path": "solution.py", "content": content}, ws) == ToolResult(
        "Wrote 4 lines to solution.py (overwritten).\nLuban left out the line numbers read_file shows, which began "
        "lines of content; they are not part of the file.")
    assert (ws.root / "solution.py").read_text() == "\n\ndef f(s):\n    return sum(map(ord, s))\n"


def test_numbers_that_parse_as_code_or_are_short_of_read_files_columns_are_kept(ws):
    result = TOOL({"path": "ok.py", "content": "x = (\n     1\n)\n"}, ws)
    assert result == ToolResult("Wrote 3 lines to ok.py (created).")
    assert (ws.root / "ok.py").read_text() == "x = (\n     1\n)\n"
    assert TOOL({"path": "short.py", "content": "  1\tdef f(): pass\n"}, ws).error
    assert not (ws.root / "short.py").exists()


def test_a_fragment_of_code_does_not_replace_a_module_of_definitions(ws):
    """The 1.5B sent write_file the three lines it meant to change in an 850-line module."""
    module = "".join(f"def f{n}(items):\n    for item in items:\n        yield item + {n}\n\n\n" for n in range(4))
    (ws.root / "mod.py").write_text(module)
    fragment = "for item in items:\n    yield item - 1\n"
    assert TOOL({"path": "mod.py", "content": fragment}, ws) == ToolResult(
        "Not written: content has 2 lines and no definitions, and would replace all 20 lines of mod.py with its 4 "
        "definitions. content must be the complete new text of the file; to change part of it, use edit_file with "
        "old_string copied from the file. mod.py is unchanged.", error=True)
    assert (ws.root / "mod.py").read_text() == module
    # A shorter module that keeps a definition, or any text for a file that is not Python, is written as asked.
    assert not TOOL({"path": "mod.py", "content": "def f0(items):\n    return items\n"}, ws).error
    (ws.root / "notes.txt").write_text(module)
    assert not TOOL({"path": "notes.txt", "content": fragment}, ws).error


def test_a_new_file_in_another_language_is_written_with_its_error(ws):
    assert TOOL({"path": "a.js", "content": "function f( {\n"}, ws) == ToolResult(
        "Wrote 1 line to a.js (created).\na.js does not parse as javascript (line 1: syntax error: `function f( {`).")
    assert (ws.root / "a.js").read_text() == "function f( {\n"


def test_a_lone_surrogate_is_refused_and_nothing_is_written(ws):
    """Half of a UTF-16 pair from a broken JSON escape is not text: neither a raw byte nor a '?' is written."""
    result = TOOL({"path": "new.py", "content": "x = '\ud83d'\n"}, ws)
    assert (result, list(ws.root.iterdir())) == (ToolResult(
        "Argument 'content' of write_file holds a lone surrogate (\\ud83d at character 5), half of a UTF-16 pair, "
        "which is not text and cannot be saved as UTF-8; write the character itself, or leave it out.", error=True), [])
