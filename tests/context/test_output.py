"""Tool output fitted to the window: a file's lines are cut as a page that says where to read on, other output
keeps its head and tail."""

from luban.context.output import Limits, fit, page
from luban.tools import read
from luban.workspace import Workspace

LIMITS = Limits(chars=2_000, lines=50)


def a_page(tmp_path, **args) -> str:
    (tmp_path / "ws").mkdir(exist_ok=True)
    (tmp_path / "ws" / "big.py").write_text("".join(f"value_{n} = {n}\n" for n in range(1, 1001)))
    ws = Workspace.open(tmp_path / "ws", tmp_path / "out")
    return read.TOOL({"path": "big.py", **args}, ws).content


def test_a_read_too_long_for_one_result_is_cut_at_a_whole_line_and_says_where_to_go_on(tmp_path):
    cut = page(a_page(tmp_path, offset=510, limit=530), LIMITS)
    lines = cut.splitlines()
    assert lines[0] == "   510\tvalue_510 = 510"
    assert lines[-2] == "   558\tvalue_558 = 558"
    assert lines[-1] == ("[showing lines 510-558 of 1000, as many as one result holds; call read_file with "
                         "offset=559 to continue]")
    assert len(cut) <= LIMITS.chars


def test_a_whole_file_read_is_paged_without_a_total_it_does_not_know(tmp_path):
    cut = page(a_page(tmp_path), LIMITS)
    assert cut.splitlines()[-1].startswith("[showing lines 1-49, as many as one result holds; call read_file with "
                                           "offset=50")


def test_output_that_fits_or_is_not_a_files_lines_is_left_to_fit(tmp_path):
    assert page(a_page(tmp_path, offset=10, limit=5), LIMITS) is None
    log = "".join(f"    {n}\tnot numbered by read_file\n" for n in range(1, 200)) + "exit code: 0\n"
    assert page(log, LIMITS) is None  # a command's output: its last line is no note of read_file's
    assert "lines cut; full output in saved.txt" in fit(log, LIMITS, lambda text: "saved.txt")
