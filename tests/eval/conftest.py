import pytest

from .fixtures import write_task


@pytest.fixture
def suite_dir(tmp_path):
    root = tmp_path / "suite"
    write_task(root, "exit-code", '[grade]\ncommand = "python -c \'from calc import add; assert add(2, 3) == 5\'"')
    write_task(root, "by-test-id", '[grade]\ncommand = "python -m pytest -q test_calc.py"\n'
               'fail_to_pass = ["test_calc.py::test_add"]\npass_to_pass = ["test_calc.py::test_zero"]')
    return root
