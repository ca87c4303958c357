"""Each place a rewrite changes, applied alone."""

from luban.harness.hunks import MAX_PLACES, each_alone

OLD = ("def grade(score):\n    if score > 90:\n        return 'A'\n    if score > 80:\n        return 'B'\n"
       "    return 'C'\n")


def test_each_of_two_changed_places_is_applied_alone():
    new = OLD.replace("score > 90", "score >= 90").replace("return 'C'", "return 'D'")
    assert each_alone(OLD, new) == [OLD.replace("score > 90", "score >= 90"), OLD.replace("return 'C'", "return 'D'")]


def test_one_place_or_more_than_a_few_is_not_split():
    assert each_alone(OLD, OLD.replace("score > 90", "score >= 90")) == []
    many = OLD
    for old, new in [("90", "91"), ("'A'", "'a'"), ("80", "81"), ("'B'", "'b'"), ("'C'", "'c'")][:MAX_PLACES + 1]:
        many = many.replace(old, new)
    assert each_alone(OLD, many) == []


def test_a_place_that_does_not_parse_alone_is_left_out():
    broken = OLD.replace("    if score > 90:\n        return 'A'\n", "    try:\n        return 'A'\n")
    assert each_alone(OLD, broken.replace("return 'C'", "return 'D'")) == [OLD.replace("return 'C'", "return 'D'")]
