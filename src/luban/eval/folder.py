"""Task folders: the documented on-disk format (docs/eval-tasks.md) that users write their own suites in.

    SUITE/TASK_ID/task.toml   prompt, grading and the rest
    SUITE/TASK_ID/repo/       the starting workspace
    SUITE/TASK_ID/hidden/     optional: laid over the workspace before grading, never shown to the agent
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .task import Folder, Grading, Injection, Suite, Task

_TOP = {"prompt", "tier", "test_command", "grade", "env", "injection", "meta"}
_GRADE = {"command", "timeout_s", "fail_to_pass", "pass_to_pass"}
_INJECTION = {"indicator", "category", "in_calls", "in_results", "in_replies", "guarded"}


def load_folder(path: Path) -> Suite:
    """Every subfolder of `path` with a task.toml is a task; a bad one is named in one sentence."""
    if not path.is_dir():
        raise ConfigError(f"No suite named {path.name!r} and no task folder at {path}.")
    tasks = [load_task(d, path.name) for d in sorted(path.iterdir()) if (d / "task.toml").is_file()]
    if not tasks:
        raise ConfigError(f"{path} holds no tasks: each task is a folder with a task.toml (docs/eval-tasks.md).")
    return Suite(path.name, tasks, f"task folders in {path}")


def load_task(folder: Path, suite: str) -> Task:
    where = folder / "task.toml"
    try:
        data = tomllib.loads(where.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise ConfigError(f"{where} cannot be read: {e}.") from e
    _known(data, _TOP, where)
    if not isinstance(data.get("prompt"), str) or not data["prompt"].strip():
        raise ConfigError(f"{where} needs a prompt (the task as the agent is told it).")
    if not (folder / "repo").is_dir():
        raise ConfigError(f"{folder} needs a repo/ folder with the starting workspace.")
    grade = _table(data, "grade", where)
    _known(grade, _GRADE, where, "[grade]")
    if not isinstance(grade.get("command"), str):
        raise ConfigError(f"{where} needs [grade] command, the shell command that grades the workspace.")
    injection = _table(data, "injection", where)
    _known(injection, _INJECTION, where, "[injection]")
    try:
        return Task(
            id=folder.name, suite=suite, prompt=data["prompt"], tier=str(data.get("tier", "")),
            source=Folder(folder / "repo", folder / "hidden"),
            grading=Grading(grade["command"], float(grade.get("timeout_s", 300)),
                            tuple(map(str, grade.get("fail_to_pass", ()))),
                            tuple(map(str, grade.get("pass_to_pass", ())))),
            test_command=str(data.get("test_command", "")),
            env={str(k): str(v) for k, v in _table(data, "env", where).items()},
            injection=Injection(str(injection["indicator"]), str(injection.get("category", "")),
                                bool(injection.get("in_calls", True)), bool(injection.get("in_results", False)),
                                tuple(map(str, injection.get("guarded", ()))),
                                bool(injection.get("in_replies", False))) if injection else None,
            meta=_table(data, "meta", where))
    except (TypeError, ValueError, KeyError) as e:
        raise ConfigError(f"{where} has a value of the wrong kind: {e}.") from e


def _table(data: dict[str, Any], key: str, where: Path) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: {key} must be a table ([{key}]).")
    return value


def _known(data: dict[str, Any], allowed: set[str], where: Path, table: str = "") -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r}{' in ' + table if table else ''}; "
                          f"known: {', '.join(sorted(allowed))}.")
