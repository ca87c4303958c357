"""What a sandboxed command may see, whichever sandbox confines it: the environment allowlist, the places
hidden from it (home, Luban's own config and data) and the workspace paths it may read but never write.
"""

from __future__ import annotations

import os
import pwd
import re
import sys
from pathlib import Path
from typing import Callable, Collection, Mapping

# Credentials a command never needs to see: a prompt-injected `env | curl …` would leak them. SSH_AUTH_SOCK
# is the ssh agent: access to it is the key.
SECRET_NAME = re.compile(r"(?i)(?:^|_)(?:TOKEN|KEY|SECRET|PASSWORD|PASSWD|PASS|CREDENTIALS?|AUTH)$|^AWS_|^SSH_AUTH_SOCK$")
# Host variables a command keeps; every other one the host has is dropped (HOME and TMPDIR are set anew).
# The second line: what Luban sets for one command (tools/bash.py, eval/grade.py), harmless if the host's leaks.
# The third: where the user's toolchains live and which version they chose (toolchains.py binds those folders).
ALLOWED = frozenset({"PATH", "LANG", "LANGUAGE", "TERM", "TZ", "USER", "LOGNAME", "SHELL",
                     "PAGER", "GIT_PAGER", "GIT_TERMINAL_PROMPT", "NO_COLOR", "PYTEST_ADDOPTS", "LUBAN_TEST_REPORT",
                     "PYENV_ROOT", "PYENV_VERSION", "CARGO_HOME", "RUSTUP_HOME", "RUSTUP_TOOLCHAIN", "NVM_DIR",
                     "ASDF_DIR", "ASDF_DATA_DIR", "VOLTA_HOME", "GOROOT", "GOPATH", "JAVA_HOME", "VIRTUAL_ENV",
                     "CONDA_PREFIX", "PYTHONUSERBASE", "RBENV_ROOT", "NODENV_ROOT", "SDKMAN_DIR", "BUN_INSTALL"})
HOOKS_PATH = re.compile(r"(?im)^\s*hookspath\s*=\s*(.+?)\s*$")


def without_secrets(environ: Mapping[str, str]) -> dict[str, str]:
    """`environ` less the variables whose names look like credentials (`*_TOKEN`, `*_KEY`, `AWS_*`, …)."""
    return {k: v for k, v in environ.items() if not SECRET_NAME.search(k)}


def allowed(name: str) -> bool:
    return (name in ALLOWED or name.startswith("LC_")) and not SECRET_NAME.search(name)


def dropped(host: Mapping[str, str]) -> list[str]:
    """The host's variables a command must not see. What Luban itself adds for one command (PAGER, the
    grader's PYTEST_ADDOPTS) is not the host's and is kept: callers pass it without credentials."""
    return sorted(k for k in host if not allowed(k))


def home(host: Mapping[str, str]) -> Path:
    """The user's home: HOME, else the password database's (never this process's own environment)."""
    return Path(host.get("HOME") or pwd.getpwuid(os.getuid()).pw_dir).resolve()


def homes(host: Mapping[str, str]) -> tuple[Path, ...]:
    """The user's home directory, and /root when running as root: hidden from commands."""
    places = {home(host)}
    if os.geteuid() == 0:
        places.add(Path("/root"))
    return tuple(sorted(p for p in places if p != Path("/")))


def luban_dirs(host: Mapping[str, str]) -> tuple[Path, ...]:
    """Luban's user config folder and data folder (sessions, trust): hidden from commands."""
    from ..config import user_config_file, user_data_dir

    return (user_config_file(host).parent, user_data_dir(host))


def protected(root: Path, user_home: Path) -> tuple[Path, ...]:
    """Workspace paths a command may read but neither write nor create: what git runs on the user's next git
    command (hooks, a core.hooksPath folder, config-named programs) and the project's own Luban config."""
    return (root / ".git" / "hooks", root / ".git" / "config", root / ".luban", *hooks_paths(root, user_home))


def hooks_paths(root: Path, user_home: Path) -> list[Path]:
    """Hooks folders named by core.hooksPath (husky and friends keep them in the repository)."""
    try:
        text = (root / ".git" / "config").read_text(errors="replace")
    except OSError:
        return []
    named = [match.strip('"') for match in HOOKS_PATH.findall(text)]
    return [user_home / name[2:] if name.startswith("~/") else root / name for name in named]


def carve(top: Path, excluded: Collection[Path], keep: Callable[[Path], bool]) -> list[Path]:
    """What to grant beneath `top` so that no `excluded` path is granted, nor can be created or renamed: `top`
    whole where none lies beneath it; else each entry of it that `keep` accepts, carved the same way (the
    folders above an excluded path are not granted themselves, so their entries cannot be added or removed)."""
    if top in excluded:
        return []
    if not any(path.is_relative_to(top) for path in excluded):
        return [top]
    try:
        entries = sorted(top.iterdir())
    except OSError:
        return []  # a file, or gone: nothing beneath it to grant
    return [granted for entry in entries if keep(entry) for granted in carve(entry, excluded, keep)]


def own_install() -> tuple[Path, ...]:
    """The Python Luban runs on and Luban's own source: commands run that Python (eval tasks say `python
    -m pytest`) and the eval grader loads a pytest plugin from Luban, wherever they live."""
    source = Path(__file__).resolve().parents[2]  # src/ of a checkout, or site-packages
    return tuple(sorted({Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve(), source}))


def beneath(path: Path, places: tuple[Path, ...] | list[Path]) -> bool:
    return any(path.is_relative_to(place) for place in places)
