"""Loading the bugfix suite from its manifest: each task's workspace is the pinned library's pristine tree
(fetched and unpacked once into a cache) with the task's edits applied; hidden test files come at grading."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Mapping

from ..task import Grading, Suite, Task, _write_all
from .mutate import Edit
from .pins import Pin, Sdist, pin_from_json

DESCRIPTION = ("Repo-level bug fixing in pinned pure-Python libraries: single-site mutations and reverted "
               "upstream fixes, graded by the library's own tests.")


@dataclass(frozen=True)
class BugfixSource:
    """A pinned library's tree with edits applied. For a reverted release, `restore` files come from the
    `old` sdist and `removed` ones are deleted at the start; at grading, the `reveal` files are copied back
    from the pinned tree and `hidden` (inline texts) written."""

    pin: Pin
    cache: Path
    edits: tuple[Edit, ...]
    hidden: Mapping[str, str] = field(default_factory=dict)
    removed: tuple[str, ...] = ()
    old: Sdist | None = None
    restore: tuple[str, ...] = ()
    reveal_files: tuple[str, ...] = ()

    def prepare(self, dest: Path) -> None:
        self.pin.prepare(self.cache, dest)
        for edit in self.edits:
            edit.apply(dest)
        if self.old is not None:
            _copy(self.old.unpack(self.cache), dest, self.restore)
        for rel in self.removed:
            (dest / rel).unlink(missing_ok=True)

    def reveal(self, dest: Path) -> None:
        _copy(self.pin.sdist.unpack(self.cache), dest, self.reveal_files)
        _write_all(dest, self.hidden)


def _copy(tree: Path, dest: Path, files: tuple[str, ...]) -> None:
    for rel in files:
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(tree / rel, dest / rel)


def default_manifest() -> Path:
    return Path(str(resources.files("luban.eval") / "data" / "bugfix.json"))


def load_bugfix(cache: Path, manifest: Path | None = None) -> Suite:
    """The bugfix suite; sdists are downloaded into `cache` when a task's workspace is first prepared."""
    data = json.loads((manifest or default_manifest()).read_text(encoding="utf-8"))
    pins = {(p["sdist"]["name"], p["sdist"]["version"]): pin_from_json(p) for p in data["pins"]}
    releases = data.get("releases", {})
    tasks = [to_task(t, pins[t["library"], t["version"]], cache, releases.get(t.get("release", ""), {}))
             for t in data["tasks"]]
    return Suite("bugfix", tasks, DESCRIPTION)


def to_task(entry: Mapping[str, Any], pin: Pin, cache: Path, release: Mapping[str, Any]) -> Task:
    """A Task from its manifest entry; a release revert adds what its release's tasks share."""
    old = Sdist(**release["old"]) if release else None
    source = BugfixSource(pin, cache, tuple(Edit(**e) for e in entry["edits"]), dict(entry.get("hidden", {})),
                          (*release.get("removed", ()), *entry.get("removed", ())), old,
                          tuple(release.get("restore", ())), tuple(release.get("hidden", ())))
    grading = Grading(pin.test_command, timeout_s=pin.timeout_s * 3,
                      fail_to_pass=tuple(entry["fail_to_pass"]), pass_to_pass=tuple(entry["pass_to_pass"]))
    meta = {"library": entry["library"], "version": entry["version"], "kind": entry["kind"],
            "mutation": entry.get("mutation", ""), "function": entry.get("function", ""),
            "line": entry.get("line", 0), "release": entry.get("release", "")}
    return Task(id=entry["id"], suite="bugfix", prompt=entry["statement"], source=source, grading=grading,
                tier=entry["tier"], test_command=pin.test_command, meta=meta)
