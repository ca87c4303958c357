import platform
import time
from dataclasses import replace

import pytest
from jinja2 import StrictUndefined, Template

from luban.errors import ModelUnavailable
from luban.eval import bash_only
from luban.models.scripted import assistant, script
from luban.sandbox import Unconfined
from luban.types import (AssistantText, CallStats, Completion, Message, ModelReplied, Notice, Outcome, ToolCall,
                         ToolFinished, ToolResult, ToolStarted, TurnEnded, Usage)
from luban.workspace import Workspace

SUBMIT = "echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT"
USAGE = Usage(prompt_tokens=100, completion_tokens=10, cached_tokens=80, requests=1)


@pytest.fixture(scope="session")
def templates(tmp_path_factory):
    return bash_only.load_templates(tmp_path_factory.mktemp("wheels"))


def action(command, thought="THOUGHT: next step."):
    return assistant(f"{thought}\n\n```mswea_bash_command\n{command}\n```")


def drive(model, tmp_path, templates, sandbox=None, **limits):
    ws = Workspace.open(tmp_path, tmp_path / ".out", sandbox)
    settings = {"max_steps": 10, "max_wall_s": 60.0, "max_reply_tokens": 512, **limits}
    gen = bash_only.run("Say goodbye", model=model, ws=ws, templates=templates, **settings)
    events = []
    try:
        while True:
            events.append(gen.send(None))
    except StopIteration as stop:
        return events, stop.value


def timeless(events):
    """Events with tool wall times zeroed (they vary); model wall times are scripted."""
    return [replace(e, wall_s=0.0) if isinstance(e, ToolFinished) else e for e in events]


def observation(templates, output, returncode=0, exception_info=""):
    """The template rendered as mini-swe-agent renders it (jinja2 directly, not through our module)."""
    values = {"output": output, "returncode": returncode, "exception_info": exception_info}
    return Template(templates.observation, undefined=StrictUndefined).render(output=values)


def format_error(templates, n, finish_reason="stop"):
    return Template(templates.format_error, undefined=StrictUndefined).render(
        actions=["x"] * n, error=f"Expected exactly 1 action, found {n}.", finish_reason=finish_reason)


def test_templates_come_from_the_wheel(templates):
    assert templates.action_regex == r"```mswea_bash_command\s*\n(.*?)\n```"
    assert templates.max_format_errors == 3
    assert templates.env == {"PAGER": "cat", "MANPAGER": "cat", "LESS": "-R", "PIP_PROGRESS_BAR": "off",
                             "TQDM_DISABLE": "1"}
    assert templates.instance.startswith("Please solve this issue: {{task}}")


def test_read_edit_submit(tmp_path, templates):
    (tmp_path / "greet.py").write_text("print('hello')\n")
    replies = [action("cat greet.py"), action("sed -i 's/hello/goodbye/' greet.py"), action(SUBMIT)]
    model = script(*(Completion(r, "stop", USAGE, wall_s=0.5) for r in replies))
    events, outcome = drive(model, tmp_path, templates)

    assert (tmp_path / "greet.py").read_text() == "print('goodbye')\n"
    seen = observation(templates, "print('hello')\n")
    assert seen == "<returncode>0</returncode>\n<output>\nprint('hello')\n</output>"
    calls = [ToolCall(f"call_{i}", "bash", {"command": c}) for i, c in
             enumerate(["cat greet.py", "sed -i 's/hello/goodbye/' greet.py", SUBMIT], 1)]
    submitted = ToolResult("COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT\n")
    results = [ToolResult(seen), ToolResult(observation(templates, "")), submitted]
    expected = Outcome("done", "", 3, Usage(300, 30, 240, requests=3), outcome.wall_s, 1.5, CallStats(valid=3))
    steps = [[ModelReplied(USAGE, 0.5), AssistantText(r.content), ToolStarted(c), ToolFinished(c, res)]
             for r, c, res in zip(replies, calls, results)]
    assert timeless(events) == [*steps[0], *steps[1], *steps[2], TurnEnded(expected)]
    assert outcome == expected

    first, third = model.requests[0], model.requests[2]
    assert (first.tools, first.temperature, first.max_tokens) == ((), 0.0, 512)
    system, user = first.messages
    assert system == Message("system", Template(templates.system).render())
    assert user.content.startswith("Please solve this issue: Say goodbye\n")
    assert f"<system_information>\n{platform.system()} {platform.release()}" in user.content
    assert third.messages[2:] == (replies[0], Message("user", seen), replies[1],
                                  Message("user", observation(templates, "")))


def test_format_errors_are_sent_back_and_rejected(tmp_path, templates):
    two = assistant("```mswea_bash_command\nls\n```\n\n```mswea_bash_command\npwd\n```")
    model = script(assistant("I will just think."), two, action(SUBMIT))
    events, outcome = drive(model, tmp_path, templates)

    notices = [e for e in events if isinstance(e, Notice)]
    assert notices == [
        Notice("The reply had 0 mswea_bash_command blocks, not one; sent the format error back (1 of 3 in a row)."),
        Notice("The reply had 2 mswea_bash_command blocks, not one; sent the format error back (2 of 3 in a row)."),
    ]
    assert not any(isinstance(e, ToolStarted) and e.call.arguments["command"] in ("ls", "pwd") for e in events)
    # The malformed replies stay out of the history, as in mini-swe-agent; only the errors go back.
    assert model.requests[2].messages[2:] == (Message("user", format_error(templates, 0)),
                                              Message("user", format_error(templates, 2)))
    assert (outcome.status, outcome.steps, outcome.calls) == ("done", 3, CallStats(valid=1, rejected=2))


def test_a_cut_off_reply_gets_the_length_message(tmp_path, templates):
    cut = Completion(assistant("THOUGHT: a very long"), "length", USAGE)
    model = script(cut, action(SUBMIT))
    drive(model, tmp_path, templates)
    sent = model.requests[1].messages[-1].content
    assert sent == format_error(templates, 0, "length")
    assert sent.startswith("Your previous response reached the output token limit (finish_reason=length)")


def test_three_format_errors_in_a_row_end_in_error(tmp_path, templates):
    # A valid step in between resets the count: the run ends at the third error after it.
    model = script(assistant("a"), assistant("b"), action("true"), assistant("c"), assistant("d"), assistant("e"),
                   action(SUBMIT))
    events, outcome = drive(model, tmp_path, templates)
    assert (outcome.status, outcome.message) == ("error", "The model sent 3 malformed replies in a row.")
    assert (outcome.steps, outcome.calls) == (6, CallStats(valid=1, rejected=5))
    assert events[-1] == TurnEnded(outcome)
    assert len(model.replies) == 1


def test_step_limit(tmp_path, templates):
    model = script(action("true"), action("true"), action(SUBMIT))
    _, outcome = drive(model, tmp_path, templates, max_steps=2)
    assert (outcome.status, outcome.message, outcome.steps) == ("max_steps", "Stopped after 2 steps (max_steps).", 2)
    assert len(model.requests) == 2


def test_time_limit(tmp_path, templates):
    model = script(action("sleep 0.4"), action(SUBMIT))
    _, outcome = drive(model, tmp_path, templates, max_wall_s=0.3)
    assert (outcome.status, outcome.message, outcome.steps) == ("max_time", "Stopped after 0 s (max_wall_s).", 1)
    assert outcome.wall_s >= 0.4


def test_command_timeout_kills_the_process_group(tmp_path, templates):
    command = "(sleep 1.2; touch late) & echo before; sleep 5"
    model = script(action(command), action(SUBMIT))
    events, outcome = drive(model, tmp_path, templates, command_timeout_s=1)

    finished = next(e for e in events if isinstance(e, ToolFinished))
    assert finished.result == ToolResult(
        "<exception>An error occurred while executing the command: "
        f"Command '{command}' timed out after 1 seconds</exception>\n<returncode>-1</returncode>\n"
        "<output>\nbefore\n</output>", error=True)
    assert finished.wall_s < 3
    assert outcome.status == "done"
    time.sleep(0.6)  # past the moment the background child would have written
    assert not (tmp_path / "late").exists()


def test_commands_get_the_config_env_through_the_sandbox(tmp_path, templates):
    model = script(action("echo $PAGER $TQDM_DISABLE $MARK; pwd"), action(SUBMIT))
    events, _ = drive(model, tmp_path, templates, sandbox=Unconfined({"MARK": "sandboxed"}))
    finished = next(e for e in events if isinstance(e, ToolFinished))
    assert finished.result == ToolResult(observation(templates, f"cat 1 sandboxed\n{tmp_path}\n"))


def test_submission_needs_exit_zero_and_keeps_the_rest(tmp_path, templates):
    model = script(action(f"{SUBMIT}; false"), action(f"{SUBMIT}; echo patch"))
    events, outcome = drive(model, tmp_path, templates)
    first = next(e for e in events if isinstance(e, ToolFinished))
    assert first.result == ToolResult(observation(templates, "COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT\n", 1), error=True)
    assert (outcome.status, outcome.message, outcome.steps) == ("done", "patch\n", 2)


def test_model_error_ends_the_run(tmp_path, templates):
    model = script(action("true"), ModelUnavailable("The model server went away."))
    events, outcome = drive(model, tmp_path, templates)
    assert (outcome.status, outcome.message, outcome.steps) == ("error", "The model server went away.", 2)
    assert events[-1] == TurnEnded(outcome)
