"""A reply caught in a loop: the same block of text over and over, until the length limit cuts it.

Measured: in he-42's HumanEval-129 the 1.5B sent the same three import lines again and again inside an edit's
new_string, three replies in a row, each to the 1,024-token limit (70-83 s of decoding each on 2 cores, two thirds
of the run); sampling warmer after the first did not change the reply. A loop is plain from its text well before the
limit, so the stream is stopped there, and the reply ends as one cut short (finish_reason REPEAT).
"""

from __future__ import annotations

REPEAT = "repeat"  # the finish reason of a reply stopped here
MIN_PERIOD = 8  # shorter blocks (a rule of '-', a row of zeros) repeat in ordinary text
MAX_PERIOD = 400
MIN_REPEATS = 4
MIN_SPAN = 800  # characters the repeats must cover: a block of 8 characters 100 times, one of 200 four times
KEPT = MAX_PERIOD * MIN_REPEATS  # the tail of a reply that looping() needs to see


def looping(text: str) -> bool:
    """Whether `text` ends in one block of MIN_PERIOD to MAX_PERIOD characters repeated verbatim, at least
    MIN_REPEATS times and over at least MIN_SPAN characters."""
    for period in range(MIN_PERIOD, MAX_PERIOD + 1):
        span = period * max(MIN_REPEATS, -(-MIN_SPAN // period))
        if span > len(text):
            return False  # span grows with the period: no longer one fits either
        if text[-period:] != text[-2 * period:-period]:
            continue
        tail = text[-span:]
        if tail == tail[-period:] * (span // period):
            return True
    return False
