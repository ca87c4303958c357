import pytest

from luban.tools.grep import TOOL
from luban.types import ToolResult


@pytest.fixture
def repo(ws):
    """A small project: code, a hidden CI folder, a git-ignored build folder, git's own folder."""
    files = {
        "src/app.py": "def total(xs):\n    return sum(xs)\n\ndef mean(xs):\n    return total(xs) / len(xs)\n",
        "src/util.js": "function total() {}\n",
        "README.md": "Total docs\n",
        ".github/ci.yml": "run: total\n",
        ".gitignore": "build/\n",
        "build/out.py": "total = 1\n",
        ".git/config": "total\n",
    }
    for name, text in files.items():
        (ws.root / name).parent.mkdir(parents=True, exist_ok=True)
        (ws.root / name).write_text(text)
    return ws


def test_the_spec_is_a_closed_schema_with_pattern_required():
    params = TOOL.spec.parameters
    assert (TOOL.spec.name, TOOL.effect, params["required"], params["additionalProperties"]) == (
        "grep",
        "read",
        ["pattern"],
        False,
    )


def test_matches_are_path_line_text_sorted_by_path_skipping_git_and_ignored_files(repo):
    assert TOOL({"pattern": "total"}, repo) == ToolResult(
        ".github/ci.yml:1:run: total\n"
        "src/app.py:1:def total(xs):\n"
        "src/app.py:5:    return total(xs) / len(xs)\n"
        "src/util.js:1:function total() {}"
    )


def test_ignore_case_glob_and_path_narrow_the_search(repo):
    assert [
        TOOL({"pattern": "^total", "ignore_case": True}, repo),
        TOOL({"pattern": "total", "glob": "*.py"}, repo),
        TOOL({"pattern": "total", "path": "src"}, repo),
        TOOL({"pattern": "total", "path": "src/util.js"}, repo),
    ] == [
        ToolResult("README.md:1:Total docs"),
        ToolResult("src/app.py:1:def total(xs):\nsrc/app.py:5:    return total(xs) / len(xs)"),
        ToolResult(
            "src/app.py:1:def total(xs):\n"
            "src/app.py:5:    return total(xs) / len(xs)\n"
            "src/util.js:1:function total() {}"
        ),
        ToolResult("src/util.js:1:function total() {}"),
    ]


def test_no_match_is_not_an_error(repo):
    assert TOOL({"pattern": "nowhere_to_be_found"}, repo) == ToolResult("No matches.")


def test_a_pattern_starting_with_a_dash_is_a_pattern_not_a_flag(repo):
    (repo.root / "flags.txt").write_text("use -x here\n")
    assert TOOL({"pattern": "-x"}, repo) == ToolResult("flags.txt:1:use -x here")


def test_a_bad_regex_is_an_error_with_rgs_message_and_a_hint(repo):
    assert TOOL({"pattern": "nowhere("}, repo) == ToolResult(
        "grep failed: rg: regex parse error:\n    (?:nowhere()\n    ^\nerror: unclosed group\n"
        "The pattern is a regular expression: put a backslash before ( ) [ ] { } . * + ? | to match them as text.",
        error=True,
    )


def test_a_bad_regex_that_matches_as_plain_text_says_so(repo):
    assert TOOL({"pattern": "total("}, repo) == ToolResult(
        "The pattern is not a valid regular expression (error: unclosed group); searching for the plain text "
        "`total(` finds:\n"
        "src/app.py:1:def total(xs):\n"
        "src/app.py:5:    return total(xs) / len(xs)\n"
        "src/util.js:1:function total() {}")


def test_doubled_escapes_are_read_as_plain_text(repo):
    assert TOOL({"pattern": "total\\\\(xs\\\\)", "path": "src"}, repo) == ToolResult(
        "The pattern matches nothing; searching for the plain text "
        "`total(xs)` finds:\n"
        "src/app.py:1:def total(xs):\n"
        "src/app.py:5:    return total(xs) / len(xs)")


def test_no_match_tries_ignoring_case(repo):
    assert TOOL({"pattern": "total docs\\b"}, repo) == ToolResult(
        "The pattern matches nothing; searching again ignoring case finds:\nREADME.md:1:Total docs")


def test_an_escaped_pattern_that_matches_nothing_falls_back_to_its_longest_name(repo):
    assert TOOL({"pattern": "def total\\(self\\)", "glob": "*.py"}, repo) == ToolResult(
        "The pattern matches nothing; searching for the name `total` alone, ignoring case, finds:\n"
        "src/app.py:1:def total(xs):\n"
        "src/app.py:5:    return total(xs) / len(xs)")


def test_a_narrowed_search_that_finds_nothing_says_what_the_whole_workspace_holds(repo):
    assert TOOL({"pattern": "def mean", "path": "src/util.js"}, repo) == ToolResult(
        "No matches in src/util.js; the same search over the whole workspace finds:\nsrc/app.py:4:def mean(xs):")
    assert TOOL({"pattern": "def mean", "glob": "*.js"}, repo) == ToolResult(
        "No matches in files matching *.js; the same search over the whole workspace finds:\n"
        "src/app.py:4:def mean(xs):")
    assert TOOL({"pattern": "nowhere_to_be_found", "path": "src"}, repo) == ToolResult("No matches.")


def test_a_literal_backslash_pattern_is_tried_as_written(ws):
    (ws.root / "paths.txt").write_text("C:\\temp\\new\n")
    assert TOOL({"pattern": "C:\\temp\\new"}, ws) == ToolResult(
        "The pattern is not a valid regular expression (the literal \"\\n\" is not allowed in a regex); "
        "searching for the plain text `C:\\temp\\new` finds:\n"
        "paths.txt:1:C:\\temp\\new")


def test_more_than_200_matching_lines_are_cut_with_a_count(ws):
    (ws.root / "many.txt").write_text("hit\n" * 250)
    shown = TOOL({"pattern": "hit"}, ws).content.split("\n")
    assert (len(shown), shown[0], shown[199], shown[200]) == (
        201,
        "many.txt:1:hit",
        "many.txt:200:hit",
        "[50 more matches not shown; narrow the pattern, path or glob]",
    )


def test_a_long_matching_line_is_shown_as_a_preview(ws):
    (ws.root / "wide.txt").write_text("total" + "x" * 400 + "\n")
    assert TOOL({"pattern": "total"}, ws) == ToolResult(
        "wide.txt:1:total" + "x" * 295 + " [... omitted end of long line]"
    )


def test_a_symlink_to_a_file_outside_is_not_searched(ws):
    (ws.root.parent / "secret.txt").write_text("total\n")
    (ws.root / "link.txt").symlink_to(ws.root.parent / "secret.txt")
    assert [TOOL({"pattern": "total"}, ws), TOOL({"pattern": "total", "path": "link.txt"}, ws)] == [
        ToolResult("No matches."),
        ToolResult(f"link.txt is outside the workspace {ws.root}; use a path inside it.", error=True),
    ]


@pytest.mark.parametrize("path", ["..", "/etc", "etc"])
def test_paths_outside_the_workspace_are_refused(ws, path):
    (ws.root / "etc").symlink_to("/etc")
    assert TOOL({"pattern": "root", "path": path}, ws) == ToolResult(
        f"{path} is outside the workspace {ws.root}; use a path inside it.", error=True
    )


def test_a_missing_path_is_an_error(ws):
    assert TOOL({"pattern": "x", "path": "nope"}, ws) == ToolResult(
        "Path not found: nope. Use list_dir or glob to find the right path.", error=True
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({}, "grep needs the argument 'pattern' (a string)."),
        ({"pattern": ""}, "pattern is empty; give the regular expression to search for."),
        (
            {"pattern": "x", "ignore_case": "yes"},
            "Argument 'ignore_case' of grep must be true or false, not the string \"yes\".",
        ),
        ({"pattern": "x", "glob": 5}, "Argument 'glob' of grep must be a string, not the number 5."),
        (
            {"pattern": "x", "include": "*.py"},
            "grep has no argument 'include'; its arguments are pattern (required), path, glob, ignore_case.",
        ),
    ],
)
def test_bad_arguments_say_how_to_fix_them(ws, args, message):
    assert TOOL(args, ws) == ToolResult(message, error=True)
