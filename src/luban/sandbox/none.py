"""No confinement: for `--no-sandbox` and `sandbox = "none"`, never in full-auto."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence


@dataclass(frozen=True)
class Unconfined:
    """Runs commands as they are; `env` is still applied, so callers need not care which sandbox they got."""

    env: Mapping[str, str] = field(default_factory=dict)

    def wrap(self, argv: Sequence[str], root: Path, *, network: bool = False) -> list[str]:
        if not self.env:
            return list(argv)
        return ["env", *(f"{k}={v}" for k, v in self.env.items()), *argv]
