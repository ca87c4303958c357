"""Real fixes reverted: between two adjacent releases of a library, each changed hunk of library code is
undone on its own; it makes a task when the newer release's tests (hidden until grading) then fail. The
starting workspace has the older tests and changelog, so nothing in it describes the fix."""

from __future__ import annotations

import ast
import difflib
import hashlib
import random
import subprocess
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Mapping

from ..packages import PackageUnavailable
from .mutate import Edit, Mutation, read_exact
from .pins import Pin, Sdist
from .tasks import digest, make_task
from .validate import Bench, judge, work_trees

CHANGELOG_PREFIXES = ("CHANGE", "HISTORY", "NEWS", "RELEASE")
MAX_HUNKS = 30  # reverted hunks tried per release
MAX_PER_RELEASE = 8  # tasks kept per release


def release_sdist(name: str, version: str, cache: Path) -> Sdist:
    """An sdist pinned by what PyPI serves now (the sha256 is recorded in the manifest and checked on load)."""
    folder = cache / "sdists"
    folder.mkdir(parents=True, exist_ok=True)
    before = set(folder.glob("*.tar.gz"))
    found = [p for p in before if _is_sdist_of(p.name, name, version)]
    if not found:
        done = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
                               "-d", str(folder), f"{name}=={version}"], capture_output=True, text=True)
        found = [p for p in set(folder.glob("*.tar.gz")) - before if _is_sdist_of(p.name, name, version)]
        if done.returncode != 0 or not found:
            raise PackageUnavailable(f"No .tar.gz sdist for {name}=={version}")
    path = found[0]
    return Sdist(name, version, path.name, hashlib.sha256(path.read_bytes()).hexdigest())


def _is_sdist_of(file_name: str, name: str, version: str) -> bool:
    norm = name.lower().replace("-", "_")
    return file_name.lower().replace("-", "_") == f"{norm}_{version}.tar.gz".replace("-", "_")


@dataclass(frozen=True)
class Hunk:
    """One changed region of library code, as the edit that puts the older text back."""

    edit: Edit
    line: int
    function: str  # the enclosing function in the newer release ("" at module level)


@dataclass(frozen=True)
class ReleaseDiff:
    hunks: tuple[Hunk, ...]  # library code: each is a candidate on its own
    setup: tuple[Edit, ...]  # tests and changelog put back to the older release
    hidden: Mapping[str, str]  # the newer release's changed and added test files
    removed: tuple[str, ...]  # test files the newer release added (absent from the start)


def release_pin(pin: Pin, sdist: Sdist) -> Pin:
    return replace(pin, sdist=sdist)


def diff_releases(pin: Pin, old: Path, new: Path) -> ReleaseDiff:
    """Compare the two unpacked trees (top folders) file by file."""
    files = sorted({_rel(p, old) for p in old.rglob("*") if p.is_file()} |
                   {_rel(p, new) for p in new.rglob("*") if p.is_file()})
    hunks: list[Hunk] = []
    setup: list[Edit] = []
    hidden: dict[str, str] = {}
    removed: list[str] = []
    for rel in files:
        if "egg-info" in rel or "__pycache__" in rel:
            continue
        a, b = _read(old / rel), _read(new / rel)
        if a == b or b is None:
            continue
        if rel.endswith(".py") and pin.is_test_file(rel):
            hidden[rel] = b
            if a is None:
                removed.append(rel)
            else:
                setup.extend(_hunks(rel, a, b))
        elif rel.endswith(".py") and rel.startswith(pin.package) and a is not None:
            hunks.extend(Hunk(e, line, _enclosing(b, line)) for e, line in _hunks_with_lines(rel, a, b))
        elif Path(rel).name.upper().startswith(CHANGELOG_PREFIXES) and a is not None:
            setup.extend(_hunks(rel, a, b))
    return ReleaseDiff(tuple(hunks), tuple(setup), hidden, tuple(removed))


def _rel(path: Path, top: Path) -> str:
    return str(path.relative_to(top))


def _read(path: Path) -> str | None:
    try:
        return read_exact(path) if path.is_file() else None
    except UnicodeDecodeError:
        return None


def _hunks(rel: str, old: str, new: str) -> list[Edit]:
    return [e for e, _ in _hunks_with_lines(rel, old, new)]


def _hunks_with_lines(rel: str, old: str, new: str) -> list[tuple[Edit, int]]:
    """Edits (newer text -> older text) for each changed group of lines, with offsets into the newer text.
    Applied in any order one at a time they stay exact only from the end, so they are returned last first."""
    a, b = old.splitlines(keepends=True), new.splitlines(keepends=True)
    starts = [0]
    for line in b:
        starts.append(starts[-1] + len(line))
    edits = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag != "equal":
            edits.append((Edit(rel, starts[j1], "".join(b[j1:j2]), "".join(a[i1:i2])), j1 + 1))
    return edits[::-1]


def _enclosing(text: str, line: int) -> str:
    """Qualified name of the innermost function around `line` in `text`."""
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return ""
    best, stack = "", [(tree, "")]
    while stack:
        node, prefix = stack.pop()
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                name = prefix + child.name
                if child.lineno <= line <= (child.end_lineno or child.lineno):
                    if not isinstance(child, ast.ClassDef):
                        best = name
                    stack.append((child, name + "."))
    return best


# Recent releases, newest first (the first is the pinned version); each adjacent pair is diffed.
RELEASES: Mapping[str, tuple[str, ...]] = {
    "boltons": ("26.2.0", "26.1.0", "26.0.0", "25.0.0"),
    "cachetools": ("8.0.1", "8.0.0", "7.3.2", "7.3.1"),
    "click": ("8.5.1", "8.5.0", "8.4.2", "8.4.1"),
    "funcy": ("2.1", "2.0", "1.18"),
    "inflection": ("0.5.1", "0.5.0"),
    "itsdangerous": ("2.2.0", "2.1.2"),
    "jinja2": ("3.1.6", "3.1.5", "3.1.4"),
    "marshmallow": ("4.4.0", "4.3.1", "4.3.0", "4.2.4"),
    "more-itertools": ("11.2.1", "11.2.0", "11.1.0"),
    "parse": ("1.22.4", "1.22.3", "1.22.2", "1.22.1"),
    "semver": ("3.1.1", "3.1.0", "3.0.4"),
    "simplejson": ("4.3.0", "4.2.0", "4.1.2"),
    "tabulate": ("0.10.0", "0.9.0"),
    "toolz": ("1.2.0", "1.1.0", "1.0.0"),
}


@dataclass(frozen=True)
class ReleaseFound:
    tasks: list[dict[str, Any]]
    pins: list[Pin]  # the newer releases the tasks start from, other than the pinned version
    payloads: dict[str, dict[str, Any]]  # release key -> what its tasks share: see `payload`


def release_tasks(pin: Pin, cache: Path, bench: Bench, seed: int, say: Callable[[str], None],
                  budget_s: float = 240.0) -> ReleaseFound:
    """Tasks from each adjacent pair of recent releases of the pinned library, newest first, until the
    time budget is spent (a library with a slow suite gets fewer)."""
    versions = RELEASES.get(pin.name, ())
    found = ReleaseFound([], [], {})
    deadline = time.monotonic() + budget_s
    for new_version, old_version in zip(versions, versions[1:]):
        try:
            new_pin = pin if new_version == pin.sdist.version else release_pin(
                pin, release_sdist(pin.name, new_version, cache))
            old_sdist = release_sdist(pin.name, old_version, cache)
            old = old_sdist.unpack(cache)
            key = f"{pin.name} {old_version} -> {new_version}"
            diff = diff_releases(new_pin, old, new_pin.sdist.unpack(cache))
            tasks = _pair_tasks(new_pin, diff, key, cache, bench, seed, say, deadline)
        except (PackageUnavailable, RuntimeError, OSError) as exc:
            say(f"{pin.name} {old_version} -> {new_version}: skipped ({str(exc).splitlines()[0][:200]})")
            continue
        if tasks:
            found.tasks.extend(tasks)
            found.payloads[key] = payload(old_sdist, diff)
            if new_pin is not pin:
                found.pins.append(new_pin)
    return found


def payload(old: Sdist, diff: ReleaseDiff) -> dict[str, Any]:
    """What a release's tasks share, by reference rather than by content (the manifest stays small): files
    copied from the older sdist at the start, test files copied from the newer (pinned) tree to grade, and
    test files the newer release added, absent at the start."""
    return {"old": vars(old), "restore": sorted({e.file for e in diff.setup}), "hidden": sorted(diff.hidden),
            "removed": list(diff.removed)}


def _pair_tasks(pin: Pin, diff: ReleaseDiff, key: str, cache: Path, bench: Bench, seed: int,
                say: Callable[[str], None], deadline: float) -> list[dict[str, Any]]:
    if not diff.hidden or not diff.hunks:
        say(f"{pin.name} {pin.sdist.version}: the release changed no tests or no library code")
        return []
    with work_trees(pin, cache, bench, "luban-release") as (root, pristine, base):
        tasks, seen = [], set()
        # A big release has hundreds of hunks: a seeded sample keeps one release from crowding out the rest.
        hunks = random.Random(f"{seed}:{key}").sample(diff.hunks, min(MAX_HUNKS, len(diff.hunks)))
        for hunk in hunks:
            if len(tasks) >= MAX_PER_RELEASE or time.monotonic() > deadline:
                break
            verdict = judge(pin, root, bench, base, [hunk.edit])
            if not verdict.kept or frozenset(verdict.broken) in seen:
                continue
            if judge(pin, root, bench, base, [hunk.edit]).broken != verdict.broken:
                continue
            seen.add(frozenset(verdict.broken))
            edit = hunk.edit
            mutation = Mutation(edit, "release revert", hunk.line, hunk.function)
            tasks.append(make_task(pin, root, pristine, bench, base, mutation, verdict, seed,
                                   id=f"{pin.name}-r{digest(pin.sdist.version, edit.file, edit.offset)}",
                                   kind="release revert", tier="hard", release=key))
            say(f"{pin.name}: + {tasks[-1]['id']} [hard] release revert {pin.sdist.version} "
                f"{edit.file}:{hunk.line} breaks {len(verdict.broken)}")
    say(f"{key}: kept {len(tasks)} of {len(hunks)} reverted hunks tried ({len(diff.hunks)} in the release)")
    return tasks
