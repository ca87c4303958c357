"""A turn cut short (Ctrl-C in the terminal, an SDK interrupt, an editor's session/cancel), recorded the same way
by every front-end: the outcome, a result for each call cut off, and a note the model reads next turn."""

from __future__ import annotations

import signal

from ..session import Transcript, repair_history
from ..types import Message, Outcome

INTERRUPTED_NOTE = "[Interrupted by the user before this turn finished.]"


def record_interruption(history: list[Message], transcript: Transcript, why: str) -> Outcome:
    """Record the interruption in `transcript` and `history` (in place); the turn's outcome."""
    outcome = Outcome("interrupted", why)
    transcript.append_outcome(outcome)
    repaired, added = repair_history(history)
    for message in [*added, Message("assistant", INTERRUPTED_NOTE)]:
        transcript.append_message(message)
    history[:] = [*repaired, Message("assistant", INTERRUPTED_NOTE)]
    return outcome


def catch_interrupts() -> None:
    """Let SIGINT raise KeyboardInterrupt in the main thread, which is how an editor's or SDK client's cancel stops a
    turn (a signal to the main thread). A process started in the background by a shell without job control, or
    under some supervisors, inherits SIGINT ignored, and Python then leaves it ignored: every cancel did nothing and
    the turn ran on (measured: the three cancel tests waited out their 60 s when the suite ran in the background)."""
    signal.signal(signal.SIGINT, signal.default_int_handler)
