"""The interactive terminal's rendering, to an 80-column recording console: exact text, no colour."""

from rich.console import Console
from rich.live import Live

from luban.types import (ApprovalNeeded, AssistantText, Completion, Decision, Message, ModelReplied, Notice, Outcome,
                         PromptProgress, ReasoningDelta, ReplyRestarted, TextDelta, ToolCall, ToolFinished, ToolResult, ToolStarted,
                         TurnEnded, Usage)
from luban.ui.tui_render import Screen, Status, call_line, clean, proposed_change
from luban.ui.tui_turn import Activity, drive


def console() -> Console:
    return Console(width=80, record=True, color_system=None, force_terminal=False, highlight=False)


def shown(render) -> str:
    c = console()
    render(Screen(c))
    return c.export_text()


EDIT = ToolCall("c1", "edit_file", {"path": "calc.py", "old_string": "return a - b", "new_string": "return a + b"})
BASH = ToolCall("c2", "bash", {"command": "pytest -q"})


def test_escape_sequences_and_controls_never_reach_the_terminal():
    raw = "\x1b[31mred\x1b[0m \x1b]0;title\x07ok\x1b[2J\x07\x00\x9b end\tx\r\n 50%\r100%"
    assert clean(raw) == "red ok end\tx\n100%"


def test_a_call_is_one_line_with_its_main_argument_cut_to_the_width():
    c = console()
    c.print(call_line(ToolCall("c", "bash", {"command": "echo " + "x" * 100, "timeout": 5}), 80))
    c.print(call_line(ToolCall("c", "grep", {"pattern_x": "a", "n": 2}), 80))
    assert c.export_text() == "● bash(echo " + "x" * 67 + "…\n● grep(pattern_x=\"a\", n=2)\n"


def test_an_edit_result_is_shown_as_its_diff():
    result = ToolResult("Edited calc.py (1 replacement).\n@@ -1,2 +1,2 @@\n def add(a, b):\n-    return a - b\n+"
                        "    return a + b")
    text = shown(lambda s: (s.event(ToolStarted(EDIT)), s.event(ToolFinished(EDIT, result))))
    assert text == ("● edit_file(calc.py)\n"
                    "  ⎿ Edited calc.py (1 replacement).\n"
                    "    @@ -1,2 +1,2 @@\n"
                    "     def add(a, b):\n"
                    "    -    return a - b\n"
                    "    +    return a + b\n")


def test_shell_output_shows_its_tail_and_other_results_fold_to_one_line():
    out = "\n".join(f"line {i}" for i in range(1, 10)) + "\nexit code: 1"
    read = ToolCall("c3", "read_file", {"path": "a.py"})
    text = shown(lambda s: (s.event(ToolFinished(BASH, ToolResult(out, error=True))),
                            s.event(ToolFinished(read, ToolResult("     1\tx = 1\n     2\ty = 2")))))
    assert text == ("  ✗ line 1\n"
                    "    … +5 lines above, /show 1\n"
                    "    line 7\n    line 8\n    line 9\n    exit code: 1\n"
                    "  ⎿      1      x = 1  (+1 lines, /show 2)\n")


def test_show_prints_a_folded_result_whole():
    def render(s):
        s.event(ToolFinished(BASH, ToolResult("a\nb\nc")))
        s.show(None)
        s.show(7)
    assert shown(render) == ("  ⎿ a\n    b\n    c\n● bash(pytest -q)\na\nb\nc\n"
                             "There is no result 7; results go from 1 to 1.\n")


def test_reasoning_is_folded_and_the_answer_is_markdown():
    reasoning = "\n".join(f"step {i}" for i in range(1, 9))
    text = shown(lambda s: s.event(AssistantText("Fixed **add**:\n\n- it adds", reasoning)))
    assert [line.rstrip() for line in text.splitlines()] == [
        "step 1", "step 2", "step 3", "step 4", "step 5", "step 6", "… +2 lines", "Fixed add:", "", " • it adds"]


def test_an_approval_shows_the_change_it_asks_for(tmp_path):
    (tmp_path / "notes.txt").write_text("old line\nsame\n")
    write = ToolCall("c4", "write_file", {"path": "notes.txt", "content": "new line\nsame\n"})
    c = console()
    screen = Screen(c, tmp_path)
    screen.event(ApprovalNeeded(write, "write_file has effect write"))
    screen.event(ApprovalNeeded(BASH, "bash has effect exec"))
    assert c.export_text() == ("? write_file needs your approval: write_file has effect write\n"
                               "    @@ -1,2 +1,2 @@\n    -old line\n    +new line\n     same\n"
                               "? bash needs your approval: bash has effect exec\n    $ pytest -q\n")
    assert proposed_change(BASH, tmp_path) == []


def test_outcomes_notices_and_interruptions():
    done = Outcome("done", "ok", steps=3, usage=Usage(prompt_tokens=12345), wall_s=4.2)
    text = shown(lambda s: (s.event(Notice("nudged \x1b[1mthe model\x1b[0m")), s.event(TurnEnded(done)),
                            s.event(TurnEnded(Outcome("max_steps", "Stopped after 3 steps."))),
                            s.outcome(Outcome("interrupted"))))
    assert text == ("! nudged the model\n── done · 3 steps · 4 s · 12.3k prompt tokens\n"
                    "── max_steps · 0 steps · 0 s · 0 prompt tokens\nStopped after 3 steps.\n"
                    "⏹ Interrupted. The session goes on: say what to do next.\n")


def test_the_status_line_uses_the_real_window_the_cache_and_decode_speed():
    status = Status("qwen2.5-coder", 16384, "ask")
    assert status.text() == "qwen2.5-coder · context 0% of 16.4k · mode ask"
    replied = ModelReplied(Usage(4000, 96, 3000, decode_ms=2000.0, requests=1), 3.0)
    assert status.after(replied).text() == ("qwen2.5-coder · context 25% of 16.4k · cached 3.0k/4.0k · 48.0 tok/s · "
                                            "mode ask")
    assert Status("m", None, "plan", Usage(500, 10), 2.0).text() == (
        "m · context 510 (window unknown) · cached 0/500 · 5.0 tok/s · mode plan")


def test_the_activity_line_says_what_is_going_on_and_for_how_long():
    now = [100.0]
    activity = Activity(Status("m", 1000, "ask"), clock=lambda: now[0])
    activity.begin("waiting for the model")
    now[0] = 104.0
    assert activity.line() == ("⠹ waiting for the model · 4 s (prefilling the prompt; long prompts take a while "
                               "on CPU) · Ctrl-C interrupts")
    activity.streamed(ReasoningDelta("hmm"))
    activity.streamed(TextDelta("Hello"))
    assert activity.line() == "⠹ thinking · 4 s · 2 tokens · Ctrl-C interrupts"
    c = console()
    c.print(activity)
    assert c.export_text() == "Hello\n⠹ thinking · 4 s · 2 tokens · Ctrl-C interrupts\nm · context 0% of 1.0k · mode ask\n"
    activity.streamed(Completion(Message("assistant", "Hello"), "stop", Usage()))
    assert (activity.label, activity.text) == ("working", "")


def test_the_activity_line_shows_prefill_progress_where_the_server_reports_it():
    now = [100.0]
    activity = Activity(Status("m", 1000, "ask"), clock=lambda: now[0])
    activity.begin("waiting for the model")
    now[0] = 130.0
    activity.streamed(PromptProgress(1536, 4096))
    assert activity.line() == ("⠋ waiting for the model · 30 s · reading the prompt 37% (1536 of 4096 tokens) · "
                               "Ctrl-C interrupts")


def test_a_reply_sent_again_clears_the_streamed_text_and_waits_anew():
    now = [100.0]
    activity = Activity(Status("m", 1000, "ask"), clock=lambda: now[0])
    activity.begin("waiting for the model")
    activity.streamed(TextDelta("Half a rep"))
    now[0] = 103.0
    activity.streamed(ReplyRestarted("The connection broke mid-reply; sent the request again."))
    assert (activity.label, activity.text, activity.deltas, activity.started) == ("waiting for the model", "", 0, 103.0)


def test_drive_renders_events_and_sends_the_users_decision_back():
    sent = []

    def run():
        yield ToolStarted(EDIT)
        sent.append((yield ApprovalNeeded(EDIT, "edit_file has effect write")))
        yield ModelReplied(Usage(100, 10, requests=1), 1.0)
        yield TurnEnded(Outcome("done"))
        return Outcome("done", "ok")

    c = console()
    activity = Activity(Status("m", 1000, "ask"))
    outcome = drive(run(), Screen(c), activity, lambda event: Decision(False, "use sub"),
                    lambda: Live(activity, console=c, transient=True, auto_refresh=False))
    assert (outcome, sent, activity.usage) == (Outcome("done", "ok"), [Decision(False, "use sub")],
                                               Usage(100, 10, requests=1))
    assert c.export_text() == ("● edit_file(calc.py)\n"
                               "? edit_file needs your approval: edit_file has effect write\n"
                               "    @@ -1 +1 @@\n    -return a - b\n    +return a + b\n"
                               "── done · 0 steps · 0 s · 0 prompt tokens\n")
