"""The HTML report: the run's tables and three plots (resolve rate per tier, tokens and time per task),
drawn with matplotlib and embedded as PNG so the page is one self-contained file."""

from __future__ import annotations

import base64
import html
import io
from typing import Any, Sequence

from .records import Record
from .report import Rows, scaffolds_of, summary_rows, task_rows, tier_rows, tiers_of


def page(meta: dict[str, Any], records: Sequence[Record]) -> str:
    title = html.escape(f"Eval: {meta.get('suite')} on {meta.get('model')}")
    parts = [f"<!doctype html><meta charset='utf-8'><title>{title}</title>",
             "<style>body{font:14px sans-serif;margin:2em}table{border-collapse:collapse}"
             "td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}</style>",
             f"<h1>{title}</h1><p>Command: <code>{html.escape(str(meta.get('command', '')))}</code></p>",
             _html_table(summary_rows(records)),
             "<h2>Resolve rate per tier</h2>", _img(_rate_plot(records)), _html_table(tier_rows(records)),
             "<h2>Tokens per task</h2>", _img(_tokens_plot(records)),
             "<h2>Time per task</h2>", _img(_time_plot(records)),
             "<h2>Tasks</h2>", _html_table(task_rows(records))]
    return "\n".join(parts) + "\n"


def _html_table(rows: Rows) -> str:
    head, *body = rows
    out = ["<table><tr>" + "".join(f"<th>{html.escape(c)}</th>" for c in head) + "</tr>"]
    out += ["<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in body]
    return "\n".join(out) + "</table>"


def _figure(width: float = 8.0, height: float = 3.5) -> Any:
    import matplotlib  # deferred: heavy, and only reports need it

    matplotlib.use("Agg")
    from matplotlib import pyplot

    return pyplot.subplots(figsize=(width, height))


def _rate_plot(records: Sequence[Record]) -> Any:
    fig, ax = _figure()
    tiers, names = tiers_of(records), scaffolds_of(records)
    width = 0.8 / max(1, len(names))
    for i, name in enumerate(names):
        rates = []
        for tier in tiers:
            rs = [r for r in records if r.scaffold == name and r.tier == tier]
            rates.append(100 * sum(r.resolved for r in rs) / len(rs) if rs else 0)
        ax.bar([x + i * width for x in range(len(tiers))], rates, width, label=name)
    ax.set_xticks([x + width * (len(names) - 1) / 2 for x in range(len(tiers))], [t or "-" for t in tiers])
    ax.set_ylabel("resolved %")
    ax.set_ylim(0, 100)
    ax.legend()
    return fig


def _per_task(records: Sequence[Record]) -> tuple[list[Record], list[str]]:
    ordered = sorted(records, key=lambda r: (r.task, r.scaffold))
    return ordered, [f"{r.task}\n{r.scaffold}" for r in ordered]


def _tokens_plot(records: Sequence[Record]) -> Any:
    ordered, labels = _per_task(records)
    fig, ax = _figure(max(8.0, 0.5 * len(ordered)))
    xs = range(len(ordered))
    cached = [r.cached_tokens for r in ordered]
    fresh = [r.prompt_tokens - r.cached_tokens for r in ordered]
    ax.bar(xs, cached, label="prompt, from cache")
    ax.bar(xs, fresh, bottom=cached, label="prompt, evaluated")
    ax.bar(xs, [r.completion_tokens for r in ordered], bottom=[c + f for c, f in zip(cached, fresh)],
           label="completion")
    ax.set_xticks(list(xs), labels, rotation=90, fontsize=7)
    ax.set_ylabel("tokens")
    ax.legend()
    fig.tight_layout()
    return fig


def _time_plot(records: Sequence[Record]) -> Any:
    ordered, labels = _per_task(records)
    fig, ax = _figure(max(8.0, 0.5 * len(ordered)))
    xs = range(len(ordered))
    model = [r.model_s for r in ordered]
    ax.bar(xs, model, label="model")
    ax.bar(xs, [r.harness_s for r in ordered], bottom=model, label="harness (tools, tests, grading)")
    ax.set_xticks(list(xs), labels, rotation=90, fontsize=7)
    ax.set_ylabel("seconds")
    ax.legend()
    fig.tight_layout()
    return fig


def _img(fig: Any) -> str:
    from matplotlib import pyplot

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80)
    pyplot.close(fig)
    return f"<img alt='plot' src='data:image/png;base64,{base64.b64encode(buffer.getvalue()).decode()}'>"
