"""Trajectories read back from real transcripts: which turns are trained on, masked or dropped."""

from luban.config import Settings
from luban.eval.backends import Threads
from luban.eval.evaluate import evaluate
from luban.eval.folder import load_folder
from luban.eval.records import RunStore
from luban.eval.runner import RunOptions
from luban.harness.gate import REFUSED
from luban.models.scripted import ScriptedSource
from luban.sandbox import bubblewrap_available
from luban.eval.records import library
from luban.tune.trajectories import Found, Step, from_eval_run, from_sessions
from luban.types import Message, ToolCall

from .sessions import GATE, record, turn

FIX = ScriptedSource((
    Message("assistant", tool_calls=(ToolCall("c1", "read_file", {"path": "calc.py"}),)),
    Message("assistant", tool_calls=(ToolCall("c2", "edit_file", {"path": "calc.py", "old_string": "a - b",
                                                                  "new_string": "a + b"}),)),
    Message("assistant", "Fixed: add adds."),
))
OPTIONS = RunOptions(Settings(tool_protocol="native", edit_samples=1, max_steps=6), task_timeout_s=60,
                     sandbox="bwrap" if bubblewrap_available() else "none")


def suite(root):
    """Two task folders: one resolved by FIX, one whose grading FIX cannot pass."""
    for name, check in (("calc-add", "add(2, 3) == 5"), ("calc-sub", "add(2, 3) == -1")):
        (root / name / "repo").mkdir(parents=True)
        (root / name / "repo" / "calc.py").write_text("def add(a, b):\n    return a - b\n")
        (root / name / "task.toml").write_text(
            f'prompt = "add(2, 3) should be 5"\n[grade]\ncommand = "python -c \'from calc import add; assert {check}\'"\n')
    return root


def test_a_gated_session_keeps_good_turns_masks_repaired_and_refused_ones_and_drops_unreadable_ones(tmp_path):
    (tmp_path / "repo").mkdir()
    path = record(tmp_path / "sessions", tmp_path / "repo")
    found = Found()
    from_sessions(tmp_path / "sessions", found)
    [trajectory] = found.trajectories
    assert (trajectory.protocol, trajectory.dropped, trajectory.origin) == (
        "json", 1, {"kind": "session", "id": path.stem, "path": str(path), "cwd": str(tmp_path / "repo")})
    assert trajectory.task.startswith("fix add\n\nThe test command `python3 -c 'import calc; assert calc.add(2, 3)")
    kinds = [(type(i).__name__, i.train, i.why) if isinstance(i, Step) else ("Note", i.message.content[:len(REFUSED)])
             for i in trajectory.items]
    assert kinds == [("Step", False, "repaired call"), ("Step", False, "refused finish"),
                     ("Note", REFUSED), ("Step", True, ""), ("Step", True, "")]
    edit, final = trajectory.items[3], trajectory.items[4]
    assert (edit.calls[0].name, dict(edit.calls[0].arguments), edit.thought) == (
        "edit_file", {"path": "calc.py", "old_string": "a - b", "new_string": "a + b"}, "fix the operator")
    assert (final.answer, final.results) == ("Fixed add.", ())
    assert dict(trajectory.masked) == {"repaired call": 1, "refused finish": 1}


def test_a_session_offered_locate_fault_beside_the_built_in_tools_is_read_too(tmp_path):
    from luban.config import Settings
    from luban.harness import offered_tools

    (tmp_path / "repo").mkdir()
    tools = offered_tools(Settings(permission_mode="full-auto", test_command=GATE), "fix add")
    assert tools[-1].spec.name == "locate_fault"
    record(tmp_path / "sessions", tmp_path / "repo", tools=tools)
    found = Found()
    from_sessions(tmp_path / "sessions", found)
    assert len(found.trajectories) == 1


def test_sessions_that_did_not_pass_a_test_gate_are_passed_over_with_the_reason(tmp_path):
    for name in ("ungated", "stuck"):
        (tmp_path / name).mkdir()
    record(tmp_path / "sessions", tmp_path / "ungated", gate=None)
    stuck = tuple(turn("finish", answer="done?") for _ in range(4))
    record(tmp_path / "sessions", tmp_path / "stuck", replies=stuck, gate="false")
    (tmp_path / "sessions" / "notes.jsonl").write_text('{"type": "note"}\n')
    (tmp_path / "sessions" / "torn.jsonl").write_text('{"type": "session"}\n{not json\n{"type": "outcome"}\n')
    found = Found()
    from_sessions(tmp_path / "sessions", found)
    assert (found.trajectories, dict(found.skipped)) == ([], {
        "session with a run that had no test gate": 1, "session with a run that did not end done": 1,
        "not a session transcript": 1, "unreadable session transcript": 1})


def test_resolved_eval_tasks_become_trajectories_named_by_run_task_and_library(tmp_path):
    store = RunStore(tmp_path / "run")
    store.start({"suite": "suite", "model": "scripted", "scaffolds": ["luban"]}, resume=False)
    evaluate(load_folder(suite(tmp_path / "suite")).tasks, ["luban"], FIX, OPTIONS, store, Threads(1),
             lambda *a: None)
    found = Found()
    from_eval_run(tmp_path / "run", found)
    assert [(t.origin, t.protocol) for t in found.trajectories] == [
        ({"kind": "eval", "run": str(tmp_path / "run"), "suite": "suite", "task": "calc-add", "library": "calc"},
         "native")]
    assert dict(found.skipped) == {"eval task not resolved, or not finished by the agent": 1}
    steps = [i for i in found.trajectories[0].items if isinstance(i, Step)]
    assert [(s.train, [c.name for c in s.calls], s.answer) for s in steps] == [
        (True, ["read_file"], None), (True, ["edit_file"], None), (True, [], "Fixed: add adds.")]
    assert steps[0].results[0].role == "tool"


def test_a_task_library_is_its_id_without_the_last_part():
    assert [library(t) for t in ("boltons-123ff165", "more-itertools-0a1b", "HumanEval-12", "solo")] == [
        "boltons", "more-itertools", "HumanEval", "solo"]
