import difflib
import json
import shutil
from pathlib import Path

import pytest

from luban.tools.edit import TOOL, EditFile
from luban.types import ToolResult

# Each folder: input/ (the workspace before), call.json ({"arguments", "error"}), result.txt (the result's
# content plus one newline, so editors leave it alone), expected/ (the workspace after; absent: unchanged).
SCENARIOS = Path(__file__).parent / "fixtures" / "edit"


def tree(root: Path) -> dict[str, bytes]:
    return {path.relative_to(root).as_posix(): path.read_bytes() for path in sorted(root.rglob("*")) if path.is_file()}


def test_the_spec_is_a_closed_schema_with_path_and_both_strings_required():
    params = TOOL.spec.parameters
    assert (TOOL.spec.name, TOOL.effect, params["required"], params["additionalProperties"]) == (
        "edit_file",
        "write",
        ["path", "old_string", "new_string"],
        False,
    )


@pytest.mark.parametrize("name", sorted(path.name for path in SCENARIOS.iterdir() if path.is_dir()))
def test_scenario(ws, name):
    folder = SCENARIOS / name
    shutil.copytree(folder / "input", ws.root, dirs_exist_ok=True)
    call = json.loads((folder / "call.json").read_text())
    result = TOOL(call["arguments"], ws)
    expected = folder / "expected" if (folder / "expected").is_dir() else folder / "input"
    content = (folder / "result.txt").read_text(encoding="utf-8").removesuffix("\n")
    assert (result, tree(ws.root)) == (ToolResult(content, error=call["error"]), tree(expected))


def test_a_lone_surrogate_in_new_string_is_refused_and_the_file_kept(ws):
    """As JSON "\\udcff" decodes to: written with surrogateescape it would become a byte 0xff nobody meant."""
    (ws.root / "calc.py").write_bytes(b"def add(a, b):\n    return a + b\n")
    result = TOOL({"path": "calc.py", "old_string": "a + b", "new_string": "a + b\udcff"}, ws)
    assert (result, (ws.root / "calc.py").read_bytes()) == (ToolResult(
        "Argument 'new_string' of edit_file holds a lone surrogate (\\udcff at character 5), half of a UTF-16 "
        "pair, which is not text and cannot be saved as UTF-8; write the character itself, or leave it out.",
        error=True), b"def add(a, b):\n    return a + b\n")


def test_the_file_mode_is_kept(ws):
    script = ws.root / "run.sh"
    script.write_text("#!/bin/sh\necho old\n")
    script.chmod(0o750)
    result = TOOL({"path": "run.sh", "old_string": "echo old", "new_string": "echo new"}, ws)
    assert (result.error, script.read_text(), script.stat().st_mode & 0o777) == (False, "#!/bin/sh\necho new\n", 0o750)


def test_a_long_diff_is_cut(ws):
    (ws.root / "many.txt").write_text("old\n" * 100)
    result = TOOL({"path": "many.txt", "old_string": "old", "new_string": "new", "replace_all": True}, ws)
    shown = result.content.split("\n")
    assert (shown[0], shown[1], len(shown), shown[-1]) == (
        "Edited many.txt (100 replacements).",
        "@@ -1,100 +1,100 @@",
        62,
        "[... 141 more diff lines]",
    )


def test_the_nearest_lines_are_found_in_a_big_file(ws):
    body = "".join(f"def f{n}(x):\n    return x + {n}\n\n" for n in range(3000))
    (ws.root / "big.py").write_text(body)
    result = TOOL({"path": "big.py", "old_string": "def f2500(x):\n    return x+2500\n", "new_string": "x"}, ws)
    assert result == ToolResult(
        "old_string was not found in big.py. The most similar lines are below (line number, tab, text); "
        "copy the exact text from them, without the line numbers:\n  7501\tdef f2500(x):\n  7502\t    return x + 2500",
        error=True,
    )


def test_an_empty_old_string_fills_an_empty_file_but_not_one_with_content(ws):
    (ws.root / "empty.py").write_text("")
    (ws.root / "full.py").write_text("x = 1\n")
    assert [
        TOOL({"path": "empty.py", "old_string": "", "new_string": "y = 2\n"}, ws),
        TOOL({"path": "full.py", "old_string": "", "new_string": "y = 2\n"}, ws),
        (ws.root / "empty.py").read_text(),
        (ws.root / "full.py").read_text(),
    ] == [
        ToolResult("Wrote 1 line to empty.py (overwritten)."),
        ToolResult(
            "old_string is empty but full.py is not; copy the exact text to replace from the file, "
            "or use write_file to replace the whole file.",
            error=True,
        ),
        "y = 2\n",
        "x = 1\n",
    ]


def test_identical_strings_are_refused(ws):
    (ws.root / "a.py").write_text("x = 1\n")
    assert TOOL({"path": "a.py", "old_string": "x = 1", "new_string": "x = 1"}, ws) == ToolResult(
        "old_string and new_string are the same, so there is nothing to change.", error=True
    )


def test_a_missing_file_lists_similar_names(ws):
    (ws.root / "calc.py").write_text("")
    assert TOOL({"path": "calk.py", "old_string": "a", "new_string": "b"}, ws) == ToolResult(
        "File not found: calk.py. Similar files in the workspace: calc.py.", error=True
    )


def test_folders_and_binary_files_are_refused(ws):
    (ws.root / "src").mkdir()
    (ws.root / "data.bin").write_bytes(b"ab\x00cd")
    assert [
        TOOL({"path": "src", "old_string": "a", "new_string": "b"}, ws),
        TOOL({"path": "data.bin", "old_string": "ab", "new_string": "xy"}, ws),
        (ws.root / "data.bin").read_bytes(),
    ] == [
        ToolResult("src is a folder, not a file; give edit_file the path of a file.", error=True),
        ToolResult("data.bin is a binary file (it contains NUL bytes); edit_file only edits text.", error=True),
        b"ab\x00cd",
    ]


@pytest.mark.parametrize("path", ["../outside.txt", "{outside}/outside.txt", "up/outside.txt", "etc/hostname"])
def test_paths_outside_the_workspace_are_refused_before_reading(ws, path):
    path = path.format(outside=ws.root.parent)
    (ws.root.parent / "outside.txt").write_text("secret\n")
    (ws.root / "up").symlink_to(ws.root.parent)
    (ws.root / "etc").symlink_to("/etc")
    result = TOOL({"path": path, "old_string": "secret", "new_string": "changed"}, ws)
    assert (result, (ws.root.parent / "outside.txt").read_text()) == (
        ToolResult(f"{path} is outside the workspace {ws.root}; use a path inside it.", error=True),
        "secret\n",
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"path": "a.py", "old_string": "x"}, "edit_file needs the argument 'new_string' (a string)."),
        ({"path": "a.py", "new_string": "x"}, "edit_file needs the argument 'old_string' (a string)."),
        (
            {"path": "a.py", "old_string": "x", "new_string": "y", "replace_all": "true"},
            "Argument 'replace_all' of edit_file must be true or false, not the string \"true\".",
        ),
        (
            {"path": "a.py", "old_string": 1, "new_string": "y"},
            "Argument 'old_string' of edit_file must be a string, not the number 1.",
        ),
        (
            {"path": "a.py", "old": "x", "new": "y"},
            "edit_file has no argument 'new', 'old'; its arguments are path (required), old_string (required), "
            "new_string (required), replace_all.",
        ),
    ],
)
def test_bad_arguments_say_how_to_fix_them(ws, args, message):
    (ws.root / "a.py").write_text("x = 1\n")
    assert (TOOL(args, ws), (ws.root / "a.py").read_text()) == (ToolResult(message, error=True), "x = 1\n")


def interleaved(matches: int) -> str:
    """`matches` lines that match old_string "x = 1", each followed by one that does not."""
    return "".join(f"x = 1\ny{n} = {n}\n" for n in range(matches))


def test_an_ambiguous_old_string_names_ten_lines_and_counts_the_rest(ws):
    """Every line number was listed, each counted from the file's start: quadratic, and 130 KB for 20k matches."""
    (ws.root / "big.py").write_text(interleaved(25))
    assert TOOL({"path": "big.py", "old_string": "x = 1", "new_string": "x = 2"}, ws) == ToolResult(
        "old_string matches 25 places in big.py (lines 1, 3, 5, 7, 9, 11, 13, 15, 17, 19 and 15 more); include more "
        "surrounding lines so it matches exactly one, or set replace_all to true to change every one.", error=True)


def test_many_replacements_show_the_start_of_the_diff_and_count_the_rest(ws):
    (ws.root / "big.py").write_text(interleaved(5000))
    result = TOOL({"path": "big.py", "old_string": "x = 1", "new_string": "x = 2", "replace_all": True}, ws)
    body = [line for n in range(20) for line in ("-x = 1", "+x = 2", f" y{n} = {n}")][:60]
    # One hunk: its header, 10000 old lines (5000 removed, 5000 context) and 5000 added; 60 are shown.
    assert (result, (ws.root / "big.py").read_text()) == (
        ToolResult("\n".join(["Edited big.py (5000 replacements).", "@@ -1,10000 +1,10000 @@", *body[:59],
                              "[... 14941 more diff lines]"])),
        interleaved(5000).replace("x = 1", "x = 2"))


@pytest.mark.parametrize(("before", "old", "new"), [
    ("a\nb\nc\nd\ne\nf\ng\nh\ni\nj\nk\nb\n", "b", "B"),  # two hunks, apart by more than twice the context
    ("ab ab\nx\nab\n", "ab", "c"),  # two matches on one line make one change
    ("keep\nold\nkeep\n", "old\nkeep\n", "new\nkeep\nmore\n"),  # lines in common within one replacement
    ("a\n\nc", "c", ""),  # the last line, without a newline, removed whole
    ("a\nb\n", "\n", "\n\n"),  # newlines themselves, the file's last one included
])
def test_the_diff_is_the_one_difflib_gives(ws, before, old, new):
    (ws.root / "f.txt").write_text(before)
    result = TOOL({"path": "f.txt", "old_string": old, "new_string": new, "replace_all": True}, ws)
    after = (ws.root / "f.txt").read_text()
    split = lambda text: text.split("\n")[:-1] if text.endswith("\n") else text.split("\n")  # noqa: E731
    expected = list(difflib.unified_diff(split(before), split(after), n=3, lineterm=""))[2:]
    assert (after, result.content.split("\n")[1:]) == (before.replace(old, new), expected)


def test_a_file_over_the_size_cap_is_left_to_bash(ws):
    (ws.root / "big.py").write_text(interleaved(100))
    result = EditFile(max_bytes=1000)({"path": "big.py", "old_string": "x = 1", "new_string": "x = 2",
                                       "replace_all": True}, ws)
    assert (result, (ws.root / "big.py").read_text()) == (ToolResult(
        "big.py has 1,480 bytes, more than edit_file takes (1,000); change a file this large with bash (sed, or a "
        "script) instead.", error=True), interleaved(100))


@pytest.mark.parametrize("old", ["x = 1", "x  =  1", "y0 = 0\nnothing like it"], ids=["exact", "fallback", "nearest"])
def test_a_call_past_its_time_limit_stops_and_changes_nothing(ws, old):
    (ws.root / "big.py").write_text(interleaved(5000))
    result = EditFile(time_limit_s=0)({"path": "big.py", "old_string": old, "new_string": "z", "replace_all": True},
                                      ws)
    assert (result, (ws.root / "big.py").read_text()) == (ToolResult(
        "edit_file stopped after 0 s, its time limit, on big.py, which it left unchanged; for a file this large "
        "use bash (grep, sed, or a script) instead.", error=True), interleaved(5000))


def test_a_minified_files_one_line_is_cut_in_the_diff(ws):
    (ws.root / "min.js").write_text("var a=1;" * 500)
    result = TOOL({"path": "min.js", "old_string": "a=1", "new_string": "a=2", "replace_all": True}, ws)
    cut = " [... 2001 more characters on this line]"
    assert (result, (ws.root / "min.js").read_text()) == (ToolResult(
        f"Edited min.js (500 replacements).\n@@ -1 +1 @@\n-{('var a=1;' * 250)[:1999]}{cut}\n"
        f"+{('var a=2;' * 250)[:1999]}{cut}"), "var a=2;" * 500)


def test_matches_on_one_line_name_it_once(ws):
    (ws.root / "min.js").write_text("var a=1;var a=1;var a=1;\n")
    assert TOOL({"path": "min.js", "old_string": "a=1", "new_string": "a=2"}, ws) == ToolResult(
        "old_string matches 3 places in min.js (line 1); include more surrounding lines so it matches exactly one, "
        "or set replace_all to true to change every one.", error=True)
