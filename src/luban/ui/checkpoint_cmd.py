"""`luban undo` and `luban rewind N`: take a session back N turns that changed files, files and conversation both."""

from __future__ import annotations

from pathlib import Path
from typing import TextIO

from ..config import Settings
from ..errors import SessionError
from ..checkpoints import rewind
from ..session import find, latest_for


def checkpoint_command(settings: Settings, turns: int, session: str | None, out: TextIO) -> int:
    """Rewind `session` (default: the latest one started in the workspace) and print what was done."""
    sessions = Path(settings.data_dir) / "sessions"
    cwd = Path(settings.cwd).expanduser().resolve()
    path = find(sessions, session) if session else latest_for(sessions, cwd)
    if path is None:
        raise SessionError(f"No session was started in {cwd}; name one with --session ID.")
    out.write(rewind(path, Path(settings.data_dir), turns).summary() + "\n")
    return 0
