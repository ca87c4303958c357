"""`luban undo` and `luban rewind N`: take a session back N turns that changed files, files and conversation both."""

from __future__ import annotations

from pathlib import Path
from typing import TextIO

from ..config import Settings
from ..errors import SessionError
from ..session import find, latest_for, read_records
from ..workspace.checkpoints import rewind, writing_turns


def checkpoint_command(settings: Settings, turns: int | None, session: str | None, out: TextIO) -> int:
    """Rewind `session` (default: the latest one started in the workspace) and print what was done; with
    `turns` None, list the turns it could go back to."""
    sessions = Path(settings.data_dir) / "sessions"
    cwd = Path(settings.cwd).expanduser().resolve()
    path = find(sessions, session) if session else latest_for(sessions, cwd)
    if path is None:
        raise SessionError(f"No session was started in {cwd}; name one with --session ID.")
    if turns is None:
        out.write(_listing(path))
        return 0
    out.write(rewind(path, Path(settings.data_dir), turns).summary() + "\n")
    return 0


def _listing(path: Path) -> str:
    turns = writing_turns(read_records(path)[0])
    if not turns:
        return f"Session {path.stem} has no turn that changed files to go back to.\n"
    lines = [f"Turns of session {path.stem} that changed files, newest first (luban rewind N goes back to before "
             "turn N):"]
    for n, turn in enumerate(reversed(turns), 1):
        ran = f"  ({len(turn.commands)} command{'s' if len(turn.commands) != 1 else ''})" if turn.commands else ""
        lines.append(f"  {n:>3}  {turn.note}{ran}")
    return "\n".join(lines) + "\n"
