"""Slash commands of the interactive terminal: the built-in ones, and the user's own (user_commands.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Mapping

from ..config import PERMISSION_MODES
from ..errors import LubanError

if TYPE_CHECKING:
    from .tui_session import Session

Handler = Callable[["Session", str], None]


@dataclass(frozen=True)
class Builtin:
    name: str
    usage: str
    help: str
    handler: Handler


def _help(s: Session, _: str) -> None:
    lines = [f"  /{c.usage:<16} {c.help}" for c in BUILTINS.values()]
    lines += [f"  /{c.name:<16} {c.description}" for c in s.user_commands().values()]
    s.say("Commands:\n" + "\n".join(lines) + "\nKeys: Esc Enter or a trailing \\ adds a line; @path attaches a "
          "file; Ctrl-C interrupts a turn (twice at the prompt exits); Ctrl-D exits.")


def _mode(s: Session, arg: str) -> None:
    if not arg:
        s.say(f"Permission mode: {s.settings.permission_mode} (modes: {', '.join(PERMISSION_MODES)}).")
    elif arg not in PERMISSION_MODES:
        s.say(f"There is no mode {arg!r}; modes: {', '.join(PERMISSION_MODES)}.")
    else:
        s.set_mode(arg)
        s.say(f"Permission mode: {arg}.")


def _count(arg: str, default: int) -> int | None:
    if not arg:
        return default
    return int(arg) if arg.isdigit() and int(arg) > 0 else None


def _rewind(s: Session, arg: str) -> None:
    turns = _count(arg, 1)
    if turns is None:
        s.say(f"/rewind takes a number of turns, not {arg!r}.")
        return
    s.rewind(turns)


def _show(s: Session, arg: str) -> None:
    if arg and not arg.isdigit():
        s.say(f"/show takes a result number, not {arg!r}.")
        return
    s.screen.show(int(arg) if arg else None)


def _exit(s: Session, _: str) -> None:
    s.running = False


BUILTINS: Mapping[str, Builtin] = {c.name: c for c in (
    Builtin("help", "help", "this list", _help),
    Builtin("model", "model [NAME]", "the model and its window; NAME switches (servers only)",
            lambda s, arg: s.switch_model(arg) if arg else s.describe_model()),
    Builtin("clear", "clear", "start a new session (the old one stays resumable)", lambda s, _: s.new_session()),
    Builtin("compact", "compact", "summarise the older history to free the window", lambda s, _: s.compact()),
    Builtin("undo", "undo", "undo the last turn's file changes and messages", lambda s, _: s.rewind(1)),
    Builtin("rewind", "rewind [N]", "undo the last N turns", _rewind),
    Builtin("resume", "resume [ID]", "resume a session (the latest other one here without ID)",
            lambda s, arg: s.resume(arg or None)),
    Builtin("sessions", "sessions", "the sessions started in this folder", lambda s, _: s.list_sessions()),
    Builtin("cost", "cost", "tokens, cache share and model time of this session", lambda s, _: s.cost()),
    Builtin("mode", "mode [MODE]", "show or set the permission mode", _mode),
    Builtin("init", "init", "draft an AGENTS.md for this project (no model needed)", lambda s, _: s.init()),
    Builtin("show", "show [N]", "a folded tool result in full (the latest without N)", _show),
    Builtin("exit", "exit", "leave (Ctrl-D does too)", _exit),
)}


def dispatch(s: Session, line: str) -> str | None:
    """Run a slash command; returns the task a user command expands to (None: nothing to send)."""
    name, _, arg = line[1:].partition(" ")
    arg = arg.strip()
    if name in BUILTINS:
        try:
            BUILTINS[name].handler(s, arg)
        except LubanError as exc:
            s.say(str(exc))
        return None
    custom = s.user_commands().get(name)
    if custom:
        try:
            return custom.task(arg)
        except LubanError as exc:  # an MCP server's prompt that failed
            s.say(str(exc))
            return None
    s.say(f"Unknown command /{name}; /help lists them.")
    return None
