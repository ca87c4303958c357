import shutil
from pathlib import Path

from luban.harness.gate import TestGate
from luban.harness.pointers import code_under_test, source_of
from luban.workspace import Workspace

SHOP = Path(__file__).parents[1] / "src" / "luban" / "examples" / "shop"


def test_failing_unittest_output_points_at_the_code_it_calls_most_used_first(tmp_path):
    shutil.copytree(SHOP, tmp_path / "shop")
    ws = Workspace.open(tmp_path / "shop", tmp_path / "out")
    run = TestGate("python3 -m unittest").run(ws)
    assert code_under_test(run.output, ws, ws.listing.files()) == [
        "pricing.py:11 apply_discount(price, percent)", "cart.py:26 total()"]


def test_frames_outside_the_workspace_and_unknown_names_give_nothing(tmp_path):
    (tmp_path / "m.py").write_text("def used(x):\n    return x\n")
    ws = Workspace.open(tmp_path, tmp_path / "out")
    output = 'File "/usr/lib/python3.11/x.py", line 1, in f\n  File "m.py", line 2, in used\n    return x\n'
    assert code_under_test(output, ws, ["m.py"]) == []
    output = f'File "{tmp_path}/m.py", line 1, in used\n'
    assert code_under_test(output, ws, ["m.py"]) == ["m.py:1 used(x)"]


def test_the_refusal_shows_the_most_called_definition_as_written(tmp_path):
    shutil.copytree(SHOP, tmp_path / "shop")
    ws = Workspace.open(tmp_path / "shop", tmp_path / "out")
    gate = TestGate("python3 -m unittest")
    text = gate.refusal(gate.run(ws), ws)
    assert text.endswith(
        "Code called by the failing lines:\npricing.py:11 apply_discount(price, percent)\ncart.py:26 total()\n\n"
        "pricing.py:11, as it is now:\n"
        "def apply_discount(price: float, percent: float) -> float:\n"
        '    """Return the price after taking off `percent` percent (20 means 20 % off)."""\n'
        "    if not 0 <= percent <= 100:\n"
        '        raise ValueError("percent must be between 0 and 100")\n'
        "    return round(price * percent / 100, 2)\n\n"
        "Fix the code until it passes, then finish.")


def test_source_of_gives_nothing_for_long_unparsable_or_unknown_definitions(tmp_path):
    (tmp_path / "m.py").write_text("def long():\n" + "    x = 1\n" * 40 + "\ndef short():\n    return 2\n")
    (tmp_path / "bad.py").write_text("def broken(:\n")
    ws = Workspace.open(tmp_path, tmp_path / "out")
    assert source_of("m.py:43 short()", ws) == "def short():\n    return 2"
    assert source_of("m.py:1 long()", ws) == ""
    assert source_of("bad.py:1 broken()", ws) == ""
    assert source_of("m.py:7 nothing()", ws) == ""
    assert source_of("missing.py:1 f()", ws) == ""


def test_the_file_quoted_is_the_one_whose_definition_is_shown(tmp_path):
    from luban.harness.gate import TestRun, quoted

    shutil.copytree(SHOP, tmp_path / "shop")
    ws = Workspace.open(tmp_path / "shop", tmp_path / "out")
    failing = TestGate("python3 -m unittest").run(ws)
    assert quoted(failing, ws) == "pricing.py"
    assert quoted(TestRun(True, failing.output), ws) is None
