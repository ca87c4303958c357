"""The bugfix suite: exact mutations, building and validating tasks on one small library (inflection),
statements that do not give the tests away, and grading through luban.eval.grade."""

from __future__ import annotations

import os
import json
from pathlib import Path

import pytest

from luban.eval.bugfix import Limits, build_suite, load_bugfix
from luban.eval.bugfix.build import dedupe, merge_manifests
from luban.eval.bugfix.mutate import Edit, EditMismatch, Mutation, mutations, read_exact
from luban.eval.bugfix.pins import pin_named
from luban.eval.bugfix.releases import Hunk, ReleaseDiff, diff_releases
from luban.eval.bugfix.statement import mentions_tests
from luban.eval.bugfix.tasks import tier_of
from luban.eval.bugfix.validate import python_env
from luban.eval.grade import grade
from luban.sandbox import make

SOURCE = 'def f(a, b):\n    """Doc 1."""\n    if a and not b:\n        return a - b < 2\n    return xs[1:n]\n'


@pytest.fixture(scope="session")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One download of the inflection sdist for the whole session."""
    return tmp_path_factory.mktemp("bugfix-cache")


@pytest.fixture(scope="session")
def built(cache: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    out = tmp_path_factory.mktemp("bugfix-out") / "bugfix.json"
    report = build_suite(out, cache, libraries=["inflection"], seed=0, progress=lambda _: None,
                         limits=Limits(target=3, max_candidates=12), sandbox="none", kinds=("mutation",))
    return out, report


def test_mutations_of_a_small_function_are_exact_edits(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text(SOURCE)
    found = [(m.kind, m.edit.offset, m.edit.old, m.edit.new) for m in mutations(tmp_path, "m.py")]
    assert found == [
        ("condition removed", 37, "a and not b", "a"),
        ("condition removed", 37, "a and not b", "not b"),
        ("and/or swap", 39, "and", "or"),
        ("not removed", 43, "not ", ""),
        ("return value changed", 65, "a - b < 2", "None"),
        ("swapped operands", 65, "a - b", "b - a"),
        ("operator flip", 67, "-", "+"),
        ("comparison flip", 71, "<", "<="),
        ("constant changed", 73, "2", "3"),
        ("return value changed", 86, "xs[1:n]", "None"),
        ("constant changed", 89, "1", "0"),
        ("off by one", 91, "n", "n + 1"),
        ("off by one", 91, "n", "n - 1"),
    ]


def test_edit_changes_only_its_span_and_keeps_line_endings(tmp_path: Path) -> None:
    original = "# café ✓\r\ndef g(x):\r\n    return x + 1  # é\r\n"
    (tmp_path / "g.py").write_bytes(original.encode("utf-8"))
    [flip] = [m for m in mutations(tmp_path, "g.py") if m.kind == "operator flip"]
    assert flip == Mutation(Edit("g.py", original.index("+"), "+", "-"), "operator flip", 3, "g")
    flip.edit.apply(tmp_path)
    assert (tmp_path / "g.py").read_bytes() == original.replace("x + 1", "x - 1").encode("utf-8")
    flip.edit.revert().apply(tmp_path)
    assert (tmp_path / "g.py").read_bytes() == original.encode("utf-8")


def test_an_edit_that_does_not_match_is_refused(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text(SOURCE)
    with pytest.raises(EditMismatch):
        Edit("m.py", 38, "and", "or").apply(tmp_path)
    assert read_exact(tmp_path / "m.py") == SOURCE


def test_test_command_imports_the_workspace_copy() -> None:
    assert pin_named("semver").test_command == (
        "PYTHONPATH=src PYTHONDONTWRITEBYTECODE=1 python -m pytest -q -p no:cacheprovider -o addopts= tests")
    assert pin_named("funcy").test_command == (
        "PYTHONPATH=.:_deps PYTHONDONTWRITEBYTECODE=1 python -m pytest -q -p no:cacheprovider tests")


def test_building_one_library_keeps_validated_distinct_tasks(built: tuple[Path, object]) -> None:
    out, report = built
    manifest = json.loads(out.read_text())
    tasks = manifest["tasks"]
    assert report.tasks == len(tasks) == 3
    assert report.by_library == {"inflection": 3} and report.dropped == {}
    assert [p["sdist"]["name"] for p in manifest["pins"]] == ["inflection"]
    # Deduplicated: no two tasks break the same set of tests.
    assert len({frozenset(t["fail_to_pass"]) for t in tasks}) == 3
    for task in tasks:
        assert task["fail_to_pass"] and not set(task["fail_to_pass"]) & set(task["pass_to_pass"])
        assert task["tier"] in ("easy", "medium", "hard") and task["kind"] == "mutation"
        [edit] = task["edits"]
        assert edit["file"] == "inflection/__init__.py" and edit["old"] != edit["new"]


def test_statements_do_not_name_the_tests(built: tuple[Path, object]) -> None:
    out, _ = built
    for task in json.loads(out.read_text())["tasks"]:
        ids = set(task["fail_to_pass"]) | set(task["pass_to_pass"])
        assert not mentions_tests(task["statement"], ids)
        assert "test_inflection" not in task["statement"]
        assert "inflection" in task["statement"]


def test_reverting_the_bug_grades_resolved_and_leaving_it_does_not(built: tuple[Path, object], cache: Path,
                                                                    tmp_path: Path) -> None:
    out, _ = built
    suite = load_bugfix(cache, out)
    task = suite.tasks[0]
    assert suite.name == "bugfix" and task.meta["library"] == "inflection"
    sandbox = make("auto", env=python_env(), host=os.environ)
    bad, good = tmp_path / "bad", tmp_path / "good"
    for root in (bad, good):
        root.mkdir()
        task.source.prepare(root)
    for edit in task.source.edits:
        edit.revert().apply(good)
    assert read_exact(good / "inflection/__init__.py") == read_exact(
        pin_named("inflection").sdist.unpack(cache) / "inflection/__init__.py")
    kept = grade(task, bad, sandbox)
    fixed = grade(task, good, sandbox)
    assert (kept.resolved, fixed.resolved) == (False, True)
    assert {kept.tests[t] for t in task.grading.fail_to_pass} == {"failed"}
    assert set(fixed.tests.values()) == {"passed"}


def test_merging_a_manifest_with_itself_changes_nothing(built: tuple[Path, object], tmp_path: Path) -> None:
    out, report = built
    merged = merge_manifests([out, out], tmp_path / "merged.json")
    assert (merged.tasks, merged.by_library, merged.by_tier) == (report.tasks, report.by_library, report.by_tier)


def test_a_release_diff_reverts_code_hunks_one_by_one_and_hides_the_new_tests(tmp_path: Path) -> None:
    old, new = tmp_path / "old", tmp_path / "new"
    files = {
        "inflection/__init__.py": ("def f(x):\n    return x\n\n\ndef g():\n    return 1\n",
                                   "def f(x):\n    return x or 0\n\n\ndef g():\n    return 2\n"),
        "test_inflection.py": ("def test_f():\n    pass\n", "def test_f():\n    assert True\n"),
        "test_extra.py": (None, "def test_new():\n    pass\n"),
        "CHANGELOG.md": ("# 0.5.0\n", "# 0.5.1\nFixed f.\n# 0.5.0\n"),
        "README.rst": ("old\n", "new\n"),
    }
    for rel, (a, b) in files.items():
        for top, text in ((old, a), (new, b)):
            if text is not None:
                (top / rel).parent.mkdir(parents=True, exist_ok=True)
                (top / rel).write_text(text)
    diff = diff_releases(pin_named("inflection"), old, new)
    lib = "inflection/__init__.py"
    assert diff == ReleaseDiff(
        hunks=(Hunk(Edit(lib, 39, "    return 2\n", "    return 1\n"), 6, "g"),
               Hunk(Edit(lib, 10, "    return x or 0\n", "    return x\n"), 2, "f")),
        setup=(Edit("CHANGELOG.md", 0, "# 0.5.1\nFixed f.\n", ""),
               Edit("test_inflection.py", 14, "    assert True\n", "    pass\n")),
        hidden={"test_extra.py": "def test_new():\n    pass\n", "test_inflection.py": files["test_inflection.py"][1]},
        removed=("test_extra.py",))


def test_tiers_follow_the_statement_the_kind_and_the_failing_tests() -> None:
    repro = "## `f(1)` gives the wrong result\n\nReproduction:\n..."
    named = "## `pkg.mod.f` misbehaves\n\nThe failure looks like this: ..."
    vague = "## the `pkg.mod` module misbehaves\n\n..."
    def task(statement: str, kind: str = "operator flip", broken: int = 2, how: str = "mutation") -> dict:
        return {"kind": how, "mutation": kind, "statement": statement, "function": "f",
                "fail_to_pass": [f"t::{i}" for i in range(broken)]}
    assert [tier_of(task(repro)), tier_of(task(repro, "off by one")), tier_of(task(repro, "off by one", 1)),
            tier_of(task(named)), tier_of(task(named, broken=1)), tier_of(task(vague)),
            tier_of(task(repro, how="release revert"))] == ["easy", "easy", "medium", "easy", "medium", "medium", "hard"]


def test_dedupe_keeps_one_task_per_broken_set_preferring_a_real_bug() -> None:
    def task(id: str, kind: str, broken: list[str], version: str = "1.0") -> dict:
        return {"id": id, "library": "lib", "version": version, "kind": kind, "fail_to_pass": broken}
    tasks = [task("m1", "mutation", ["a", "b"]), task("m2", "mutation", ["b", "a"]), task("m3", "mutation", ["a"]),
             task("r1", "release revert", ["a"]), task("r2", "release revert", ["a"], "0.9")]
    assert [t["id"] for t in dedupe(tasks)] == ["m1", "r1", "r2"]


def test_the_packaged_suite_loads_without_fetching_anything(tmp_path: Path) -> None:
    suite = load_bugfix(tmp_path)
    assert suite.name == "bugfix" and len(suite.tasks) >= 200
    assert not list(tmp_path.iterdir())  # sdists are fetched when a workspace is prepared, not before
    kinds = {t.meta["kind"] for t in suite.tasks}
    assert kinds == {"mutation", "release revert"}
    for task in suite.tasks:
        assert task.grading.fail_to_pass and task.tier in ("easy", "medium", "hard")
        assert task.test_command == task.grading.command and "python -m pytest" in task.test_command
