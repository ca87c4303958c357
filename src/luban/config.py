"""Settings, layered: defaults < user TOML < project TOML < LUBAN_* environment < CLI flags.

The only module that reads the environment. A project's own config cannot widen permissions.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Mapping

from .errors import ConfigError
from .trust import PROJECT_CONFIG, USER_ONLY, ProjectConfig, is_trusted, project_config, widening

PERMISSION_MODES = ("plan", "ask", "auto-edit", "full-auto")
SANDBOXES = ("auto", "bwrap", "landlock", "none")
RULE_KINDS = ("allow", "ask", "deny")
OUTPUT_FORMATS = ("text", "json", "stream-json")
TOOL_PROTOCOLS = ("auto", "native", "text", "json")
_KINDS = {int: "an integer", float: "a number", str: "a string", bool: "true or false", dict: "a table"}


@dataclass(frozen=True)
class Settings:
    # Model server: any OpenAI-compatible endpoint. With no base_url, the embedded model runs.
    base_url: str | None = None
    model: str | None = None
    api_key: str | None = None
    embedded_model: str = "qwen2.5-coder-1.5b"
    # A model loaded into Luban's own process with Hugging Face transformers instead of a server: a model
    # folder or a .gguf file (the `transformers` extra); `adapter` is a PEFT adapter folder applied on top.
    transformers: str = ""
    adapter: str = ""
    embedded_context: int = 16384
    temperature: float = 0.0
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
    # "bash(git status:*)" or "edit_file(src/**)"; deny wins at every scope (see policy.py). Each layer adds.
    permissions: Mapping[str, Any] = field(default_factory=dict)
    # The sandbox for the agent's commands: auto (bwrap, else Landlock), bwrap, landlock, or none. full-auto
    # refuses to start without one that works; running commands unsandboxed needs no_sandbox (--no-sandbox).
    sandbox: str = "auto"
    no_sandbox: bool = False
    # Commands run at events, e.g. {"after_edit": ["ruff format {path}"]} (see hooks.py). A repository's own
    # hooks run only once the user trusts its config (`luban trust`).
    hooks: Mapping[str, Any] = field(default_factory=dict)
    # The project's test command: shown to the model up front, and a final answer is refused while it fails.
    test_command: str = ""
    allow_test_edits: bool = False  # with a test command, test files are read-only unless this is set
    protected_paths: str = ""  # comma-separated globs the agent may not change
    read_before_write: bool = True  # refuse edits to files the agent has not read in this run
    # With a test command: sample this many candidate replies for each edit, try each on a scratch copy, and
    # keep the one the tests like best (1 turns it off).
    edit_samples: int = 4
    # Among those candidates, alternately the model's rewrite of the definition the failing tests call most,
    # asked for in a short separate request (rewrite.py).
    focused_rewrites: bool = True
    output_format: str = "text"
    cwd: str = "."
    data_dir: str = ""
    # Model profiles to add or override, as [profiles.NAME] tables (see models/profiles.toml).
    profiles: Mapping[str, Any] = field(default_factory=dict)


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


def load(cli: Mapping[str, Any], env: Mapping[str, str] | None = None) -> Settings:
    """Build Settings from every layer; `cli` holds only the flags the user gave."""
    env = os.environ if env is None else env
    settings = Settings(data_dir=str(user_data_dir(env)))
    settings = _apply(settings, _read_toml(user_config_file(env)), "the user config")
    cwd = Path(cli.get("cwd") or env.get("LUBAN_CWD") or ".")
    settings = _apply(settings, _project_layer(cwd, settings), "the project config")
    settings = _apply(settings, _from_env(env), "the environment")
    return _validate(_apply(settings, cli, "the command line"))


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


def _project_layer(cwd: Path, current: Settings) -> dict[str, Any]:
    """The repository's config: whole once the user trusts this content of it (but never the sandbox
    settings), else only what narrows permissions."""
    project = read_project(cwd)
    if project is None:
        return {}
    if is_trusted(Path(current.data_dir), project):
        return {k: v for k, v in project.values.items() if k not in USER_ONLY}
    return _narrowing_only(dict(project.values), current)


def untrusted_project(settings: Settings) -> list[str]:
    """What the workspace's own config asks for and does not get until the user trusts it (empty when
    there is no such config, nothing in it widens, or it is trusted)."""
    project = read_project(Path(settings.cwd))
    if project is None or is_trusted(Path(settings.data_dir), project):
        return []
    return widening(project.values, settings.permission_mode, PERMISSION_MODES)


def _narrowing_only(project: dict[str, Any], current: Settings) -> dict[str, Any]:
    """A repository's config may tighten permissions but never loosen them: a looser mode, allow rules,
    hooks, a different sandbox or no sandbox are dropped (whoever wrote the repository is not the user)."""
    project = {k: v for k, v in project.items() if k not in (*USER_ONLY, "hooks")}
    mode = project.get("permission_mode")
    if mode in PERMISSION_MODES and PERMISSION_MODES.index(mode) > PERMISSION_MODES.index(current.permission_mode):
        project = {k: v for k, v in project.items() if k != "permission_mode"}
    rules = project.get("permissions")
    if isinstance(rules, Mapping):
        project["permissions"] = {k: v for k, v in rules.items() if k != "allow"}
    return project


def _from_env(env: Mapping[str, str]) -> dict[str, str]:
    names = {f.name for f in fields(Settings)}
    return {k[6:].lower(): v for k, v in env.items() if k.startswith("LUBAN_") and k[6:].lower() in names}


def _apply(settings: Settings, values: Mapping[str, Any], source: str) -> Settings:
    known = {f.name: f for f in fields(Settings)}
    changes = {}
    for key, value in values.items():
        if value is None:
            continue
        if key not in known:
            raise ConfigError(f"Unknown setting {key!r} in {source}; known settings: {', '.join(sorted(known))}.")
        changes[key] = _coerce(key, value, getattr(settings, key), source)
    if "permissions" in changes:
        changes["permissions"] = _rules_added(settings.permissions, changes["permissions"], source)
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


def _coerce(key: str, value: Any, default: Any, source: str) -> Any:
    kind = type(default) if default is not None else str
    try:
        if kind is bool:
            return value if isinstance(value, bool) else str(value).lower() in ("1", "true", "yes")
        if kind in (int, float) and isinstance(value, bool):
            raise ValueError
        if kind is dict and not isinstance(value, Mapping):
            raise ValueError
        return kind(value)
    except (TypeError, ValueError):
        raise ConfigError(f"Setting {key!r} in {source} must be {_KINDS[kind]}, not {value!r}.") from None


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
    for name in ("max_steps", "max_wall_s", "max_total_tokens", "max_reply_tokens", "embedded_context"):
        if getattr(s, name) <= 0:
            raise ConfigError(f"{name} must be positive, not {getattr(s, name)}.")
    return s
