"""Quoted values as localization evidence (harness/literals.py), on small real source files."""

import textwrap

from luban.harness.faults import _Spans
from luban.harness.literals import MAX_PLACES, places, quoted

SOURCE = textwrap.dedent('''\
    import re

    TABLE = []


    def _rule(word, plural):
        TABLE.append((word, plural))


    class Errors:
        kind = "signature"

        def message(self):
            return "bad signature"


    _rule("cow", "kine")
    print("kine")
    ''')


def located(tmp_path, values, source=SOURCE):
    (tmp_path / "mod.py").write_text(source)
    return places(tmp_path, ["mod.py"], values, _Spans(tmp_path).function)


def test_quoted_values_of_three_characters_or_more():
    assert quoted("""pluralize('cow') gave 'cows', not "kine", where x == 'ab'""") == {"cow", "cows", "kine"}
    assert quoted("no quotes") == set()


def test_a_value_in_a_function_points_at_it(tmp_path):
    assert located(tmp_path, {"bad signature"}) == [("mod.py", "Errors.message", 14)]


def test_a_value_in_a_module_level_statement_points_at_the_functions_of_the_file_it_calls(tmp_path):
    # print is not defined in the file: a call of it says nothing.
    assert located(tmp_path, {"kine"}) == [("mod.py", "_rule", 6)]


def test_a_class_attribute_and_an_absent_value_point_nowhere(tmp_path):
    assert located(tmp_path, {"signature", "nowhere"}) == []


def test_a_value_spelled_in_many_places_points_nowhere(tmp_path):
    source = SOURCE + "".join(f'_rule("utf-8", "x{n}")\n' for n in range(MAX_PLACES + 1))
    assert located(tmp_path, {"utf-8"}, source) == []
    assert located(tmp_path, {"utf-8", "kine"}, source) == [("mod.py", "_rule", 6)]


def test_a_file_that_does_not_parse_is_passed_over(tmp_path):
    (tmp_path / "broken.py").write_text('x = "kine"\ndef (:\n')
    assert places(tmp_path, ["broken.py"], {"kine"}, _Spans(tmp_path).function) == []
