"""What the user types into the interactive terminal: the prompt (multi-line, persistent history, completion
of slash commands and of `@path`), files attached with `@path`, and the inline approval question."""

from __future__ import annotations

import contextlib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Sequence

from prompt_toolkit import PromptSession
from prompt_toolkit.application import Application
from prompt_toolkit.completion import CompleteEvent, Completer, Completion
from prompt_toolkit.document import Document
from prompt_toolkit.history import FileHistory
from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent
from prompt_toolkit.layout import FormattedTextControl, Layout, Window

from ..types import ApprovalNeeded, Decision
from ..workspace.listing import skipped

MAX_ATTACHED_CHARS = 60_000  # one attached file; a bigger one is cut, and the model can read the rest
_MENTION = re.compile(r"(?<!\S)@([^\s@]+)")
HINT = "Enter sends · Esc Enter or a trailing \\ adds a line · @path attaches a file · /help · Ctrl-D exits"


@dataclass(frozen=True)
class Attached:
    """The task with the files it mentions appended, and what was attached, to tell the user."""

    task: str
    files: tuple[str, ...]


def attach(text: str, root: Path) -> Attached:
    """Append the contents of every `@path` that names a file inside `root`; other mentions stay words."""
    parts, names = [text], []
    for mention in dict.fromkeys(m.group(1).rstrip(".,;:!?") for m in _MENTION.finditer(text)):
        path = (root / mention).resolve()
        if not path.is_file() or not path.is_relative_to(root.resolve()):
            continue
        content = path.read_text(errors="replace")
        if len(content) > MAX_ATTACHED_CHARS:
            content = content[:MAX_ATTACHED_CHARS] + f"\n[... cut at {MAX_ATTACHED_CHARS} characters ...]"
        parts.append(f"Contents of {mention}:\n```\n{content.rstrip()}\n```")
        names.append(mention)
    return Attached("\n\n".join(parts), tuple(names))


class InputCompleter(Completer):
    """Slash commands at the start of the input, workspace paths after `@`."""

    def __init__(self, root: Path, commands: Callable[[], Sequence[str]]) -> None:
        self.root, self.commands = root, commands

    def get_completions(self, document: Document, complete_event: CompleteEvent) -> Iterable[Completion]:
        before = document.text_before_cursor
        if before.startswith("/") and " " not in before:
            for name in self.commands():
                if name.startswith(before[1:]):
                    yield Completion("/" + name, start_position=-len(before))
            return
        word = before.split()[-1] if before.split() and not before.endswith(" ") else ""
        if word.startswith("@"):
            for path in paths_like(self.root, word[1:]):
                yield Completion("@" + path, start_position=-len(word))


def paths_like(root: Path, typed: str, limit: int = 50) -> list[str]:
    """Workspace entries that complete `typed` (folders end with /); the skip set's folders left out, hidden ones
    unless `typed` asks for them."""
    folder, _, prefix = typed.rpartition("/")
    base = root / folder if folder else root
    try:
        entries = sorted(os.scandir(base), key=lambda e: e.name)
    except OSError:
        return []
    out = []
    for entry in entries:
        if skipped(entry.name) or not entry.name.startswith(prefix):
            continue
        if entry.name.startswith(".") and not prefix.startswith("."):
            continue
        name = f"{folder}/{entry.name}" if folder else entry.name
        out.append(name + "/" if entry.is_dir() else name)
    return out[:limit]


def _input_keys() -> KeyBindings:
    keys = KeyBindings()

    @keys.add("escape", "enter")
    @keys.add("c-j")
    def _newline(event: KeyPressEvent) -> None:
        event.current_buffer.insert_text("\n")

    @keys.add("enter")
    def _send(event: KeyPressEvent) -> None:
        buffer = event.current_buffer
        if buffer.document.text_before_cursor.endswith("\\"):  # a trailing backslash continues the input
            buffer.delete_before_cursor()
            buffer.insert_text("\n")
        else:
            buffer.validate_and_handle()

    return keys


class KeptHistory(FileHistory):
    """The prompt's history file, where a request that cannot be kept (a full disk) is only not kept."""

    def store_string(self, string: str) -> None:
        with contextlib.suppress(OSError):
            super().store_string(string)


def prompt_session(history_file: Path, completer: Completer, status: Callable[[], str]) -> PromptSession:
    with contextlib.suppress(OSError):
        history_file.parent.mkdir(parents=True, exist_ok=True)
    return PromptSession(history=KeptHistory(str(history_file)), completer=completer, complete_while_typing=False,
                         key_bindings=_input_keys(), multiline=True, bottom_toolbar=status,
                         prompt_continuation=lambda width, line, wrap: ". ".rjust(width))


ALWAYS_LABEL = "[a]lways for this session"


def ask_approval(event: ApprovalNeeded, tell: Callable[[], str], always_label: str = ALWAYS_LABEL) -> Decision:
    """One key: y, n, a (allow calls like this for the session) or t (decline and say something instead).
    Ctrl-C interrupts the turn."""
    keys = KeyBindings()
    for key in "ynat":
        keys.add(key)(lambda e, key=key: e.app.exit(result=key))
    keys.add("c-c")(lambda e: e.app.exit(exception=KeyboardInterrupt()))
    question = f"  Allow? [y]es / [n]o / {always_label} / [t]ell it instead "
    app: Application[str] = Application(layout=Layout(Window(FormattedTextControl(question), height=1)),
                                        key_bindings=keys, full_screen=False)
    choice = app.run()
    if choice == "t":
        return Decision(False, tell().strip())
    return Decision(choice in "ya", always=choice == "a")
