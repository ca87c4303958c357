from dataclasses import dataclass
from typing import Any, Mapping

import httpx
import pytest

from luban.agent import call as calls, loop
from luban.context import engine
from luban.config import Settings
from luban.errors import ModelUnavailable
from luban.harness import Harness
from luban.models.openai_compat import OpenAICompatModel, ServerConfig
from luban.models.scripted import assistant, script
from luban.session import Transcript, read_records
from luban.types import (ApprovalNeeded, AssistantText, CallStats, Completion, Decision, Denial, Message, ModelReplied, Notice,
                         ToolCall, ToolFinished, ToolResult, ToolSpec, ToolStarted, TurnEnded, Usage)
from luban.workspace import Workspace

SYSTEM = Message("system", "be useful")


@dataclass
class Echo:
    """A test tool that returns its argument, or fails when asked to."""

    effect: str = "read"
    spec: ToolSpec = ToolSpec("echo", "Echo text back.", {"type": "object", "properties": {"text": {"type": "string"}}})

    def __call__(self, args: Mapping[str, Any], ws: Workspace) -> ToolResult:
        if args.get("text") == "boom":
            raise RuntimeError("kaboom")
        return ToolResult(f"echo: {args.get('text')}")


def drive(model, tmp_path, settings=Settings(), decisions=(), tools=(Echo(),), harness=Harness()):
    ws = Workspace.open(tmp_path, tmp_path / ".out")
    gen = loop.run("do it", model=model, tools=tools, ws=ws, settings=settings, history=[SYSTEM], harness=harness)
    events, answers = [], list(decisions)
    try:
        event = next(gen)
        while True:
            events.append(event)
            event = gen.send(answers.pop(0) if isinstance(event, ApprovalNeeded) else None)
    except StopIteration as stop:
        return events, stop.value


def call(text, id="c1", name="echo"):
    return ToolCall(id, name, {"text": text})


def without_timing(events):
    return [e for e in events if not isinstance(e, ModelReplied)]


def test_answer_without_tool_call_ends_done(tmp_path):
    model = script(assistant("All fine."))
    events, outcome = drive(model, tmp_path)
    assert without_timing(events)[:-1] == [AssistantText("All fine.")]
    assert (outcome.status, outcome.message, outcome.steps) == ("done", "All fine.", 1)
    assert model.requests[0].messages == (SYSTEM, Message("user", "do it"))


def test_native_tool_call_then_answer(tmp_path):
    model = script(assistant(calls=[call("hi")]), assistant("Done."))
    events, outcome = drive(model, tmp_path, settings=Settings(permission_mode="full-auto"))
    assert without_timing(events)[:3] == [
        ToolStarted(call("hi")), ToolFinished(call("hi"), ToolResult("echo: hi"), events[2].wall_s),
        AssistantText("Done.")]
    assert model.requests[1].messages[-2:] == (
        Message("assistant", "", (call("hi"),)), Message("tool", "echo: hi", tool_call_id="c1"))
    assert outcome.status == "done"


def test_call_written_as_fenced_json_is_parsed_and_run(tmp_path):
    text = 'Checking.\n```json\n{"name": "echo", "arguments": {"text": "x"}}\n```'
    model = script(assistant(text), assistant("ok"))
    events, _ = drive(model, tmp_path)
    assert ToolStarted(ToolCall("call_1_0", "echo", {"text": "x"})) in events
    assert model.requests[1].messages[2] == Message("assistant", "Checking.", (ToolCall("call_1_0", "echo", {"text": "x"}),))


def test_unknown_tool_and_bad_arguments_get_errors_the_model_can_act_on(tmp_path):
    bad = [ToolCall("a", "nope", {}), ToolCall("b", "echo", {}, raw="{oops")]
    model = script(assistant(calls=bad), assistant("gave up"))
    drive(model, tmp_path)
    assert model.requests[1].messages[-2:] == (
        Message("tool", "Error: Unknown tool 'nope'. Available tools: echo.", tool_call_id="a"),
        Message("tool", "Error: Your echo call was cut off: its arguments end before the JSON object is complete "
                        "(they end with '{oops'). Send the whole call again.", tool_call_id="b"))


def test_tool_exception_becomes_an_error_result(tmp_path):
    model = script(assistant(calls=[call("boom")]), assistant("hm"))
    drive(model, tmp_path)
    assert model.requests[1].messages[-1] == Message(
        "tool", "Error: echo failed unexpectedly: RuntimeError: kaboom", tool_call_id="c1")


def test_repeated_identical_call_is_nudged_then_stopped_as_stuck(tmp_path):
    model = script(*[assistant(calls=[call("same", id=f"c{i}")]) for i in range(5)])
    events, outcome = drive(model, tmp_path)
    notices = [e for e in events if isinstance(e, Notice)]
    assert [n.text for n in notices] == [
        "echo repeated 3 times with the same result; nudging the model.",
        "echo repeated 4 times with the same result; nudging the model."]
    assert model.requests[3].messages[-1].content == "echo: same\n\n" + calls.NUDGE.format(n=3)
    assert (outcome.status, outcome.message, outcome.steps) == ("stuck", "The model repeated the same echo call 5 times.", 5)


def test_a_long_result_just_shown_is_pointed_at_not_shown_again(tmp_path):
    long = "x" * (calls.SAME_MIN_CHARS + 1)
    model = script(*[assistant(calls=[call(long, id=f"c{i}")]) for i in range(5)])
    events, outcome = drive(model, tmp_path, harness=Harness(skip_reruns=True))
    shown = [r.messages[-1].content for r in model.requests[1:]]
    same = calls.SAME_AS_ABOVE.format(name="echo")
    assert shown == [f"echo: {long}", same, f"{same}\n\n{calls.NUDGE.format(n=3)}",
                     f"{same}\n\n{calls.NUDGE.format(n=4)}"]
    # The repeats still count as repeats of the real result: the loop is stopped as stuck all the same.
    assert (outcome.status, outcome.steps) == ("stuck", 5)


def test_a_long_result_shown_whole_some_steps_back_is_pointed_at(tmp_path):
    long = "y" * 700  # longer than an output the history keeps as it is (aging.SHORT_CHARS)
    steps = [call(long, id="c1"), call("other", id="c2"), call(long, id="c3"), call("b", id="c4"),
             call(long + "!", id="c5")]
    model = script(*[assistant(calls=[c]) for c in steps], assistant("Done."))
    drive(model, tmp_path, harness=Harness(skip_reruns=True, age_outputs=True))
    shown = [r.messages[-1].content for r in model.requests[1:]]
    assert shown[0] == f"echo: {long}"
    assert shown[2] == engine.SHOWN_EARLIER.format(name="echo")
    assert shown[4] == f"echo: {long}!"  # another result is shown whole


def test_with_skip_reruns_off_an_earlier_result_is_shown_again(tmp_path):
    long = "y" * 700
    steps = [call(long, id="c1"), call("other", id="c2"), call(long, id="c3")]
    model = script(*[assistant(calls=[c]) for c in steps], assistant("Done."))
    drive(model, tmp_path, harness=Harness(skip_reruns=False, age_outputs=True))
    assert model.requests[3].messages[-1].content == f"echo: {long}"


def test_a_fixed_seed_gives_each_request_of_the_run_its_own_seed(tmp_path):
    model = script(assistant(calls=[call("a")]), assistant("Done."))
    drive(model, tmp_path, settings=Settings(seed=7, permission_mode="full-auto"))
    assert [r.seed for r in model.requests] == [7, 8]
    model = script(assistant("Done."))
    drive(model, tmp_path)
    assert model.requests[0].seed is None  # by default the server picks


def test_max_steps(tmp_path):
    model = script(*[assistant(calls=[call(str(i))]) for i in range(3)])
    _, outcome = drive(model, tmp_path, settings=Settings(max_steps=3))
    assert (outcome.status, outcome.message, outcome.steps) == ("max_steps", "Stopped after 3 steps (max_steps).", 3)


def test_max_tokens(tmp_path):
    big = Completion(Message("assistant", "", (call("x"),)), "tool_calls", Usage(prompt_tokens=900, completion_tokens=200))
    _, outcome = drive(script(big), tmp_path, settings=Settings(max_total_tokens=1000))
    assert (outcome.status, outcome.steps, outcome.usage.prompt_tokens) == ("max_tokens", 1, 900)


@pytest.mark.parametrize(("reason", "told"), [("length", "Your reply was cut off by the length limit."),
                                              ("repeat", "Your reply was stopped: it repeated the same text over")])
def test_reply_cut_short_asks_to_continue_instead_of_finishing(tmp_path, reason, told):
    cut = Completion(Message("assistant", '```json\n{"name": "echo", "argu'), reason, Usage())
    model = script(cut, assistant("finished"))
    _, outcome = drive(model, tmp_path)
    assert model.requests[1].messages[-1].content.startswith(told)
    assert "Keep each reply short" in model.requests[1].messages[-1].content
    assert outcome.status == "done"


def test_plan_mode_denies_effects(tmp_path):
    model = script(assistant(calls=[call("x")]), assistant("planned"))
    _, outcome = drive(model, tmp_path, settings=Settings(permission_mode="plan"), tools=(Echo(effect="exec"),))
    assert model.requests[1].messages[-1] == Message("tool", "Error: echo runs commands, which plan mode does not allow.",
                                                          tool_call_id="c1")
    assert outcome.denials == (Denial(call("x"), "echo runs commands, which plan mode does not allow."),)


def test_every_call_the_user_or_a_rule_refused_is_a_denial_in_the_outcome(tmp_path):
    secret = ToolCall("c4", "echo", {"text": "z", "path": "secret.txt"})
    model = script(assistant(calls=[call("x"), call("y", id="c2"), call("x", id="c3"), secret]), assistant("ok"))
    _, outcome = drive(model, tmp_path, settings=Settings(permissions={"deny": ["echo(secret.txt)"]}),
                       tools=(Echo(effect="write"),), decisions=[Decision(False, "no"), Decision(True)])
    assert (outcome.status, outcome.denials) == ("done", (
        Denial(call("x"), "echo is not covered by an allow rule in ask mode."),
        Denial(call("x", id="c3"), "The user already declined this call in this run."),
        Denial(secret, "echo on `secret.txt` is denied by the rule `echo(secret.txt)`."),
    ))


def test_ask_mode_waits_for_a_decision(tmp_path):
    model = script(assistant(calls=[call("x")]), assistant(calls=[call("y", id="c2")]), assistant("ok"))
    events, _ = drive(model, tmp_path, tools=(Echo(effect="write"),),
                      decisions=[Decision(False, "not that file"), Decision(True)])
    assert [e for e in events if isinstance(e, ApprovalNeeded)] == [
        ApprovalNeeded(call("x"), "echo is not covered by an allow rule in ask mode.", looser_mode="auto-edit",
                       rule_would=True),
        ApprovalNeeded(call("y", id="c2"), "echo is not covered by an allow rule in ask mode.", looser_mode="auto-edit",
                       rule_would=True)]
    assert model.requests[1].messages[-1] == Message(
        "tool", "Error: The user declined this echo call. not that file", tool_call_id="c1")
    assert model.requests[2].messages[-1] == Message("tool", "echo: y", tool_call_id="c2")


def test_model_failure_ends_the_run_with_its_sentence(tmp_path):
    model = script(ModelUnavailable("Cannot reach the model server at http://x: refused."))
    events, outcome = drive(model, tmp_path)
    assert events == [TurnEnded(outcome)]
    assert (outcome.status, outcome.message) == ("error", "Cannot reach the model server at http://x: refused.")


def test_a_reply_that_broke_off_and_was_sent_again_is_told_in_the_events_and_the_transcript(tmp_path):
    cut = 'data: {"choices": [{"index": 0, "delta": {"content": "Half"}}]}\n\n'
    whole = 'data: {"choices": [{"index": 0, "delta": {"content": "All fine."}, "finish_reason": "stop"}]}\n\n'
    bodies = [cut, whole]

    def server(request: httpx.Request) -> httpx.Response:
        if request.url.path != "/v1/chat/completions":
            return httpx.Response(404)  # discovery: no window known
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=bodies.pop(0).encode())

    model = OpenAICompatModel(ServerConfig("http://llm.test/v1", "m"), transport=httpx.MockTransport(server),
                              sleep=lambda s: None)
    (tmp_path / "ws").mkdir()
    ws = Workspace.open(tmp_path / "ws", tmp_path / "out")
    transcript = Transcript.create(tmp_path / "sessions", ws.root, "m")
    gen = loop.run("do it", model=model, tools=(Echo(),), ws=ws, settings=Settings(), history=[SYSTEM],
                   transcript=transcript)
    events = list(gen)
    transcript.close()
    said = ("The model server ended its reply before finishing it (no finish_reason and no [DONE]); it may have "
            "crashed or run out of memory; sent the request again (retry 1 of 4), discarding the partial reply.")
    assert [e for e in events if isinstance(e, (Notice, AssistantText))] == [Notice(said), AssistantText("All fine.")]
    assert events[-1].outcome.status == "done"
    records, _ = read_records(transcript.path)
    assert [r for r in records if r.get("kind") == "Notice"] == [
        {"type": "event", "kind": "Notice", "text": said}]


def test_unambiguous_calls_are_repaired_and_every_call_is_counted(tmp_path):
    calls = [ToolCall("a", "ECHO", {"text": "hi"}), ToolCall("b", "echo", {}, raw="{'text': 'x'}"),
             ToolCall("c", "echo", {"text": "y"}), ToolCall("d", "launch", {})]
    model = script(assistant(calls=calls), assistant("ok"))
    events, outcome = drive(model, tmp_path)
    assert [e.call for e in events if isinstance(e, ToolStarted)][:2] == [
        ToolCall("a", "echo", {"text": "hi"}), ToolCall("b", "echo", {"text": "x"})]
    assert outcome.calls == CallStats(valid=1, repaired=2, rejected=1)


def test_three_turns_of_only_invalid_calls_stop_the_run(tmp_path):
    model = script(*[assistant(calls=[ToolCall(f"c{i}", "launch", {"n": i})]) for i in range(3)])
    _, outcome = drive(model, tmp_path)
    assert (outcome.status, outcome.message, outcome.calls) == (
        "stuck", "The model sent 3 invalid tool calls in a row.", CallStats(rejected=3))
