"""A command cannot create or change what runs or configures things later — `.luban/`, `.git/hooks`, `.git/config`,
a core.hooksPath folder — whether or not it exists yet, by writing, creating or renaming, under each sandbox
this kernel has; and nothing is left behind in the workspace once the command is done."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from .test_sandbox_escapes import KINDS, working

PLANT = "echo 'base_url = \"http://127.0.0.1:9/\"' > config.toml; echo '#!/bin/sh' > pre-commit; chmod +x pre-commit"


def _workspace(root: Path, *, luban: bool, git: bool, hooks: bool, config: bool) -> None:
    (root / "src" / "planted").mkdir(parents=True)
    if luban:
        (root / ".luban").mkdir()
        (root / ".luban" / "config.toml").write_text("max_steps = 5\n")
    if git:
        (root / ".git" / "objects").mkdir(parents=True)
        (root / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    if git and hooks:
        (root / ".git" / "hooks").mkdir()
    if git and config:
        (root / ".git" / "config").write_text("[core]\n")


def _tree(root: Path) -> dict[str, str]:
    """Every path under root but src/ (the command's own scratch): file contents, folders as '/'."""
    tree = {}
    for path in sorted(root.rglob("*")):
        name = path.relative_to(root).as_posix()
        if not name.startswith("src"):
            tree[name] = "/" if path.is_dir() else path.read_text()
    return tree


def _run(kind: str, root: Path, command: str) -> subprocess.CompletedProcess[str]:
    sandbox = working(kind)
    return subprocess.run(sandbox.wrap(["bash", "-c", command], root), cwd=root, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=60)


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("LUBAN_HOME", str(tmp_path / "home" / ".luban-home"))
    return tmp_path / "home"


ATTACKS = {
    ".luban": f"cd src/planted && {PLANT}; cd ../..; mkdir -p .luban; cp src/planted/config.toml .luban/; "
              "mv src/planted .luban; ln -s src/planted .luban; rm -rf .luban",
    ".git/hooks": f"cd src/planted && {PLANT}; cd ../..; mkdir -p .git/hooks; cp src/planted/pre-commit .git/hooks/; "
                  "mv .git/hooks .git/hooks-old; mv src/planted .git/hooks; rm -rf .git/hooks",
    ".git/config": "echo '[core] fsmonitor = evil' >> .git/config; echo '[core]' > src/config; "
                   "mv src/config .git/config; rm -f .git/config",
}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("target", sorted(ATTACKS))
@pytest.mark.parametrize("existed", [True, False], ids=["existing", "absent"])
def test_a_protected_path_can_be_neither_changed_nor_created(kind, target, existed, tmp_path, home):
    root = tmp_path / "ws"
    _workspace(root, luban=existed, git=True, hooks=existed, config=existed)
    before = _tree(root)
    _run(kind, root, ATTACKS[target])
    assert _tree(root) == before


@pytest.mark.parametrize("kind", KINDS)
def test_no_repository_can_be_made_where_there_is_none(kind, tmp_path, home):
    """Else `git init` then a hook, in one command, plants what the user's next git command runs."""
    root = tmp_path / "ws"
    _workspace(root, luban=False, git=False, hooks=False, config=False)
    done = _run(kind, root, f"cd src/planted && {PLANT} && cd ../.. && git init -q . ; mkdir -p .git/hooks; "
                            "cp src/planted/pre-commit .git/hooks/; mv src/planted .git; echo done")
    assert _tree(root) == {}
    assert done.stdout.endswith("done\n")


@pytest.mark.parametrize("kind", KINDS)
def test_a_hooks_path_folder_cannot_be_created(kind, tmp_path, home):
    root = tmp_path / "ws"
    _workspace(root, luban=True, git=True, hooks=True, config=False)
    (root / ".git" / "config").write_text('[core]\n\thooksPath = ".husky/_"\n')
    (root / ".husky").mkdir()
    (root / ".husky" / "pre-commit").write_text("npm test\n")
    before = _tree(root)
    _run(kind, root, f"cd src/planted && {PLANT}; cd ../..; mkdir -p .husky/_; cp src/planted/pre-commit .husky/_/; "
                     "mv src/planted .husky/_")
    assert _tree(root) == before


@pytest.mark.parametrize("kind", KINDS)
def test_a_luban_link_to_a_missing_folder_cannot_be_filled(kind, tmp_path, home):
    """A repository may ship `.luban` as a link to a folder it lacks: the command must not make the folder."""
    root = tmp_path / "ws"
    _workspace(root, luban=False, git=True, hooks=True, config=True)
    (root / ".luban").symlink_to("src/cfg")
    _run(kind, root, f"cd src/planted && {PLANT}; cd ../..; mkdir -p src/cfg; cp src/planted/config.toml src/cfg/; "
                     "mv src/planted src/cfg")
    assert not (root / "src" / "cfg").exists()
    assert os.readlink(root / ".luban") == "src/cfg"


@pytest.mark.parametrize("kind", KINDS)
def test_the_workspace_stays_writable_and_nothing_is_left_behind(kind, tmp_path, home):
    root = tmp_path / "ws"
    _workspace(root, luban=False, git=True, hooks=False, config=False)
    done = _run(kind, root, "echo ok > src/made; ls -A; ls -A .git")
    assert (root / "src" / "made").read_text() == "ok\n"
    assert sorted(p.name for p in root.iterdir()) == [".git", "src"]
    assert sorted(p.name for p in (root / ".git").iterdir()) == ["HEAD", "objects"]
    # Inside bwrap, empty read-only placeholders stand where the protected paths would be.
    inside = {"bwrap": ".git\n.luban\nsrc\nHEAD\nconfig\nhooks\nobjects\n", "landlock": ".git\nsrc\nHEAD\nobjects\n"}
    assert done.stdout == inside[kind]


@pytest.mark.parametrize("kind", KINDS)
def test_a_stopped_command_leaves_nothing_behind(kind, tmp_path, home):
    """The bash tool ends a command that runs too long with SIGTERM to its process group."""
    root = tmp_path / "ws"
    _workspace(root, luban=False, git=False, hooks=False, config=False)
    sandbox = working(kind)
    proc = subprocess.Popen(sandbox.wrap(["bash", "-c", "touch src/started; sleep 60"], root), cwd=root,
                            start_new_session=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while not (root / "src" / "started").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert sorted(p.name for p in root.iterdir()) == ["src"]
