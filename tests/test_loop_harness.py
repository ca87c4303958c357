"""The loop with the harness aids on: JSON turns, test gate, guards, per-turn hints."""

import json
import time

from luban.agent import loop
from luban.config import Settings
from luban.harness.gate import TestGate
from luban.harness import Harness
from luban.models.protocol import JsonProtocol
from luban.models.scripted import assistant, script
from luban.session import Transcript
from luban.tools import edit, read
from luban.session import Transcript
from luban.types import Message, Notice, ToolFinished
from luban.workspace import Workspace

SYSTEM = Message("system", "s")
FULL_AUTO = Settings(permission_mode="full-auto", edit_samples=1)


def turn(tool, **args):
    return assistant(json.dumps({"thought": f"use {tool}", "tool": tool, "args": args}))


def run(model, tmp_path, harness, task="fix it", settings=FULL_AUTO):
    ws = Workspace.open(tmp_path, tmp_path.parent / f"{tmp_path.name}-out")
    gen = loop.run(task, model=model, tools=(read.TOOL, edit.TOOL), ws=ws, settings=settings, history=[SYSTEM],
                   harness=harness)
    events = []
    try:
        while True:
            events.append(next(gen))
    except StopIteration as stop:
        return events, stop.value


def test_json_turns_read_edit_finish_with_the_test_gate(tmp_path):
    (tmp_path / "calc.py").write_text("def add(a, b):\n    return a - b\n")
    gate = TestGate("python3 -c 'import calc; assert calc.add(2, 3) == 5'")
    model = script(turn("read_file", path="calc.py"),
                   turn("edit_file", path="calc.py", old_string="a - b", new_string="a + b"),
                   turn("finish", answer="Fixed add."))
    events, outcome = run(model, tmp_path, Harness(JsonProtocol(), gate, read_before_write=True))
    assert (outcome.status, outcome.message, outcome.steps) == ("done", "Fixed add.", 3)
    first = model.requests[0].messages[1].content
    assert first.startswith("fix it\n\nThe test command `python3 -c 'import calc; assert calc.add(2, 3) == 5'` fails now.")
    assert "AssertionError" in first
    assert model.requests[1].messages[-1].content.startswith("Result of read_file:\n     1\tdef add(a, b):")
    assert (tmp_path / "calc.py").read_text() == "def add(a, b):\n    return a + b\n"


def test_finish_is_refused_while_tests_fail_then_stuck(tmp_path):
    gate = TestGate("false", max_refusals=2)
    model = script(*[turn("finish", answer="done!") for _ in range(3)])
    events, outcome = run(model, tmp_path, Harness(JsonProtocol(), gate))
    assert [e.text for e in events if isinstance(e, Notice)] == [
        "The model tried to finish but `false` fails; sent it back to work."] * 2
    assert model.requests[1].messages[-1] == Message("user", gate.refusal(gate.run(Workspace.open(tmp_path)), Workspace.open(tmp_path)))
    assert (outcome.status, outcome.message) == ("stuck", "The model kept finishing while `false` fails.")


def test_the_same_refusal_again_is_one_line(tmp_path):
    (tmp_path / "test_a.py").write_text("def test_a():\n    assert 1 == 2\n")
    gate = TestGate("python3 -m pytest -q test_a.py", max_refusals=2)
    model = script(*[turn("finish", answer="done!") for _ in range(3)])
    run(model, tmp_path, Harness(JsonProtocol(), gate, skip_reruns=True))
    first, again = (r.messages[-1].content for r in model.requests[1:3])
    assert first.startswith("You tried to finish, but `python3 -m pytest -q test_a.py` still fails:\n1 failed")
    assert "assert 1 == 2" in first
    assert again == ("You tried to finish, but `python3 -m pytest -q test_a.py` still fails exactly as when you tried to "
                     "finish at step 1, shown above (1 failed (pytest)). Fix the code until it passes, then finish.")


def test_edit_of_an_unread_file_is_refused_and_protected_files_never_change(tmp_path):
    (tmp_path / "a.py").write_text("x = 1\n")
    (tmp_path / "test_a.py").write_text("assert True\n")
    model = script(turn("edit_file", path="a.py", old_string="x = 1", new_string="x = 2"),
                   turn("read_file", path="test_a.py"),
                   turn("edit_file", path="test_a.py", old_string="True", new_string="1"),
                   turn("finish", answer="ok"))
    run(model, tmp_path, Harness(JsonProtocol(), protected=("test_*.py",), read_before_write=True))
    assert model.requests[1].messages[-1].content.startswith(
        "Result of edit_file:\nError: Read a.py with read_file before changing it, so your edit matches its real text.")
    assert model.requests[3].messages[-1].content.startswith(
        "Result of edit_file:\nError: test_a.py is protected and must not be changed; change the code it tests instead.")
    assert (tmp_path / "test_a.py").read_text() == "assert True\n"


def test_schema_offers_only_real_paths_and_drops_a_repeating_tool_with_warmer_sampling(tmp_path):
    (tmp_path / "a.py").write_text("x = 1\n")
    (tmp_path / "test_a.py").write_text("assert True\n")
    model = script(turn("read_file", path="a.py"), turn("read_file", path="a.py"), turn("finish", answer="ok"))
    run(model, tmp_path, Harness(JsonProtocol(), protected=("test_*.py",)))
    branches = {b["properties"]["tool"]["const"]: b for b in
                model.requests[0].response_format["json_schema"]["schema"]["anyOf"]}
    assert branches["read_file"]["properties"]["args"]["properties"]["path"] == {"enum": ["a.py", "test_a.py"]}
    assert branches["edit_file"]["properties"]["args"]["properties"]["path"] == {"enum": ["a.py"]}
    assert [r.temperature for r in model.requests] == [0.0, 0.0, loop.UNSTICK_TEMPERATURE]
    third = model.requests[2].response_format["json_schema"]["schema"]["anyOf"]
    assert [b["properties"]["tool"]["const"] for b in third] == ["edit_file", "finish"]


def test_the_same_reason_three_times_in_a_row_drops_the_reading_tools_it_used_for_a_warmer_turn(tmp_path):
    (tmp_path / "a.py").write_text("".join(f"x{n} = {n}\n" for n in range(200)))
    paging = [assistant(json.dumps({"thought": "The bug must be in a.py.", "tool": "read_file",
                                    "args": {"path": "a.py", "offset": offset, "limit": 40}}))
              for offset in (1, 41, 81)]
    model = script(*paging, turn("finish", answer="ok"))
    run(model, tmp_path, Harness(JsonProtocol()))
    assert [r.temperature for r in model.requests] == [0.0, 0.0, 0.0, loop.UNSTICK_TEMPERATURE]
    fourth = model.requests[3].response_format["json_schema"]["schema"]["anyOf"]
    assert [b["properties"]["tool"]["const"] for b in fourth] == ["edit_file", "finish"]


def test_after_a_reply_that_could_not_be_read_the_next_is_sampled_warmer(tmp_path):
    # Greedy decoding gives the same unreadable reply again (bf-35: three replies cut at the length limit alike).
    model = script(assistant("not json"), assistant("not json either"), turn("finish", answer="ok"))
    _, outcome = run(model, tmp_path, Harness(JsonProtocol()))
    assert outcome.status == "done"
    assert [r.temperature for r in model.requests] == [0.0, loop.UNSTICK_TEMPERATURE, loop.UNSTICK_TEMPERATURE]


def test_three_malformed_replies_in_a_row_stop_the_run(tmp_path):
    model = script(*[assistant("not json") for _ in range(3)])
    _, outcome = run(model, tmp_path, Harness(JsonProtocol()))
    assert model.requests[1].messages[-1] == Message(
        "user", "Your reply was not one valid JSON object (Expecting value at character 0). "
                "Reply with a single JSON object as described.")
    assert (outcome.status, outcome.message) == ("stuck", "The model sent 3 malformed replies in a row.")
    assert outcome.calls.rejected == 3  # replies that could not be read count as rejected calls


def test_think_tags_go_to_the_reasoning_channel_and_back_when_the_profile_says_so(tmp_path):
    from luban.models.protocol import NativeProtocol
    from luban.types import AssistantText

    model = script(assistant("<think>check the file</think>\nAll good."), assistant("unused"))
    events, outcome = run(model, tmp_path, Harness(NativeProtocol(), reasoning_format="think_tags",
                                                    send_reasoning=True))
    assert AssistantText("All good.", "check the file") in events
    assert (outcome.message, model.requests[0].send_reasoning) == ("All good.", True)


def test_sampled_edits_are_tried_on_a_copy_and_the_one_the_tests_pass_is_kept(tmp_path):
    (tmp_path / "calc.py").write_text("def add(a, b):\n    return a - b\n")
    gate = TestGate("python3 -c 'import calc; assert calc.add(2, 3) == 5'")
    wrong = turn("edit_file", path="calc.py", old_string="a - b", new_string="b - a")
    right = turn("edit_file", path="calc.py", old_string="a - b", new_string="a + b")
    model = script(turn("read_file", path="calc.py"), wrong, wrong, right, turn("finish", answer="Fixed."))
    events, outcome = run(model, tmp_path, Harness(JsonProtocol(), gate, read_before_write=True),
                          settings=Settings(permission_mode="full-auto", edit_samples=3))
    assert [e.text for e in events if isinstance(e, Notice)] == [
        "Tried 3 candidate edits on a copy; took a sampled one, after which the tests pass."]
    assert [r.temperature for r in model.requests] == [0.0, 0.0, 0.8, 0.8, 0.0]
    assert model.requests[4].messages[-2] == right
    assert (tmp_path / "calc.py").read_text() == "def add(a, b):\n    return a + b\n"
    assert outcome.status == "done"


def test_sampling_stops_at_the_first_edit_that_makes_the_tests_pass(tmp_path):
    (tmp_path / "calc.py").write_text("def add(a, b):\n    return a - b\n")
    gate = TestGate("python3 -c 'import calc; assert calc.add(2, 3) == 5'")
    wrong = turn("edit_file", path="calc.py", old_string="a - b", new_string="b - a")
    right = turn("edit_file", path="calc.py", old_string="a - b", new_string="a + b")
    model = script(turn("read_file", path="calc.py"), wrong, right, turn("finish", answer="Fixed."))
    events, outcome = run(model, tmp_path, Harness(JsonProtocol(), gate, read_before_write=True),
                          settings=Settings(permission_mode="full-auto", edit_samples=8))
    assert [e.text for e in events if isinstance(e, Notice)] == [
        "Tried 2 candidate edits on a copy; took a sampled one, after which the tests pass."]
    assert [r.temperature for r in model.requests] == [0.0, 0.0, 0.8, 0.0]
    assert outcome.status == "done"


def test_a_sampled_edit_that_changes_no_tests_outcome_is_not_taken_in_place_of_the_models(tmp_path):
    """Measured: a sample that negated a check no test covered was taken, as it did "no worse" than no change."""
    code = "def add(a, b):\n    return a - b\n\n\ndef sub(a, b):\n    return a - b\n\n\ndef mul(a, b):\n    return a * b\n"
    (tmp_path / "calc.py").write_text(code)
    (tmp_path / "test_calc.py").write_text("import calc\n\ndef test_sub():\n    assert calc.sub(3, 2) == 1\n\n"
                                           "def test_add():\n    assert calc.add(2, 3) == 5\n")
    gate = TestGate("python3 -m pytest -q -p no:cacheprovider test_calc.py")
    worse = turn("edit_file", path="calc.py", old_string="def sub(a, b):\n    return a - b",
                 new_string="def sub(a, b):\n    return b - a")
    aside = turn("edit_file", path="calc.py", old_string="a * b", new_string="b * a")
    model = script(turn("read_file", path="calc.py"), worse, aside, *[turn("finish", answer="Gave up.")] * 4)
    events, _ = run(model, tmp_path, Harness(JsonProtocol(), gate, read_before_write=True),
                    settings=Settings(permission_mode="full-auto", edit_samples=2, focused_rewrites=False))
    assert [e.text for e in events if isinstance(e, Notice)][0] == (
        "Tried 2 candidate edits on a copy; none did better than leaving the code as it is.")
    assert (tmp_path / "calc.py").read_text() == code
    assert model.requests[3].messages[-1].content.startswith("Result of edit_file:\nError: This edit was not applied")


def test_max_wall_s_stops_the_sampling_of_candidate_edits_with_the_outcome_written(tmp_path):
    (tmp_path / "calc.py").write_text("def add(a, b):\n    return a - b\n")
    gate = TestGate("python3 -c 'import calc; assert calc.add(2, 3) == 5'")
    wrong = turn("edit_file", path="calc.py", old_string="a - b", new_string="b - a")

    def slow(request):  # the model takes longer than the run has left
        time.sleep(2.2)
        return wrong

    model = script(turn("read_file", path="calc.py"), slow, *[wrong] * 7)
    ws = Workspace.open(tmp_path, tmp_path.parent / f"{tmp_path.name}-out")
    transcript = Transcript.create(tmp_path.parent / f"{tmp_path.name}-sessions", ws.root, "scripted")
    events = list(loop.run("fix it", model=model, tools=(read.TOOL, edit.TOOL), ws=ws, history=[SYSTEM],
                           settings=Settings(permission_mode="full-auto", edit_samples=8, focused_rewrites=False,
                                             max_wall_s=2.0),
                           harness=Harness(JsonProtocol(), gate), transcript=transcript))
    transcript.close()
    outcome = events[-1].outcome
    assert (outcome.status, outcome.message, len(model.requests)) == (
        "max_time", "Stopped after 2 s (max_wall_s), while trying candidate edits.", 2)
    assert (tmp_path / "calc.py").read_text() == "def add(a, b):\n    return a - b\n"
    last = json.loads(transcript.path.read_text().splitlines()[-1])
    assert (last["type"], last["status"]) == ("outcome", "max_time")


def test_an_edit_that_leaves_the_tests_worse_is_not_applied(tmp_path):
    (tmp_path / "calc.py").write_text("def add(a, b):\n    return a - b\n\n\ndef mul(a, b):\n    return a * b\n")
    (tmp_path / "test_calc.py").write_text(
        "import unittest\nfrom calc import add, mul\n\n\nclass T(unittest.TestCase):\n"
        "    def test_add(self):\n        self.assertEqual(add(2, 3), 5)\n\n"
        "    def test_mul(self):\n        self.assertEqual(mul(2, 3), 6)\n")
    gate = TestGate("python3 -m unittest", max_refusals=0)
    breaks = turn("edit_file", path="calc.py", old_string="return a * b", new_string="return a ** b")
    model = script(turn("read_file", path="calc.py"), breaks, breaks, turn("finish", answer="gave up"))
    run(model, tmp_path, Harness(JsonProtocol(), gate, read_before_write=True),
        settings=Settings(permission_mode="full-auto", edit_samples=2, focused_rewrites=False))
    assert model.requests[3].messages[-1].content.startswith(
        "Result of edit_file:\nError: This edit was not applied: tried on a copy of the workspace, it leaves "
        "`python3 -m unittest` worse (0 tests passing instead of 1).")
    assert (tmp_path / "calc.py").read_text().startswith("def add(a, b):\n    return a - b")


def test_test_counts_read_pytest_and_unittest_summaries():
    from luban.harness.candidates import test_counts

    assert test_counts("== 3 failed, 12 passed, 1 error in 0.5s ==") == (12, 4)
    assert test_counts("Ran 6 tests in 0.001s\n\nFAILED (failures=3, errors=1)") == (2, 4)
    assert test_counts("Ran 6 tests in 0.001s\n\nOK") == (6, 0)
    assert test_counts("Traceback ...\nSyntaxError: invalid syntax") == (0, 1)


def test_after_a_refused_finish_the_next_reply_can_only_edit(tmp_path):
    (tmp_path / "a.py").write_text("x = 1\n")
    gate = TestGate("false", max_refusals=1)
    model = script(turn("finish", answer="done"), turn("edit_file", path="a.py", old_string="1", new_string="2"),
                   turn("finish", answer="done"))
    run(model, tmp_path, Harness(JsonProtocol(), gate), settings=Settings(permission_mode="full-auto", edit_samples=1))
    tools = [[b["properties"]["tool"]["const"] for b in r.response_format["json_schema"]["schema"]["anyOf"]]
             for r in model.requests]
    assert tools == [["read_file", "edit_file", "finish"], ["edit_file"], ["read_file", "edit_file", "finish"]]


def test_an_edit_the_guards_refuse_is_not_sampled(tmp_path):
    (tmp_path / "calc.py").write_text("def add(a, b):\n    return a - b\n")
    gate = TestGate("python3 -c 'import calc; assert calc.add(2, 3) == 5'")
    unread = turn("edit_file", path="calc.py", old_string="a - b", new_string="a + b")
    model = script(unread, turn("read_file", path="calc.py"), unread, turn("finish", answer="ok"))
    events, outcome = run(model, tmp_path, Harness(JsonProtocol(), gate, read_before_write=True),
                          settings=Settings(permission_mode="full-auto", edit_samples=3))
    # One request for the refused edit (no samples), one read, then the edit: it passes, so no samples either.
    assert [r.temperature for r in model.requests] == [0.0, 0.0, 0.0, 0.0]
    assert model.requests[1].messages[-1].content.startswith("Result of edit_file:\nError: Read calc.py")
    assert outcome.status == "done"


def test_an_edit_of_a_protected_test_is_sampled_for_an_edit_of_the_code(tmp_path):
    (tmp_path / "calc.py").write_text("def add(a, b):\n    return a - b\n")
    (tmp_path / "test_calc.py").write_text("import calc\nassert calc.add(2, 3) == 5\n")
    gate = TestGate("python3 test_calc.py")
    cheat = turn("edit_file", path="test_calc.py", old_string="== 5", new_string="== -1")
    right = turn("edit_file", path="calc.py", old_string="a - b", new_string="a + b")
    model = script(turn("read_file", path="calc.py"), cheat, right, turn("finish", answer="Fixed."))
    events, outcome = run(model, tmp_path, Harness(JsonProtocol(), gate, protected=("test_*.py",)),
                          settings=Settings(permission_mode="full-auto", edit_samples=3, focused_rewrites=False))
    assert [e.text for e in events if isinstance(e, Notice)] == [
        "Tried 2 candidate edits on a copy; took a sampled one, after which the tests pass."]
    assert (tmp_path / "calc.py").read_text() == "def add(a, b):\n    return a + b\n"
    assert (tmp_path / "test_calc.py").read_text() == "import calc\nassert calc.add(2, 3) == 5\n"
    assert outcome.status == "done"


def test_when_no_candidate_beats_it_the_protected_edit_is_refused_as_before(tmp_path):
    (tmp_path / "test_calc.py").write_text("assert 1 == 2\n")
    gate = TestGate("python3 test_calc.py", max_refusals=0)
    cheat = turn("edit_file", path="test_calc.py", old_string="1 == 2", new_string="1 == 1")
    model = script(turn("read_file", path="test_calc.py"), cheat, cheat, turn("finish", answer="gave up"))
    run(model, tmp_path, Harness(JsonProtocol(), gate, protected=("test_*.py",), read_before_write=True),
        settings=Settings(permission_mode="full-auto", edit_samples=2, focused_rewrites=False))
    assert model.requests[3].messages[-1].content.startswith(
        "Result of edit_file:\nError: test_calc.py is protected and must not be changed; change the code it tests "
        "instead.")
    assert (tmp_path / "test_calc.py").read_text() == "assert 1 == 2\n"


def test_an_edit_the_tests_pass_with_says_so_in_its_result(tmp_path):
    (tmp_path / "calc.py").write_text("def add(a, b):\n    return a - b\n")
    gate = TestGate("python3 -c 'import calc; assert calc.add(2, 3) == 5'")
    wrong = turn("edit_file", path="calc.py", old_string="a - b", new_string="b - a")
    right = turn("edit_file", path="calc.py", old_string="b - a", new_string="a + b")
    model = script(turn("read_file", path="calc.py"), wrong, wrong, right, turn("finish", answer="Fixed."))
    run(model, tmp_path, Harness(JsonProtocol(), gate, read_before_write=True),
        settings=Settings(permission_mode="full-auto", edit_samples=2))
    passing = ("[Luban: `python3 -c 'import calc; assert calc.add(2, 3) == 5'` passes after this edit. If nothing "
               "else is left, finish.]")
    # The first edit (both candidates wrong) ran without the note; the second, which the tests pass with, has it.
    assert [passing in r.messages[-1].content for r in model.requests] == [False, False, False, False, True]
    assert model.requests[4].messages[-1].content.startswith("Result of edit_file:\nEdited calc.py (1 replacement).")


def test_a_run_stopped_while_the_tests_pass_says_so(tmp_path):
    (tmp_path / "a.py").write_text("x = 1\n")
    model = script(*[turn("read_file", path="a.py") for _ in range(5)])
    events, outcome = run(model, tmp_path, Harness(JsonProtocol(), TestGate("true")))
    assert (outcome.status, outcome.message) == ("stuck", "The model repeated the same read_file call 5 times. "
                                                          "`true` passes now.")


def test_a_file_read_in_an_earlier_turn_of_the_session_may_be_edited_in_a_later_one(tmp_path):
    """Each turn (one loop.run, as the terminal UI and a resumed session start them) began with nothing read."""
    root = tmp_path / "ws"
    root.mkdir()
    (root / "a.py").write_text("x = 1\n")
    ws = Workspace.open(root, tmp_path / "out")
    transcript = Transcript.create(tmp_path / "sessions", root, "m")
    harness = Harness(JsonProtocol(), read_before_write=True)
    history = [SYSTEM]
    for task, model in [("look", script(turn("read_file", path="a.py"), turn("finish", answer="x is 1"))),
                        ("fix", script(turn("edit_file", path="a.py", old_string="x = 1", new_string="x = 2"),
                                       turn("finish", answer="done")))]:
        gen = loop.run(task, model=model, tools=(read.TOOL, edit.TOOL), ws=ws, settings=FULL_AUTO, history=history,
                       transcript=transcript, harness=harness)
        events = list(gen)
        history = [*history, *model.requests[-1].messages[len(history):]]
    finished = [e.result for e in events if isinstance(e, ToolFinished)]
    assert (finished[0].error, (root / "a.py").read_text()) == (False, "x = 2\n")


def test_an_edit_refused_for_a_file_never_read_says_so_and_the_next_reply_can_only_read_it(tmp_path):
    (tmp_path / "a.py").write_text("x = 1\n")
    (tmp_path / "b.py").write_text("y = 1\n")
    model = script(turn("edit_file", path="a.py", old_string="x = 1", new_string="x = 2"),
                   turn("read_file", path="a.py"),
                   turn("edit_file", path="a.py", old_string="x = 1", new_string="x = 2"),
                   turn("finish", answer="ok"))
    run(model, tmp_path, Harness(JsonProtocol(), read_before_write=True))
    assert model.requests[1].messages[-1].content.startswith(
        "Result of edit_file:\nError: Read a.py with read_file before changing it, so your edit matches its real "
        "text. Your next step: read_file with path a.py; then make your edit from what it shows.")
    constrained = model.requests[1].response_format["json_schema"]["schema"]["anyOf"]
    assert [(b["properties"]["tool"]["const"], b["properties"]["args"]["properties"]) for b in constrained] == [
        ("read_file", {"path": {"enum": ["a.py"]}, "offset": {"type": "integer", "minimum": 1},
                       "limit": {"type": "integer", "minimum": 1}})]
    # Once read, the constraint is gone and the edit goes through.
    later = model.requests[2].response_format["json_schema"]["schema"]["anyOf"]
    assert [b["properties"]["tool"]["const"] for b in later] == ["read_file", "edit_file", "finish"]
    assert (tmp_path / "a.py").read_text() == "x = 2\n"


def test_without_a_test_gate_the_last_step_can_only_answer(tmp_path):
    (tmp_path / "a.py").write_text("x = 1\n")
    model = script(turn("read_file", path="a.py"), turn("finish", answer="x is 1"))
    _, outcome = run(model, tmp_path, Harness(JsonProtocol()), settings=Settings(permission_mode="full-auto",
                                                                                 max_steps=2))
    tools = [[b["properties"]["tool"]["const"] for b in r.response_format["json_schema"]["schema"]["anyOf"]]
             for r in model.requests]
    assert tools == [["read_file", "edit_file", "finish"], ["finish"]]
    assert (outcome.status, outcome.message) == ("done", "x is 1")
    assert model.requests[1].temperature == 0  # an answer, not an escape from a repeat


def test_a_one_step_run_may_still_call_a_tool(tmp_path):
    # Nothing is found before the first step, so a run of one step is not made to answer blind.
    (tmp_path / "a.py").write_text("x = 1\n")
    model = script(turn("read_file", path="a.py"))
    run(model, tmp_path, Harness(JsonProtocol()), settings=Settings(permission_mode="full-auto", max_steps=1))
    schema = model.requests[0].response_format["json_schema"]["schema"]["anyOf"]
    assert [b["properties"]["tool"]["const"] for b in schema] == ["read_file", "edit_file", "finish"]


def test_with_a_test_gate_the_last_step_may_still_edit(tmp_path):
    (tmp_path / "a.py").write_text("x = 1\n")
    model = script(turn("read_file", path="a.py"), turn("edit_file", path="a.py", old_string="1", new_string="2"))
    _, outcome = run(model, tmp_path, Harness(JsonProtocol(), TestGate("grep -q 2 a.py")),
                     settings=Settings(permission_mode="full-auto", edit_samples=1, max_steps=2))
    tools = [[b["properties"]["tool"]["const"] for b in r.response_format["json_schema"]["schema"]["anyOf"]]
             for r in model.requests]
    assert tools[1] == ["read_file", "edit_file", "finish"]
    assert outcome.status == "max_steps" and outcome.message.endswith("passes now.")
