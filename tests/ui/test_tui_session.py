"""The interactive session without a terminal: slash commands, user commands, @path attachments and completion,
and turns on a scripted model, rendered to an 80-column recording console."""

from pathlib import Path

from prompt_toolkit.completion import CompleteEvent
from prompt_toolkit.document import Document
from rich.console import Console

from luban.config import Settings
from luban.harness import Harness
from luban.models.scripted import assistant, script
from luban.session import Transcript, read_records
from luban.types import Decision, Message, ToolCall
from luban.ui.slash import dispatch
from luban.ui.user_commands import UserCommand, read_command, user_commands
from luban.ui.tui_input import KeptHistory
from luban.ui.tui_input import MAX_ATTACHED_CHARS, Attached, InputCompleter, attach, paths_like
from luban.ui.tui_session import Session
from luban.workspace import Workspace


def session(tmp_path: Path, *replies, mode: str = "ask") -> Session:
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    (work / "calc.py").write_text("def add(a, b):\n    return a - b\n")
    settings = Settings(data_dir=str(tmp_path / "data"), cwd=str(work), permission_mode=mode)
    ws = Workspace.open(work)
    transcript = Transcript.create(tmp_path / "data" / "sessions", ws.root, "scripted")
    system = Message("system", "Rules.")
    transcript.append_message(system)
    console = Console(width=80, record=True, color_system=None, force_terminal=False, highlight=False)
    return Session(settings, console, ws, script(*replies), Harness(), transcript, [system],
                   lambda event: Decision(True), tmp_path / "user-commands", None)


def flat(s: Session) -> str:
    """What the console printed since the last call, with the line wrapping undone."""
    return " ".join(s.console.export_text().split())


def lines(s: Session) -> list[str]:
    return [line.rstrip() for line in s.console.export_text().splitlines()]


def test_attach_appends_files_inside_the_workspace_only(tmp_path):
    (tmp_path / "a.py").write_text("x = 1\n")
    (tmp_path / "big.txt").write_text("y" * (MAX_ATTACHED_CHARS + 5))
    assert attach("look at @a.py, and @missing.py and @../etc/passwd", tmp_path) == Attached(
        "look at @a.py, and @missing.py and @../etc/passwd\n\nContents of a.py:\n```\nx = 1\n```", ("a.py",))
    big = attach("@big.txt", tmp_path)
    assert big.task.endswith(f"y\n[... cut at {MAX_ATTACHED_CHARS} characters ...]\n```")
    assert attach("mail me@example.com", tmp_path) == Attached("mail me@example.com", ())


def test_completion_of_commands_and_paths(tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text("")
    (tmp_path / ".git").mkdir()
    (tmp_path / "setup.py").write_text("")
    completer = InputCompleter(tmp_path, lambda: ["help", "resume", "rewind"])

    def complete(text):
        return [c.text for c in completer.get_completions(Document(text), CompleteEvent())]

    assert complete("/re") == ["/resume", "/rewind"]
    assert complete("fix @s") == ["@setup.py", "@src/"]
    assert complete("fix @src/a") == ["@src/app.py"]
    assert complete("fix it") == []
    assert paths_like(tmp_path, ".g") == []  # tool folders are never offered


def test_user_commands_from_markdown_project_first(tmp_path):
    project, user = tmp_path / "project", tmp_path / "user"
    project.mkdir()
    user.mkdir()
    (project / "review.md").write_text("---\ndescription: review a file\n---\nReview $ARGUMENTS for bugs.\n")
    (user / "review.md").write_text("User review.\n")
    (user / "explain.md").write_text("Explain the code simply.\n")
    assert user_commands([project, user, tmp_path / "none"]) == {
        "explain": UserCommand("explain", "Explain the code simply.", "Explain the code simply."),
        "review": UserCommand("review", "review a file", "Review $ARGUMENTS for bugs."),
    }
    assert read_command(project / "review.md").task("calc.py") == "Review calc.py for bugs."
    assert read_command(user / "explain.md").task("calc.py") == "Explain the code simply.\n\ncalc.py"


def test_a_user_command_expands_to_a_task_and_unknown_ones_say_so(tmp_path):
    s = session(tmp_path)
    (s.commands_dir).mkdir()
    (s.commands_dir / "fixit.md").write_text("Fix $ARGUMENTS.")
    assert dispatch(s, "/fixit calc.py") == "Fix calc.py."
    assert dispatch(s, "/nope") is None
    assert dispatch(s, "/mode yolo") is None
    assert dispatch(s, "/mode plan") is None
    assert dispatch(s, "/rewind x") is None
    assert lines(s) == [
        "Unknown command /nope; /help lists them.",
        "There is no mode 'yolo'; modes: plan, ask, auto-edit, full-auto.",
        "Permission mode: plan.",
        "/rewind takes a number of turns, not 'x'."]
    assert (s.settings.permission_mode, s.status.mode, [t.spec.name for t in s.tools]) == (
        "plan", "plan", ["read_file", "grep", "glob", "list_dir"])


def test_a_turn_runs_records_and_reloads_the_history(tmp_path):
    edit = ToolCall("c1", "edit_file", {"path": "calc.py", "old_string": "a - b", "new_string": "a + b"})
    read = ToolCall("c0", "read_file", {"path": "calc.py"})
    s = session(tmp_path, assistant("Reading.", [read]), assistant("", [edit]), assistant("Fixed."))
    outcome = s.turn("fix add")
    assert (outcome.status, outcome.message) == ("done", "Fixed.")
    assert (s.ws.root / "calc.py").read_text() == "def add(a, b):\n    return a + b\n"
    assert [m.role for m in s.history] == ["system", "user", "assistant", "tool", "assistant", "tool", "assistant"]
    assert s.usage.requests == 3
    s.console.export_text()
    dispatch(s, "/cost")
    assert flat(s) == (
        f"This session: 3 model requests, {s.usage.prompt_tokens} prompt tokens (0% from cache), "
        f"{s.usage.completion_tokens} completion tokens, 0 s of model time. Local models cost no money.")


def test_sessions_clear_and_resume(tmp_path):
    s = session(tmp_path, assistant("Hi."))
    s.turn("say hi")
    first = s.transcript.id
    s.new_session()
    assert s.transcript.id != first and s.history == [s.history[0]]
    s.console.export_text()
    dispatch(s, "/sessions")
    assert lines(s)[1:] == [f"  {s.transcript.id} (this one)", f"  {first}  say hi"]
    dispatch(s, "/resume")
    assert s.transcript.id == first
    assert lines(s)[1:] == ["> say hi", "Hi.", "── done · 1 steps · 0 s · 3 prompt tokens"]
    assert [m.content for m in s.history] == ["Rules.", "say hi", "Hi."]


def test_compact_summarises_the_older_history_and_records_it(tmp_path):
    s = session(tmp_path, *[assistant(f"Answer {i}: " + "words " * 200) for i in range(4)],
                *[assistant("Summary: four long answers.")] * 4)
    for i in range(4):
        s.turn(f"question {i}")
    before = len(s.history)
    s.console.export_text()
    dispatch(s, "/compact")
    assert len(s.history) < before
    assert any("Summary: four long answers." in m.content for m in s.history)
    kinds = [r["type"] for r in read_records(s.transcript.path)[0]]
    assert kinds[-1] == "compaction"
    assert flat(s) == "! context compacted: 1670 → 291 tokens (0 old outputs pruned, 7 messages summarised)"


def test_undo_without_a_checkpoint_is_one_sentence(tmp_path):
    s = session(tmp_path)
    dispatch(s, "/undo")
    assert flat(s) == (f"Session {s.transcript.id} has no checkpoint: none of its turns changed files "
                       "(or it ran without checkpoints).")


def test_a_request_the_prompt_history_cannot_keep_is_not_an_error(tmp_path):
    """The history file lives in the data folder; on a full disk (here: a folder where the file should be, which
    fails the same way) the request is only not kept."""
    (tmp_path / "prompt-history").mkdir()
    history = KeptHistory(str(tmp_path / "prompt-history"))
    history.append_string("fix the tests")
    assert list(history.get_strings()) == ["fix the tests"]


def test_a_turn_keeps_the_history_in_memory_and_the_transcript_open(tmp_path):
    s = session(tmp_path, assistant("Hi."))
    transcript, history = s.transcript, s.history
    s.turn("say hi")
    assert (s.transcript is transcript, s.history is history) == (True, True)
    assert [m.content for m in s.history] == ["Rules.", "say hi", "Hi."]


def test_an_interrupted_turn_leaves_the_history_the_transcript_would_give(tmp_path):
    read = ToolCall("c1", "read_file", {"path": "calc.py"})
    write = ToolCall("c2", "write_file", {"path": "new.py", "content": "x = 1\n"})
    s = session(tmp_path, assistant(calls=[read, write]))

    def interrupt(event):
        raise KeyboardInterrupt

    s.ask = interrupt  # the user presses Ctrl-C at the approval of the write
    transcript = s.transcript
    assert s.turn("add a file").status == "interrupted"
    s.transcript.close()
    reopened, resumed, warnings = Transcript.resume(s.transcript.path)
    reopened.close()
    assert (s.transcript is transcript, s.history, warnings) == (True, resumed, [])
    assert [(m.role, m.content[:40]) for m in s.history[-3:]] == [
        ("tool", "     1\tdef add(a, b):\n     2\t    return "),
        ("tool", "Error: interrupted before this tool fini"),
        ("assistant", "[Interrupted by the user before this tur")]
