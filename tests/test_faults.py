"""Fault localization on a small real project with a known bug: `discounted` takes big discounts twice, and
the one failing test asserts on Cart.total, so its traceback never reaches the bug."""

import os
import shlex
import shutil
import sys
from pathlib import Path

import pytest

from luban.harness.faults import Localization, Suspect, locate, rank
from luban.sandbox import bubblewrap_available, make
from luban.harness.spectrum import Spectrum, coverage_command, interpreter, same_test
from luban.harness.testreport import Failure, Frame
from luban.tools.locate_fault import LocateFault
from luban.types import ToolResult
from luban.workspace import Workspace

PROJECT = Path(__file__).parent / "fixtures" / "faults" / "discount"
PYTHON = shlex.quote(sys.executable)
PYTEST = f"{PYTHON} -m pytest -q -p no:cacheprovider"
RANKED = (
    "Most likely places of the bug, best first (path:line function score), from coverage of 1 failing and 5 "
    "passing tests, traceback frames and names in the failures:\n"
    "shop/pricing.py:3 discounted 0.60\n"
    "shop/cart.py:16 Cart.total 0.45\n"
    "shop/cart.py:10 Cart.__init__ 0.35\n"
    "shop/cart.py:13 Cart.add 0.35\n"
    "shop/cart.py:5 subtotal 0.30"
)
UNITTEST_CART = '''\
import unittest

from shop.cart import Cart


class TestCart(unittest.TestCase):
    def test_plain(self):
        cart = Cart()
        cart.add(100)
        self.assertEqual(cart.total(), 120.0)

    def test_small_discount(self):
        cart = Cart()
        cart.add(100)
        self.assertEqual(cart.total(10), 108.0)

    def test_big_discount(self):
        cart = Cart()
        cart.add(100)
        self.assertEqual(cart.total(50), 60.0)
'''


def project(tmp_path: Path, sandbox=None) -> Workspace:
    shutil.copytree(PROJECT, tmp_path / "project")
    return Workspace.open(tmp_path / "project", tmp_path / "out", sandbox)


def test_the_buggy_function_ranks_first(tmp_path):
    ws = project(tmp_path)
    found = locate(PYTEST, ws)
    assert found.suspects[0] == Suspect("shop/pricing.py", 3, "discounted", 0.6)
    assert found.render() == RANKED
    assert sorted(p.name for p in ws.root.iterdir()) == ["shop", "tests"]  # nothing of the run left behind


def test_a_bare_pytest_script_runs_under_coverage_on_its_own_python(tmp_path):
    script = shlex.quote(str(Path(sys.executable).parent / "pytest"))
    assert locate(f"{script} tests/ -q -p no:cacheprovider", project(tmp_path)).render() == RANKED


@pytest.mark.skipif(not bubblewrap_available(), reason="bubblewrap is not installed")
def test_coverage_runs_inside_the_sandbox(tmp_path):
    assert locate(PYTEST, project(tmp_path, make("bwrap", host=os.environ))).render() == RANKED


def test_a_unittest_suite_is_measured_too(tmp_path):
    ws = project(tmp_path)
    shutil.rmtree(ws.root / "tests")
    (ws.root / "test_cart.py").write_text(UNITTEST_CART)
    found = locate(f"{PYTHON} -m unittest", ws)
    assert found.render() == (
        "Most likely places of the bug, best first (path:line function score), from coverage of 1 failing and 2 "
        "passing tests, traceback frames and names in the failures:\n"
        "shop/pricing.py:3 discounted 0.60\n"
        "shop/cart.py:5 subtotal 0.35\n"
        "shop/cart.py:10 Cart.__init__ 0.35\n"
        "shop/cart.py:13 Cart.add 0.35\n"
        "shop/cart.py:16 Cart.total 0.35")


def test_each_parametrized_case_is_a_test_and_a_table_built_at_import_is_found_by_its_values(tmp_path):
    # words/plurals.py appends an irregular word's rule after the general ones, in a call that runs at import, so
    # coverage credits the bug's line to no test; the failures quote 'kine', which that call spells.
    shutil.copytree(PROJECT.parent / "plurals", tmp_path / "project")
    ws = Workspace.open(tmp_path / "project", tmp_path / "out")
    ranked = ("Most likely places of the bug, best first (path:line function score), from coverage of 2 failing and "
              "8 passing tests, traceback frames and names in the failures:\n"
              "words/plurals.py:18 pluralize 0.37\n"
              "words/plurals.py:12 _irregular 0.20")
    assert locate(PYTEST, ws, task="pluralize('cow') gives 'cows'.").render() == ranked
    # A command that sets its own PYTHONPATH still gets coverage and the plugin from Luban, and a project that turns
    # warnings into errors gets no warning from the plugin (jinja2's, itsdangerous's and toolz's suites do).
    (ws.root / "pytest.ini").write_text("[pytest]\nfilterwarnings =\n    error\n")
    assert locate(f"PYTHONPATH=/nowhere {PYTEST}", ws, task="pluralize('cow') gives 'cows'.").render() == ranked


def test_without_coverage_the_frames_and_names_remain(tmp_path):
    ws = project(tmp_path)
    (ws.root / "run-tests.sh").write_text(f"{PYTEST}\n")
    assert locate("bash run-tests.sh", ws).render() == (
        "Most likely places of the bug, best first (path:line function score), from traceback frames and names "
        "in the failures only (no coverage: the test command runs neither pytest nor unittest in a way coverage "
        "can wrap):\n"
        "shop/cart.py:8 Cart 0.10\n"
        "shop/cart.py:15 Cart.total 0.10")


def test_passing_tests_point_nowhere(tmp_path):
    ws = project(tmp_path)
    assert locate(f"{PYTEST} -k 'not big'", ws) == Localization(
        (), "the tests pass, so no failing test points anywhere")


def test_the_tool_runs_the_configured_command(tmp_path):
    ws = project(tmp_path)
    assert LocateFault(PYTEST)({"top": 1}, ws) == ToolResult(RANKED.split("\n")[0] + "\n"
                                                              "shop/pricing.py:3 discounted 0.60")
    assert LocateFault()({}, ws) == ToolResult(
        "locate_fault needs the project's test command, and none is set; read the failing test's traceback and "
        "grep for the names it calls instead.", error=True)


def test_frames_rank_where_the_exception_was_raised_first(tmp_path):
    (tmp_path / "calc.py").write_text("def inner(x):\n    return 1 / x\n\n\ndef outer(x):\n    return inner(x - 1)\n")
    failure = Failure("test_calc.py::test_outer", "failed", "ZeroDivisionError: division by zero", (),
                      (Frame("test_calc.py", 4, "test_outer"), Frame("calc.py", 6, "outer"),
                       Frame(str(tmp_path / "calc.py"), 2, "inner"), Frame("/usr/lib/python3/x.py", 9, "f")))
    assert rank(tmp_path, {}, [failure], "") == [Suspect("calc.py", 2, "inner", 0.3),
                                                Suspect("calc.py", 6, "outer", 0.21)]


def test_a_name_the_report_spells_out_outranks_the_frame_that_raised(tmp_path):
    # The shape of a real report: the property returns None, and the failure surfaces in its caller.
    (tmp_path / "loops.py").write_text("class Loop:\n    def length(self):\n        return None\n\n"
                                       "    def rest(self):\n        return self.length() - 1\n\n\n"
                                       "def length(xs):\n    return len(xs)\n")
    failure = Failure("test_loops.py::test_rest", "failed", "TypeError: unsupported operand type(s)", (),
                      (Frame("test_loops.py", 4, "test_rest"), Frame("loops.py", 6, "rest")))
    spelled = "`pkg.loops.Loop.length` misbehaves"
    assert rank(tmp_path, {}, [failure], spelled, spelled) == [Suspect("loops.py", 2, "Loop.length", 0.4),
                                                             Suspect("loops.py", 6, "Loop.rest", 0.3),
                                                             Suspect("loops.py", 1, "Loop", 0.1),
                                                             Suspect("loops.py", 9, "length", 0.1)]
    # A bare word is weak evidence, and so is the name when only the failures spell it out.
    assert [s.function for s in rank(tmp_path, {}, [failure], "length misbehaves", "length misbehaves")] == [
        "Loop.rest", "Loop.length", "length"]
    assert [s.function for s in rank(tmp_path, {}, [failure], spelled, "")] == ["Loop.rest", "Loop", "Loop.length",
                                                                                  "length"]
    # A module-level function is spelled out with its module.
    assert rank(tmp_path, {}, [], "loops.length", "see loops.length")[0] == Suspect("loops.py", 9, "length", 0.4)


def test_ochiai():
    spectrum = Spectrum({"a.py": {1: frozenset({"f1", "p1", "p2"}), 2: frozenset({"f1", "f2"}), 3: frozenset({"p1"})}},
                        frozenset({"f1", "f2"}), frozenset({"p1", "p2"}))
    assert spectrum.ochiai() == {("a.py", 1): 1 / (2 * 3) ** 0.5, ("a.py", 2): 1.0}


@pytest.mark.parametrize("command, expected", [
    ("python -m pytest -q", "python /s/luban_coverage_run.py --rcfile=/s/coveragerc -m pytest -p luban_test_cases -q"),
    ("cd sub && python3.12 -m unittest discover", "cd sub && python3.12 /s/luban_coverage_run.py --rcfile=/s/coveragerc "
                                                 "-m unittest discover"),
    ("pytest tests/ -x", "/venv/bin/python /s/luban_coverage_run.py --rcfile=/s/coveragerc -m pytest -p "
                         "luban_test_cases tests/ -x"),
])
def test_the_first_pytest_or_unittest_runs_under_coverage(command, expected, tmp_path):
    (tmp_path / "pytest").write_text("#!/venv/bin/python\n")
    which = {"pytest": str(tmp_path / "pytest")}.get
    assert coverage_command(command, Path("/s"), Path("/w"), which) == expected


@pytest.mark.parametrize("command", ["tox -e py", "make test", "python check.py", "python -m pytest_cov"])
def test_commands_coverage_cannot_wrap(command):
    assert coverage_command(command, Path("/s"), Path("/w"), lambda _: None) is None


@pytest.mark.parametrize("head, expected", [
    ("#!/venv/bin/python3.11\n", "/venv/bin/python3.11"),
    ("#!/usr/bin/env python3\n", "python3"),
    ("#!/bin/sh\n'''exec' \"/long path/bin/python\" \"$0\" \"$@\"\n' '''\n", "'/long path/bin/python'"),
    ("#!/bin/sh\n'''exec' /venv/bin/python \"$0\" \"$@\"\n' '''\n", "/venv/bin/python"),
    ("no shebang\n", "python3"),
])
def test_the_python_a_pytest_script_runs_on(head, expected, tmp_path):
    (tmp_path / "pytest").write_text(head)
    assert interpreter("pytest", tmp_path, {"pytest": str(tmp_path / "pytest")}.get) == expected


def test_a_missing_script_runs_on_python3(tmp_path):
    assert interpreter("pytest", tmp_path, lambda _: None) == "python3"


def test_coverage_contexts_are_matched_to_test_ids():
    assert same_test("tests.test_cart.test_total", "tests/test_cart.py::test_total")
    assert same_test("test_cart.test_total", "tests/test_cart.py::test_total[big]")
    assert same_test("test_cart.TestCart.test_total", "tests/test_cart.py::TestCart::test_total")
    assert not same_test("test_other.test_total", "tests/test_cart.py::test_total")
    assert not same_test("tests.test_cart.test_total_2", "tests/test_cart.py::test_total")
    assert same_test("test_cart.TestCart.test_total", "test_cart.TestCart.test_total")
    assert same_test("tests/test_cart.py::test_total[big]", "tests/test_cart.py::test_total[big]")  # a pytest case
    assert not same_test("tests/test_cart.py::test_total[big]", "tests/test_cart.py::test_total[small]")
