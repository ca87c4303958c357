import pytest

from luban.config import Settings
from luban.harness.gate import TestGate
from luban.harness.guards import Guards
from luban.harness import TEST_FILES, Harness, harness_for
from luban.models.protocol import JsonProtocol, NativeProtocol, TextProtocol
from luban.models.formats import FORMATS
from luban.models.profiles import load_profiles, match_profile


# Issue 16's aids, on by default and each off by its own setting.
AIDS = dict(regression_guard=True, test_digests=True, skip_reruns=True, localize_faults=True, age_outputs=True)


def test_defaults_without_a_server_use_json_turns():
    assert harness_for(Settings()) == Harness(JsonProtocol(), None, (), True, **AIDS)


def test_each_test_aid_has_its_own_switch():
    for aid in AIDS:
        assert harness_for(Settings(**{aid: False})) == Harness(JsonProtocol(), None, (), True, **{**AIDS, aid: False})


def test_auto_protocol_is_native_with_a_server():
    assert harness_for(Settings(base_url="http://127.0.0.1:8080/v1")).protocol == NativeProtocol()


@pytest.mark.parametrize("name", ["native", "json"])
def test_an_explicit_protocol_wins_over_auto(name):
    expected = {"native": NativeProtocol(), "json": JsonProtocol()}[name]
    assert harness_for(Settings(tool_protocol=name)).protocol == expected
    assert harness_for(Settings(tool_protocol=name, base_url="http://h:1")).protocol == expected


def test_a_test_command_gates_and_protects_the_tests():
    assert harness_for(Settings(test_command="pytest -q")) == Harness(
        JsonProtocol(), TestGate("pytest -q"), TEST_FILES, True, **AIDS)


def test_allow_test_edits_leaves_tests_writable():
    harness = harness_for(Settings(test_command="pytest -q", allow_test_edits=True, read_before_write=False))
    assert harness == Harness(JsonProtocol(), TestGate("pytest -q"), (), False, **AIDS)


def test_protected_paths_come_before_the_test_files():
    harness = harness_for(Settings(test_command="make test", protected_paths="Makefile"))
    assert harness.protected == ("Makefile", *TEST_FILES)


def test_protected_paths_skip_empty_entries():
    assert harness_for(Settings(protected_paths="a/*,,b.py,")).protected == ("a/*", "b.py")


def test_protected_paths_are_trimmed():
    assert harness_for(Settings(protected_paths="a/*, b.py")).protected == ("a/*", "b.py")


def test_guards_are_fresh_per_run():
    harness = harness_for(Settings(protected_paths="a/*"))
    first, second = harness.guards(), harness.guards()
    assert first == Guards(("a/*",), True)
    assert first is not second and first._seen is not second._seen


def test_text_protocol_speaks_the_profile_format_and_reasoning_follows_the_profile():
    profiles = load_profiles()
    glm = harness_for(Settings(tool_protocol="text"), match_profile(profiles, "zai-org/GLM-4.6"))
    assert (glm.protocol, glm.reasoning_format, glm.send_reasoning) == (TextProtocol(FORMATS["glm"]), "think_tags", True)
    r1 = harness_for(Settings(tool_protocol="text"), match_profile(profiles, "deepseek-r1:14b"))
    assert (r1.reasoning_format, r1.send_reasoning) == ("think_tags", False)
