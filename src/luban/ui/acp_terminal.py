"""The bash tool's commands in the editor's terminal (ACP terminal/*), so the user watches them run in the tool
call. The argv comes sandboxed and with its environment set (tools/bash.py): the editor only hosts the process."""

from __future__ import annotations

import asyncio
import signal
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from ..tools.bash import MAX_CAPTURE_BYTES

Await = Callable[[Any], Any]  # runs a coroutine on the connection's loop and returns its result


@dataclass(frozen=True)
class EditorTerminal:
    session_id: str
    conn: Any  # the ACP connection to the editor
    wait: Await
    shown: Callable[[str], None]  # the terminal's id, for the tool call that runs it

    def __call__(self, argv: list[str], cwd: Path, timeout: int) -> tuple[bytes, int | None]:
        created = self.wait(self.conn.create_terminal(session_id=self.session_id, command=argv[0], args=argv[1:],
                                                      cwd=str(cwd), output_byte_limit=MAX_CAPTURE_BYTES))
        terminal = {"session_id": self.session_id, "terminal_id": created.terminal_id}
        self.shown(created.terminal_id)
        try:
            code = self._exit_code(terminal, timeout)
            output = self.wait(self.conn.terminal_output(**terminal)).output
            return output.encode("utf-8", errors="surrogateescape"), code
        except BaseException:  # the turn was cancelled: stop the command in the editor too
            self.wait(self.conn.kill_terminal(**terminal))
            raise
        finally:
            self.wait(self.conn.release_terminal(**terminal))

    def _exit_code(self, terminal: dict[str, str], timeout: int) -> int | None:
        """The command's exit code, as a shell gives it (128 + the signal that killed it); None on timeout."""
        try:
            exited = self.wait(asyncio.wait_for(self.conn.wait_for_terminal_exit(**terminal), timeout))
        except TimeoutError:
            self.wait(self.conn.kill_terminal(**terminal))
            return None
        if exited.exit_code is not None:
            return exited.exit_code
        killed_by = getattr(signal.Signals, exited.signal or "", None)
        return 128 + killed_by.value if killed_by else 1
