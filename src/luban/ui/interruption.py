"""A turn cut short (Ctrl-C in the terminal, an SDK interrupt, an editor's session/cancel), recorded the same way
by every front-end: the outcome, a result for each call cut off, and a note the model reads next turn."""

from __future__ import annotations

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
