"""Focused rewrites: what is asked, what is taken from the reply, and the loop trying one as a candidate edit."""

import json
import shutil
from pathlib import Path

from luban.agent import loop
from luban.config import Settings
from luban.harness.gate import TestGate, TestRun
from luban.harness.guards import Guards
from luban.harness import Harness
from luban.models.protocol import JsonProtocol
from luban.models.scripted import assistant, script
from luban.harness.rewrites import Target, edit_call, request, rewritten, target
from luban.tools import edit, read
from luban.types import Message, Notice
from luban.workspace import Workspace

SHOP = Path(__file__).parents[1] / "src" / "luban" / "examples" / "shop"
METHOD = Target("cart.py", "total", "    def total(self):\n        return self.net * 2\n")
RIGHT = ('def apply_discount(price: float, percent: float) -> float:\n'
         '    """Return the price after taking off `percent` percent (20 means 20 % off)."""\n'
         '    if not 0 <= percent <= 100:\n'
         '        raise ValueError("percent must be between 0 and 100")\n'
         '    return round(price * (100 - percent) / 100, 2)')


def shop(tmp_path):
    shutil.copytree(SHOP, tmp_path / "shop", ignore=shutil.ignore_patterns("__pycache__"))
    return Workspace.open(tmp_path / "shop", tmp_path / "out")


def test_the_target_is_the_definition_the_failing_lines_call_most(tmp_path):
    ws = shop(tmp_path)
    goal = target(TestGate("python3 -m unittest").run(ws), ws, Guards())
    assert (goal.path, goal.name) == ("pricing.py", "apply_discount")
    assert goal.source.startswith("def apply_discount(")
    assert goal.source.endswith("return round(price * percent / 100, 2)")


def test_no_target_when_the_tests_pass_the_file_is_protected_or_nothing_is_pointed_at(tmp_path):
    ws = shop(tmp_path)
    failing = TestGate("python3 -m unittest").run(ws)
    assert target(TestRun(True, failing.output), ws, Guards()) is None
    assert target(failing, ws, Guards(protected=("pricing.py",))) is None
    assert target(TestRun(False, "make: *** [test] Error 1"), ws, Guards()) is None


def test_the_request_is_short_and_separate_from_the_conversation():
    asked = request(METHOD, TestRun(False, "AssertionError: 2 != 3\n"), 0.8, 512)
    system, user = asked.messages
    assert (system.role, asked.temperature, asked.max_tokens, asked.tools, asked.response_format) == (
        "system", 0.8, 512, (), None)
    assert "AssertionError: 2 != 3" in user.content
    assert "```python\ndef total(self):\n    return self.net * 2\n\n```" in user.content  # dedented
    assert "write the whole corrected function" in user.content
    assert "leave out its docstring, which stays as it is" in user.content


def test_the_reply_is_enough_once_it_holds_a_usable_rewrite():
    enough = request(METHOD, TestRun(False, "AssertionError: 2 != 3\n"), 0.0, 512).enough
    assert not enough("The bug: it doubles.\n```python\ndef total(self):\n    return self.net")
    assert not enough("```python\ndef total(self):\n    return self.net * 2\n```")  # the same code is no rewrite
    assert not enough("```python\ndef other(self):\n    return 3\n```\n```python\ndef total(self):\n")
    assert enough("The bug: it doubles.\n```python\ndef total(self):\n    return self.net * 3\n```")


def test_the_named_definition_is_taken_from_the_first_block_that_parses_and_indented_as_the_original():
    reply = ("The bug is the factor.\n```python\ndef total(self:\n```\n"
             "```python\nimport math\n\ndef helper():\n    pass\n\ndef total(self):\n    return self.net\n```\nDone.")
    assert rewritten(reply, METHOD) == "    def total(self):\n        return self.net"


def test_a_docstring_the_reply_leaves_out_is_put_back_as_the_request_says():
    documented = Target("cart.py", "total", '    def total(self):\n        """The net price, doubled.\n\n'
                        '        Twice: see the tax rules.\n        """\n        return self.net * 2\n')
    # Above the first statement, after any comment: still the docstring.
    expected = ('    def total(self):\n        # no tax here\n        """The net price, doubled.\n\n'
                '        Twice: see the tax rules.\n        """\n        return self.net')
    assert rewritten("```python\ndef total(self):\n    # no tax here\n    return self.net\n```", documented) == expected
    kept = '```python\ndef total(self):\n    """Net."""\n    return self.net\n```'
    assert rewritten(kept, documented) == '    def total(self):\n        """Net."""\n        return self.net'
    assert rewritten("```python\ndef total(self): return self.net\n```", documented) == (
        "    def total(self): return self.net")
    # Only the docstring left out is the same code: nothing to rewrite.
    assert rewritten("```python\ndef total(self):\n    return self.net * 2\n```", documented) is None


def test_no_rewrite_from_prose_another_name_or_the_same_code():
    assert rewritten("Just multiply by one instead.", METHOD) is None
    assert rewritten("```python\ndef other(self):\n    return 1\n```", METHOD) is None
    assert rewritten("```\ndef total(self):\n    return self.net * 2\n```", METHOD) is None


def test_the_edit_replaces_exactly_the_quoted_text():
    call = edit_call(METHOD, "    def total(self):\n        return self.net", "c1")
    assert call.arguments == {"path": "cart.py", "old_string": METHOD.source,
                              "new_string": "    def total(self):\n        return self.net"}


def turn(tool, **args):
    return assistant(json.dumps({"thought": f"use {tool}", "tool": tool, "args": args}))


def test_the_loop_takes_a_focused_rewrite_when_the_models_own_edit_only_patches_a_symptom(tmp_path):
    ws = shop(tmp_path)
    patch = turn("edit_file", path="pricing.py", old_string="    return round(price * percent / 100, 2)",
                 new_string="    if percent == 0:\n        return price\n    return round(price * percent / 100, 2)")

    def focused(req):
        assert req.messages[1].content.count("Find the bug in `apply_discount`") == 1
        return assistant(f"The discount is what is left.\n```python\n{RIGHT}\n```")

    model = script(turn("read_file", path="pricing.py"), patch, focused, turn("finish", answer="Fixed."))
    gen = loop.run("fix it", model=model, tools=(read.TOOL, edit.TOOL), ws=ws, history=[Message("system", "s")],
                   settings=Settings(permission_mode="full-auto", edit_samples=4),
                   harness=Harness(JsonProtocol(), TestGate("python3 -m unittest"), read_before_write=True))
    events = list(gen)
    assert [e.text for e in events if isinstance(e, Notice)] == [
        "Tried 2 candidate edits on a copy; took the model's focused rewrite of apply_discount, after which the "
        "tests pass."]
    assert "round(price * (100 - percent) / 100, 2)" in (ws.root / "pricing.py").read_text()
    kept = json.loads(model.requests[3].messages[-2].content)
    assert (kept["tool"], kept["args"]["path"]) == ("edit_file", "pricing.py")
    assert events[-1].outcome.status == "done"


def test_without_focused_rewrites_only_sampled_replies_are_tried(tmp_path):
    ws = shop(tmp_path)
    patch = turn("edit_file", path="pricing.py", old_string="    return round(price * percent / 100, 2)",
                 new_string="    return round(price * percent / 100, 1)")
    model = script(turn("read_file", path="pricing.py"), patch, patch, turn("finish", answer="gave up"))
    list(loop.run("fix it", model=model, tools=(read.TOOL, edit.TOOL), ws=ws, history=[Message("system", "s")],
                  settings=Settings(permission_mode="full-auto", edit_samples=2, focused_rewrites=False),
                  harness=Harness(JsonProtocol(), TestGate("python3 -m unittest", max_refusals=0))))
    assert all(r.response_format for r in model.requests)  # every request was a turn of the conversation


def test_a_rewrite_that_makes_no_progress_is_not_taken(tmp_path):
    ws = shop(tmp_path)
    own = turn("edit_file", path="pricing.py", old_string="round(price * percent / 100, 2)",
               new_string="round(price * percent / 100, 3)")
    broken = RIGHT.replace("round(price * (100 - percent) / 100, 2)", "float(Decimal(price) * percent / 100)")
    model = script(turn("read_file", path="pricing.py"), own, assistant(f"```python\n{broken}\n```"), own,
                   turn("finish", answer="gave up"))
    events = list(loop.run("fix it", model=model, tools=(read.TOOL, edit.TOOL), ws=ws,
                           history=[Message("system", "s")],
                           settings=Settings(permission_mode="full-auto", edit_samples=3),
                           harness=Harness(JsonProtocol(), TestGate("python3 -m unittest", max_refusals=0))))
    assert not [e for e in events if isinstance(e, Notice) and "candidate" in e.text]
    text = (ws.root / "pricing.py").read_text()
    assert "round(price * percent / 100, 3)" in text and "Decimal" not in text


def test_a_file_whose_definition_the_gate_quoted_may_be_edited_without_reading_it_first(tmp_path):
    ws = shop(tmp_path)
    fix = turn("edit_file", path="pricing.py", old_string="round(price * percent / 100, 2)",
               new_string="round(price * (100 - percent) / 100, 2)")
    unquoted = turn("edit_file", path="cart.py", old_string="    lines: list", new_string="    lines: list ")
    model = script(unquoted, fix, turn("finish", answer="Fixed."))
    list(loop.run("fix it", model=model, tools=(read.TOOL, edit.TOOL), ws=ws, history=[Message("system", "s")],
                  settings=Settings(permission_mode="full-auto"),
                  harness=Harness(JsonProtocol(), TestGate("python3 -m unittest"), read_before_write=True)))
    assert model.requests[1].messages[-1].content.startswith("Result of edit_file:\nError: Read cart.py")
    assert "round(price * (100 - percent) / 100, 2)" in (ws.root / "pricing.py").read_text()
