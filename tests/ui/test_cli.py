import os
import subprocess
import sys
from pathlib import Path

import pytest

from luban import __version__
from luban.models import catalog
from luban.ui.cli import main

UNREACHABLE = "http://127.0.0.1:9"  # the discard port: nothing listens there


@pytest.fixture
def home(tmp_path, monkeypatch):
    """LUBAN_HOME on a fresh folder, no other LUBAN_* variables, and a working directory without a project config."""
    for name in [n for n in os.environ if n.startswith("LUBAN_")]:
        monkeypatch.delenv(name)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("LUBAN_HOME", str(home))
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return home


def test_version(home, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out == f"luban {__version__}\n"


def test_help(home, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.startswith("usage: luban [-h] [--version] [-p [TASK]]")


def test_no_task_without_a_terminal_is_one_sentence_and_exit_2(home, capsys):
    assert main([]) == 2
    assert capsys.readouterr().err == ("luban: The interactive session needs a terminal; to run without one, give a "
                                       "task: luban -p TASK.\n")


def test_a_bad_flag_value_is_an_argparse_error(home, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["-p", "task", "--permission-mode", "yolo"])
    assert exit_.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1].startswith(
        "luban: error: argument --permission-mode: invalid choice: 'yolo'")


def test_a_bad_user_config_is_one_sentence_and_exit_2(home, capsys):
    (home / "config.toml").write_text('max_steps = "x"\n')
    assert main(["-p", "task", "--base-url", UNREACHABLE]) == 2
    assert capsys.readouterr().err == "luban: Setting 'max_steps' in the user config must be an integer, not 'x'.\n"


def test_continue_without_a_task_or_a_terminal(home, capsys):
    assert main(["--continue"]) == 2
    assert capsys.readouterr().err == ("luban: The interactive session needs a terminal; to run without one, give a "
                                       "task: luban -p TASK.\n")


def test_a_missing_workspace(home, capsys):
    assert main(["-p", "task", "--cwd", "/nonexistent", "--base-url", UNREACHABLE]) == 1
    assert capsys.readouterr().err == "luban: The workspace /nonexistent does not exist or is not a directory.\n"


@pytest.mark.parametrize("command", [["-p", "task"], ["run", "task"]])
def test_an_unreachable_server(home, tmp_path, capsys, command):
    assert main([*command, "--cwd", str(tmp_path / "work"), "--base-url", UNREACHABLE]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("luban: Cannot reach the model server at http://127.0.0.1:9: ")
    assert not (home / "data" / "sessions").exists()  # nothing was recorded for a run that never started


def assembled(home: Path, spec: catalog.EmbeddedSpec) -> None:
    """What `is_assembled` checks, without the real gigabyte: a sparse file of the right size and its marker."""
    path = catalog.gguf_path(spec, home / "data")
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        f.truncate(spec.size)
    path.with_suffix(".sha256").write_text(spec.sha256 + "\n")


def test_models_lists_both_embedded_models(home, capsys):
    for spec in catalog.CATALOG.values():
        assembled(home, spec)
    assert main(["models"]) == 0
    assert capsys.readouterr().out == (
        "Embedded models (run on this machine when no --base-url is given):\n"
        " * qwen2.5-coder-1.5b     1.04 GiB  ready          Qwen2.5-Coder-1.5B-Instruct Q4_K_M (default)\n"
        "   qwen2.5-coder-0.5b     0.46 GiB  ready          Qwen2.5-Coder-0.5B-Instruct Q4_K_M (fast)\n"
        "\n"
        "Configured server: none; the embedded model qwen2.5-coder-1.5b is used\n")


def test_models_names_the_configured_server(home, capsys, monkeypatch):
    # `luban models` takes no model flags; the settings come from config files and the environment.
    monkeypatch.setenv("LUBAN_BASE_URL", "http://127.0.0.1:8080/v1")
    monkeypatch.setenv("LUBAN_EMBEDDED_MODEL", "qwen2.5-coder-0.5b")
    assert main(["models"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line[:4] for line in lines[1:3]] == ["   q", " * q"]  # the default mark follows --embedded-model
    assert lines[-1] == "Configured server: http://127.0.0.1:8080/v1 (model: whatever it serves)"


def test_models_pull_needs_a_known_name(home, capsys):
    assert main(["models", "pull"]) == 2
    assert capsys.readouterr().err == "luban: Name the model to pull: qwen2.5-coder-1.5b, qwen2.5-coder-0.5b.\n"
    assert main(["models", "pull", "nope"]) == 1
    assert capsys.readouterr().err == (
        "luban: Unknown embedded model 'nope'; available: qwen2.5-coder-1.5b, qwen2.5-coder-0.5b.\n")


def imported_modules(*args: str) -> set[str]:
    """Top-level names of every module a fresh interpreter imports, from -X importtime."""
    run = subprocess.run([sys.executable, "-X", "importtime", *args], capture_output=True, text=True, check=True,
                         env={**os.environ, "LUBAN_HOME": os.devnull})
    return {line.rsplit("|", 1)[1].strip().split(".")[0] for line in run.stderr.splitlines()
            if line.startswith("import time:") and "|" in line}


def test_help_imports_neither_httpx_nor_the_engine():
    assert imported_modules("-c", "import luban.ui.runtime") >= {"httpx"}  # the check does see httpx when it is there
    modules = imported_modules("-m", "luban.ui.cli", "--help")
    assert "luban" in modules
    assert modules & {"httpx", "xllamacpp", "torch", "transformers"} == set()


HEAVY = ("torch", "transformers", "peft", "llguidance")
PARSERS = ("import sys; from luban.ui import cli; cli._parser().format_help(); "
           "[cli._sub_parser(c).format_help() for c in cli.COMMANDS]; {extra}"
           f"print(sorted(m for m in {HEAVY} if m in sys.modules))")


@pytest.mark.parametrize(("extra", "seen"), [("", "[]"), ("import torch; ", "['torch']")])
def test_building_every_parser_imports_no_torch(extra, seen):
    """The CLI entry and all its parsers leave the in-process backend's libraries unimported (the second case shows
    that the check sees torch when it is there)."""
    run = subprocess.run([sys.executable, "-c", PARSERS.format(extra=extra)], capture_output=True, text=True,
                         check=True, env={**os.environ, "LUBAN_HOME": os.devnull})
    assert run.stdout == f"{seen}\n"


def test_eval_errors_are_one_sentence_and_exit_2(tmp_path, capsys):
    from luban.ui.cli import main

    env_free = ["--cwd", str(tmp_path)]
    assert main(["eval", str(tmp_path / "nowhere"), *env_free]) == 2
    assert capsys.readouterr().err == f"luban: No suite named 'nowhere' and no task folder at {tmp_path / 'nowhere'}.\n"
    assert main(["eval", "compare", str(tmp_path), *env_free]) == 2
    assert capsys.readouterr().err == f"luban: {tmp_path} is not an eval run folder (no run.json).\n"
    assert main(["eval", "compare", *env_free]) == 2
    assert "needs one or two run folders" in capsys.readouterr().err


def test_fresh_server_is_refused_where_no_embedded_server_can_be_restarted_per_run(tmp_path, capsys):
    from luban.ui.cli import main

    where = ["eval", "humaneval", "--fresh-server", "--cwd", str(tmp_path), "--run-dir", str(tmp_path / "run")]
    assert main([*where, "--base-url", "http://127.0.0.1:9/v1"]) == 2
    assert "cannot restart a server at --base-url" in capsys.readouterr().err
    assert main([*where, "--jobs", "2"]) == 2
    assert capsys.readouterr().err == ("luban: --fresh-server runs one task at a time, each with the model's server to "
                                       "itself; drop --jobs and --ray.\n")
    assert not (tmp_path / "run").exists()  # refused before the run folder was made


def test_full_auto_without_a_working_sandbox_refuses_to_start(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LUBAN_HOME", str(tmp_path / "home"))
    # No server at this address: the refusal comes before any model is contacted.
    code = main(["-p", "go", "--base-url", "http://127.0.0.1:9/v1", "--permission-mode", "full-auto",
                 "--sandbox", "none", "--cwd", str(tmp_path)])
    assert (code, capsys.readouterr().err) == (1, (
        "luban: full-auto needs a sandbox for commands, and the sandbox setting is none; choose auto, bwrap or "
        "landlock, or a mode that asks before commands.\n"))


def test_a_malformed_permission_rule_stops_the_start(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LUBAN_HOME", str(tmp_path / "home"))
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / "config.toml").write_text('[permissions]\ndeny = ["bash(curl"]\n')
    code = main(["-p", "go", "--base-url", "http://127.0.0.1:9/v1", "--cwd", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("luban: ") and "bash(curl" in err and err.count("\n") == 1
