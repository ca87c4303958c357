"""What of the home directory a command may read: the toolchains its PATH, the test command and the toolchain
variables lead to (pyenv, nvm, cargo, go, ...), read-only, and never the secrets listed here, whatever PATH says.
"""

from __future__ import annotations

import os
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator, Mapping

from . import scope

# Never exposed, even where PATH or a toolchain variable points into one: keys, tokens, cloud and cluster
# credentials, password stores, browser profiles (cookies), shell histories. Relative to each home.
SECRETS = (
    ".ssh", ".gnupg", ".aws", ".azure", ".config/gcloud", ".config/gh", ".config/hub", ".config/glab-cli",
    ".netrc", ".git-credentials", ".config/git/credentials", ".password-store", ".local/share/keyrings", ".pki",
    ".docker", ".kube", ".terraform.d", ".vault-token", ".pypirc", ".npmrc", ".yarnrc", ".yarnrc.yml",
    ".config/pip", ".pip", ".condarc", ".cargo/credentials", ".cargo/credentials.toml", ".gem/credentials",
    ".m2/settings.xml", ".m2/settings-security.xml", ".gradle/gradle.properties", ".config/rclone", ".s3cfg",
    ".boto", ".pgpass", ".my.cnf", ".config/op", ".huggingface", ".cache/huggingface", ".mozilla",
    ".thunderbird", ".config/google-chrome", ".config/chromium", ".config/BraveSoftware", ".config/microsoft-edge",
    ".var", "snap", ".config/Code", ".bash_history", ".zsh_history", ".python_history", ".psql_history",
    ".mysql_history", ".lesshst", ".viminfo",
)
# Known toolchain roots (relative to home) and the roots each needs besides: a PATH entry or program beneath
# one exposes the whole root, since shims and proxies reach into it (pyenv's shims exec libexec/pyenv, cargo's
# proxies read ~/.rustup).
ROOTS: Mapping[str, tuple[str, ...]] = {
    ".pyenv": (), ".cargo": (".rustup",), ".rustup": (), ".nvm": (), ".asdf": (), ".volta": (), ".bun": (),
    ".deno": (), ".rbenv": (), ".nodenv": (), ".goenv": (), ".sdkman": (), ".juliaup": (), ".ghcup": (),
    ".elan": (), ".pixi": (), ".rye": (), "go": (), "sdk": (), ".local/bin": (".local/lib",), ".local/lib": (),
    ".local/share/uv": (), ".local/share/pnpm": (), ".local/share/fnm": (), ".local/share/mise": (),
    ".local/share/virtualenvs": (), ".virtualenvs": (), ".cache/pypoetry/virtualenvs": (), "miniconda3": (),
    "anaconda3": (), "miniforge3": (), ".conda": (),
}
# Where a toolchain looks for its root when HOME is not the user's (the Landlock launcher gives commands a
# private HOME): root -> (variable, its value relative to home).
VARIABLES: Mapping[str, tuple[str, str]] = {
    ".pyenv": ("PYENV_ROOT", ".pyenv"), ".cargo": ("CARGO_HOME", ".cargo"), ".rustup": ("RUSTUP_HOME", ".rustup"),
    ".nvm": ("NVM_DIR", ".nvm"), ".asdf": ("ASDF_DATA_DIR", ".asdf"), ".volta": ("VOLTA_HOME", ".volta"),
    ".rbenv": ("RBENV_ROOT", ".rbenv"), ".nodenv": ("NODENV_ROOT", ".nodenv"), ".sdkman": ("SDKMAN_DIR", ".sdkman"),
    ".bun": ("BUN_INSTALL", ".bun"), ".local/lib": ("PYTHONUSERBASE", ".local"),
}
# Host variables naming a toolchain folder: where they point is exposed too (and they pass to commands).
LOCATORS = ("PYENV_ROOT", "CARGO_HOME", "RUSTUP_HOME", "NVM_DIR", "ASDF_DIR", "ASDF_DATA_DIR", "VOLTA_HOME",
            "GOROOT", "GOPATH", "JAVA_HOME", "VIRTUAL_ENV", "CONDA_PREFIX", "PYTHONUSERBASE", "RBENV_ROOT",
            "NODENV_ROOT", "SDKMAN_DIR", "BUN_INSTALL")
ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
MAX_ENTRIES = 2000  # per PATH folder looked into: a bound on the work, not a limit anyone should meet
SHEBANG_BYTES = 256


@dataclass(frozen=True)
class Toolchains:
    """`folders` as a command names them (PATH, #! lines): bwrap binds each, resolved, onto that path; Landlock
    grants it. `variables` say where the roots are, for a sandbox that moves HOME."""

    folders: tuple[Path, ...] = ()
    variables: Mapping[str, str] = field(default_factory=dict)


def find(host: Mapping[str, str], path: str | None = None, programs: Iterable[str] = ()) -> Toolchains:
    """The toolchain folders under the homes hidden from commands that `path` (else the host's PATH), the
    `programs` (command lines: their first word) and the host's toolchain variables lead to."""
    homes = scope.homes(host)
    secrets = denied(host)
    wanted: set[Path] = set()
    for start in _starts(host, path, programs):
        for place in _reaches(start, homes):
            wanted |= _roots(place, homes)
    folders = _exposable(wanted, secrets, homes)
    variables = {}
    for home in homes:
        for root, (name, value) in VARIABLES.items():
            if name not in host and _covered(home / root, folders):
                variables[name] = str(home / value)
    return Toolchains(folders, variables)


def denied(host: Mapping[str, str]) -> tuple[Path, ...]:
    """The secret places under every hidden home, and Luban's own config and data folders."""
    places = [home / secret for home in scope.homes(host) for secret in SECRETS]
    return tuple(sorted({*places, *(p.resolve() for p in scope.luban_dirs(host))}))


def _starts(host: Mapping[str, str], path: str | None, programs: Iterable[str]) -> Iterator[Path]:
    """PATH entries, the toolchain variables' folders and the test command's program where it names one by its
    path (as `~/venvs/x/bin/pytest`)."""
    search = host.get("PATH", "") if path is None else path
    for entry in search.split(os.pathsep):
        yield Path(entry)
    for name in LOCATORS:
        if host.get(name):
            yield Path(host[name])
    for command in programs:
        words = _words(command)
        while words and ASSIGNMENT.match(words[0]):
            words.pop(0)
        if not words:
            continue
        program = scope.home(host) / words[0][2:] if words[0].startswith("~/") else Path(words[0])
        # Only a program that is there: a missing one would expose whatever folder its name points into.
        if program.is_file() and os.access(program, os.X_OK):
            yield program


def _words(command: str) -> list[str]:
    try:
        return shlex.split(command)
    except ValueError:
        return command.split()


def _reaches(start: Path, homes: tuple[Path, ...]) -> Iterator[Path]:
    """`start` itself and, for a folder of programs under a home, what its programs link to or name in their
    #! line (`~/.local/bin/python` -> `~/.pyenv/versions/3.12/bin/python3.12`)."""
    if not start.is_absolute() or not scope.beneath(start, homes):
        return
    yield start
    yield start.resolve()
    if not start.is_dir():
        return
    try:
        entries = list(os.scandir(start))[:MAX_ENTRIES]
    except OSError:
        return
    for entry in entries:
        if entry.is_symlink():
            yield Path(os.path.realpath(entry.path))
        elif interpreter := _shebang(entry.path):
            yield interpreter


def _shebang(path: str) -> Path | None:
    try:
        with open(path, "rb") as file:
            head = file.read(SHEBANG_BYTES)
    except OSError:
        return None
    if not head.startswith(b"#!"):
        return None
    words = head[2:].split(b"\n", 1)[0].decode(errors="replace").split()
    return Path(words[0]) if words and words[0].startswith("/") else None


def _roots(place: Path, homes: tuple[Path, ...]) -> set[Path]:
    """The folder to expose for `place`: the known root it lies in (with the roots that one needs), else the
    prefix of a program (`x/bin/tool` -> `x`) or the folder itself. Never a home itself."""
    for home in homes:
        if place == home or not place.is_relative_to(home):
            continue
        relative = place.relative_to(home).as_posix()
        for root in sorted(ROOTS, key=len, reverse=True):
            if relative == root or relative.startswith(root + "/"):
                return {home / root, *(home / extra for extra in ROOTS[root])}
        folder = place if place.is_dir() else place.parent
        prefix = folder.parent if folder.name == "bin" else folder
        return {prefix if prefix != home else folder} - {home}
    return set()


def _exposable(wanted: set[Path], secrets: tuple[Path, ...], homes: tuple[Path, ...]) -> tuple[Path, ...]:
    """`wanted` less what does not exist, what is a home or lies in a secret place; a folder holding a secret
    place is split into its other entries. Nothing beneath another folder kept."""
    def keep(path: Path) -> bool:
        real = path.resolve()
        return (path.exists() and not any(p in homes or any(h.is_relative_to(p) for h in homes) for p in (path, real))
                and not scope.beneath(path, secrets) and not scope.beneath(real, secrets))

    kept: set[Path] = set()
    for folder in filter(keep, wanted):
        # A folder that links elsewhere is carved around the secrets beneath where it leads, by its own name.
        real = folder.resolve()
        seen = {folder / s.relative_to(real) for s in secrets if s.is_relative_to(real)}
        kept.update(scope.carve(folder, {*secrets, *seen}, keep))
    return tuple(p for p in sorted(kept) if not any(p != q and p.is_relative_to(q) for q in kept))


def _covered(path: Path, folders: tuple[Path, ...]) -> bool:
    """Whether `path` is exposed, whole or in part (a root split around a secret)."""
    return any(f.is_relative_to(path) or path.is_relative_to(f) for f in folders)
