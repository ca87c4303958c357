"""Fault localization in the loop, on a small real project with a known bug (`discounted` takes big discounts
twice; the failing test asserts on Cart.total, so its traceback never reaches the bug): the briefing names the
suspects, focused rewrites start from them, and locate_fault is offered with a test command."""

import json
import shlex
import shutil
import sys
from pathlib import Path

from luban.agent import loop
from luban.config import Settings
from luban.harness import Harness, offered_tools
from luban.harness.faults import Suspect
from luban.harness.gate import TestGate
from luban.harness.guards import Guards
from luban.harness.candidates import SAMPLE_TEMPERATURE
from luban.harness.repairs import OPENING_TRIES
from luban.harness.rewrites import Target, request, target
from luban.models.protocol import JsonProtocol
from luban.models.scripted import assistant, script
from luban.tools import edit, read
from luban.types import Message, Notice
from luban.workspace import Workspace

PROJECT = Path(__file__).parent / "fixtures" / "faults" / "discount"
PYTEST = f"{shlex.quote(sys.executable)} -m pytest -q -p no:cacheprovider"


def project(tmp_path):
    shutil.copytree(PROJECT, tmp_path / "project")
    return Workspace.open(tmp_path / "project", tmp_path / "out")


def test_a_failing_gate_briefs_the_model_with_the_digest_and_the_top_suspects(tmp_path):
    ws = project(tmp_path)
    model = script(assistant(json.dumps({"thought": "t", "tool": "finish", "args": {"answer": "?"}})))
    gen = loop.run("Big discounts come out wrong.", model=model, tools=(read.TOOL, edit.TOOL), ws=ws,
                   settings=Settings(permission_mode="full-auto", edit_samples=1), history=[Message("system", "s")],
                   harness=Harness(JsonProtocol(), TestGate(PYTEST, max_refusals=0), localize_faults=True))
    for _ in gen:
        pass
    briefing = model.requests[0].messages[1].content
    assert briefing.startswith(f"Big discounts come out wrong.\n\nThe test command `{PYTEST}` fails now. Its output:\n"
                               "1 failed, 5 passed (pytest).\n\nFAILED tests/test_cart.py::test_total_with_a_big_discount\n"
                               "  assert 0.0 == 60.0\n")
    assert ("\n\nexit code: 1\n\nMost likely places of the bug, best first (path:line function score), from coverage "
            "of 1 failing and 5 passing tests, traceback frames and names in the failures:\n"
            "shop/pricing.py:3 discounted 0.60\nshop/cart.py:16 Cart.total 0.45\nshop/cart.py:10 Cart.__init__ 0.35"
            ) in briefing
    assert "....." not in briefing


def test_a_focused_rewrite_targets_the_top_suspect_and_methods_by_their_qualified_name(tmp_path):
    ws = project(tmp_path)
    run = TestGate(PYTEST).run(ws)
    top = Suspect("shop/pricing.py", 3, "discounted", 0.6)
    # The failing test comes with each target: its assertion says what the code must give.
    test = ("tests/test_cart.py", "def test_total_with_a_big_discount():\n    assert cart(100).total(50) == 60.0")
    assert target(run, ws, Guards(), (top,)) == Target(
        "shop/pricing.py", "discounted", "def discounted(amount, percent):\n    if percent >= 50:\n"
        "        return amount - 2 * amount * percent / 100\n    return amount - amount * percent / 100", test)
    method = Suspect("shop/cart.py", 16, "Cart.total", 0.45)
    assert target(run, ws, Guards(), (method,)) == Target(
        "shop/cart.py", "total", "    def total(self, percent=0):\n"
        "        return with_tax(discounted(subtotal(self.items), percent))", test)
    # A protected suspect is passed over; with none left, the traceback's pointer decides as before.
    assert target(run, ws, Guards(protected=("shop/*",)), (top,)) is None


def test_a_suspect_with_a_long_docstring_is_rewritten_whole_and_one_too_long_for_a_reply_by_a_window(tmp_path):
    from luban.harness.rewrites import REWRITE_MAX_LINES

    ws = project(tmp_path)
    run = TestGate(PYTEST).run(ws)
    docstring = "".join(f"    Line {n} of the docs.\n" for n in range(REWRITE_MAX_LINES - 5))
    long = f'def described(x):\n    """What it does.\n\n{docstring}    """\n    return x\n'
    (ws.root / "shop" / "docs.py").write_text(long + "\n\ndef huge(x):\n" + "    x += 1\n" * REWRITE_MAX_LINES)
    described = target(run, ws, Guards(), (Suspect("shop/docs.py", 1, "described", 0.9),))
    assert (described.name, described.source) == ("described", long.removesuffix("\n"))
    huge = target(run, ws, Guards(), (Suspect("shop/docs.py", 70, "huge", 0.9),))
    assert (huge.name, huge.header, huge.source) == ("huge", "def huge(x):", "\n".join(["    x += 1"] * 30))


def test_focused_rewrites_go_to_the_suspect_rewritten_least_so_far(tmp_path):
    ws = project(tmp_path)
    run = TestGate(PYTEST).run(ws)
    suspects = (Suspect("shop/cart.py", 16, "Cart.total", 0.45), Suspect("shop/pricing.py", 3, "discounted", 0.6),
                Suspect("shop/cart.py", 10, "Cart.__init__", 0.35), Suspect("shop/cart.py", 1, "subtotal", 0.1))
    names = []
    tried: dict[str, int] = {}
    for _ in range(5):
        goal = target(run, ws, Guards(), suspects, tried)
        tried[goal.key] = tried.get(goal.key, 0) + 1
        names.append(goal.name)
    # The first three suspects in turn, then round again; the fourth is too unlikely to be tried.
    assert names == ["total", "discounted", "__init__", "total", "discounted"]


def test_suspects_far_below_the_top_one_are_not_rewritten(tmp_path):
    ws = project(tmp_path)
    run = TestGate(PYTEST).run(ws)
    suspects = (Suspect("shop/pricing.py", 3, "discounted", 1.3), Suspect("shop/cart.py", 16, "Cart.total", 0.33),
                Suspect("shop/cart.py", 10, "Cart.__init__", 0.31))
    tried: dict[str, int] = {}
    for _ in range(3):
        goal = target(run, ws, Guards(), suspects, tried)
        tried[goal.key] = tried.get(goal.key, 0) + 1
    assert tried == {"shop/pricing.py:discounted": 3}


FIXED = "```python\ndef discounted(amount, percent):\n    return amount - amount * percent / 100\n```"
FINISH = assistant(json.dumps({"thought": "t", "tool": "finish", "args": {"answer": "fixed"}}))


def repair_run(tmp_path, replies, mode="full-auto", protected=()):
    ws = project(tmp_path)
    model = script(*replies)
    gen = loop.run("Big discounts come out wrong.", model=model, tools=(read.TOOL, edit.TOOL), ws=ws,
                   settings=Settings(permission_mode=mode, edit_samples=1), history=[Message("system", "s")],
                   harness=Harness(JsonProtocol(), TestGate(PYTEST, max_refusals=0), localize_faults=True,
                                   regression_guard=True, focused_writes=True, protected=protected))
    events = list(gen)
    return model, events[-1].outcome, (ws.root / "shop" / "pricing.py").read_text()


def test_a_weak_model_starts_from_the_focused_rewrite_of_the_top_suspect_that_makes_the_tests_pass(tmp_path):
    model, outcome, pricing = repair_run(tmp_path, [assistant(FIXED), FINISH])
    assert "def discounted(amount, percent):\n    return amount - amount * percent / 100\n" in pricing
    rewrite = model.requests[0]
    assert rewrite.temperature == 0.0 and "Find the bug in `discounted`" in rewrite.messages[-1].content
    first = model.requests[1].messages[1].content
    assert "1 failed, 5 passed (pytest)." in first  # the briefing still shows how the task started
    # The change comes with the note: the model can check it without reading the file.
    note = first[first.index("[Luban rewrote"):]
    assert note.startswith("[Luban rewrote discounted in shop/pricing.py from a short, separate request, and now the "
                           "tests pass. The change:\nEdited shop/pricing.py")
    assert "\n-    if percent >= 50:\n-        return amount - 2 * amount * percent / 100\n" in note
    assert note.endswith("\nIf it is right and nothing else is left, finish.]")
    assert outcome.status == "done"


def test_rewrites_that_do_not_help_are_not_applied_and_the_suspects_are_asked_in_turn_greedy_first(tmp_path):
    unchanged = (PROJECT / "shop" / "pricing.py").read_text()
    # The finish the gate refuses at the end brings the last repairs, which find nothing either.
    model, outcome, pricing = repair_run(tmp_path, [assistant("No idea.")] * OPENING_TRIES + [FINISH] +
                                         [assistant("No idea.")] * OPENING_TRIES)
    assert pricing == unchanged
    asked = [r.messages[-1].content for r in model.requests[:OPENING_TRIES]]
    assert all(f"`{name}`" in text for name, text in zip(["discounted", "total", "__init__"] * 2, asked, strict=True))
    assert [r.temperature for r in model.requests[:OPENING_TRIES]] == [0.0] * 3 + [SAMPLE_TEMPERATURE] * 3
    assert "[Luban rewrote" not in model.requests[OPENING_TRIES].messages[1].content


def test_a_suspect_asked_again_is_asked_warmer(tmp_path):
    # With shop/cart.py protected, only `discounted` is left to rewrite: the same greedy request twice would
    # bring the same reply twice.
    model, outcome, pricing = repair_run(tmp_path, [assistant("No idea.")] * OPENING_TRIES + [FINISH] +
                                         [assistant("No idea.")] * OPENING_TRIES, protected=("shop/cart.py",))
    asked = model.requests[:OPENING_TRIES]
    assert all("`discounted`" in r.messages[-1].content for r in asked)
    assert [r.temperature for r in asked] == [0.0] + [SAMPLE_TEMPERATURE] * (OPENING_TRIES - 1)


def test_a_failing_test_comes_with_its_parameters_and_the_request_shows_it(tmp_path):
    ws = project(tmp_path)
    case = ('@pytest.mark.parametrize("amount, expected", [(100, 60.0), (200, 120.0)])\n'
            'def test_big_discounts(amount, expected):\n    assert cart(amount).total(50) == expected')
    with (ws.root / "tests" / "test_cart.py").open("a") as tests:
        tests.write(f"\n\nimport pytest\n\n\n{case}\n")
    run = TestGate(PYTEST).run(ws)
    goal = target(run, ws, Guards(), (Suspect("shop/pricing.py", 3, "discounted", 0.6),))
    assert goal.test in (("tests/test_cart.py", case),
                         ("tests/test_cart.py", "def test_total_with_a_big_discount():\n"
                                                "    assert cart(100).total(50) == 60.0"))
    broken = [f.test for f in run.report.failures]
    assert "tests/test_cart.py::test_big_discounts[100-60.0]" in broken
    parametrized = Target(goal.path, goal.name, goal.source, ("tests/test_cart.py", case))
    prompt = request(parametrized, run, 0.0, None).messages[-1].content
    assert f"One of them, in tests/test_cart.py:\n\n```python\n{case}\n```\n\nThe function they call" in prompt


def test_no_opening_repair_where_edits_would_need_asking(tmp_path):
    model, outcome, pricing = repair_run(tmp_path, [FINISH], mode="ask")
    assert pricing == (PROJECT / "shop" / "pricing.py").read_text()
    assert len(model.requests) == 1


def test_locate_fault_is_offered_with_a_test_command_outside_plan_mode():
    names = lambda settings: [t.spec.name for t in offered_tools(settings, "task")]  # noqa: E731
    assert names(Settings(permission_mode="full-auto", test_command="pytest"))[-1] == "locate_fault"
    assert "locate_fault" not in names(Settings(permission_mode="full-auto"))
    assert "locate_fault" not in names(Settings(permission_mode="plan", test_command="pytest"))
    assert "locate_fault" not in names(Settings(permission_mode="full-auto", test_command="pytest",
                                                localize_faults=False))
    tool = offered_tools(Settings(permission_mode="full-auto", test_command="pytest -x"), "fix total")[-1]
    assert (tool.command, tool.task) == ("pytest -x", "fix total")


GRADES = ("def grade(score):\n    if score > 90:\n        return 'A'\n    if score > 80:\n        return 'B'\n"
          "    return 'C'\n")
GRADE_TESTS = ("from grades import grade\n\n\ndef test_a():\n    assert grade(90) == 'A'\n\n\n"
               "def test_b():\n    assert grade(80) == 'B'\n\n\ndef test_c():\n    assert grade(10) == 'C'\n")
HALF_FIXED = "```python\ndef grade(score):\n    if score >= 90:\n        return 'A'\n    if score > 80:\n" \
             "        return 'B'\n    return 'C'\n```"
ALL_FIXED = "```python\ndef grade(score):\n    if score >= 90:\n        return 'A'\n    if score >= 80:\n" \
            "        return 'B'\n    return 'C'\n```"


FIXED_GRADES = GRADES.replace("> 90", ">= 90").replace("> 80", ">= 80")


def grades_run(tmp_path, replies, grades=GRADES, opening=True, samples=1, events=None):
    """A run on the grades project: `opening` turns on the focused writes (and so the opening repair); the run's
    events go into `events` when it is a list."""
    (tmp_path / "project").mkdir()
    (tmp_path / "project" / "grades.py").write_text(grades)
    (tmp_path / "project" / "test_grades.py").write_text(GRADE_TESTS)
    ws = Workspace.open(tmp_path / "project", tmp_path / "out")
    model = script(*replies)
    gen = loop.run("Grades on the boundary are wrong.", model=model, tools=(read.TOOL, edit.TOOL), ws=ws,
                   settings=Settings(permission_mode="full-auto", edit_samples=samples),
                   history=[Message("system", "s")],
                   harness=Harness(JsonProtocol(), TestGate(PYTEST, max_refusals=0), localize_faults=opening,
                                   regression_guard=True, focused_writes=opening))
    seen = list(gen)
    if events is not None:
        events.extend(seen)
    return model, seen[-1].outcome, (ws.root / "grades.py").read_text()


def test_a_rewrite_that_fixes_part_of_the_failures_is_kept_and_the_next_round_starts_from_it(tmp_path):
    no_idea = assistant("No idea.")
    model, outcome, grades = grades_run(tmp_path, [assistant(HALF_FIXED), no_idea, no_idea, assistant(ALL_FIXED),
                                                   FINISH])
    assert grades == FIXED_GRADES
    # The second round is shown the function as the first left it, and only the failure that is left.
    second = model.requests[3].messages[-1].content
    assert "if score >= 90:" in second and "test_b" in second and "test_a" not in second
    briefing = model.requests[4].messages[1].content
    first, last = briefing.split("[Luban rewrote")[1:]
    assert "more tests pass after it, but not all" in first and "The tests now" not in first
    assert "and now the tests pass" in last
    assert outcome.status == "done"


def test_before_a_run_ends_stuck_the_suspects_are_rewritten_once_more_from_the_code_as_it_is(tmp_path):
    no_idea, events = assistant("No idea."), []
    model, outcome, grades = grades_run(tmp_path, [no_idea] * OPENING_TRIES + [FINISH, assistant(ALL_FIXED), FINISH],
                                        events=events)
    assert grades == FIXED_GRADES
    # The model's finish was refused (max_refusals=0): its next request carries the last repair's note.
    last = model.requests[-1].messages[-1].content
    assert last.startswith("[Luban rewrote grade in grades.py from a short, separate request, and now the tests pass.")
    assert any(e.text.startswith("Rewrote grade in grades.py after the model's last refused finish, tried on a copy")
               for e in events if isinstance(e, Notice))
    assert outcome.status == "done"


def test_the_last_repairs_come_once_and_a_run_they_do_not_fix_ends_stuck(tmp_path):
    no_idea = assistant("No idea.")
    last = [assistant(HALF_FIXED)] + [no_idea] * (OPENING_TRIES - 1)  # the first round's best fixes one test of two
    model, outcome, grades = grades_run(tmp_path, [no_idea] * OPENING_TRIES + [FINISH] + last + [FINISH])
    assert grades == GRADES.replace("> 90", ">= 90")
    assert "more tests pass after it, but not all" in model.requests[-1].messages[-1].content
    # The second refused finish ends the run: no more rewrites were asked for.
    assert len(model.requests) == 2 * OPENING_TRIES + 2
    assert (outcome.status, outcome.message) == ("stuck", f"The model kept finishing while `{PYTEST}` fails.")


def test_a_rewrite_that_fixes_one_place_and_breaks_another_is_tried_with_the_fix_alone(tmp_path):
    fix_and_noise = ALL_FIXED.replace("return 'C'", "return 'D'")
    model, outcome, grades = grades_run(tmp_path, [assistant(fix_and_noise), FINISH],
                                        GRADES.replace("score > 80", "score >= 80"))
    # The whole rewrite leaves as many tests failing as before (test_c instead of test_a); its first place alone
    # makes them all pass.
    assert grades == FIXED_GRADES
    assert "and now the tests pass" in model.requests[1].messages[1].content
    assert outcome.status == "done"


def test_a_candidate_rewrite_of_the_models_edit_is_judged_with_each_place_alone_too(tmp_path):
    read_it = {"thought": "t", "tool": "read_file", "args": {"path": "grades.py"}}
    call = {"thought": "t", "tool": "edit_file",
            "args": {"path": "grades.py", "old_string": "'A'", "new_string": "'Z'"}}
    replies = [assistant(json.dumps(read_it)), assistant(json.dumps(call)),
               assistant(ALL_FIXED.replace("return 'C'", "return 'D'")), FINISH]
    model, outcome, grades = grades_run(tmp_path, replies, GRADES.replace("score > 80", "score >= 80"), opening=False,
                                        samples=2)
    assert grades == FIXED_GRADES
    assert outcome.status == "done"
