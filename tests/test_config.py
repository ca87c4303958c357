import pytest

from luban.config import Settings, load
from luban.errors import ConfigError


def env_for(tmp_path, **extra):
    return {"LUBAN_HOME": str(tmp_path / "home"), **extra}


def test_layers_in_order(tmp_path):
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / "config.toml").write_text('model = "from-user"\nmax_steps = 7\ntemperature = 0.5\n')
    (tmp_path / "repo" / ".luban").mkdir(parents=True)
    (tmp_path / "repo" / ".luban" / "config.toml").write_text("max_steps = 5\n")  # untrusted: it may only lower
    env = env_for(tmp_path, LUBAN_TEMPERATURE="0.25", LUBAN_UNRELATED="x")
    s = load({"cwd": str(tmp_path / "repo"), "model": "from-cli"}, env)
    assert (s.model, s.max_steps, s.temperature, s.data_dir) == ("from-cli", 5, 0.25, str(tmp_path / "home" / "data"))
    (tmp_path / "repo" / ".luban" / "config.toml").write_text("max_steps = 9\n")
    assert load({"cwd": str(tmp_path / "repo")}, env).max_steps == 7


def test_project_config_cannot_widen_permissions(tmp_path):
    (tmp_path / ".luban").mkdir()
    (tmp_path / ".luban" / "config.toml").write_text('permission_mode = "full-auto"\n')
    assert load({"cwd": str(tmp_path)}, env_for(tmp_path)).permission_mode == "ask"
    (tmp_path / ".luban" / "config.toml").write_text('permission_mode = "plan"\n')
    assert load({"cwd": str(tmp_path)}, env_for(tmp_path)).permission_mode == "plan"


@pytest.mark.parametrize("text, message", [
    ("max_steps = [", "Cannot read the config file"),
    ("colour = 'blue'", "Unknown setting 'colour' in the user config"),
    ("max_steps = 'many'", "Setting 'max_steps' in the user config must be an integer, not 'many'."),
    ("max_steps = 0", "Setting 'max_steps' in the user config must be positive, not 0."),
    ("permission_mode = 'yolo'", "permission_mode must be one of plan, ask, auto-edit, full-auto, not 'yolo'."),
])
def test_bad_user_config_is_one_clear_sentence(tmp_path, text, message):
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / "config.toml").write_text(text)
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("(", r"\(")):
        load({"cwd": str(tmp_path)}, env_for(tmp_path))


def test_defaults_without_any_file(tmp_path):
    s = load({"cwd": str(tmp_path)}, env_for(tmp_path))
    assert s == Settings(cwd=str(tmp_path), data_dir=str(tmp_path / "home" / "data"))


def test_profiles_come_from_config_tables(tmp_path):
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / "config.toml").write_text('[profiles.mine]\npatterns = ["my-model"]\ntool_format = "glm"\n')
    assert load({"cwd": str(tmp_path)}, env_for(tmp_path)).profiles == {
        "mine": {"patterns": ["my-model"], "tool_format": "glm"}}
    (tmp_path / "home" / "config.toml").write_text('profiles = "glm"\n')
    with pytest.raises(ConfigError, match="Setting 'profiles' in the user config must be a table, not 'glm'."):
        load({"cwd": str(tmp_path)}, env_for(tmp_path))


@pytest.mark.parametrize("text, message", [
    ("first_token_timeout_s = nan", "Setting 'first_token_timeout_s' in the user config must be a finite number, "
                                    "not nan."),
    ("idle_timeout_s = inf", "Setting 'idle_timeout_s' in the user config must be a finite number, not inf."),
    ("max_wall_s = -inf", "Setting 'max_wall_s' in the user config must be a finite number, not -inf."),
    ("allow_test_edits = 'on'", "Setting 'allow_test_edits' in the user config must be true or false, not 'on'."),
    ("read_before_write = 'yes'", "Setting 'read_before_write' in the user config must be true or false, not 'yes'."),
    ("focused_rewrites = 1", "Setting 'focused_rewrites' in the user config must be true or false, not 1."),
    ("max_steps = 2.7", "Setting 'max_steps' in the user config must be an integer, not 2.7."),
    ("max_steps = '12'", "Setting 'max_steps' in the user config must be an integer, not '12'."),
    ("max_steps = true", "Setting 'max_steps' in the user config must be an integer, not True."),
    ("max_wall_s = '60'", "Setting 'max_wall_s' in the user config must be a number, not '60'."),
    ("model = 7", "Setting 'model' in the user config must be a string, not 7."),
    ("first_token_timeout_s = 0", "Setting 'first_token_timeout_s' in the user config must be positive, not 0."),
    ("idle_timeout_s = -5.0", "Setting 'idle_timeout_s' in the user config must be positive, not -5.0."),
    ("max_total_tokens = -1", "Setting 'max_total_tokens' in the user config must be positive, not -1."),
    ("edit_samples = 0", "Setting 'edit_samples' in the user config must be positive, not 0."),
    ("temperature = -0.5", "Setting 'temperature' in the user config must not be negative, not -0.5."),
])
def test_config_values_are_checked_one_sentence_each(tmp_path, text, message):
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / "config.toml").write_text(text + "\n")
    with pytest.raises(ConfigError) as error:
        load({"cwd": str(tmp_path)}, env_for(tmp_path))
    assert str(error.value) == message


def test_integral_numbers_and_integers_for_numbers_are_taken(tmp_path):
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / "config.toml").write_text("max_steps = 12.0\nmax_wall_s = 60\nallow_test_edits = true\n")
    s = load({"cwd": str(tmp_path)}, env_for(tmp_path))
    assert (s.max_steps, type(s.max_steps), s.max_wall_s, type(s.max_wall_s), s.allow_test_edits) == (
        12, int, 60.0, float, True)


@pytest.mark.parametrize("word, value", [
    ("true", True), ("TRUE", True), ("1", True), ("yes", True), ("On", True),
    ("false", False), ("False", False), ("0", False), ("no", False), ("OFF", False)])
def test_booleans_from_the_environment_are_words(tmp_path, word, value):
    s = load({"cwd": str(tmp_path)}, env_for(tmp_path, LUBAN_READ_BEFORE_WRITE=word, LUBAN_ALLOW_TEST_EDITS=word))
    assert (s.read_before_write, s.allow_test_edits) == (value, value)


@pytest.mark.parametrize("env, message", [
    ({"LUBAN_READ_BEFORE_WRITE": "maybe"}, "Setting 'read_before_write' in the environment must be one of true, "
                                           "false, 1, 0, yes, no, on, off, not 'maybe'."),
    ({"LUBAN_ALLOW_TEST_EDITS": ""}, "Setting 'allow_test_edits' in the environment must be one of true, false, 1, "
                                     "0, yes, no, on, off, not ''."),
    ({"LUBAN_MAX_STEPS": "2.7"}, "Setting 'max_steps' in the environment must be an integer, not '2.7'."),
    ({"LUBAN_FIRST_TOKEN_TIMEOUT_S": "nan"}, "Setting 'first_token_timeout_s' in the environment must be a finite "
                                             "number, not 'nan'."),
    ({"LUBAN_MAX_WALL_S": "Infinity"}, "Setting 'max_wall_s' in the environment must be a finite number, "
                                       "not 'Infinity'."),
    ({"LUBAN_MAX_STEPS": "0"}, "Setting 'max_steps' in the environment must be positive, not 0."),
])
def test_bad_environment_values_are_one_clear_sentence(tmp_path, env, message):
    with pytest.raises(ConfigError) as error:
        load({"cwd": str(tmp_path)}, env_for(tmp_path, **env))
    assert str(error.value) == message


@pytest.mark.parametrize("cli, message", [
    ({"max_wall_s": float("nan")}, "Setting 'max_wall_s' in the command line must be a finite number, not nan."),
    ({"max_steps": 2.7}, "Setting 'max_steps' in the command line must be an integer, not 2.7."),
    ({"max_steps": -3}, "Setting 'max_steps' in the command line must be positive, not -3."),
    ({"no_sandbox": "sometimes"}, "Setting 'no_sandbox' in the command line must be one of true, false, 1, 0, yes, "
                                  "no, on, off, not 'sometimes'."),
])
def test_bad_command_line_values_are_one_clear_sentence(tmp_path, cli, message):
    with pytest.raises(ConfigError) as error:
        load({"cwd": str(tmp_path), **cli}, env_for(tmp_path))
    assert str(error.value) == message
