"""Samples cut to the training length: a trajectory longer than `max_length` tokens becomes several windows,
each its head (system prompt and task) followed by a run of whole exchanges (a tool result, then the turn
that answers it), as a compacted history would show them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Window:
    ids: tuple[int, ...]
    trained: tuple[bool, ...]

    @property
    def trained_tokens(self) -> int:
        return sum(self.trained)


def windows(ids: list[int], trained: list[bool], max_length: int) -> list[Window]:
    """Windows of at most `max_length` tokens that together train every trained token once; those with
    nothing to train are left out."""
    if len(ids) <= max_length:
        return [Window(tuple(ids), tuple(trained))] if any(trained) else []
    first = trained.index(True) if any(trained) else len(ids)
    head_ids, head_mask = _head(ids[:first], trained[:first], max_length - max_length // 4)
    room = max_length - len(head_ids)
    out = []
    for start, end in _runs(trained, first, room):
        window = Window(tuple(head_ids + ids[start:end]), tuple(head_mask + trained[start:end]))
        if window.trained_tokens:
            out.append(window)
    return out


def _head(ids: list[int], mask: list[bool], cap: int) -> tuple[list[int], list[bool]]:
    """The context before the first trained turn, its middle cut when longer than `cap`: the system prompt's
    start (the rules) and the head's end (the task) are what a turn most depends on."""
    if len(ids) <= cap:
        return ids, mask
    keep_start = cap // 2
    keep_end = cap - keep_start
    return ids[:keep_start] + ids[-keep_end:], mask[:keep_start] + mask[-keep_end:]


def _runs(trained: list[bool], start: int, room: int) -> list[tuple[int, int]]:
    """Consecutive [start, end) ranges of at most `room` tokens, cut where a trained turn ends (the next
    exchange begins with the result it gets); an exchange longer than `room` is cut where it must be."""
    cuts = [i for i in range(start + 1, len(trained)) if trained[i - 1] and not trained[i]] + [len(trained)]
    runs, begin, end = [], start, start
    for cut in cuts:
        if cut - begin <= room:
            end = cut
            continue
        if end > begin:
            runs.append((begin, end))
            begin = end
        while cut - begin > room:
            runs.append((begin, begin + room))
            begin += room
        end = cut
    if end > begin:
        runs.append((begin, end))
    return runs
