"""`luban eval compare`: two sets of records side by side, on the tasks both attempted, with B/A ratios.

The sides are two runs (same scaffold in each), or two scaffolds of one run (e.g. luban vs bash-only). For a
base model against its tuned adapter, `Trained` leaves out the tasks and libraries the adapter learned from.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

from ..errors import ConfigError
from .records import Record, library
from .report import Summary, md_table, scaffolds_of, summarize


@dataclass(frozen=True)
class Side:
    label: str
    records: Sequence[Record]
    scaffold: str


def sides(a: tuple[str, Sequence[Record]], b: tuple[str, Sequence[Record]] | None) -> tuple[Side, Side]:
    """Pick what to compare: one run's two scaffolds, or the same (or only) scaffold of two runs."""
    if b is None:
        names = scaffolds_of(a[1])
        if len(names) != 2:
            raise ConfigError(f"{a[0]} has {len(names)} scaffold(s); compare one run only when it has two.")
        return Side(f"{a[0]} {names[0]}", a[1], names[0]), Side(f"{a[0]} {names[1]}", a[1], names[1])
    na, nb = scaffolds_of(a[1]), scaffolds_of(b[1])
    shared = [s for s in na if s in nb]
    if shared:
        return Side(f"{a[0]} {shared[0]}", a[1], shared[0]), Side(f"{b[0]} {shared[0]}", b[1], shared[0])
    if na and nb:
        return Side(f"{a[0]} {na[0]}", a[1], na[0]), Side(f"{b[0]} {nb[0]}", b[1], nb[0])
    raise ConfigError("One of the runs has no finished tasks yet.")


_METRICS: list[tuple[str, Callable[[Summary], float], str]] = [
    ("resolved %", lambda s: 100 * s.rate, "{:.0f}"),
    ("median steps", lambda s: s.median_steps, "{:g}"),
    ("median wall s", lambda s: s.median_wall_s, "{:.0f}"),
    ("median model s", lambda s: s.median_model_s, "{:.0f}"),
    ("median harness s", lambda s: s.median_harness_s, "{:.1f}"),
    ("prompt tokens per task", lambda s: s.prompt_tokens / max(1, s.tasks), "{:.0f}"),
    ("cached share %", lambda s: 100 * s.cache_share, "{:.0f}"),
    ("completion tokens per task", lambda s: s.completion_tokens / max(1, s.tasks), "{:.0f}"),
    ("rejected calls", lambda s: s.calls_rejected, "{:.0f}"),
    ("edit failures", lambda s: s.edit_failures, "{:.0f}"),
]


@dataclass(frozen=True)
class Trained:
    """What a tuned model learned from (its dataset card): a comparison leaves out these tasks and every
    task of these libraries, so that it measures the tuned model on work it has not seen."""

    source: str
    tasks: frozenset[str]
    libraries: frozenset[str]

    def seen(self, task: str) -> bool:
        return task in self.tasks or library(task) in self.libraries


def compare(a: Side, b: Side, trained: Trained | None = None) -> str:
    tasks_a = {r.task for r in a.records if r.scaffold == a.scaffold}
    tasks_b = {r.task for r in b.records if r.scaffold == b.scaffold}
    common = tasks_a & tasks_b
    if not common:
        raise ConfigError(f"{a.label} and {b.label} share no finished task.")
    held_out = ""
    if trained:
        seen = {t for t in common if trained.seen(t)}
        common -= seen
        if not common:
            raise ConfigError(f"Every task {a.label} and {b.label} share comes from the training data of "
                              f"{trained.source}; compare on tasks from other libraries.")
        held_out = (f" Held out from the training data of {trained.source}: {len(seen)} trained-on task(s) "
                    f"left out" + (f" (libraries {', '.join(sorted({library(t) for t in seen}))})." if seen else "."))
    sa = summarize([r for r in a.records if r.task in common], a.scaffold)
    sb = summarize([r for r in b.records if r.task in common], b.scaffold)
    rows = [("metric", a.label, b.label, "B/A")]
    for name, get, fmt in _METRICS:
        va, vb = get(sa), get(sb)
        rows.append((name, fmt.format(va), fmt.format(vb), f"{vb / va:.2f}" if va else "n/a"))
    wins = sorted(t for t in common if _resolved(b, t) and not _resolved(a, t))
    losses = sorted(t for t in common if _resolved(a, t) and not _resolved(b, t))
    return "\n".join([f"{len(common)} tasks in common.{held_out}", "", md_table(rows), "",
                      f"Resolved only by B: {', '.join(wins) or 'none'}",
                      f"Resolved only by A: {', '.join(losses) or 'none'}"]) + "\n"


def _resolved(side: Side, task: str) -> bool:
    return any(r.resolved for r in side.records if r.task == task and r.scaffold == side.scaffold)
