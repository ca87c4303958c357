"""The syntax check after an edit: which edits are refused, which are applied and reported."""

import pytest

from luban.tools._syntax import Judgement, Problem, judge, problem_of

GOOD = "def f(x):\n    return x\n"


@pytest.mark.parametrize("after, problem", [
    ("def f(x):\nreturn x\n", Problem(2, "IndentationError: expected an indented block after function definition "
                                         "on line 1", "return x")),
    ("def f(x):\n    if x:\n  return 1\n", Problem(3, "IndentationError: unindent does not match any outer "
                                                    "indentation level", "return 1")),
    ("Here is the code:\ndef f(x):\n    return x\n", Problem(1, "SyntaxError: invalid syntax", "Here is the code:")),
    ("def f(x):\n    return (x + 1\n", Problem(2, "SyntaxError: '(' was never closed", "return (x + 1")),
])
def test_an_edit_that_breaks_a_python_file_is_refused(after, problem):
    assert problem_of("f.py", after) == problem
    assert judge("f.py", GOOD, after) == Judgement(False, f"f.py would no longer parse as python ({problem}).")


def test_tree_sitter_misses_what_the_compiler_catches():
    # The reason Python gets the compiler too: tree-sitter's grammar accepts a body that lost its indentation.
    from tree_sitter_language_pack import get_parser

    assert not get_parser("python").parse(b"def f(x):\nreturn x\n").root_node.has_error


def test_a_file_that_did_not_parse_is_changed_and_the_error_reported():
    broken = "def f(x):\n    return (x +\n\nY = 1\n"
    assert judge("f.py", broken, broken.replace("Y = 1", "Y = 2")) == Judgement(
        True, "f.py does not parse as python (line 2: SyntaxError: '(' was never closed: `return (x +`).")
    assert judge("f.py", broken, GOOD) == Judgement(True, "")


def test_a_new_python_file_that_does_not_parse_is_refused():
    assert judge("new.py", None, "def f(:\n") == Judgement(
        False, "new.py would not parse as python (line 1: SyntaxError: invalid syntax: `def f(:`).")


def test_a_new_file_in_another_language_is_written_and_the_error_reported():
    assert judge("a.js", None, "function f( {\n") == Judgement(
        True, "a.js does not parse as javascript (line 1: syntax error: `function f( {`).")


def test_an_edit_that_breaks_a_javascript_file_is_refused():
    assert judge("a.js", "const x = 1;\n", "const x = ;\n") == Judgement(
        False, "a.js would no longer parse as javascript (line 1: syntax error: `const x = ;`).")


def test_newer_python_syntax_the_compiler_here_may_not_read_is_not_an_error():
    # On a Python older than 3.12 the compiler rejects both texts; tree-sitter reads them, so the edit stands.
    before = "type Price = float\n\n\ndef f[T](x: T) -> T:\n    return x\n"
    assert judge("f.py", before, before.replace("return x", "return x  # same")) == Judgement(True, "")


def test_files_in_languages_the_map_does_not_know_are_not_checked():
    assert judge("notes.md", "ok", "def f(:") == Judgement(True, "")
    assert problem_of("notes.md", "def f(:") is None
