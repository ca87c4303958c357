"""No wasted prefill: a command run again with no file of the workspace changed since its last run is not run
again; the model is told so, with the short form of what it printed then (a test run's digest).

Measured: a weak model re-ran the identical test command 4-5 times with nothing changed, each time appending the
whole output, and each step cost 60-195 s of prefill on 2 cores.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field

from ..types import ToolResult
from ..workspace import Workspace

SHORT_CHARS = 1_500
UNCHANGED = ("[unchanged since {when}: `{command}` ran then, and no file of the workspace has changed since, "
             "so it was not run again. What it printed then, in short:]\n{short}")


@dataclass(frozen=True)
class _Ran:
    state: str
    step: int
    short: str
    error: bool


@dataclass
class Reruns:
    """The commands this run ran, each with the state of the files after it and the step it ran at."""

    _ran: dict[str, _Ran] = field(default_factory=dict)

    def again(self, command: str, ws: Workspace) -> ToolResult | None:
        """The answer to `command` when it ran before and no file changed since; None when it must run."""
        ran = self._ran.get(command.strip())
        if ran is None or ran.state != state(ws):
            return None
        when = f"step {ran.step}" if ran.step else "the start of the task (the harness ran it with the task)"
        return ToolResult(UNCHANGED.format(when=when, command=command.strip(), short=ran.short), ran.error)

    def ran(self, command: str, ws: Workspace, step: int, result: ToolResult) -> None:
        self._ran[command.strip()] = _Ran(state(ws), step, short(result.content), result.error)


def short(text: str) -> str:
    """The first lines of an output, up to SHORT_CHARS (a test run's result is already its digest)."""
    if len(text) <= SHORT_CHARS:
        return text
    cut = text.rfind("\n", 0, SHORT_CHARS)
    return text[:cut if cut > 0 else SHORT_CHARS] + "\n[...]"


def state(ws: Workspace) -> str:
    """A fingerprint of the workspace's listed files: their paths, sizes and modification times."""
    ws.listing.changed()
    digest = hashlib.sha256()
    for rel in ws.listing.files():
        try:
            stat = os.stat(ws.root / rel, follow_symlinks=False)
        except OSError:
            continue
        digest.update(f"{rel}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode("utf-8", "surrogateescape"))
    return digest.hexdigest()
