import os

import pytest

from luban.tools.read import numbered, TOOL, ReadFile
from luban.types import ToolResult


def lines(count: int) -> str:
    return "".join(f"line {n}\n" for n in range(1, count + 1))


def test_the_spec_is_a_closed_schema_with_path_required():
    params = TOOL.spec.parameters
    assert (TOOL.spec.name, TOOL.effect, params["required"], params["additionalProperties"]) == (
        "read_file",
        "read",
        ["path"],
        False,
    )


def test_lines_are_numbered_like_cat_n(ws):
    (ws.root / "a.py").write_text("import os\n\nprint(os.sep)\n")
    assert TOOL({"path": "a.py"}, ws) == ToolResult("     1\timport os\n     2\t\n     3\tprint(os.sep)")


def test_a_last_line_without_newline_and_crlf_endings_show_as_plain_lines(ws):
    (ws.root / "w.txt").write_bytes(b"one\r\ntwo")
    assert TOOL({"path": "w.txt"}, ws) == ToolResult("     1\tone\n     2\ttwo")


def test_offset_and_limit_show_a_window_and_say_how_to_continue(ws):
    (ws.root / "n.txt").write_text(lines(100))
    assert TOOL({"path": "n.txt", "offset": 4, "limit": 50}, ws) == ToolResult(
        numbered((f"line {n}" for n in range(4, 54)), 4)
        + "\n[showing lines 4-53 of 100; call read_file with offset=54 to continue]"
    )


def test_a_window_is_never_shorter_than_40_lines(ws):
    """A weak model pages one line a step (offset 1098 limit 1, 1099 limit 1, ...) and never sees a function."""
    (ws.root / "n.txt").write_text(lines(100))
    assert TOOL({"path": "n.txt", "offset": 4, "limit": 1}, ws) == ToolResult(
        numbered((f"line {n}" for n in range(4, 44)), 4)
        + "\n[showing lines 4-43 of 100; call read_file with offset=44 to continue]"
    )


def test_a_window_that_reaches_the_end_says_which_lines_it_shows(ws):
    (ws.root / "n.txt").write_text(lines(10))
    assert TOOL({"path": "n.txt", "offset": 9}, ws) == ToolResult(
        "     9\tline 9\n    10\tline 10\n[showing lines 9-10 of 10]"
    )


def test_a_long_file_stops_at_2000_lines(ws):
    (ws.root / "big.txt").write_text(lines(5123))
    shown = TOOL({"path": "big.txt"}, ws).content.split("\n")
    assert (len(shown), shown[0], shown[1999], shown[2000]) == (
        2001,
        "     1\tline 1",
        "  2000\tline 2000",
        "[showing lines 1-2000 of 5123; call read_file with offset=2001 to continue]",
    )


def test_a_page_stops_near_100_kb(ws):
    (ws.root / "wide.txt").write_text(("x" * 999 + "\n") * 300)
    shown = TOOL({"path": "wide.txt"}, ws).content.split("\n")
    assert (len(shown), shown[-1]) == (
        101,
        "[showing lines 1-100 of 300; call read_file with offset=101 to continue]",
    )


def test_a_very_long_line_is_cut(ws):
    (ws.root / "min.js").write_text("x" * 2500)
    assert TOOL({"path": "min.js"}, ws) == ToolResult(
        "     1\t" + "x" * 2000 + " [... 500 more characters on this line]"
    )


def test_an_empty_file_says_so(ws):
    (ws.root / "empty.txt").write_text("")
    assert TOOL({"path": "empty.txt"}, ws) == ToolResult("empty.txt is empty (0 lines).")


def test_an_offset_past_the_end_is_an_error(ws):
    (ws.root / "n.txt").write_text(lines(2))
    assert TOOL({"path": "n.txt", "offset": 5}, ws) == ToolResult(
        "offset 5 is past the end of n.txt, which has 2 lines.", error=True
    )


def test_a_binary_file_is_refused(ws):
    (ws.root / "img.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    assert TOOL({"path": "img.png"}, ws) == ToolResult(
        "img.png is a binary file (it contains NUL bytes); read_file only shows text.", error=True
    )


def test_bytes_that_are_not_utf8_are_replaced_and_the_result_says_so(ws):
    (ws.root / "latin.txt").write_bytes("café\nok\n".encode("latin-1"))
    assert TOOL({"path": "latin.txt"}, ws) == ToolResult(
        "     1\tcaf\ufffd\n     2\tok\n[some bytes are not valid UTF-8; they are shown as \ufffd]"
    )


def test_a_folder_points_to_list_dir(ws):
    (ws.root / "src").mkdir()
    assert TOOL({"path": "src"}, ws) == ToolResult(
        "src is a folder, not a file; use list_dir to see what is in it.", error=True
    )


def test_a_missing_file_lists_similarly_named_files(ws):
    for name in ("src/config.py", "src/configs.py", "tests/test_config.py", "README.md", ".git/config"):
        (ws.root / name).parent.mkdir(parents=True, exist_ok=True)
        (ws.root / name).write_text("")
    assert TOOL({"path": "src/confg.py"}, ws) == ToolResult(
        "File not found: src/confg.py. Similar files in the workspace: "
        "src/config.py, src/configs.py, tests/test_config.py.",
        error=True,
    )


def test_a_missing_file_with_no_similar_names_points_to_glob(ws):
    (ws.root / "README.md").write_text("")
    assert TOOL({"path": "zzz.qqq"}, ws) == ToolResult(
        "File not found: zzz.qqq. Use glob or list_dir to find the right path.", error=True
    )


def test_a_fifo_is_not_opened(ws):
    os.mkfifo(ws.root / "pipe")
    assert TOOL({"path": "pipe"}, ws) == ToolResult(
        "pipe is not a regular file; read_file only reads files.", error=True
    )


@pytest.mark.parametrize("path", ["../secret.txt", "/etc/hostname", "etc/hostname", "link.txt", "~/x"])
def test_paths_outside_the_workspace_are_refused(ws, path):
    (ws.root.parent / "secret.txt").write_text("secret\n")
    (ws.root / "etc").symlink_to("/etc")
    (ws.root / "link.txt").symlink_to(ws.root.parent / "secret.txt")
    assert TOOL({"path": path}, ws) == ToolResult(
        f"{path} is outside the workspace {ws.root}; use a path inside it.", error=True
    )


def test_a_symlink_inside_the_workspace_is_followed(ws):
    (ws.root / "real.txt").write_text("hi\n")
    (ws.root / "alias.txt").symlink_to("real.txt")
    assert TOOL({"path": "alias.txt"}, ws) == ToolResult("     1\thi")


def test_null_optional_arguments_count_as_left_out_and_integral_floats_as_integers(ws):
    (ws.root / "n.txt").write_text(lines(60))
    assert TOOL({"path": "n.txt", "offset": None, "limit": 50.0}, ws) == ToolResult(
        numbered((f"line {n}" for n in range(1, 51)), 1)
        + "\n[showing lines 1-50 of 60; call read_file with offset=51 to continue]"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({}, "read_file needs the argument 'path' (a string)."),
        ({"path": None}, "read_file needs the argument 'path' (a string)."),
        ({"path": 3}, "Argument 'path' of read_file must be a string, not the number 3."),
        ({"path": "a.py", "offset": "10"}, "Argument 'offset' of read_file must be an integer, not the string \"10\"."),
        ({"path": "a.py", "limit": True}, "Argument 'limit' of read_file must be an integer, not the boolean true."),
        ({"path": "a.py", "offset": 1.5}, "Argument 'offset' of read_file must be an integer, not the number 1.5."),
        ({"path": "a.py", "offset": 0}, "Argument 'offset' of read_file must be at least 1, not 0."),
        (
            {"path": "a.py", "file": "b"},
            "read_file has no argument 'file'; its arguments are path (required), offset, limit.",
        ),
        (["a.py"], "The arguments of read_file must be a JSON object with the keys path (required), offset, limit."),
        ({"path": ""}, "path must be a non-empty string."),
    ],
)
def test_bad_arguments_say_how_to_fix_them(ws, args, message):
    assert TOOL(args, ws) == ToolResult(message, error=True)


def test_a_read_past_its_time_limit_stops_with_an_error(ws):
    (ws.root / "huge.log").write_text("line\n" * 10_000)
    assert ReadFile(time_limit_s=0)({"path": "huge.log"}, ws) == ToolResult(
        "read_file stopped after 0 s, its time limit, on huge.log; for a file this large use bash (grep, sed, or a "
        "script) instead.", error=True)
