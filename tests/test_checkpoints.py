"""Snapshot and restore of a workspace through the shadow repository: golden trees compared byte for byte."""

import os
import shutil
import stat
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from luban.workspace.checkpoints import Checkpoint, CheckpointError, Checkpoints, Restored


def tree(root: Path) -> dict[str, tuple]:
    """Every entry under root, never following a symlink: files with their bytes and executable bit,
    symlinks with their target, directories as such."""
    entries = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            rel = str(path.relative_to(root))
            info = path.lstat()
            if stat.S_ISLNK(info.st_mode):
                entries[rel] = ("link", os.readlink(path))
            elif stat.S_ISDIR(info.st_mode):
                entries[rel] = ("dir",)
            else:
                entries[rel] = ("file", path.read_bytes(), bool(info.st_mode & 0o100))
    return entries


@pytest.fixture
def project(tmp_path):
    """A small project: text, binary, an executable, a symlink, a nested directory, and a .gitignore'd venv."""
    root = tmp_path / "project"
    (root / "src" / "pkg").mkdir(parents=True)
    (root / "src" / "pkg" / "core.py").write_bytes(b"def f():\r\n    return 1\r\n")  # CRLF stays CRLF
    (root / "src" / "pkg" / "data.bin").write_bytes(bytes(range(256)) * 4)
    (root / "run.sh").write_bytes(b"#!/bin/sh\necho hi\n")
    (root / "run.sh").chmod(0o755)
    (root / "README").write_bytes(b"no newline at the end")
    (root / "empty").write_bytes(b"")
    (root / "caf\u00e9 menu.txt").write_text("unicode name with a space\n")
    (root / "docs").symlink_to("src")
    (root / "dangling").symlink_to("nowhere/at/all")
    (root / ".gitignore").write_text("venv/\n")
    (root / ".gitattributes").write_text("* text=auto eol=crlf ident\n")  # must not change a byte we keep
    (root / "id.txt").write_text("$Id: keep me $\n")
    (root / "venv").mkdir()
    (root / "venv" / "lib.py").write_text("ignored\n")
    return root


@pytest.fixture
def outside(tmp_path):
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "core.py").write_text("not yours\n")
    return folder


def open_store(project, tmp_path):
    return Checkpoints.open(project, tmp_path / "data")


def test_restore_after_creating_editing_deleting_and_swapping_puts_back_every_byte(project, outside, tmp_path):
    store = open_store(project, tmp_path)
    before = tree(project)
    commit = store.snapshot("before the turn")
    (project / "src" / "pkg" / "data.bin").write_bytes(b"\x00\xff changed")
    (project / "README").write_text("edited\n")
    (project / "run.sh").chmod(0o644)
    (project / "empty").chmod(0o755)
    (project / "id.txt").unlink()
    (project / "new" / "deeper").mkdir(parents=True)
    (project / "new" / "deeper" / "made.py").write_text("created\n")
    (project / "dangling").unlink()
    (project / "dangling").write_text("a file where a symlink was\n")
    (project / "caf\u00e9 menu.txt").unlink()
    (project / "caf\u00e9 menu.txt").symlink_to(outside / "core.py")  # restoring it must not write core.py
    (project / "docs").unlink()
    (project / "docs").mkdir()
    (project / "docs" / "page.md").write_text("a directory where a symlink was\n")
    shutil.rmtree(project / "src" / "pkg")
    (project / "src" / "pkg").symlink_to(outside)  # a directory swapped for a symlink to outside the project
    outside_before = tree(outside)

    restored = store.restore(commit)

    assert tree(project) == before
    assert tree(outside) == outside_before
    assert restored == Restored(
        written=("README", "caf\u00e9 menu.txt", "dangling", "empty", "run.sh"),
        created=("docs", "id.txt", "src/pkg/core.py", "src/pkg/data.bin"),
        deleted=("docs/page.md", "new/deeper/made.py", "src/pkg"),
        before=restored.before)
    assert restored.changed == 12


def test_restore_writes_nothing_through_a_symlinked_directory(project, outside, tmp_path):
    store = open_store(project, tmp_path)
    commit = store.snapshot("s")
    (project / "src" / "pkg" / "core.py").write_text("edited\n")
    shutil.rmtree(project / "src")
    (project / "src").symlink_to(outside)
    (outside / "pkg").mkdir()
    (outside / "pkg" / "core.py").write_text("planted\n")  # the same path, reached through the symlink
    outside_before = tree(outside)

    store.restore(commit)

    assert tree(outside) == outside_before
    assert not (project / "src").is_symlink()
    assert (project / "src" / "pkg" / "core.py").read_bytes() == b"def f():\r\n    return 1\r\n"


def test_gitignored_files_are_neither_kept_nor_restored(project, tmp_path):
    store = open_store(project, tmp_path)
    commit = store.snapshot("s")
    (project / "venv" / "lib.py").write_text("changed after the snapshot\n")
    (project / "venv" / "new.py").write_text("also new\n")

    assert store.restore(commit) == Restored((), (), (), store.snapshots()[0].commit)
    assert (project / "venv" / "lib.py").read_text() == "changed after the snapshot\n"
    assert (project / "venv" / "new.py").exists()


def test_restore_first_snapshots_the_files_as_they_were(project, tmp_path):
    store = open_store(project, tmp_path)
    commit = store.snapshot("s")
    (project / "README").write_text("work worth keeping\n")
    after_edit = tree(project)

    restored = store.restore(commit)
    store.restore(restored.before)

    assert tree(project) == after_edit


def test_snapshots_are_listed_newest_first(project, tmp_path):
    store = open_store(project, tmp_path)
    first = store.snapshot("fix the parser\nsecond line")
    second = store.snapshot("before `git reset --hard`")
    listed = store.snapshots()
    assert [(c.commit, c.note) for c in listed] == [(second, "before `git reset --hard`"),
                                                    (first, "fix the parser second line")]
    assert all(isinstance(c, Checkpoint) and c.time > 0 for c in listed)


def test_the_store_lives_outside_the_project_under_the_data_dir(project, tmp_path):
    store = open_store(project, tmp_path)
    assert store.git_dir.parent == (tmp_path / "data" / "checkpoints").resolve()
    assert store.git_dir == Checkpoints.open(project, tmp_path / "data").git_dir
    other = tmp_path / "other-project"
    other.mkdir()
    assert Checkpoints.open(other, tmp_path / "data").git_dir not in (store.git_dir, other)
    inside = Checkpoints.open(project, project / ".luban-data")
    with pytest.raises(CheckpointError) as error:
        inside.snapshot("s")
    assert str(error.value) == (f"The checkpoint store {project / '.luban-data' / 'checkpoints'} would be inside the "
                                f"project {project}; set a data directory outside it (LUBAN_HOME).")


def test_a_tree_too_big_to_copy_is_refused_in_one_sentence(project, tmp_path):
    store = replace(open_store(project, tmp_path), max_new_files=10)
    with pytest.raises(CheckpointError) as error:
        store.snapshot("s")
    assert str(error.value) == (f"{project} has 11 new files that no .gitignore excludes, more than a checkpoint "
                                "takes at once (10 files, 2048.0 MiB); list the big folders in .gitignore.")
    small = replace(open_store(project, tmp_path), max_new_bytes=1000)
    with pytest.raises(CheckpointError) as error:
        small.snapshot("s")
    assert str(error.value) == (f"{project} has 11 new files that no .gitignore excludes (0.0 MiB), more than a "
                                "checkpoint takes at once (100000 files, 0.0 MiB); list the big folders in .gitignore.")
    assert replace(store, max_new_files=11).snapshot("s")


def test_the_projects_and_users_git_config_and_environment_do_not_reach_the_store(project, tmp_path, monkeypatch):
    marker = tmp_path / "fsmonitor-ran"
    hook = tmp_path / "fsmonitor.sh"
    hook.write_text(f"#!/bin/sh\ntouch {marker}\n")
    hook.chmod(0o755)
    home = tmp_path / "home"
    home.mkdir()
    (home / ".gitconfig").write_text(f"[core]\n\tfsmonitor = {hook}\n\texcludesFile = {home / 'ignore'}\n")
    (home / "ignore").write_text("README\n")
    (project / ".git").mkdir()
    (project / ".git" / "config").write_text(f"[core]\n\tfsmonitor = {hook}\n")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_DIR", str(project / ".git"))
    monkeypatch.setenv("GIT_INDEX_FILE", str(tmp_path / "foreign-index"))
    store = open_store(project, tmp_path)
    commit = store.snapshot("s")
    (project / "README").unlink()

    assert store.restore(commit).created == ("README",)
    assert not marker.exists()
    assert not (tmp_path / "foreign-index").exists()
    assert sorted(os.listdir(project / ".git")) == ["config"]


def test_a_nested_repository_is_skipped_not_an_error(project, tmp_path):
    nested = project / "vendor" / "lib"
    nested.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(nested)], check=True)
    (nested / "code.py").write_text("nested\n")
    store = open_store(project, tmp_path)
    commit = store.snapshot("s")
    (nested / "code.py").write_text("changed\n")
    (project / "README").write_text("changed\n")

    assert store.restore(commit).written == ("README",)
    assert (nested / "code.py").read_text() == "changed\n"


def test_a_tampered_checkpoint_that_leaves_the_workspace_changes_nothing(project, tmp_path):
    store = open_store(project, tmp_path)
    store.snapshot("s")
    before = tree(project)

    def git(*args, stdin=None):
        return subprocess.run(["git", f"--git-dir={store.git_dir}", *args], input=stdin, capture_output=True,
                              check=True).stdout.strip()

    blob = git("hash-object", "-w", "--stdin", stdin=b"evil\n").decode()
    inner = git("mktree", stdin=f"100644 blob {blob}\tescaped.txt\n".encode()).decode()
    evil = git("mktree", stdin=f"040000 tree {inner}\t..\n".encode()).decode()
    commit = git("commit-tree", evil, "-m", "tampered", stdin=b"").decode()

    with pytest.raises(CheckpointError) as error:
        store.restore(commit)
    assert str(error.value) == "The checkpoint store holds a path that would leave the workspace: '../escaped.txt'."
    assert tree(project) == before
    assert not (tmp_path / "escaped.txt").exists()


def test_a_missing_checkpoint_or_a_damaged_store_is_one_sentence(project, tmp_path):
    store = open_store(project, tmp_path)
    with pytest.raises(CheckpointError) as error:
        store.restore("0" * 40)
    assert str(error.value) == (f"Checkpoint 000000000000 is not in {store.git_dir}: the checkpoint store was "
                                "removed or damaged.")
    store.snapshot("s")
    (store.git_dir / "HEAD").write_text("garbage\n")
    with pytest.raises(CheckpointError) as error:
        store.snapshot("t")
    assert str(error.value) == (f"The checkpoint store {store.git_dir} is damaged or unusable (git ls-files: fatal: "
                                f"not a git repository: '{store.git_dir}').")


def test_git_is_found_on_the_path_the_store_is_given(project, tmp_path):
    store = replace(open_store(project, tmp_path), environ={"PATH": str(tmp_path / "no-git-here")})
    with pytest.raises(CheckpointError) as error:
        store.snapshot("s")
    assert str(error.value) == "Checkpoints need git, and git is not on PATH."
