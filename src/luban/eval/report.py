"""Reports of an eval run: a JSON summary, Markdown tables, and an HTML page with plots (matplotlib).

Figures are medians per task (these machines are noisy) and totals; resolve rates per scaffold and tier.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any, Iterable, Sequence

from . import ablation
from .records import Record


@dataclass(frozen=True)
class Summary:
    scaffold: str
    tasks: int
    resolved: int
    median_steps: float
    median_wall_s: float
    median_model_s: float
    median_harness_s: float
    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int
    calls_valid: int
    calls_repaired: int
    calls_rejected: int
    edit_failures: int
    complied: int | None  # injection tasks where the agent obeyed the planted instruction
    stops: dict[str, int]

    @property
    def rate(self) -> float:
        return self.resolved / self.tasks if self.tasks else 0.0

    @property
    def cache_share(self) -> float:
        return self.cached_tokens / self.prompt_tokens if self.prompt_tokens else 0.0


def summarize(records: Sequence[Record], scaffold: str) -> Summary:
    rs = [r for r in records if r.scaffold == scaffold]
    probed = [r.complied for r in rs if r.complied is not None]
    return Summary(
        scaffold, len(rs), sum(r.resolved for r in rs), _median(r.steps for r in rs),
        _median(r.wall_s for r in rs), _median(r.model_s for r in rs), _median(r.harness_s for r in rs),
        sum(r.prompt_tokens for r in rs), sum(r.completion_tokens for r in rs), sum(r.cached_tokens for r in rs),
        sum(r.calls_valid for r in rs), sum(r.calls_repaired for r in rs), sum(r.calls_rejected for r in rs),
        sum(r.edit_failures for r in rs), sum(probed) if probed else None,
        dict(sorted(Counter(r.status for r in rs).items())))


def scaffolds_of(records: Iterable[Record]) -> list[str]:
    return sorted({r.scaffold for r in records}, key=lambda s: (s != "luban", s))


def tiers_of(records: Iterable[Record]) -> list[str]:
    return sorted({r.tier for r in records})


def report_json(meta: dict[str, Any], records: Sequence[Record]) -> dict[str, Any]:
    summaries = [summarize(records, s) for s in scaffolds_of(records)]
    return {"run": meta,
            "summary": [{**asdict(s), "rate": round(s.rate, 4), "cache_share": round(s.cache_share, 4)}
                        for s in summaries],
            "tiers": {t: {s: _rate(records, s, t) for s in scaffolds_of(records)} for t in tiers_of(records)},
            "tasks": [{**asdict(r), "harness_s": round(r.harness_s, 2)} for r in records]}


def markdown(meta: dict[str, Any], records: Sequence[Record]) -> str:
    lines = [f"# Eval: {meta.get('suite')} on {meta.get('model')}", "",
             f"Command: `{meta.get('command', '')}`", "", md_table(summary_rows(records)), ""]
    if len(tiers_of(records)) > 1:
        lines += ["## Resolve rate per tier", "", md_table(tier_rows(records)), ""]
    if ablated := ablation_rows(records):
        lines += ["## Ablation: each aid turned off, against luban on the same tasks", "", md_table(ablated), ""]
    lines += ["## Tasks", "", md_table(task_rows(records)), ""]
    return "\n".join(lines)


Rows = list[tuple[str, ...]]


def summary_rows(records: Sequence[Record]) -> Rows:
    rows = [("scaffold", "resolved", "rate", "median steps", "median wall s", "median model s",
             "median harness s", "prompt tok", "cached", "completion tok", "calls valid/repaired/rejected",
             "edit failures", "obeyed injection", "stops")]
    for s in (summarize(records, name) for name in scaffolds_of(records)):
        rows.append((s.scaffold, f"{s.resolved}/{s.tasks}", f"{100 * s.rate:.0f}%", f"{s.median_steps:g}",
                     f"{s.median_wall_s:.0f}", f"{s.median_model_s:.0f}", f"{s.median_harness_s:.1f}",
                     str(s.prompt_tokens), f"{100 * s.cache_share:.0f}%", str(s.completion_tokens),
                     f"{s.calls_valid}/{s.calls_repaired}/{s.calls_rejected}", str(s.edit_failures),
                     "n/a" if s.complied is None else str(s.complied),
                     ", ".join(f"{k} {v}" for k, v in s.stops.items())))
    return rows


def tier_rows(records: Sequence[Record]) -> Rows:
    names = scaffolds_of(records)
    rows = [("tier", *names)]
    for tier in tiers_of(records):
        rows.append((tier or "-", *(_rate_text(records, s, tier) for s in names)))
    return rows


def task_rows(records: Sequence[Record]) -> Rows:
    names = scaffolds_of(records)
    rows = [("task", "tier", *names)]
    by_key = {r.key: r for r in records}
    for task in sorted({r.task for r in records}, key=natural):
        cells = []
        for s in names:
            r = by_key.get((task, s))
            cells.append("" if r is None else f"{'✓' if r.resolved else '✗'} {r.status}, {r.steps} steps, "
                                              f"{r.wall_s:.0f} s")
        tier = next(r.tier for r in records if r.task == task)
        rows.append((task, tier or "-", *cells))
    return rows


def ablation_rows(records: Sequence[Record]) -> Rows:
    """One row per ablated aid of a run that also ran `luban`, on the tasks both finished: what Luban resolves
    with and without it, the tasks the aid wins (resolved only with it) and loses (only without), and median
    wall time each way; [] when the run has no such pair."""
    by_key = {r.key: r for r in records}
    ablated = sorted({r.scaffold for r in records if ablation.aid_of(r.scaffold)})
    if "luban" not in {r.scaffold for r in records} or not ablated:
        return []
    rows = [("aid turned off", "resolved with / without", "tasks it wins", "tasks it loses",
             "median wall s with / without")]
    for scaffold in ablated:
        pairs = [(by_key[(r.task, "luban")], r) for r in records
                 if r.scaffold == scaffold and (r.task, "luban") in by_key]
        wins = [w.task for w, wo in pairs if w.resolved and not wo.resolved]
        losses = [w.task for w, wo in pairs if wo.resolved and not w.resolved]
        rows.append((scaffold.removeprefix(ablation.PREFIX),
                     f"{sum(w.resolved for w, _ in pairs)} / {sum(wo.resolved for _, wo in pairs)} of {len(pairs)}",
                     ", ".join(wins) or "-", ", ".join(losses) or "-",
                     f"{_median(w.wall_s for w, _ in pairs):.0f} / {_median(wo.wall_s for _, wo in pairs):.0f}"))
    return rows


def _rate(records: Sequence[Record], scaffold: str, tier: str) -> dict[str, int]:
    rs = [r for r in records if r.scaffold == scaffold and r.tier == tier]
    return {"resolved": sum(r.resolved for r in rs), "tasks": len(rs)}


def _rate_text(records: Sequence[Record], scaffold: str, tier: str) -> str:
    r = _rate(records, scaffold, tier)
    return f"{r['resolved']}/{r['tasks']}" if r["tasks"] else ""


def natural(text: str) -> list[Any]:
    """Sort key that puts HumanEval-9 before HumanEval-10."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text)]


def _median(values: Iterable[float]) -> float:
    values = list(values)
    return round(statistics.median(values), 2) if values else 0.0


def md_table(rows: Rows) -> str:
    head, *body = rows
    out = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    out += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in body]
    return "\n".join(out)
