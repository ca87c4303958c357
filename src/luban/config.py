"""Settings, layered: defaults < user TOML < project TOML < LUBAN_* environment < CLI flags.

The only module that reads the environment. A project's own config may only narrow (NARROWING) until the user
trusts it.
"""

from __future__ import annotations

import math
import operator
import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Callable, Mapping

from .errors import ConfigError
from .safety.trust import PROJECT_CONFIG, USER_ONLY, ProjectConfig, is_trusted, project_config

PERMISSION_MODES = ("plan", "ask", "auto-edit", "full-auto")
SANDBOXES = ("auto", "bwrap", "landlock", "none")
RULE_KINDS = ("allow", "ask", "deny")
OUTPUT_FORMATS = ("text", "json", "stream-json")
TOOL_PROTOCOLS = ("auto", "native", "text", "json")
PROJECT_SOURCE = "the project config"
_KINDS = {int: "an integer", float: "a number", str: "a string", bool: "true or false", dict: "a table"}
# How the environment and flags spell a boolean (case aside); anything else is an error, not false.
TRUE_WORDS, FALSE_WORDS = ("true", "1", "yes", "on"), ("false", "0", "no", "off")
_BOOL_WORDS = [w for pair in zip(TRUE_WORDS, FALSE_WORDS) for w in pair]
# Limits and timeouts: zero or less would stop a run before it starts, or never time out.
POSITIVE = frozenset({"max_steps", "max_wall_s", "max_total_tokens", "max_reply_tokens", "embedded_context",
                      "first_token_timeout_s", "idle_timeout_s", "edit_samples"})
NON_NEGATIVE = frozenset({"temperature"})


@dataclass(frozen=True)
class Settings:
    # Model server: any OpenAI-compatible endpoint. With no base_url, the embedded model runs.
    base_url: str | None = None
    model: str | None = None
    api_key: str | None = None
    embedded_model: str = "qwen2.5-coder-1.5b"
    # A model loaded into Luban's own process with Hugging Face transformers instead of a server: a model
    # folder or a .gguf file (the `transformers` extra).
    transformers: str = ""
    embedded_context: int = 16384
    # A LoRA adapter from `luban tune train`: its GGUF file for the embedded model, its PEFT folder (adapter/)
    # for the in-process one.
    adapter: str = ""
    temperature: float = 0.0
    # The sampling seed of a run's first request, the next request's one more (so candidate samples still differ):
    # the same task then samples the same way each time. -1: each server picks its own (OpenAI-compatible servers;
    # the in-process model ignores it).
    seed: int = -1
    # How tools are offered: native function calling, the model family's own text format (from its profile),
    # or one schema-constrained JSON object per reply. auto = json for the embedded and in-process models,
    # native for a server.
    tool_protocol: str = "auto"
    max_reply_tokens: int = 1024
    # CPU prefill of a long prompt takes minutes on small machines: generous, configurable limits.
    first_token_timeout_s: float = 600.0
    idle_timeout_s: float = 180.0
    # Loop limits.
    max_steps: int = 40
    max_wall_s: float = 3600.0
    max_total_tokens: int = 2_000_000
    permission_mode: str = "ask"
    # Rules on top of the mode: {"allow": [...], "ask": [...], "deny": [...]} of patterns such as
    # "bash(git status:*)" or "edit_file(src/**)"; deny wins at every scope (see safety/policy.py). Each layer adds.
    permissions: Mapping[str, Any] = field(default_factory=dict)
    # The sandbox for the agent's commands: auto (bwrap, else Landlock), bwrap, landlock, or none. full-auto
    # refuses to start without one that works; running commands unsandboxed needs no_sandbox (--no-sandbox).
    sandbox: str = "auto"
    no_sandbox: bool = False
    # Commands run at events, e.g. {"after_edit": ["ruff format {path}"]} (see harness/hooks.py). A repository's own
    # hooks run only once the user trusts its config (`luban trust`).
    hooks: Mapping[str, Any] = field(default_factory=dict)
    # The project's test command: shown to the model up front, and a final answer is refused while it fails.
    test_command: str = ""
    allow_test_edits: bool = False  # with a test command, test files are read-only unless this is set
    protected_paths: str = ""  # comma-separated globs the agent may not change
    read_before_write: bool = True  # refuse edits to files the agent has not read in this session
    # With a test command: sample this many candidate replies for each edit, try each on a scratch copy, and
    # keep the one the tests like best (1 turns it off). Without one, a focused write that fails its self-checks
    # is sampled as often (harness/selfchecks.py).
    edit_samples: int = 4
    # Among those candidates, alternately the model's rewrite of the definition the failing tests call most,
    # asked for in a short separate request (harness/rewrites.py).
    focused_rewrites: bool = True
    # Issue 16's aids, each its own switch so that each can be measured off (ablation): the tests judge every change
    # of the files and undo one that leaves fewer passing (harness/judge.py); a shell command that runs the tests
    # answers with their digest (harness/testcommand.py); a command run again with no file changed since is
    # answered from its last run (harness/reruns.py); a failing gate names the likeliest places of the bug
    # (harness/faults.py), and locate_fault is offered.
    regression_guard: bool = True
    test_digests: bool = True
    skip_reruns: bool = True
    localize_faults: bool = True
    age_outputs: bool = True  # old tool outputs shrink to their first lines, in batches (context/aging.py)
    output_format: str = "text"
    cwd: str = "."
    data_dir: str = ""
    # Model profiles to add or override, as [profiles.NAME] tables (see models/profiles.toml).
    profiles: Mapping[str, Any] = field(default_factory=dict)
    # One more MCP config file in Claude Code's .mcp.json shape, over the user's own (docs/extending.md).
    mcp_config: str = ""


def user_data_dir(env: Mapping[str, str]) -> Path:
    if env.get("LUBAN_HOME"):
        return Path(env["LUBAN_HOME"]) / "data"
    base = env.get("XDG_DATA_HOME") or str(Path(env.get("HOME", "~")).expanduser() / ".local" / "share")
    return Path(base) / "luban"


def user_config_file(env: Mapping[str, str]) -> Path:
    if env.get("LUBAN_HOME"):
        return Path(env["LUBAN_HOME"]) / "config.toml"
    base = env.get("XDG_CONFIG_HOME") or str(Path(env.get("HOME", "~")).expanduser() / ".config")
    return Path(base) / "luban" / "config.toml"


def environment() -> Mapping[str, str]:
    """The environment Luban runs in, for what hands it on (the sandbox: the home to hide, the variables to
    drop, the toolchains on PATH); read here so that nothing below reads it itself."""
    return os.environ


def load(cli: Mapping[str, Any], env: Mapping[str, str] | None = None, *, project: bool = True) -> Settings:
    """Build Settings from every layer; `cli` holds only the flags the user gave. `project=False` leaves out the
    workspace's own config (what `luban trust` compares it with)."""
    env = os.environ if env is None else env
    settings = Settings(data_dir=str(user_data_dir(env)))
    settings = _apply(settings, _read_toml(user_config_file(env)), "the user config")
    from_env = _from_env(env)
    if project:
        # The workspace and the data folder (which holds the trust store) are the user's choice alone, from every
        # layer but the project's: the same here, in `luban trust` and at start-up.
        own = _apply(_apply(settings, from_env, "the environment", text=True), cli, "the command line", text=True)
        settings = _project_layer(Path(own.cwd), settings, Path(own.data_dir))
    settings = _apply(settings, from_env, "the environment", text=True)
    return _validate(_apply(settings, cli, "the command line", text=True))


def _read_toml(path: Path) -> dict[str, Any]:
    return _parse_toml(path, _read_bytes(path))


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return b""
    except OSError as exc:
        raise ConfigError(f"Cannot read the config file {path}: {exc}.") from None


def _parse_toml(path: Path, raw: bytes) -> dict[str, Any]:
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"Cannot read the config file {path}: {exc}.") from None


def read_project(cwd: Path) -> ProjectConfig | None:
    """The workspace's own config file, if it has one."""
    raw = _read_bytes(cwd / PROJECT_CONFIG)
    return project_config(cwd, _parse_toml(cwd / PROJECT_CONFIG, raw), raw) if raw else None


def _project_layer(cwd: Path, current: Settings, store: Path) -> Settings:
    """The repository's config over `current`: whole once the user trusts this content of it (but never what
    only the user may set), else only what NARROWING allows, each the stricter of the two values."""
    project = read_project(cwd)
    if project is None:
        return current
    if is_trusted(store, project):
        return _apply(current, {k: v for k, v in project.values.items() if k not in USER_ONLY}, PROJECT_SOURCE)
    asked = _validate(_apply(current, project.values, PROJECT_SOURCE))  # bad values are errors, applied or not
    return replace(current, **{key: NARROWING[key](getattr(current, key), getattr(asked, key))
                               for key in project.values if key in NARROWING})


def untrusted_project(settings: Settings) -> list[str]:
    """What the workspace's own config asks for and does not get until the user trusts it (empty when
    there is no such config, nothing in it widens, or it is trusted)."""
    project = read_project(Path(settings.cwd))
    if project is None or is_trusted(Path(settings.data_dir), project):
        return []
    return waiting(project.values, settings)


def waiting(values: Mapping[str, Any], now: Settings) -> list[str]:
    """What a project config holding `values` would add over `now` beyond narrowing, one line per setting (a
    line per allow rule and hook command): what `luban trust` lists and the start-up warning names."""
    asked = _apply(now, values, PROJECT_SOURCE)
    lines = []
    for key, value in values.items():
        if key in USER_ONLY:
            lines.append(f"setting {key} (only your own config may set it; ignored even when trusted)")
        elif key == "permissions":
            lines += [f"allow rule {pattern!r}" for pattern in value.get("allow") or ()]
        elif key in NARROWING:
            mine, theirs = getattr(now, key), getattr(asked, key)
            if NARROWING[key](mine, theirs) != theirs:
                name = "permission mode" if key == "permission_mode" else key
                lines.append(f"{name} {_shown(theirs)} (you run {_shown(mine)})")
        else:
            lines += _widening_line(key, getattr(asked, key))
    return lines


def _widening_line(key: str, value: Any) -> list[str]:
    if key == "hooks":
        return [f"hook {event}: runs `{command}`" for event, commands in value.items()
                for command in (commands if isinstance(commands, (list, tuple)) else [commands])]
    if key == "test_command":
        return [f"test command: runs `{value}`"]
    if key == "api_key":
        return ["setting api_key (value not shown)"]
    why = _WHY.get(key)
    return [f"setting {key} = {_shown(value)}" + (f" ({why})" if why else "")]


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    return value if isinstance(value, str) else f"{value:g}" if isinstance(value, float) else repr(value)


def _stricter_mode(mine: str, theirs: str) -> str:
    return min(mine, theirs, key=PERMISSION_MODES.index)


def _no_new_allow(mine: Mapping[str, Any], theirs: Mapping[str, Any]) -> dict[str, Any]:
    """Their ask and deny rules (theirs holds mine too: rules accumulate), and my allow rules only."""
    rules = {kind: patterns for kind, patterns in theirs.items() if kind != "allow"}
    return {**rules, "allow": list(mine["allow"])} if mine.get("allow") else rules


def _more_protected(mine: str, theirs: str) -> str:
    globs = [g.strip() for g in f"{mine},{theirs}".split(",") if g.strip()]
    return ",".join(dict.fromkeys(globs))


# What an untrusted project config may set: an allow-list, each entry giving the stricter of the user's value
# and the repository's. A setting not named here (the model server, its key, the data folder, the test
# command, hooks, profiles, ... and every setting added later) waits for `luban trust`.
NARROWING: dict[str, Callable[[Any, Any], Any]] = {
    "permission_mode": _stricter_mode,
    "permissions": _no_new_allow,  # rules and protected paths accumulate over the layers (see _apply)
    "protected_paths": _more_protected,
    "max_steps": min, "max_wall_s": min, "max_total_tokens": min, "max_reply_tokens": min,
    "read_before_write": operator.or_,  # may turn the check on, never off
    "allow_test_edits": operator.and_,  # may keep test files read-only, never open them
}
# Why a waiting setting matters, for the trust listing.
_WHY = {
    "base_url": "your code and the conversation would be sent there",
    "model": "the model your requests name",
    "profiles": "how the model's replies are read",
    "edit_samples": "how many candidate edits are run against the tests",
}


def _from_env(env: Mapping[str, str]) -> dict[str, str]:
    names = {f.name for f in fields(Settings)}
    return {k[6:].lower(): v for k, v in env.items() if k.startswith("LUBAN_") and k[6:].lower() in names}


def _apply(settings: Settings, values: Mapping[str, Any], source: str, text: bool = False) -> Settings:
    """`values` over `settings`; `text`: a source of strings (environment, flags), whose words are parsed."""
    known = {f.name: f for f in fields(Settings)}
    changes = {}
    for key, value in values.items():
        if value is None:
            continue
        if key not in known:
            raise ConfigError(f"Unknown setting {key!r} in {source}; known settings: {', '.join(sorted(known))}.")
        changes[key] = _coerce(key, value, getattr(settings, key), source, text)
    if "permissions" in changes:
        changes["permissions"] = _rules_added(settings.permissions, changes["permissions"], source)
    if "protected_paths" in changes:  # like deny rules, a later layer adds protection and cannot lift one
        changes["protected_paths"] = _more_protected(settings.protected_paths, changes["protected_paths"])
    return replace(settings, **changes)


def _rules_added(current: Mapping[str, Any], added: Mapping[str, Any], source: str) -> dict[str, list[str]]:
    """Permission rules accumulate over the layers (a later layer cannot erase an earlier deny)."""
    merged = {kind: list(current.get(kind, ())) for kind in RULE_KINDS}
    for kind, patterns in added.items():
        if kind not in RULE_KINDS:
            raise ConfigError(f"Unknown permission rule kind {kind!r} in {source}; use allow, ask or deny.")
        if not isinstance(patterns, (list, tuple)) or not all(isinstance(p, str) and p for p in patterns):
            raise ConfigError(f"permissions.{kind} in {source} must be a list of patterns such as "
                              f'"bash(git status:*)", not {patterns!r}.')
        merged[kind] += [p for p in patterns if p not in merged[kind]]
    return {kind: patterns for kind, patterns in merged.items() if patterns}


def _coerce(key: str, value: Any, default: Any, source: str, text: bool) -> Any:
    """The value as the setting's own type, or one sentence saying what it must be. A TOML file states types
    (`"on"` is not a boolean there); only the environment and flags spell everything as words."""
    kind = type(default) if default is not None else str
    if text and isinstance(value, str) and kind is bool:
        word = value.strip().lower()
        if word not in (*TRUE_WORDS, *FALSE_WORDS):
            raise ConfigError(f"Setting {key!r} in {source} must be one of {', '.join(_BOOL_WORDS)}, not {value!r}.")
        return word in TRUE_WORDS
    if text and isinstance(value, str) and kind in (int, float):
        try:
            number = kind(value.strip())
        except ValueError:
            raise ConfigError(f"Setting {key!r} in {source} must be {_KINDS[kind]}, not {value!r}.") from None
        if not math.isfinite(number):
            raise ConfigError(f"Setting {key!r} in {source} must be a finite number, not {value!r}.")
        return _checked(key, number, number, source)
    return _checked(key, _typed(key, value, kind, source), value, source)


def _typed(key: str, value: Any, kind: type, source: str) -> Any:
    if kind is int and isinstance(value, float) and value.is_integer():
        value = int(value)  # 12.0 is twelve; 2.7 is not an integer and is not rounded
    ok = {bool: isinstance(value, bool), int: isinstance(value, int) and not isinstance(value, bool),
          float: isinstance(value, (int, float)) and not isinstance(value, bool), str: isinstance(value, str),
          dict: isinstance(value, Mapping)}[kind]
    if not ok:
        raise ConfigError(f"Setting {key!r} in {source} must be {_KINDS[kind]}, not {value!r}.")
    if kind is float and not math.isfinite(value):
        raise ConfigError(f"Setting {key!r} in {source} must be a finite number, not {value!r}.")
    return float(value) if kind is float else value


def _checked(key: str, value: Any, given: Any, source: str) -> Any:
    """`value` if it is in range for `key`; the error quotes the value as `given`."""
    if key in POSITIVE and value <= 0:
        raise ConfigError(f"Setting {key!r} in {source} must be positive, not {given!r}.")
    if key in NON_NEGATIVE and value < 0:
        raise ConfigError(f"Setting {key!r} in {source} must not be negative, not {given!r}.")
    return value


def _validate(s: Settings) -> Settings:
    if s.permission_mode not in PERMISSION_MODES:
        raise ConfigError(f"permission_mode must be one of {', '.join(PERMISSION_MODES)}, not {s.permission_mode!r}.")
    if s.output_format not in OUTPUT_FORMATS:
        raise ConfigError(f"output_format must be one of {', '.join(OUTPUT_FORMATS)}, not {s.output_format!r}.")
    if s.sandbox not in SANDBOXES:
        raise ConfigError(f"sandbox must be one of {', '.join(SANDBOXES)}, not {s.sandbox!r}.")
    if s.tool_protocol not in TOOL_PROTOCOLS:
        raise ConfigError(f"tool_protocol must be one of {', '.join(TOOL_PROTOCOLS)}, not {s.tool_protocol!r}.")
    if s.transformers and s.base_url:
        raise ConfigError("Give either a model server (base_url) or an in-process model (transformers), not both.")
    return s
