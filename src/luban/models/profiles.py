"""Model profiles: per-family quirks read from the packaged profiles.toml, merged with the user's overrides, and
the lookup that picks one for the model a server reports. The data lives in the TOML; this module only checks it."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, replace
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import Any, Literal, Mapping, get_args

from ..errors import ConfigError

ToolFormat = Literal[
    "hermes", "qwen3_coder", "glm", "deepseek_v3", "deepseek_v31", "llama3_json", "fenced_json", "gpt_oss",
    "native_only",
]
ReasoningFormat = Literal["none", "think_tags", "reasoning_content", "harmony"]

DEFAULT = "default"
_EMPTY: Mapping[str, Any] = MappingProxyType({})


@dataclass(frozen=True)
class Profile:
    """What Luban knows about one model family; sampling fields left None mean "the server's default"."""

    name: str
    patterns: tuple[str, ...]
    tool_format: ToolFormat
    reasoning_format: ReasoningFormat
    send_reasoning_back: bool
    context_window: int
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    min_p: float | None = None
    repeat_penalty: float | None = None
    stop: tuple[str, ...] = ()
    # A weak model: each function the task asks for is first written from a short, separate request
    # (harness/writes.py), which such a model gets right far more often than deep in a conversation.
    focused_writes: bool = False
    # A weak model: the run ends once a change turns the judge green (the tests that failed at the start, or the
    # checks of a focused write) instead of asking the model whether it is done (agent/state.py).
    finish_on_pass: bool = False

    def matches(self, text: str) -> bool:
        return any(re.search(pattern, text, re.IGNORECASE) for pattern in self.patterns)


# Each settable key and what its value must be; "name" is the table's own name, never a key.
_KINDS: Mapping[str, str] = {
    "patterns": "strings",
    "tool_format": "tool_format",
    "reasoning_format": "reasoning_format",
    "send_reasoning_back": "bool",
    "context_window": "positive_int",
    "temperature": "number",
    "top_p": "number",
    "top_k": "int",
    "min_p": "number",
    "repeat_penalty": "number",
    "stop": "strings",
    "focused_writes": "bool",
    "finish_on_pass": "bool",
}
_OPTIONAL = frozenset({"temperature", "top_p", "top_k", "min_p", "repeat_penalty"})
_CHOICES: Mapping[str, tuple[str, ...]] = {
    "tool_format": get_args(ToolFormat),
    "reasoning_format": get_args(ReasoningFormat),
}


def load_profiles(overrides: Mapping[str, Mapping[str, Any]] = _EMPTY) -> tuple[Profile, ...]:
    """The built-in profiles with the user's tables merged in, in matching order.

    A table named like a built-in changes only the keys it gives; a new name becomes a new profile, placed before
    the built-ins so that its patterns win, with the keys it leaves out taken from `default` (as overridden).
    """
    builtin = _builtin_profiles()
    by_name = {profile.name: profile for profile in builtin}
    changed: dict[str, Profile] = {}
    new: dict[str, dict[str, Any]] = {}
    for name, table in overrides.items():
        settings = _settings(name, table)
        if name in by_name:
            changed[name] = replace(by_name[name], **settings)
        elif not settings.get("patterns"):
            raise ConfigError(f"Profile {name!r} is new, so it needs a non-empty 'patterns' list to match any model.")
        else:
            new[name] = settings
    fallback = changed.get(DEFAULT, by_name[DEFAULT])
    added = [replace(fallback, name=name, **settings) for name, settings in new.items()]
    return (*added, *(changed.get(profile.name, profile) for profile in builtin))


def match_profile(profiles: tuple[Profile, ...], model_id: str, metadata: Mapping[str, str] = _EMPTY) -> Profile:
    """The first profile whose patterns match the model id or any metadata string, else the `default` profile."""
    texts = [model_id, *(value for value in metadata.values() if isinstance(value, str))]
    for profile in profiles:
        if any(profile.matches(text) for text in texts):
            return profile
    for profile in profiles:
        if profile.name == DEFAULT:
            return profile
    raise ConfigError(f"No profile matches model {model_id!r} and there is no {DEFAULT!r} profile to fall back on.")


@cache
def _builtin_profiles() -> tuple[Profile, ...]:
    text = resources.files(__package__).joinpath("profiles.toml").read_text(encoding="utf-8")
    # A built-in table missing a key is a packaging bug, so the TypeError from Profile() is left to crash.
    return tuple(Profile(name=name, **_settings(name, table)) for name, table in tomllib.loads(text).items())


def _settings(name: str, table: object) -> dict[str, Any]:
    if not isinstance(table, Mapping):
        raise ConfigError(f"Profile {name!r} must be a table of settings, not {type(table).__name__}.")
    return {key: _value(name, key, value) for key, value in table.items()}


def _value(name: str, key: str, value: object) -> Any:
    kind = _KINDS.get(key)
    if kind is None:
        raise ConfigError(f"Profile {name!r} has an unknown key {key!r}; the keys are {', '.join(_KINDS)}.")
    if value is None and key in _OPTIONAL:
        return None
    if kind in _CHOICES:
        if value not in _CHOICES[kind]:
            choices = ", ".join(_CHOICES[kind])
            raise ConfigError(f"Profile {name!r} key {key!r} must be one of {choices}, not {value!r}.")
        return value
    if kind == "strings":
        return _strings(name, key, value)
    if not _is_kind(kind, value):
        raise ConfigError(f"Profile {name!r} key {key!r} must be {_DESCRIPTIONS[kind]}, not {value!r}.")
    return float(value) if kind == "number" else value  # type: ignore[arg-type]


_DESCRIPTIONS = {
    "bool": "true or false", "int": "an integer", "positive_int": "a positive integer", "number": "a number",
}


def _is_kind(kind: str, value: object) -> bool:
    if kind == "bool":
        return isinstance(value, bool)
    if isinstance(value, bool):
        return False  # bool is an int subclass, but `true` is never a number
    if kind == "number":
        return isinstance(value, (int, float))
    if kind == "positive_int":
        return isinstance(value, int) and value > 0
    return isinstance(value, int)


def _strings(name: str, key: str, value: object) -> tuple[str, ...]:
    if not isinstance(value, (list, tuple)) or not all(isinstance(item, str) for item in value):
        raise ConfigError(f"Profile {name!r} key {key!r} must be a list of strings, not {value!r}.")
    if key == "patterns":
        for pattern in value:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ConfigError(
                    f"Profile {name!r} key 'patterns' has an invalid regular expression {pattern!r} ({exc})."
                ) from None
    return tuple(value)
