"""Samples longer than the training length become windows: the head, then whole exchanges."""

from luban.tune.windows import Window, windows

F, T = False, True


def test_a_short_sample_is_one_window_and_one_without_trained_tokens_none():
    assert windows([1, 2, 3], [F, T, T], 8) == [Window((1, 2, 3), (F, T, T))]
    assert windows([1, 2, 3], [F, F, F], 8) == []


def test_a_long_sample_repeats_its_head_before_each_run_of_whole_exchanges():
    # head 1 2 | turn 3 4 | result 5, turn 6 7 | result 8 9, turn 10
    ids = list(range(1, 11))
    trained = [F, F, T, T, F, T, T, F, F, T]
    assert windows(ids, trained, 6) == [
        Window((1, 2, 3, 4), (F, F, T, T)),
        Window((1, 2, 5, 6, 7), (F, F, F, T, T)),
        Window((1, 2, 8, 9, 10), (F, F, F, F, T))]
    assert windows(ids, trained, 7) == [
        Window((1, 2, 3, 4, 5, 6, 7), (F, F, T, T, F, T, T)), Window((1, 2, 8, 9, 10), (F, F, F, F, T))]


def test_a_head_too_long_keeps_its_start_and_end_and_an_exchange_too_long_is_cut():
    ids = list(range(1, 13))
    trained = [F] * 8 + [T] * 4
    # cap for the head: 6 - 6 // 4 = 5 → its first 2 and last 3; room left: 1 token a window
    assert windows(ids, trained, 6) == [
        Window((1, 2, 6, 7, 8, 9), (F, F, F, F, F, T)), Window((1, 2, 6, 7, 8, 10), (F, F, F, F, F, T)),
        Window((1, 2, 6, 7, 8, 11), (F, F, F, F, F, T)), Window((1, 2, 6, 7, 8, 12), (F, F, F, F, F, T))]
