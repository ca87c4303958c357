"""Pinned sdists of the libraries the bugfix suite is built from: fetching them (sha256-checked), unpacking
them once into a cache, and the test command that runs a library's own suite from a workspace copy."""

from __future__ import annotations

import shutil
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from ..packages import download

# Pure-Python test dependencies are copied into the workspace here, so a workspace is self-contained.
DEPS_DIR = "_deps"


@dataclass(frozen=True)
class Sdist:
    """One source distribution on PyPI, pinned by version and sha256."""

    name: str
    version: str
    file_name: str
    sha256: str

    def fetch(self, cache: Path) -> Path:
        """The verified sdist file, downloaded into `cache/sdists` the first time."""
        return download(self.name, self.version, self.file_name, self.sha256, cache / "sdists", binary=False)

    def unpack(self, cache: Path) -> Path:
        """The sdist's top folder, unpacked once under `cache/trees` (a finished unpack is marked, so a
        half-written tree from an interrupted run is never used)."""
        top = self.file_name.removesuffix(".tar.gz")
        dest = cache / "trees" / top
        done = dest.parent / f"{top}.done"
        if not done.exists():
            archive = self.fetch(cache)
            shutil.rmtree(dest, ignore_errors=True)
            dest.parent.mkdir(parents=True, exist_ok=True)
            with tarfile.open(archive) as tar:
                tar.extractall(dest.parent, filter="data")
            done.touch()
        return dest


@dataclass(frozen=True)
class Dep:
    """A pure-Python test dependency: `member` (a module or package inside its sdist) goes into _deps/."""

    sdist: Sdist
    member: str

    def install(self, cache: Path, workspace: Path) -> None:
        src = self.sdist.unpack(cache) / self.member
        dest = workspace / DEPS_DIR / Path(self.member).name
        if src.is_dir():
            shutil.copytree(src, dest, ignore=shutil.ignore_patterns("__pycache__", "tests"))
        else:
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest)


@dataclass(frozen=True)
class Pin:
    """A library at one version: where its code and tests are, and how its test suite runs."""

    sdist: Sdist
    package: str  # the folder holding the library's code, relative to the sdist's top folder
    import_root: str  # what goes on PYTHONPATH so `package` imports from the workspace
    pytest_args: tuple[str, ...]
    deps: tuple[Dep, ...] = ()
    timeout_s: float = 120.0

    @property
    def name(self) -> str:
        return self.sdist.name

    @property
    def test_command(self) -> str:
        # PYTHONPATH puts the workspace copy ahead of any installed copy (click and jinja2 are in the venv);
        # no bytecode, so an edit that keeps a file's size within the same second is never masked by a .pyc.
        path = ":".join([self.import_root, DEPS_DIR] if self.deps else [self.import_root])
        return (f"PYTHONPATH={path} PYTHONDONTWRITEBYTECODE=1 python -m pytest -q -p no:cacheprovider "
                + " ".join(self.pytest_args))

    def prepare(self, cache: Path, dest: Path) -> None:
        """Copy the pristine tree (and the test dependencies) into the existing folder `dest`."""
        shutil.copytree(self.sdist.unpack(cache), dest, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info"))
        for dep in self.deps:
            dep.install(cache, dest)

    def is_test_file(self, rel: str) -> bool:
        parts = Path(rel).parts
        return any(p in ("tests", "test") for p in parts) or Path(rel).name.startswith("test_")

    def to_json(self) -> dict[str, Any]:
        return {"sdist": vars(self.sdist), "package": self.package, "import_root": self.import_root,
                "pytest_args": list(self.pytest_args), "timeout_s": self.timeout_s,
                "deps": [{"sdist": vars(d.sdist), "member": d.member} for d in self.deps],
                "test_command": self.test_command}


def pin_from_json(data: Mapping[str, Any]) -> Pin:
    deps = tuple(Dep(Sdist(**d["sdist"]), d["member"]) for d in data.get("deps", ()))
    return Pin(Sdist(**data["sdist"]), data["package"], data["import_root"], tuple(data["pytest_args"]), deps,
               float(data.get("timeout_s", 120.0)))


def _sd(name: str, version: str, file_name: str, sha256: str) -> Sdist:
    return Sdist(name, version, file_name, sha256)


WHATEVER = Dep(_sd("whatever", "0.7", "whatever-0.7.tar.gz",
                   "82d9ab46297c41e2fd4947684f666d4f06c632edd458caf4468417da51c84581"), "whatever.py")
FREEZEGUN = Dep(_sd("freezegun", "1.5.5", "freezegun-1.5.5.tar.gz",
                    "ac7742a6cc6c25a2c35e9292dfd554b897b517d2dec26891a2e8debf205cb94a"), "freezegun")
SIMPLEJSON = Dep(_sd("simplejson", "4.3.0", "simplejson-4.3.0.tar.gz",
                     "ffe34ab51a0d37e6d1c661a5672df00d2d5e18804e38eac07abffb83fa5ec3d7"),
                 "simplejson")
NO_ADDOPTS = ("-o", "addopts=")  # parse and semver add coverage options that need pytest-cov

# Versions: the newest sdist whose tests pass with pytest alone (plus the deps above) on Python 3.11.
# Dropped: pluggy (pytest itself imports pluggy, so a broken workspace copy would break the test runner).
PINS: tuple[Pin, ...] = (
    Pin(_sd("boltons", "26.2.0", "boltons-26.2.0.tar.gz",
            "d39cfd15c1a1c3bd4d705c82252fa9edb8e4f5e8cc039f8e39afac7b1b47e92c"), "boltons", ".", ("tests",)),
    Pin(_sd("cachetools", "8.0.1", "cachetools-8.0.1.tar.gz",
            "deb1d376d4d28c2f33f3e3058043b005e0af75c35c094bd54053e27d2906ad95"), "src/cachetools", "src", ("tests",)),
    Pin(_sd("click", "8.5.1", "click-8.5.1.tar.gz",
            "9bbfada76703fd1d784b83eea012e3e8c6a001a876543ef104fa56aaaeb072b4"), "src/click", "src", ("tests",)),
    Pin(_sd("funcy", "2.1", "funcy-2.1.tar.gz",
            "8979feb3de7120afd1d00e5a8eae810c1942e4bfbc91697151e9ee1e49f79284"), "funcy", ".", ("tests",),
        (WHATEVER,)),
    Pin(_sd("inflection", "0.5.1", "inflection-0.5.1.tar.gz",
            "1a29730d366e996aaacffb2f1f1cb9593dc38e2ddd30c91250c6dde09ea9b417"), "inflection", ".",
        ("test_inflection.py",)),
    Pin(_sd("itsdangerous", "2.2.0", "itsdangerous-2.2.0.tar.gz",
            "e0050c0b7da1eea53ffaf149c0cfbb5c6e2e2b69c4bef22c81fa6eb73e5f6173"), "src/itsdangerous", "src",
        ("tests",), (FREEZEGUN,)),
    # The async tests need trio, which is not pure Python all the way down; they are left out.
    Pin(_sd("jinja2", "3.1.6", "jinja2-3.1.6.tar.gz",
            "0137fb05990d35f1275a587e9aee6d56da821fc83491a0fb838183be43f66d6d"), "src/jinja2", "src",
        ("tests", "--ignore", "tests/test_async.py", "--ignore", "tests/test_async_filters.py")),
    Pin(_sd("marshmallow", "4.4.0", "marshmallow-4.4.0.tar.gz",
            "9e6ffa8511012ca89732324c1c253efd7b4d35632dcbdf80aa793fe01804af3e"), "src/marshmallow", "src",
        ("tests",), (SIMPLEJSON,)),
    Pin(_sd("more-itertools", "11.2.1", "more_itertools-11.2.1.tar.gz",
            "cbf08fd0af284dc69718b9b76a8e6203df624d70209ea511e4219d350c856f63"), "more_itertools", ".", ("tests",)),
    Pin(_sd("parse", "1.22.4", "parse-1.22.4.tar.gz",
            "706d458feed5a81b02768d3156e8070baf6cee7d150a3a3c0cd43101a875c3b5"), "parse", ".",
        (*NO_ADDOPTS, "tests")),
    Pin(_sd("semver", "3.1.1", "semver-3.1.1.tar.gz",
            "149b26cabada6f63212f97e94505d21578cb1d280cf714827f328d5e70765fea"), "src/semver", "src",
        (*NO_ADDOPTS, "tests")),
    Pin(_sd("simplejson", "4.3.0", "simplejson-4.3.0.tar.gz",
            "ffe34ab51a0d37e6d1c661a5672df00d2d5e18804e38eac07abffb83fa5ec3d7"), "simplejson", ".",
        ("simplejson/tests",)),
    Pin(_sd("tabulate", "0.10.0", "tabulate-0.10.0.tar.gz",
            "e2cfde8f79420f6deeffdeda9aaec3b6bc5abce947655d17ac662b126e48a60d"), "tabulate", ".", ("test",)),
    Pin(_sd("toolz", "1.2.0", "toolz-1.2.0.tar.gz",
            "9667a038e9d6ecba37995e26cb2f59ec6420b6ad8dd9677de59db9b956b08490"), "toolz", ".", ("toolz/tests",)),
)


def pin_named(name: str) -> Pin:
    for pin in PINS:
        if pin.name == name:
            return pin
    raise KeyError(f"No pinned library named {name!r}; known: {', '.join(p.name for p in PINS)}")
