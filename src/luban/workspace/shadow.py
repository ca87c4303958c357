"""The shadow repository: snapshots of a workspace in a git repository outside the project, and restoring one
byte for byte without ever following a symlink. What git cannot keep is not restored: files the project's .gitignore
ignores, nested git repositories, empty directories, and any mode bit but the executable one.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import os
import shutil
import stat
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Mapping

from ..config import environment
from ..errors import LubanError
from .tempfiles import open_locked, temp_name

SNAPSHOTS_REF = "refs/luban/snapshots"  # one chain of commits: every snapshot stays reachable, never collected
# Read from the shadow repository's info/: the project's .git is never copied, and no .gitattributes in the
# project may rewrite line endings, expand $Id$ or run a filter (the snapshot must hold the bytes on disk).
EXCLUDES = ".git/\n"
ATTRIBUTES = "* -text -eol -ident -filter -diff -working-tree-encoding\n"
# No system, global or XDG config, hooks or excludes file of the user's: only what we pass here applies.
GIT_CONFIG = ("core.hooksPath=/dev/null", "core.excludesFile=/dev/null", "core.attributesFile=/dev/null",
              "core.autocrlf=false", "core.safecrlf=false", "core.symlinks=true", "core.fileMode=true",
              "core.quotePath=false", "gc.auto=0", "maintenance.auto=false", "commit.gpgSign=false")
GIT_ENV = {"GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_ATTR_NOSYSTEM": "1",
           "GIT_TERMINAL_PROMPT": "0", "GIT_AUTHOR_NAME": "luban", "GIT_AUTHOR_EMAIL": "luban@localhost",
           "GIT_COMMITTER_NAME": "luban", "GIT_COMMITTER_EMAIL": "luban@localhost", "LC_ALL": "C"}
FILE_MODES = {"100644": False, "100755": True}  # git mode -> executable
SYMLINK_MODE = "120000"
# Files new since the last snapshot that one snapshot takes; more means a tree nobody meant to copy.
MAX_NEW_FILES, MAX_NEW_BYTES = 100_000, 2 << 30


class CheckpointError(LubanError):
    """The checkpoint store is missing, damaged or unusable; or a checkpoint does not exist."""


@dataclass(frozen=True)
class Checkpoint:
    commit: str
    note: str
    time: float


@dataclass(frozen=True)
class Restored:
    """What a restore changed, as paths relative to the root; `before` is a snapshot of the files as they were."""

    written: tuple[str, ...]  # existed, content, mode or kind put back
    created: tuple[str, ...]  # missing, put back
    deleted: tuple[str, ...]  # not in the checkpoint, removed
    before: str = ""

    @property
    def changed(self) -> int:
        return len(self.written) + len(self.created) + len(self.deleted)


@dataclass(frozen=True)
class Checkpoints:
    """The shadow repository of one project root: `data_dir/checkpoints/<hash of root>`."""

    root: Path
    git_dir: Path
    max_new_files: int = MAX_NEW_FILES
    max_new_bytes: int = MAX_NEW_BYTES
    # The environment git runs in (config.environment(), less GIT_* variables): PATH finds git.
    environ: Mapping[str, str] = field(default_factory=environment, repr=False, compare=False)

    @classmethod
    def open(cls, root: Path, data_dir: Path) -> Checkpoints:
        """The store of `root`. Nothing is checked or created before the first use, so opening cannot fail: a
        store that cannot work says so when the loop first snapshots, and the turn goes on without one."""
        root = Path(root).resolve()
        store = Path(data_dir).expanduser().resolve() / "checkpoints"
        return cls(root, store / hashlib.sha256(os.fsencode(root)).hexdigest()[:16])

    def _create(self) -> None:
        if shutil.which("git", path=self.environ.get("PATH", os.defpath)) is None:
            raise CheckpointError("Checkpoints need git, and git is not on PATH.")
        self._git("init", "-q", "--bare", str(self.git_dir), work_tree=False)
        info = self.git_dir / "info"
        info.mkdir(exist_ok=True)
        (info / "exclude").write_text(EXCLUDES)
        (info / "attributes").write_text(ATTRIBUTES)
        (self.git_dir / "luban-root").write_text(f"{self.root}\n")

    def snapshot(self, note: str) -> str:
        """Commit the workspace as it is now (untracked files too, symlinks as symlinks); returns the commit id."""
        with self._locked():
            return self._snapshot(note)

    def restore(self, commit: str) -> Restored:
        """Put the files back as they were at `commit`, first snapshotting them as they are (Restored.before).

        Only paths that differ are touched. Nothing is written through a symlink: a path component that became
        a symlink (or a file) is removed and a real directory put back in its place.
        """
        with self._locked():
            self._resolve(commit)
            before = self._snapshot(f"before restoring {commit[:12]}")
            changes = self._changes(before, commit)
            blobs = self._blobs([sha for _, mode, sha, _ in changes if mode in FILE_MODES or mode == SYMLINK_MODE])
            with _root_fd(self.root) as root_fd:
                return _apply(root_fd, changes, blobs, before)

    def snapshots(self, limit: int = 100) -> list[Checkpoint]:
        """The newest snapshots first."""
        with self._locked():
            if not self._git("rev-parse", "-q", "--verify", SNAPSHOTS_REF, check=False).strip():
                return []
            out = self._git("log", "-z", f"-{limit}", "--format=%H%x1f%ct%x1f%s", SNAPSHOTS_REF)
        entries = [e.decode("utf-8", "replace").split("\x1f") for e in out.split(b"\0") if e.strip()]
        return [Checkpoint(c.strip(), note, float(t)) for c, t, note in entries]

    def _snapshot(self, note: str) -> str:
        # A nested repository (listed as "dir/") would become a gitlink without its files, or fail the add.
        new = self._paths("ls-files", "-z", "-o", "--exclude-standard")
        nested = [p[:-1] for p in new if p.endswith("/")]
        self._check_size([p for p in new if not p.endswith("/")])
        specs = [".", *(f":(exclude,literal){p}" for p in nested)]
        self._git("add", "-A", "--pathspec-from-file=-", "--pathspec-file-nul",
                  stdin=b"\0".join(os.fsencode(s) for s in specs))
        tree = self._git("write-tree").decode().strip()
        parent = self._git("rev-parse", "-q", "--verify", SNAPSHOTS_REF, check=False).decode().strip()
        message = " ".join(note.split()) or "snapshot"
        commit = self._git("commit-tree", tree, *(["-p", parent] if parent else []), "-m", message).decode().strip()
        self._git("update-ref", SNAPSHOTS_REF, commit)
        return commit

    def _check_size(self, new: list[str]) -> None:
        """Refuse to copy a tree that is too big (a home folder, a data set nobody ignored): the copy would take
        minutes and the disk space of the tree again."""
        size = sum(_size(self.root / p) for p in new) if len(new) <= self.max_new_files else 0
        if len(new) > self.max_new_files or size > self.max_new_bytes:
            megabytes = f" ({size / 2**20:.1f} MiB)" if size else ""
            raise CheckpointError(f"{self.root} has {len(new)} new files that no .gitignore excludes{megabytes}, more "
                                  f"than a checkpoint takes at once ({self.max_new_files} files, "
                                  f"{self.max_new_bytes / 2**20:.1f} MiB); list the big folders in .gitignore.")

    def _resolve(self, commit: str) -> str:
        found = self._git("rev-parse", "-q", "--verify", f"{commit}^{{commit}}", check=False).decode().strip()
        if not found:
            raise CheckpointError(f"Checkpoint {commit[:12]} is not in {self.git_dir}: the checkpoint store was "
                                  "removed or damaged.")
        return found

    def _changes(self, current: str, target: str) -> list[tuple[str, str, str, str]]:
        """(status, mode in target, blob in target, path) for each path that differs, from current to target."""
        fields = self._git("diff-tree", "-r", "-z", "--no-renames", current, target).split(b"\0")
        changes = []
        for header, path in zip(fields[0::2], fields[1::2]):
            _, new_mode, _, new_sha, status = header.decode().lstrip(":").split(" ")
            _parts(os.fsdecode(path))  # all checked before any file changes
            changes.append((status, new_mode, new_sha, os.fsdecode(path)))
        return changes

    def _blobs(self, shas: list[str]) -> dict[str, bytes]:
        if not shas:
            return {}
        out = self._git("cat-file", "--batch", stdin="".join(f"{s}\n" for s in shas).encode())
        blobs, at = {}, 0
        while at < len(out):
            end = out.index(b"\n", at)
            sha, kind, size = out[at:end].decode().split(" ")
            if kind != "blob":
                raise CheckpointError(f"The checkpoint store {self.git_dir} is damaged: {sha} is a {kind}.")
            blobs[sha] = out[end + 1:end + 1 + int(size)]
            at = end + 2 + int(size)
        return blobs

    def _paths(self, *args: str) -> list[str]:
        return [os.fsdecode(p) for p in self._git(*args).split(b"\0") if p]

    def _git(self, *args: str, stdin: bytes | None = None, check: bool = True, work_tree: bool = True) -> bytes:
        env = {k: v for k, v in self.environ.items() if not k.startswith("GIT_")} | GIT_ENV
        config = [arg for pair in GIT_CONFIG for arg in ("-c", pair)]
        where = [f"--git-dir={self.git_dir}", f"--work-tree={self.root}"] if work_tree else []
        argv = ["git", *config, *where, *args]
        try:
            done = subprocess.run(argv, input=stdin, cwd=self.root, env=env, capture_output=True, check=False)
        except FileNotFoundError:
            raise CheckpointError("Checkpoints need git, and git is not on PATH.") from None
        if check and done.returncode != 0:
            said = (done.stderr.decode("utf-8", "replace").strip().splitlines() or ["no message"])[-1]
            raise CheckpointError(f"The checkpoint store {self.git_dir} is damaged or unusable "
                                  f"(git {args[0]}: {said}).")
        return done.stdout

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """One snapshot or restore at a time per project, across processes (git's own index.lock would fail);
        the store is made on first use."""
        store = self.git_dir.parent
        if store == self.root or self.root in store.parents:
            raise CheckpointError(f"The checkpoint store {store} would be inside the project {self.root}; "
                                  "set a data directory outside it (LUBAN_HOME).")
        try:
            self.git_dir.mkdir(parents=True, exist_ok=True)
            lock = open(self.git_dir / "luban.lock", "a")
        except OSError as exc:
            raise CheckpointError(f"Cannot open the checkpoint store {self.git_dir}: {exc.strerror}.") from None
        with lock:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            if not (self.git_dir / "HEAD").exists():
                self._create()
            yield


@contextlib.contextmanager
def _root_fd(root: Path) -> Iterator[int]:
    try:
        fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    except OSError as exc:
        raise CheckpointError(f"Cannot open the workspace {root}: {exc.strerror}.") from None
    try:
        yield fd
    finally:
        os.close(fd)


def _apply(root_fd: int, changes: list[tuple[str, str, str, str]], blobs: dict[str, bytes], before: str) -> Restored:
    """Deletions first (a file may stand where a directory must come back), then the directories they emptied,
    then every write."""
    deleted = [path for status, _, _, path in changes if status == "D"]
    for path in deleted:
        _remove(root_fd, path)
    for path in deleted:
        _prune(root_fd, path)
    umask = _umask()
    for status, mode, sha, path in changes:
        if status != "D" and (mode in FILE_MODES or mode == SYMLINK_MODE):
            _put(root_fd, path, blobs[sha], mode, umask)
    kept = [(s, p) for s, m, _, p in changes if s == "D" or m in FILE_MODES or m == SYMLINK_MODE]
    return Restored(tuple(p for s, p in kept if s not in "AD"), tuple(p for s, p in kept if s == "A"),
                    tuple(deleted), before)


def _parts(path: str) -> list[str]:
    """The names along a path from the store; git never records these, so one means a tampered store."""
    parts = path.split("/")
    if any(p in ("", ".", "..", ".git") for p in parts):
        raise CheckpointError(f"The checkpoint store holds a path that would leave the workspace: {path!r}.")
    return parts


def _walk(root_fd: int, parts: list[str], create: bool) -> int | None:
    """A new fd of the directory at `parts` under the root, never following a symlink on the way.

    With `create`, a missing directory is made and anything else in its place (a symlink, a file) is removed
    first; without, None when the path is not a real directory all the way down.
    """
    fd = os.dup(root_fd)
    try:
        for name in parts:
            try:
                child = _open_dir(fd, name)
            except OSError as exc:
                if exc.errno not in (errno.ENOENT, errno.ELOOP, errno.ENOTDIR):
                    raise
                if not create:
                    os.close(fd)
                    return None
                if exc.errno != errno.ENOENT:
                    os.unlink(name, dir_fd=fd)  # the symlink itself, or the file: never what it points to
                os.mkdir(name, 0o777, dir_fd=fd)
                child = _open_dir(fd, name)
            os.close(fd)
            fd = child
    except BaseException:
        os.close(fd)
        raise
    return fd


def _open_dir(dir_fd: int, name: str) -> int:
    return os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=dir_fd)


def _remove(root_fd: int, path: str) -> None:
    *dirs, name = _parts(path)
    fd = _walk(root_fd, dirs, create=False)
    if fd is None:
        return  # its directory is gone or became a symlink: there is nothing of ours to remove
    try:
        os.unlink(name, dir_fd=fd)
    except FileNotFoundError:
        pass
    except IsADirectoryError:
        shutil.rmtree(name, dir_fd=fd)
    finally:
        os.close(fd)


def _prune(root_fd: int, path: str) -> None:
    """Remove the directories that the deletion of `path` left empty, deepest first."""
    dirs = _parts(path)[:-1]
    while dirs:
        fd = _walk(root_fd, dirs[:-1], create=False)
        if fd is None:
            return
        try:
            os.rmdir(dirs[-1], dir_fd=fd)
        except OSError:
            return  # not empty, already gone, or not a directory: leave it
        finally:
            os.close(fd)
        dirs.pop()


def _put(root_fd: int, path: str, data: bytes, mode: str, umask: int) -> None:
    """Write one file or symlink atomically: into a temp name in its real directory, then renamed over."""
    *dirs, name = _parts(path)
    fd = _walk(root_fd, dirs, create=True)
    assert fd is not None
    tmp = temp_name(name)
    try:
        old = _lstat(fd, name)
        if old and stat.S_ISDIR(old.st_mode):
            shutil.rmtree(name, dir_fd=fd)  # a directory stands where the file was: nothing in it is kept by git
        if mode == SYMLINK_MODE:
            os.symlink(os.fsdecode(data), tmp, dir_fd=fd)
        else:
            _write(fd, tmp, data, _permissions(old, FILE_MODES[mode], umask))
        os.replace(tmp, name, src_dir_fd=fd, dst_dir_fd=fd)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp, dir_fd=fd)
        raise
    finally:
        os.close(fd)


def _write(dir_fd: int, name: str, data: bytes, permissions: int) -> None:
    with os.fdopen(open_locked(dir_fd, name, 0o600), "wb") as f:
        f.write(data)
        f.flush()
        os.fchmod(f.fileno(), permissions)
        os.fsync(f.fileno())


def _permissions(old: os.stat_result | None, executable: bool, umask: int) -> int:
    """Keep a file's own permissions and set only the executable bit as git recorded it."""
    base = stat.S_IMODE(old.st_mode) if old and stat.S_ISREG(old.st_mode) else 0o666 & ~umask
    return base | ((base & 0o444) >> 2) if executable else base & ~0o111


def _lstat(dir_fd: int, name: str) -> os.stat_result | None:
    try:
        return os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return None


def _size(path: Path) -> int:
    try:
        return path.lstat().st_size
    except OSError:
        return 0


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask

