"""Trust in a repository's own Luban config (.luban/config.toml).

Whoever wrote the repository is not the user: until the user trusts that exact file (by content), it may only
narrow (config.NARROWING) and runs nothing. A changed file needs trusting again.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

PROJECT_CONFIG = Path(".luban") / "config.toml"
# Settings only the user can set, trusted or not: the sandbox decides what everything else is able to reach; the
# data folder holds the trust store itself and every project's transcripts; the workspace is where the config
# was found.
USER_ONLY = ("sandbox", "no_sandbox", "data_dir", "cwd")


@dataclass(frozen=True)
class ProjectConfig:
    path: Path
    values: Mapping[str, Any]
    fingerprint: str  # sha256 of the file's bytes: trust covers this content only


def project_config(cwd: Path, values: Mapping[str, Any], raw: bytes) -> ProjectConfig:
    return ProjectConfig(cwd.resolve() / PROJECT_CONFIG, values, hashlib.sha256(raw).hexdigest())


def _store(data_dir: Path) -> Path:
    return data_dir / "trusted-projects.json"


def _read(data_dir: Path) -> dict[str, str]:
    try:
        data = json.loads(_store(data_dir).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError):
        return {}  # a damaged store trusts nothing: fail closed, the user can trust again
    return {k: v for k, v in data.items() if isinstance(k, str) and isinstance(v, str)} if isinstance(data, dict) else {}


def is_trusted(data_dir: Path, project: ProjectConfig) -> bool:
    return _read(data_dir).get(str(project.path)) == project.fingerprint


def set_trust(data_dir: Path, project: ProjectConfig, trusted: bool) -> None:
    """Record (or revoke) trust in this content of the project's config; written atomically."""
    entries = _read(data_dir)
    if trusted:
        entries[str(project.path)] = project.fingerprint
    else:
        entries.pop(str(project.path), None)
    data_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=data_dir, prefix=".trusted-", suffix=".json")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(entries, f, indent=1, sort_keys=True)
    os.replace(tmp, _store(data_dir))
