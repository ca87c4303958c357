import pytest

from luban.errors import ConfigError
from luban.models.profiles import Profile, load_profiles, match_profile

PROFILES = load_profiles()

# Real ids as servers report them: Hugging Face repos (vLLM, SGLang), Ollama tags, LM Studio keys, GGUF files.
REAL_IDS = [
    ("zai-org/GLM-5", "glm-5"),
    ("glm-5.1-fp8", "glm-5"),
    ("zai-org/GLM-4.7", "glm-4.7"),
    ("GLM-4.7-Flash-Q4_K_M.gguf", "glm-4.7"),
    ("zai-org/GLM-4.6", "glm-4.6"),
    ("glm-4.6:cloud", "glm-4.6"),
    ("zai-org/GLM-4.5-Air", "glm-4.5"),
    ("glm-4.5-air", "glm-4.5"),
    ("deepseek-ai/DeepSeek-V3.2", "deepseek-v3.2"),
    ("deepseek-ai/DeepSeek-V3.2-Exp", "deepseek-v3.2-exp"),
    ("deepseek-ai/DeepSeek-V3.1", "deepseek-v3.1"),
    ("deepseek-ai/DeepSeek-V3.1-Terminus", "deepseek-v3.1"),
    ("deepseek-v3.1:671b", "deepseek-v3.1"),
    ("deepseek-ai/DeepSeek-V3-0324", "deepseek-v3"),
    ("deepseek-v3:671b", "deepseek-v3"),
    ("deepseek-ai/DeepSeek-R1", "deepseek-r1"),
    ("deepseek-r1:14b", "deepseek-r1"),
    ("deepseek-ai/DeepSeek-R1-Distill-Qwen-14B", "deepseek-r1"),
    ("deepseek/deepseek-r1-0528-qwen3-8b", "deepseek-r1"),
    ("Qwen/Qwen3-Coder-30B-A3B-Instruct", "qwen3-coder"),
    ("qwen3-coder:30b", "qwen3-coder"),
    ("qwen/qwen3-coder-30b", "qwen3-coder"),
    ("Qwen/Qwen3-30B-A3B-Instruct-2507", "qwen3-instruct-2507"),
    ("qwen3:30b-a3b-instruct-2507-q4_K_M", "qwen3-instruct-2507"),
    ("Qwen/Qwen3-30B-A3B-Thinking-2507", "qwen3"),
    ("Qwen/Qwen3-8B", "qwen3"),
    ("qwen3:8b", "qwen3"),
    ("qwen2.5-coder-1.5b", "qwen2.5-coder-small"),
    ("/root/.local/share/luban/models/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf", "qwen2.5-coder-small"),
    ("qwen2.5-coder-32b-instruct", "qwen2.5-coder"),
    ("Qwen/Qwen2.5-Coder-7B-Instruct", "qwen2.5-coder"),
    ("qwen2.5-coder:7b", "qwen2.5-coder"),
    ("Qwen/Qwen2.5-7B-Instruct", "qwen2.5"),
    ("qwen2.5:14b", "qwen2.5"),
    ("meta-llama/Llama-3.1-8B-Instruct", "llama3"),
    ("meta-llama/Meta-Llama-3-8B-Instruct", "llama3"),
    ("llama3.2:3b", "llama3"),
    ("openai/gpt-oss-20b", "gpt-oss"),
    ("gpt-oss:120b", "gpt-oss"),
    ("gemma3:12b", "gemma3"),
    ("google/gemma-3-27b-it", "gemma3"),
]


@pytest.mark.parametrize(("model_id", "name"), REAL_IDS)
def test_real_model_ids_resolve_to_their_family(model_id, name):
    assert match_profile(PROFILES, model_id).name == name


@pytest.mark.parametrize("model_id", ["mistralai/Devstral-Small-2505", "Qwen/Qwen3.5-35B-A3B", "model.gguf", ""])
def test_unknown_models_get_the_default_profile(model_id):
    assert match_profile(PROFILES, model_id).name == "default"


def test_gguf_metadata_names_the_model_when_the_file_name_does_not():
    metadata = {"general.name": "Qwen2.5 Coder 1.5B Instruct", "general.architecture": "qwen2"}
    assert match_profile(PROFILES, "model.gguf", metadata).name == "qwen2.5-coder-small"


def test_metadata_values_that_are_not_strings_are_ignored():
    assert match_profile(PROFILES, "model.gguf", {"context_length": 32768}).name == "default"  # type: ignore[dict-item]


def test_a_v3_gguf_whose_chat_format_is_named_deepseek_r1_is_still_v3():
    metadata = {"general.name": "DeepSeek V3 0324", "chat_format": "DeepSeek R1"}
    assert match_profile(PROFILES, "model.gguf", metadata).name == "deepseek-v3"


def test_the_embedded_model_profile():
    assert match_profile(PROFILES, "qwen2.5-coder-1.5b") == Profile(
        name="qwen2.5-coder-small",
        patterns=(r"qwen2\.?5[-_ ]?coder[-_ ]?(?:0\.5|1\.5|3)b",),
        tool_format="fenced_json",
        reasoning_format="none",
        send_reasoning_back=False,
        context_window=32768,
        temperature=0.7,
        top_p=0.8,
        top_k=20,
        repeat_penalty=1.05,
        stop=("<|im_end|>", "<|endoftext|>"),
        focused_writes=True,
        finish_on_pass=True,
    )


def test_the_default_profile():
    assert match_profile(PROFILES, "something-new") == Profile(
        name="default",
        patterns=(),
        tool_format="hermes",
        reasoning_format="none",
        send_reasoning_back=False,
        context_window=8192,
    )


def test_tool_and_reasoning_formats_per_family():
    facts = {
        p.name: (p.tool_format, p.reasoning_format, p.send_reasoning_back)
        for p in PROFILES
    }
    assert facts == {
        "glm-5": ("glm", "think_tags", True),
        "glm-4.7": ("glm", "think_tags", True),
        "glm-4.6": ("glm", "think_tags", True),
        "glm-4.5": ("glm", "think_tags", True),
        "deepseek-v3.2-exp": ("deepseek_v31", "think_tags", False),
        "deepseek-v3.2": ("native_only", "think_tags", True),
        "deepseek-v3.1": ("deepseek_v31", "think_tags", False),
        "deepseek-v3": ("deepseek_v3", "none", False),
        "deepseek-r1": ("deepseek_v3", "think_tags", False),
        "qwen3-coder": ("qwen3_coder", "none", False),
        "qwen3-instruct-2507": ("hermes", "none", False),
        "qwen3": ("hermes", "think_tags", False),
        "qwen2.5-coder-small": ("fenced_json", "none", False),
        "qwen2.5-coder": ("fenced_json", "none", False),
        "qwen2.5": ("hermes", "none", False),
        "llama3": ("llama3_json", "none", False),
        "gpt-oss": ("gpt_oss", "harmony", True),
        "gemma3": ("fenced_json", "none", False),
        "default": ("hermes", "none", False),
    }


def test_sampling_defaults_follow_the_model_cards():
    def sampling(name):
        p = next(p for p in PROFILES if p.name == name)
        return (p.temperature, p.top_p, p.top_k, p.min_p, p.repeat_penalty)

    assert sampling("qwen3-coder") == (0.7, 0.8, 20, None, 1.05)
    assert sampling("qwen3") == (0.6, 0.95, 20, 0.0, None)
    assert sampling("deepseek-r1") == (0.6, 0.95, None, None, None)
    assert sampling("gpt-oss") == (1.0, 1.0, None, None, None)
    assert sampling("gemma3") == (1.0, 0.95, 64, 0.0, None)
    assert sampling("llama3") == (0.6, 0.9, None, None, None)
    assert sampling("deepseek-v3.1") == (None, None, None, None, None)


def test_the_default_profile_is_last_and_the_built_in_order_is_specific_first():
    names = [p.name for p in PROFILES]
    assert names[-1] == "default"
    assert names.index("qwen3-coder") < names.index("qwen3")
    assert names.index("qwen2.5-coder-small") < names.index("qwen2.5-coder") < names.index("qwen2.5")
    assert names.index("deepseek-v3.2-exp") < names.index("deepseek-v3.2") < names.index("deepseek-v3")
    assert names.index("deepseek-v3.1") < names.index("deepseek-v3")


def test_load_profiles_returns_the_same_tuple_on_every_call_without_overrides():
    assert load_profiles() == PROFILES


def test_an_override_changes_only_the_keys_it_gives():
    profiles = load_profiles({"qwen3-coder": {"context_window": 65536, "temperature": 0.2}})
    coder = match_profile(profiles, "qwen3-coder:30b")
    builtin = match_profile(PROFILES, "qwen3-coder:30b")
    assert coder.context_window == 65536
    assert coder.temperature == 0.2
    assert coder.top_p == builtin.top_p == 0.8
    assert coder.tool_format == builtin.tool_format == "qwen3_coder"
    assert [p.name for p in profiles] == [p.name for p in PROFILES]


def test_an_override_can_unset_a_sampling_default_with_none():
    profiles = load_profiles({"gemma3": {"min_p": None}})
    assert match_profile(profiles, "gemma3:12b").min_p is None


def test_a_new_profile_comes_first_and_takes_the_rest_from_default():
    profiles = load_profiles({"my-qwen": {"patterns": ["qwen3-coder:30b$"], "tool_format": "hermes"}})
    assert profiles[0] == Profile(
        name="my-qwen",
        patterns=("qwen3-coder:30b$",),
        tool_format="hermes",
        reasoning_format="none",
        send_reasoning_back=False,
        context_window=8192,
    )
    assert match_profile(profiles, "qwen3-coder:30b").name == "my-qwen"
    assert match_profile(profiles, "Qwen/Qwen3-Coder-30B-A3B-Instruct").name == "qwen3-coder"


def test_new_profiles_keep_their_order_before_the_built_ins():
    profiles = load_profiles({"a": {"patterns": ["x"]}, "b": {"patterns": ["x"]}})
    assert [p.name for p in profiles[:3]] == ["a", "b", "glm-5"]
    assert match_profile(profiles, "x").name == "a"


def test_overriding_default_changes_the_fallback():
    profiles = load_profiles({"default": {"context_window": 4096}})
    assert match_profile(profiles, "unknown").context_window == 4096


def test_a_new_profile_takes_the_overridden_default_whatever_the_order():
    profiles = load_profiles({"mine": {"patterns": ["mine"]}, "default": {"context_window": 16384}})
    assert match_profile(profiles, "mine").context_window == 16384


def test_match_without_a_default_profile_is_a_config_error():
    only = (Profile("solo", ("solo",), "hermes", "none", False, 4096),)
    with pytest.raises(ConfigError) as caught:
        match_profile(only, "other")
    assert str(caught.value) == "No profile matches model 'other' and there is no 'default' profile to fall back on."


BAD_OVERRIDES = [
    (
        {"glm-4.6": {"temp": 0.5}},
        "Profile 'glm-4.6' has an unknown key 'temp'; the keys are patterns, tool_format, reasoning_format, "
        "send_reasoning_back, context_window, temperature, top_p, top_k, min_p, repeat_penalty, stop, focused_writes, "
        "finish_on_pass.",
    ),
    (
        {"glm-4.6": {"temperature": "hot"}},
        "Profile 'glm-4.6' key 'temperature' must be a number, not 'hot'.",
    ),
    (
        {"glm-4.6": {"temperature": True}},
        "Profile 'glm-4.6' key 'temperature' must be a number, not True.",
    ),
    (
        {"qwen3": {"top_k": 2.5}},
        "Profile 'qwen3' key 'top_k' must be an integer, not 2.5.",
    ),
    (
        {"qwen3": {"context_window": 0}},
        "Profile 'qwen3' key 'context_window' must be a positive integer, not 0.",
    ),
    (
        {"qwen3": {"context_window": None}},
        "Profile 'qwen3' key 'context_window' must be a positive integer, not None.",
    ),
    (
        {"qwen3": {"send_reasoning_back": "yes"}},
        "Profile 'qwen3' key 'send_reasoning_back' must be true or false, not 'yes'.",
    ),
    (
        {"qwen3": {"tool_format": "xml"}},
        "Profile 'qwen3' key 'tool_format' must be one of hermes, qwen3_coder, glm, deepseek_v3, deepseek_v31, "
        "llama3_json, fenced_json, gpt_oss, native_only, not 'xml'.",
    ),
    (
        {"qwen3": {"reasoning_format": "thinking"}},
        "Profile 'qwen3' key 'reasoning_format' must be one of none, think_tags, reasoning_content, harmony, "
        "not 'thinking'.",
    ),
    (
        {"qwen3": {"stop": "<|im_end|>"}},
        "Profile 'qwen3' key 'stop' must be a list of strings, not '<|im_end|>'.",
    ),
    (
        {"mine": {"patterns": ["qwen(3"]}},
        "Profile 'mine' key 'patterns' has an invalid regular expression 'qwen(3' "
        "(missing ), unterminated subpattern at position 4).",
    ),
    (
        {"mine": {"tool_format": "hermes"}},
        "Profile 'mine' is new, so it needs a non-empty 'patterns' list to match any model.",
    ),
    (
        {"mine": "hermes"},
        "Profile 'mine' must be a table of settings, not str.",
    ),
]


@pytest.mark.parametrize(("overrides", "message"), BAD_OVERRIDES)
def test_bad_overrides_name_the_profile_and_the_key(overrides, message):
    with pytest.raises(ConfigError) as caught:
        load_profiles(overrides)
    assert str(caught.value) == message


def test_a_bad_override_leaves_the_built_ins_untouched():
    with pytest.raises(ConfigError):
        load_profiles({"qwen3": {"context_window": -1}})
    assert load_profiles() == PROFILES
