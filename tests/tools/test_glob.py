import os

import pytest

from luban.tools.glob import TOOL, translate
from luban.types import ToolResult


@pytest.fixture
def repo(ws):
    """Files with known modification times (seconds since the epoch), plus folders glob must not enter."""
    files = {
        "src/a.py": 1000,
        "src/b.py": 3000,
        "src/c.ts": 1500,
        "src/d.js": 2500,
        "tests/test_a.py": 2000,
        "README.md": 500,
        ".github/ci.yml": 400,
        "node_modules/x/index.js": 9000,
        ".venv/lib/m.py": 9000,
        "src/__pycache__/a.cpython-311.pyc": 9000,
        ".git/HEAD": 9000,
    }
    for name, mtime in files.items():
        path = ws.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("")
        os.utime(path, (mtime, mtime))
    return ws


def test_the_spec_is_a_closed_schema_with_pattern_required():
    params = TOOL.spec.parameters
    assert (TOOL.spec.name, TOOL.effect, params["required"], params["additionalProperties"]) == (
        "glob",
        "read",
        ["pattern"],
        False,
    )


def test_double_star_finds_files_in_any_folder_newest_first_skipping_noise_folders(repo):
    assert TOOL({"pattern": "**/*.py"}, repo) == ToolResult("src/b.py\ntests/test_a.py\nsrc/a.py")


def test_a_single_star_stays_in_one_folder(repo):
    assert [TOOL({"pattern": "*.md"}, repo), TOOL({"pattern": "*.py"}, repo)] == [
        ToolResult("README.md"),
        ToolResult("No files match *.py in the workspace root. In any folder, ignoring case: src/b.py, "
                   "tests/test_a.py, src/a.py"),
    ]


def test_no_match_suggests_the_files_that_match_ignoring_case(repo):
    assert [TOOL({"pattern": "readme.MD"}, repo), TOOL({"pattern": "SRC/*.PY"}, repo)] == [
        ToolResult("No files match readme.MD in the workspace root. Ignoring case: README.md"),
        ToolResult("No files match SRC/*.PY in the workspace root. Ignoring case: src/b.py, src/a.py"),
    ]


def test_no_match_suggests_files_of_that_name_in_other_folders(repo):
    assert [TOOL({"pattern": "test_a.py"}, repo), TOOL({"pattern": "lib/B.py"}, repo),
            TOOL({"pattern": "missing.py"}, repo)] == [
        ToolResult("No files match test_a.py in the workspace root. In any folder, ignoring case: tests/test_a.py"),
        ToolResult("No files match lib/B.py in the workspace root. In any folder, ignoring case: src/b.py"),
        ToolResult("No files match missing.py in the workspace root."),
    ]


def test_at_most_ten_suggestions(ws):
    for i in range(12):
        (ws.root / "docs" / f"{i:02}").mkdir(parents=True)
        (ws.root / "docs" / f"{i:02}" / "index.md").write_text("")
        os.utime(ws.root / "docs" / f"{i:02}" / "index.md", (1000, 1000))
    assert TOOL({"pattern": "index.md"}, ws) == ToolResult(
        "No files match index.md in the workspace root. In any folder, ignoring case: "
        + ", ".join(f"docs/{i:02}/index.md" for i in range(10)) + " [2 more]")


def test_braces_classes_and_question_marks(repo):
    assert [
        TOOL({"pattern": "src/*.{js,ts}"}, repo),
        TOOL({"pattern": "src/[ab].py"}, repo),
        TOOL({"pattern": "src/[!ab].*"}, repo),
        TOOL({"pattern": "tests/test_?.py"}, repo),
    ] == [
        ToolResult("src/d.js\nsrc/c.ts"),
        ToolResult("src/b.py\nsrc/a.py"),
        ToolResult("src/d.js\nsrc/c.ts"),
        ToolResult("tests/test_a.py"),
    ]


def test_path_sets_the_folder_the_pattern_is_relative_to_and_results_stay_relative_to_the_root(repo):
    assert TOOL({"pattern": "*.py", "path": "src"}, repo) == ToolResult("src/b.py\nsrc/a.py")


def test_a_noise_folder_named_as_path_is_searched(repo):
    assert TOOL({"pattern": "**/*.py", "path": ".venv"}, repo) == ToolResult(".venv/lib/m.py")


def test_double_star_alone_lists_every_file_including_hidden_ones(repo):
    assert TOOL({"pattern": "**"}, repo) == ToolResult(
        "src/b.py\nsrc/d.js\ntests/test_a.py\nsrc/c.ts\nsrc/a.py\nREADME.md\n.github/ci.yml"
    )


def test_equal_times_are_ordered_by_path_and_more_than_200_are_cut(ws):
    for n in range(250):
        path = ws.root / f"f{n:03}.txt"
        path.write_text("")
        os.utime(path, (1000, 1000))
    shown = TOOL({"pattern": "*.txt"}, ws).content.split("\n")
    assert (len(shown), shown[0], shown[199], shown[200]) == (
        201,
        "f000.txt",
        "f199.txt",
        "[50 more files not shown; use a narrower pattern or path]",
    )


def test_symlinks_leading_outside_are_not_listed_or_entered(ws):
    (ws.root.parent / "secret.py").write_text("")
    (ws.root / "leak.py").symlink_to(ws.root.parent / "secret.py")
    (ws.root / "etc").symlink_to("/etc")
    (ws.root / "ok.py").write_text("")
    assert [TOOL({"pattern": "**/*.py"}, ws), TOOL({"pattern": "etc/*"}, ws)] == [
        ToolResult("ok.py"),
        ToolResult("No files match etc/* in the workspace root."),
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"pattern": "../*"}, "pattern must be relative and must not contain '..'; set path to search another folder."),
        (
            {"pattern": "/etc/*"},
            "pattern must be relative and must not contain '..'; set path to search another folder.",
        ),
        ({"pattern": "*", "path": "src/a.py"}, "src/a.py is not a folder; give glob a folder as path."),
        ({"pattern": "*", "path": "nope"}, "Folder not found: nope. Use list_dir to see which folders there are."),
        ({"pattern": " "}, "pattern is empty; give a pattern such as **/*.py."),
        ({"pattern": 7}, "Argument 'pattern' of glob must be a string, not the number 7."),
        ({}, "glob needs the argument 'pattern' (a string)."),
        (
            {"pattern": "*", "recursive": True},
            "glob has no argument 'recursive'; its arguments are pattern (required), path.",
        ),
    ],
)
def test_bad_arguments_say_how_to_fix_them(repo, args, message):
    assert TOOL(args, repo) == ToolResult(message, error=True)


@pytest.mark.parametrize("path", ["..", "/etc", "etc"])
def test_paths_outside_the_workspace_are_refused(ws, path):
    (ws.root / "etc").symlink_to("/etc")
    assert TOOL({"pattern": "*", "path": path}, ws) == ToolResult(
        f"{path} is outside the workspace {ws.root}; use a path inside it.", error=True
    )


@pytest.mark.parametrize(
    ("pattern", "matches", "misses"),
    [
        ("**/*.py", ["a.py", "x/a.py", "x/y/a.py"], ["a.pyc", "x/a.js"]),
        ("src/**", ["src/a", "src/x/y"], ["src", "lib/src/a"]),
        ("a/**/b", ["a/b", "a/x/b", "a/x/y/b"], ["a/xb", "b"]),
        ("*.{c,h}", ["m.c", "m.h"], ["m.cc", "x/m.c"]),
        ("f[0-9].txt", ["f1.txt"], ["fa.txt", "f10.txt"]),
        ("a+b(1).txt", ["a+b(1).txt"], ["aab1.txt"]),
    ],
)
def test_translate_follows_glob_rules(pattern, matches, misses):
    regex = translate(pattern)
    assert ([bool(regex.fullmatch(m)) for m in matches], [bool(regex.fullmatch(m)) for m in misses]) == (
        [True] * len(matches),
        [False] * len(misses),
    )
