"""An eval run: pick the tasks, skip those a resumed run already finished, run the rest on a backend,
and record each as it finishes."""

from __future__ import annotations

import fnmatch
import random
from pathlib import Path
from typing import Callable, Sequence

from ..errors import ConfigError
from . import ablation
from .backends import Backend, Job
from .records import Record, RunStore
from .runner import SCAFFOLDS, ModelSource, RunOptions
from .task import Suite, Task

BUILT_IN = ("humaneval", "bugfix", "ipi")


def load_suite(name: str, cache: Path) -> Suite:
    """A built-in suite by name, or a folder of tasks (docs/eval-tasks.md)."""
    if name == "humaneval":
        from .humaneval import load_humaneval

        return load_humaneval(cache)
    if name == "bugfix":
        from .bugfix import load_bugfix

        return load_bugfix(cache)
    if name == "ipi":
        from .ipi import load_ipi

        return load_ipi(cache)
    from .folder import load_folder

    return load_folder(Path(name))


def select(tasks: Sequence[Task], pattern: str | None = None, limit: int | None = None, seed: int = 0,
           tier: str | None = None) -> list[Task]:
    """Tasks whose id matches the glob `pattern`, or one of several separated by commas (and of `tier`); with
    `limit`, a sample fixed by `seed`, in suite order."""
    globs = [g.strip() for g in pattern.split(",") if g.strip()] if pattern else []
    chosen = [t for t in tasks if (not globs or any(fnmatch.fnmatchcase(t.id, g) for g in globs))
              and (tier is None or t.tier == tier)]
    if not chosen:
        tiers = ", ".join(sorted({t.tier for t in tasks if t.tier})) or "none"
        raise ConfigError(f"No task matches id {pattern or '*'!r} and tier {tier or 'any'!r} (tiers: {tiers}).")
    if limit is not None and limit < len(chosen):
        keep = set(random.Random(seed).sample(range(len(chosen)), limit))
        chosen = [t for i, t in enumerate(chosen) if i in keep]
    return chosen


def pending_jobs(tasks: Sequence[Task], scaffolds: Sequence[str], done: set[tuple[str, str]]) -> list[Job]:
    """Scaffolds interleaved per task, so each pair runs side by side on an equally busy machine."""
    unknown = [s for s in scaffolds if s not in SCAFFOLDS and ablation.aid_of(s) is None]
    if unknown:
        raise ConfigError(f"Unknown scaffold {unknown[0]!r}; use {', '.join(SCAFFOLDS)}, or for an ablation "
                          f"{ablation.names()}.")
    if "direct" in scaffolds:
        from .direct import supports

        if odd := [t.id for t in tasks if not supports(t)]:
            raise ConfigError(f"The direct scaffold asks for one function in one file, as humaneval's tasks do; "
                              f"task {odd[0]} is not like that.")
    return [Job(t, s) for t in tasks for s in scaffolds if (t.id, s) not in done]


def evaluate(tasks: Sequence[Task], scaffolds: Sequence[str], source: ModelSource, options: RunOptions,
             store: RunStore, backend: Backend, progress: Callable[[Record, int, int], None]) -> list[Record]:
    """Run what is not done yet; every finished job is on disk before the next one is reported."""
    jobs = pending_jobs(tasks, scaffolds, store.done())
    total, finished = len(jobs), []
    for result in backend.run(jobs, source, options):
        for name, data in result.files.items():
            (store.root / "transcripts" / name).write_bytes(data)
        store.append(result.record)
        finished.append(result.record)
        progress(result.record, len(finished), total)
    return finished
