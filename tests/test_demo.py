import pytest

from luban.ui.demo import EXAMPLE, changes, prepare, run_tests
from luban.errors import ConfigError


def test_the_example_fails_its_tests_and_the_one_line_fix_passes_them(tmp_path):
    root = prepare(str(tmp_path / "shop"))
    passed, summary = run_tests(root)
    assert (passed, summary.startswith("Ran 6 tests in "), summary.endswith(" FAILED (failures=3)")) == (
        False, True, True)
    pricing = root / "pricing.py"
    pricing.write_text(pricing.read_text().replace("price * percent / 100", "price * (100 - percent) / 100"))
    assert run_tests(root)[0] is True
    assert changes(EXAMPLE, root) == (
        "--- a/pricing.py\n+++ b/pricing.py\n@@ -12,7 +12,7 @@\n"
        '     """Return the price after taking off `percent` percent (20 means 20 % off)."""\n'
        "     if not 0 <= percent <= 100:\n"
        '         raise ValueError("percent must be between 0 and 100")\n'
        "-    return round(price * percent / 100, 2)\n"
        "+    return round(price * (100 - percent) / 100, 2)\n"
        " \n \n def unit_price(total: float, quantity: int) -> float:\n")


def test_keep_refuses_a_folder_that_is_not_empty(tmp_path):
    (tmp_path / "x").write_text("mine")
    with pytest.raises(ConfigError, match=f"{tmp_path} is not empty; give --keep a new or empty folder."):
        prepare(str(tmp_path))


def test_the_demo_asks_nothing_and_keeps_a_mode_the_user_chose():
    import io

    from luban.config import Settings
    from luban.ui.demo import demo_mode

    err = io.StringIO()
    assert demo_mode(Settings(permission_mode="plan"), err) == "plan"
    assert demo_mode(Settings(sandbox="none"), err) == "auto-edit"
    assert err.getvalue() == ("! full-auto needs a sandbox for commands, and the sandbox setting is none; choose auto, "
                              "bwrap or landlock, or a mode that asks before commands. The demo runs in auto-edit "
                              "mode: the agent's own commands are refused.\n")
