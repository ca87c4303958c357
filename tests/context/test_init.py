import re
import subprocess
import sys

import pytest

from luban.context.init import draft_agents_md, write_agents_md
from luban.errors import ConfigError, WorkspaceError

NOTES = """\
## Notes for agents

- Run the tests before you finish, and leave them passing.
- Keep changes small and in the style of the code around them; do not reformat unrelated code.
- Add or update a test with each behaviour you change.
"""
INTRO = "Drafted by `luban init` from the repository's files; correct it and add what they cannot say."


def write(root, files):
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


PYTHON_PROJECT = {
    "pyproject.toml": """\
[project]
name = "calc"
dependencies = []

[project.optional-dependencies]
dev = ["pytest"]

[project.scripts]
calc = "calc.cli:main"

[tool.pytest.ini_options]
testpaths = ["tests"]
markers = ["slow: takes minutes", "network"]

[tool.ruff]
line-length = 100
""",
    "Makefile": "test:\n\tpytest\nlint:\n\truff check .\nVERSION := 1\n",
    "src/calc/__init__.py": "", "src/calc/cli.py": "", "tests/test_cli.py": "", "docs/index.md": "",
    "scripts/release.sh": "", ".github/workflows/ci.yml": "",
    ".venv/lib/site.py": "", "build/lib/calc.py": "",  # an environment and build output are not the project
}


def test_a_python_project(tmp_path):
    write(tmp_path, PYTHON_PROJECT)
    assert draft_agents_md(tmp_path) == f"""\
# calc

{INTRO}

## Overview

- Languages: Python (3 files), Shell (1 file)
- Commands it installs: `calc (calc.cli:main)`
- Layout:
  - `.github/`: GitHub workflows and templates
  - `docs/`: documentation
  - `scripts/`: scripts
  - `src/`: source code (`calc`)
  - `tests/`: tests

## Setup

- `pip install -e '.[dev]'`

## Test

- `python -m pytest`
- `make test`
- pytest marker `slow`: takes minutes
- pytest marker `network`

## Conventions

- `make lint`
- ruff lints Python: `ruff check .`

{NOTES}"""


def test_a_package_json_project(tmp_path):
    write(tmp_path, {
        "package.json": '{"name": "web-app", "scripts": {"build": "tsc", "test": "vitest run", "lint": "eslint .", '
                        '"dev": "vite"}}',
        "yarn.lock": "", ".prettierrc": "{}", "eslint.config.js": "", "src/index.ts": "", "src/app.tsx": "",
        "src/util.js": "", "node_modules/left-pad/index.js": "", "public/index.html": ""})
    assert draft_agents_md(tmp_path) == f"""\
# web-app

{INTRO}

## Overview

- Languages: JavaScript (2 files), TypeScript (2 files)
- Layout:
  - `public/`: static assets
  - `src/`: source code

## Setup

- `yarn install`

## Build

- `yarn run build`

## Test

- `yarn test`

## Conventions

- `yarn run lint`
- prettier formats the code: `npx prettier --check .`
- eslint lints JavaScript/TypeScript: `npx eslint .`

{NOTES}"""


def test_a_go_project(tmp_path):
    write(tmp_path, {"go.mod": "module example.com/tool\n\ngo 1.22\n", "main.go": "", "cmd/tool/main.go": "",
                     "internal/store/store.go": "", "internal/store/store_test.go": "", "vendor/x/x.go": ""})
    assert draft_agents_md(tmp_path) == f"""\
# example.com/tool

{INTRO}

## Overview

- Languages: Go (4 files)
- Layout:
  - `cmd/`: commands (main packages)
  - `internal/`: internal packages

## Setup

- `go mod download`

## Build

- `go build ./...`

## Test

- `go test ./...`

## Conventions

- `go vet ./...`
- `gofmt -l .`

{NOTES}"""


def test_rust_c_and_jvm_build_files(tmp_path):
    write(tmp_path, {"Cargo.toml": '[package]\nname = "fastcsv"\n', "rustfmt.toml": "", "CMakeLists.txt": "",
                     ".clang-format": "", "pom.xml": "<parent><artifactId>base</artifactId></parent>"
                     "<artifactId>fastcsv-java</artifactId>"})
    assert draft_agents_md(tmp_path) == f"""\
# fastcsv

{INTRO}

## Build

- `cargo build`
- `mvn -q package -DskipTests`
- `cmake -S . -B build && cmake --build build`

## Test

- `cargo test`
- `mvn -q test`
- `ctest --test-dir build`

## Conventions

- `cargo clippy`
- rustfmt formats Rust: `cargo fmt`
- clang-format formats C/C++: `clang-format -i FILE`

{NOTES}"""


def test_setup_cfg_tox_and_nox(tmp_path):
    write(tmp_path, {"setup.cfg": "[metadata]\nname = old\n\n[tool:pytest]\n\n[flake8]\nmax-line-length = 99\n\n"
                     "[mypy]\n", "tox.ini": "[tox]\nenvlist = py311\n", "noxfile.py": "", "requirements.txt": ""})
    assert draft_agents_md(tmp_path).split("## Setup\n\n")[1].split("## Notes")[0] == """\
- `pip install -e .`
- `pip install -r requirements.txt`

## Test

- `python -m pytest`
- `tox`
- `nox`

## Conventions

- flake8 lints Python: `flake8`
- mypy checks types: `mypy`

"""


def test_an_empty_folder_and_broken_manifests_still_give_a_draft(tmp_path):
    write(tmp_path, {"pyproject.toml": "[project\n", "package.json": "[1, 2", "setup.cfg": "no header\n"})
    assert draft_agents_md(tmp_path) == f"""\
# {tmp_path.name}

{INTRO}

## Setup

- `pip install -e .`

## Test

- No test command found; write it here.

{NOTES}"""


def test_write_refuses_to_replace_an_agents_md_without_force(tmp_path):
    write(tmp_path, {"AGENTS.md": "mine\n", "go.mod": "module m\n"})
    with pytest.raises(ConfigError) as error:
        write_agents_md(tmp_path)
    assert str(error.value) == (
        f"{tmp_path / 'AGENTS.md'} already exists; pass --force to replace it with a fresh draft.")
    assert (tmp_path / "AGENTS.md").read_text() == "mine\n"
    assert write_agents_md(tmp_path, force=True) == tmp_path / "AGENTS.md"
    assert (tmp_path / "AGENTS.md").read_text() == draft_agents_md(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["AGENTS.md", "go.mod"]  # no temp file left behind


def test_write_needs_an_existing_folder(tmp_path):
    with pytest.raises(WorkspaceError) as error:
        write_agents_md(tmp_path / "missing")
    assert str(error.value) == f"The workspace {tmp_path / 'missing'} does not exist or is not a directory."


CALC = "def add(a, b):\n    return a + b\n"
PYTEST_STYLE = "from calc import add\n\n\ndef test_add():\n    assert add(1, 2) == 3\n"
UNITTEST_STYLE = ("import unittest\n\nfrom calc import add\n\n\nclass AddTest(unittest.TestCase):\n"
                  "    def test_add(self):\n        self.assertEqual(add(1, 2), 3)\n")
PYTEST_IMPORT = "import pytest\n\nfrom calc import add\n\n\ndef test_add():\n    assert add(1, 2) == 3\n"

# Small real folders, one per runner, and the commands the Test section should name.
RUNNERS = {
    "a bare pytest file": ({"calc.py": CALC, "test_calc.py": PYTEST_STYLE}, ["python -m pytest"]),
    "a bare *_test.py file": ({"calc.py": CALC, "calc_test.py": PYTEST_STYLE}, ["python -m pytest"]),
    "a tests folder": ({"calc.py": CALC, "tests/test_calc.py": PYTEST_STYLE}, ["python -m pytest"]),
    "a bare unittest file": ({"calc.py": CALC, "test_calc.py": UNITTEST_STYLE}, ["python -m unittest"]),
    "unittest in a tests package": ({"calc.py": CALC, "tests/__init__.py": "", "tests/test_calc.py": UNITTEST_STYLE},
                                    ["python -m unittest"]),
    "unittest in a tests folder": ({"calc.py": CALC, "tests/test_calc.py": UNITTEST_STYLE},
                                   ["python -m unittest discover -s tests"]),
    "unittest in *_test.py files": ({"calc.py": CALC, "calc_test.py": UNITTEST_STYLE}, ["python -m pytest"]),
    "unittest files run by pytest": ({"calc.py": CALC, "test_calc.py": UNITTEST_STYLE, "test_more.py": PYTEST_IMPORT},
                                     ["python -m pytest"]),
    "unittest files, pytest a dependency": ({"calc.py": CALC, "test_calc.py": UNITTEST_STYLE,
                                             "requirements-dev.txt": "pytest>=8\n"}, ["python -m pytest"]),
    "tox.ini": ({"tox.ini": "[tox]\nenv_list = py312\n"}, ["tox"]),
    "tox in pyproject.toml": ({"pyproject.toml": "[tool.tox]\nenv_list = ['py312']\n"}, ["tox"]),
    "tox.toml": ({"tox.toml": "env_list = ['py312']\n"}, ["tox"]),
    "nox": ({"noxfile.py": "import nox\n"}, ["nox"]),
    "make test": ({"Makefile": "test:\n\t./run-tests\n"}, ["make test"]),
    "npm test": ({"package.json": '{"name": "w", "scripts": {"test": "node --test"}}'}, ["npm test"]),
    "npm's placeholder": ({"package.json": '{"name": "w", "scripts": {"test": "echo \\"Error: no test specified\\" '
                                           '&& exit 1"}}'}, ["No test command found; write it here."]),
    "cargo test": ({"Cargo.toml": '[package]\nname = "c"\n', "src/lib.rs": ""}, ["cargo test"]),
    "go test": ({"go.mod": "module m\n", "m.go": "package m\n"}, ["go test ./..."]),
}


def _test_section(draft):
    section = draft.split("## Test\n\n")[1].split("\n\n")[0]
    return [line[2:].strip("`") for line in section.splitlines()]


@pytest.mark.parametrize("case", RUNNERS)
def test_the_common_test_runners_are_found(tmp_path, case):
    files, expected = RUNNERS[case]
    write(tmp_path, files)
    assert _test_section(draft_agents_md(tmp_path)) == expected


@pytest.mark.parametrize("case", [c for c, (_, commands) in RUNNERS.items() if commands[0].startswith("python -m")])
def test_the_python_commands_found_really_run_the_tests(tmp_path, case):
    files, _ = RUNNERS[case]
    write(tmp_path, files)
    command = _test_section(draft_agents_md(tmp_path))[0].split()
    done = subprocess.run([sys.executable, *command[1:], *(["-p", "no:cacheprovider"] if "pytest" in command else [])],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    ran = re.search(r"\b[1-9]\d* passed|\bRan [1-9]\d* tests?\b", done.stdout + done.stderr)  # not just none found
    assert (done.returncode, bool(ran)) == (0, True), done.stdout + done.stderr
