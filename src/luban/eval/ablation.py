"""Scaffolds for the ablation table: `luban-without-<aid>` runs Luban with one aid turned off, so that one
`luban eval --scaffold luban,luban-without-finish-on-pass,...` measures each aid side by side with the whole
harness, task by task on an equally busy machine, instead of runs of different days and code versions."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from ..config import Settings
from ..models.profiles import Profile

PREFIX = "luban-without-"
Where = Literal["settings", "profile"]


@dataclass(frozen=True)
class Aid:
    """One aid and the value of the Settings or Profile field that turns it off."""

    name: str
    where: Where
    field: str
    off: object

    def settings(self, settings: Settings) -> Settings:
        return replace(settings, **{self.field: self.off}) if self.where == "settings" else settings

    def profile(self, profile: Profile | None) -> Profile | None:
        if self.where != "profile" or profile is None:
            return profile
        return replace(profile, **{self.field: self.off})


AIDS = {aid.name: aid for aid in (
    Aid("regression-guard", "settings", "regression_guard", False),
    Aid("test-digests", "settings", "test_digests", False),
    Aid("skip-reruns", "settings", "skip_reruns", False),
    Aid("localize-faults", "settings", "localize_faults", False),
    Aid("age-outputs", "settings", "age_outputs", False),
    Aid("focused-rewrites", "settings", "focused_rewrites", False),
    # One sample per edit: no candidate edits tried on a copy, no warmer retries of a failed focused write.
    Aid("edit-samples", "settings", "edit_samples", 1),
    Aid("focused-writes", "profile", "focused_writes", False),
    Aid("finish-on-pass", "profile", "finish_on_pass", False),
)}


def aid_of(scaffold: str) -> Aid | None:
    """The aid a `luban-without-<aid>` scaffold turns off; None for any other name."""
    return AIDS.get(scaffold.removeprefix(PREFIX)) if scaffold.startswith(PREFIX) else None


def names() -> str:
    return ", ".join(PREFIX + name for name in AIDS)

