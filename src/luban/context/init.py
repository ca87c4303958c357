"""`luban init`: a first AGENTS.md drafted from what the repository's own files say (manifests, build files,
linter configs), found deterministically without a model, for the user to correct and extend."""

from __future__ import annotations

import configparser
import json
import os
import re
import tomllib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from ..errors import ConfigError, WorkspaceError
from ..workspace import atomic_write
from ..workspace.listing import Listing, skipped

# What a description of the project leaves out besides the workspace's skip set (workspace/listing.py), which
# .gitignore usually covers too: build output and vendored code. Hidden folders are not its layout either.
BUILD_OUTPUT = frozenset({"build", "dist", "target", "vendor", "site-packages"})
WALK_LIMIT = 20000  # files counted for the language summary; enough to rank languages in any repo

LANGUAGES = {
    ".py": "Python", ".pyi": "Python", ".js": "JavaScript", ".jsx": "JavaScript", ".mjs": "JavaScript",
    ".cjs": "JavaScript", ".ts": "TypeScript", ".tsx": "TypeScript", ".go": "Go", ".rs": "Rust",
    ".java": "Java", ".kt": "Kotlin", ".kts": "Kotlin", ".scala": "Scala", ".c": "C", ".h": "C",
    ".cc": "C++", ".cpp": "C++", ".cxx": "C++", ".hpp": "C++", ".hh": "C++", ".cs": "C#", ".rb": "Ruby",
    ".php": "PHP", ".swift": "Swift", ".m": "Objective-C", ".sh": "Shell", ".bash": "Shell", ".lua": "Lua",
    ".zig": "Zig", ".ex": "Elixir", ".exs": "Elixir", ".erl": "Erlang", ".hs": "Haskell", ".ml": "OCaml",
    ".dart": "Dart", ".r": "R", ".jl": "Julia", ".vue": "Vue", ".svelte": "Svelte",
}

DIR_NOTES = {
    "src": "source code", "lib": "library code", "app": "application code", "tests": "tests", "test": "tests",
    "spec": "tests", "__tests__": "tests", "docs": "documentation", "doc": "documentation",
    "examples": "examples", "example": "examples", "scripts": "scripts", "tools": "tools and scripts",
    "benchmarks": "benchmarks", "bench": "benchmarks", "cmd": "commands (main packages)",
    "pkg": "library packages", "internal": "internal packages", "include": "public headers",
    "assets": "static assets", "static": "static assets", "public": "static assets", "data": "data files",
    "fixtures": "test fixtures", "migrations": "database migrations", "config": "configuration",
    "ci": "continuous integration", ".github": "GitHub workflows and templates", "packages": "workspace packages",
}
LAYOUT_LIMIT = 12
# Python test files, as pytest's and unittest's default patterns name them, and how their imports are told apart.
_TEST_FILE = re.compile(r"test_.*\.py|.*_test\.py")
_PYTEST_IMPORT = re.compile(r"^\s*(import pytest\b|from pytest\b)", re.M)
_UNITTEST_IMPORT = re.compile(r"^\s*(import unittest\b|from unittest\b)", re.M)
_PYTEST_REQUIREMENT = re.compile(r"(?<![\w-])pytest\b")  # pytest, pytest>=8, pytest-cov
TEST_FILES_SEEN, TEST_FILES_READ, TEST_HEAD = 200, 20, 4000

NOTES = (
    "Run the tests before you finish, and leave them passing.",
    "Keep changes small and in the style of the code around them; do not reformat unrelated code.",
    "Add or update a test with each behaviour you change.",
)


@dataclass(frozen=True)
class Commands:
    setup: tuple[str, ...] = ()
    build: tuple[str, ...] = ()
    test: tuple[str, ...] = ()
    lint: tuple[str, ...] = ()

    def __add__(self, other: Commands) -> Commands:
        return Commands(*(_unique(a + b) for a, b in zip(
            (self.setup, self.build, self.test, self.lint), (other.setup, other.build, other.test, other.lint))))


@dataclass(frozen=True)
class Facts:
    name: str
    languages: tuple[tuple[str, int], ...]  # (language, file count), most files first
    layout: tuple[tuple[str, str], ...]  # (top-level folder, what it holds or "")
    entry_points: tuple[str, ...]  # "luban (luban.ui.cli:main)"
    commands: Commands
    test_markers: tuple[str, ...]  # pytest markers as declared: "model: runs a real local model"
    conventions: tuple[str, ...]  # "mypy checks types: `mypy`"


def draft_agents_md(root: Path) -> str:
    """A first AGENTS.md for the repository at root."""
    return render(detect(root))


def write_agents_md(root: Path, force: bool = False) -> Path:
    """Write the draft to root/AGENTS.md; refuses to replace one that exists unless `force`."""
    if not root.is_dir():
        raise WorkspaceError(f"The workspace {root} does not exist or is not a directory.")
    path = root / "AGENTS.md"
    if path.exists() and not force:
        raise ConfigError(f"{path} already exists; pass --force to replace it with a fresh draft.")
    atomic_write(path, draft_agents_md(root).encode("utf-8"))
    return path


def detect(root: Path) -> Facts:
    pyproject = _toml(root / "pyproject.toml")
    package = _json(root / "package.json")
    files = _project_files(root)
    languages = _languages(files)
    commands = (_python(root, pyproject, files, "Python" in dict(languages)) + _node(root, package) + _make(root)
                + _go(root) + _cargo(root) + _jvm(root) + _cmake(root))
    scripts = pyproject.get("project", {}).get("scripts", {})
    return Facts(
        name=_name(root, pyproject, package),
        languages=languages,
        layout=_layout(root),
        entry_points=tuple(f"{k} ({v})" for k, v in sorted(scripts.items()) if isinstance(v, str)),
        commands=commands,
        test_markers=_markers(pyproject),
        conventions=_conventions(root, pyproject, package),
    )


def render(facts: Facts) -> str:
    overview = []
    if facts.languages:
        overview.append("Languages: " + ", ".join(f"{lang} ({n} file{'s' * (n != 1)})" for lang, n in facts.languages))
    if facts.entry_points:
        overview.append("Commands it installs: " + ", ".join(f"`{e}`" for e in facts.entry_points))
    if facts.layout:
        folders = (f"  - `{d}/`" + (f": {note}" if note else "") for d, note in facts.layout)
        overview.append("Layout:\n" + "\n".join(folders))
    c = facts.commands
    test = [f"`{cmd}`" for cmd in c.test] or ["No test command found; write it here."]
    test += [f"pytest marker {m}" for m in facts.test_markers]
    parts = [f"# {facts.name}\n\nDrafted by `luban init` from the repository's files; correct it and add what "
             "they cannot say.",
             _section("Overview", overview), _section("Setup", [f"`{cmd}`" for cmd in c.setup]),
             _section("Build", [f"`{cmd}`" for cmd in c.build]), _section("Test", test),
             _section("Conventions", [f"`{cmd}`" for cmd in c.lint] + list(facts.conventions)),
             _section("Notes for agents", list(NOTES))]
    return "\n\n".join(p for p in parts if p) + "\n"


def _section(title: str, bullets: list[str]) -> str:
    """A markdown section of bullets; "" when there is nothing to say, so the section is left out."""
    return f"## {title}\n\n" + "\n".join(f"- {b}" for b in bullets) if bullets else ""


# --- what the repository holds ---------------------------------------------------------------------------------

def _project_files(root: Path) -> list[str]:
    """The workspace listing (.gitignore honoured), less the folders a description of the project leaves out."""
    return [f for f in Listing(root).files() if not any(_skipped(part) for part in f.split("/")[:-1])]


def _languages(files: Sequence[str]) -> tuple[tuple[str, int], ...]:
    counts = Counter(lang for f in files[:WALK_LIMIT] if (lang := LANGUAGES.get(os.path.splitext(f)[1].lower())))
    return tuple(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:6])


def _skipped(name: str) -> bool:
    return skipped(name) or name.startswith(".") or name in BUILD_OUTPUT


def _layout(root: Path) -> tuple[tuple[str, str], ...]:
    dirs = sorted(p.name for p in root.iterdir() if p.is_dir() and (not _skipped(p.name) or p.name == ".github"))
    return tuple((d, _note(root / d)) for d in dirs[:LAYOUT_LIMIT])


def _note(path: Path) -> str:
    note = DIR_NOTES.get(path.name, "")
    if path.name == "src":  # name the packages, the first thing a newcomer looks for
        packages = sorted(p.name for p in path.iterdir() if p.is_dir() and not _skipped(p.name))
        if packages:
            note += " (" + ", ".join(f"`{p}`" for p in packages[:4]) + ")"
    return note


def _name(root: Path, pyproject: dict[str, Any], package: dict[str, Any]) -> str:
    cargo = _toml(root / "Cargo.toml")
    pom = re.sub(r"<parent>.*?</parent>", "", _text(root / "pom.xml"), flags=re.S)  # the parent's id is not ours
    artifact = re.search(r"<artifactId>([^<]+)</artifactId>", pom)
    module = re.search(r"^module\s+(\S+)", _text(root / "go.mod"), re.M)
    for name in (pyproject.get("project", {}).get("name"), pyproject.get("tool", {}).get("poetry", {}).get("name"),
                 package.get("name"), cargo.get("package", {}).get("name"),
                 module and module.group(1), artifact and artifact.group(1)):
        if isinstance(name, str) and name.strip():
            return name.strip()
    return root.resolve().name


# --- how to set up, build and test -----------------------------------------------------------------------------

def _python(root: Path, pyproject: dict[str, Any], files: Sequence[str], has_python: bool) -> Commands:
    setup: list[str] = []
    extras = pyproject.get("project", {}).get("optional-dependencies", {})
    dev = next((e for e in ("dev", "test", "tests", "testing") if e in extras), None)
    if (root / "uv.lock").exists():
        setup.append("uv sync" + (f" --extra {dev}" if dev else ""))
    elif "poetry" in pyproject.get("tool", {}):
        setup.append("poetry install")
    elif pyproject.get("project") or (root / "setup.py").exists() or (root / "setup.cfg").exists():
        setup.append(f"pip install -e '.[{dev}]'" if dev else "pip install -e .")
    setup += [f"pip install -r {r}" for r in ("requirements.txt", "requirements-dev.txt") if (root / r).exists()]
    setup_cfg, tox = _ini(root / "setup.cfg"), _ini(root / "tox.ini")
    test = list(_python_tests(root, pyproject, _test_files(root, files), setup_cfg, tox, has_python))
    if (tox.has_section("tox") or setup_cfg.has_section("tox:tox") or "tox" in pyproject.get("tool", {})
            or (root / "tox.toml").exists()):
        test.append("tox")
    if (root / "noxfile.py").exists():
        test.append("nox")
    return Commands(setup=tuple(setup), test=tuple(test))


def _python_tests(root: Path, pyproject: dict[str, Any], files: list[Path], setup_cfg: configparser.ConfigParser,
                  tox: configparser.ConfigParser, has_python: bool) -> tuple[str, ...]:
    """pytest where it is configured, imported or a dependency, or where test files exist that unittest does not
    claim; unittest where the test files import it and nothing asks for pytest."""
    heads = [_start(f) for f in files[:TEST_FILES_READ]]
    wanted = ("pytest" in pyproject.get("tool", {}) or (root / "pytest.ini").exists() or (root / "conftest.py").exists()
              or setup_cfg.has_section("tool:pytest") or tox.has_section("pytest")
              or any(_PYTEST_IMPORT.search(h) for h in heads)
              or _PYTEST_REQUIREMENT.search(_requirements(root, pyproject)))
    # unittest's discovery matches test*.py only: *_test.py files are left to pytest, which runs TestCases too.
    if not wanted and files and all(_UNITTEST_IMPORT.search(h) for h in heads) and all(
            f.name.startswith("test") for f in files):
        folders = {f.parent for f in files}
        if root in folders or all((d / "__init__.py").exists() for d in folders):
            return ("python -m unittest",)  # its discovery starts here and enters packages only
        return (f"python -m unittest discover -s {min(folders).relative_to(root).parts[0]}",)
    tests_folder = has_python and any((root / d).is_dir() for d in ("tests", "test"))
    return ("python -m pytest",) if wanted or files or tests_folder else ()


def _test_files(root: Path, files: Sequence[str]) -> list[Path]:
    """Python test files at the top level and in tests/ or test/, in a stable order, at most TEST_FILES_SEEN."""
    found = [root / f for f in files if _TEST_FILE.fullmatch(f.rpartition("/")[2])
             and ("/" not in f or f.split("/", 1)[0] in ("tests", "test"))]
    return found[:TEST_FILES_SEEN]


def _requirements(root: Path, pyproject: dict[str, Any]) -> str:
    """The project's declared dependencies as one text, to search for a test runner."""
    project = pyproject.get("project", {})
    declared = json.dumps([project.get("dependencies", []), project.get("optional-dependencies", {}),
                           pyproject.get("dependency-groups", {})])
    return "\n".join([declared, *(_text(root / r) for r in ("requirements.txt", "requirements-dev.txt",
                                                            "requirements-test.txt", "test-requirements.txt"))])


def _markers(pyproject: dict[str, Any]) -> tuple[str, ...]:
    # Markers usually single out slow or special tests, which an agent should know before it runs them all.
    markers = pyproject.get("tool", {}).get("pytest", {}).get("ini_options", {}).get("markers", [])
    parts = [m.partition(":") for m in markers if isinstance(m, str)]
    return tuple(f"`{name.strip()}`" + (f": {about.strip()}" if about.strip() else "") for name, _, about in parts)


def _node(root: Path, package: dict[str, Any]) -> Commands:
    if not package:
        return Commands()
    pm = next((m for f, m in (("pnpm-lock.yaml", "pnpm"), ("yarn.lock", "yarn"), ("bun.lockb", "bun"))
               if (root / f).exists()), "npm")
    scripts = package.get("scripts") if isinstance(package.get("scripts"), dict) else {}
    if "no test specified" in str(scripts.get("test")):  # the placeholder `npm init` writes: it only fails
        scripts = {k: v for k, v in scripts.items() if k != "test"}
    run = {name: f"{pm} test" if name == "test" else f"{pm} run {name}" for name in scripts}
    return Commands(setup=(f"{pm} install",), build=_pick(run, "build"), test=_pick(run, "test"),
                    lint=_pick(run, "lint", "typecheck", "format"))


def _make(root: Path) -> Commands:
    text = _text(root / "Makefile") or _text(root / "makefile") or _text(root / "GNUmakefile")
    run = {t: f"make {t}" for t in re.findall(r"^([A-Za-z][\w.-]*)\s*:(?!=)", text, re.M)}
    return Commands(setup=_pick(run, "install", "setup"), build=_pick(run, "build"), test=_pick(run, "test", "check"),
                    lint=_pick(run, "lint", "format", "fmt", "typecheck"))


def _pick(run: dict[str, str], *names: str) -> tuple[str, ...]:
    """The commands for those of `names` the project defines, in the order given."""
    return tuple(run[n] for n in names if n in run)


def _go(root: Path) -> Commands:
    if not (root / "go.mod").exists():
        return Commands()
    return Commands(setup=("go mod download",), build=("go build ./...",), test=("go test ./...",),
                    lint=("go vet ./...", "gofmt -l ."))


def _cargo(root: Path) -> Commands:
    if not (root / "Cargo.toml").exists():
        return Commands()
    return Commands(build=("cargo build",), test=("cargo test",), lint=("cargo clippy",))


def _jvm(root: Path) -> Commands:
    if (root / "pom.xml").exists():
        return Commands(build=("mvn -q package -DskipTests",), test=("mvn -q test",))
    if (root / "build.gradle").exists() or (root / "build.gradle.kts").exists():
        gradle = "./gradlew" if (root / "gradlew").exists() else "gradle"
        return Commands(build=(f"{gradle} build",), test=(f"{gradle} test",))
    return Commands()


def _cmake(root: Path) -> Commands:
    if not (root / "CMakeLists.txt").exists():
        return Commands()
    return Commands(build=("cmake -S . -B build && cmake --build build",), test=("ctest --test-dir build",))


# --- formatters and linters ------------------------------------------------------------------------------------

def _conventions(root: Path, pyproject: dict[str, Any], package: dict[str, Any]) -> tuple[str, ...]:
    tool = pyproject.get("tool", {})
    names = {p.name for p in root.iterdir()}

    def has(*wanted: str) -> bool:
        return not names.isdisjoint(wanted)

    def starts(prefix: str) -> bool:  # config files come as .prettierrc, .prettierrc.json, .eslintrc.cjs …
        return any(n.startswith(prefix) for n in names)

    setup_cfg, tox = _ini(root / "setup.cfg"), _ini(root / "tox.ini")
    found = [
        ("ruff" in tool or has("ruff.toml", ".ruff.toml"), "ruff lints Python: `ruff check .`"),
        ("black" in tool, "black formats Python: `black .`"),
        (has(".flake8") or setup_cfg.has_section("flake8") or tox.has_section("flake8"),
         "flake8 lints Python: `flake8`"),
        ("mypy" in tool or has("mypy.ini", ".mypy.ini") or setup_cfg.has_section("mypy"),
         "mypy checks types: `mypy`"),
        (starts(".prettierrc") or starts("prettier.config") or "prettier" in package,
         "prettier formats the code: `npx prettier --check .`"),
        (starts(".eslintrc") or starts("eslint.config") or "eslintConfig" in package,
         "eslint lints JavaScript/TypeScript: `npx eslint .`"),
        (has("rustfmt.toml", ".rustfmt.toml"), "rustfmt formats Rust: `cargo fmt`"),
        (has(".clang-format"), "clang-format formats C/C++: `clang-format -i FILE`"),
        (has(".editorconfig"), "indentation and line endings follow .editorconfig"),
    ]
    return tuple(text for present, text in found if present)


# --- reading files that may be missing or malformed ------------------------------------------------------------

def _text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def _start(path: Path) -> str:
    """The first TEST_HEAD bytes of a file, where its imports are."""
    try:
        with path.open("rb") as f:
            return f.read(TEST_HEAD).decode("utf-8", errors="replace")
    except OSError:
        return ""


def _toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(_text(path))
    except tomllib.TOMLDecodeError:
        return {}  # a broken manifest only means fewer facts in the draft


def _json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(_text(path) or "{}")
    except json.JSONDecodeError:
        return {}
    return data if isinstance(data, dict) else {}


def _ini(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    try:
        parser.read_string(_text(path))
    except configparser.Error:
        pass  # as for _toml: unreadable config, fewer facts
    return parser


def _unique(items: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))
