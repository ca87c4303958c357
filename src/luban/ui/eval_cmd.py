"""`luban eval`: run a suite, build the bugfix suite, compare runs, redraw a run's reports."""

from __future__ import annotations

import argparse
import contextlib
import json
import shlex
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Iterator, TextIO

from ..config import Settings
from ..errors import ConfigError
from .headless import progress_printer

REPORTS = ("report.json", "report.md", "report.html")


def cache_dir(settings: Settings) -> Path:
    return Path(settings.data_dir) / "eval" / "cache"


def run_eval(settings: Settings, args: Any, out: TextIO, err: TextIO) -> int:
    from ..eval.backends import RayCluster, Threads
    from ..eval.evaluate import evaluate, load_suite, select
    from ..eval.records import RunStore
    from ..eval.runner import RunOptions

    scaffolds = tuple(s.strip() for s in args.scaffold.split(",") if s.strip())
    suite = load_suite(args.suite, cache_dir(settings))
    tasks = select(suite.tasks, args.tasks, args.limit, args.seed, args.tier)
    model_label = _model_label(settings)
    run_dir = Path(args.resume or args.run_dir or _default_run_dir(settings, suite.name, model_label))
    store = RunStore(run_dir)
    store.start({"suite": suite.name, "model": model_label, "scaffolds": list(scaffolds),
                 "tasks": [t.id for t in tasks], "command": "luban " + shlex.join(sys.argv[1:]),
                 "started": time.strftime("%Y-%m-%d %H:%M:%S"), "sampling_seed": settings.seed,
                 "fresh_server": args.fresh_server}, resume=bool(args.resume))
    err.write(f"eval: {len(tasks)} {suite.name} task(s) × {', '.join(scaffolds)} → {run_dir}\n")
    with _model_source(settings, args, err) as (settings, source):
        options = RunOptions(settings, args.task_timeout, settings.sandbox, cache_dir(settings))
        backend = RayCluster(args.ray, args.jobs) if args.ray else Threads(args.jobs)
        evaluate(tasks, scaffolds, source, options, store, backend, _progress(err))
    write_reports(store.root, out)
    return 0


@contextlib.contextmanager
def _model_source(settings: Settings, args: Any, err: TextIO) -> Iterator[tuple[Settings, Any]]:
    """The settings with the tool protocol resolved, and how each task reaches the model."""
    from ..eval.runner import FreshServerSource, InProcessSource, ServerSource
    from .runtime import _connect, embedded_server, open_model, resolve_protocol, serve

    if settings.transformers:
        with open_model(settings, progress_printer(err)) as model:
            yield settings, InProcessSource(model, _model_label(settings))
        return
    with serve(settings, progress_printer(err), slots=args.jobs) as endpoint:
        probe = _connect(settings, endpoint)
        settings = resolve_protocol(settings, probe)
        probe.close()
        if not args.fresh_server:
            yield settings, ServerSource(endpoint.base_url, endpoint.model or probe.info.name, settings.api_key,
                                         settings.first_token_timeout_s, settings.idle_timeout_s, endpoint.heads)
            return
    # The server above only told the tool protocol; each run starts its own.
    server = embedded_server(settings, progress_printer(err))
    yield settings, FreshServerSource(server.gguf, server.alias, server.context, server.log_path, server.adapter,
                                      settings.first_token_timeout_s, settings.idle_timeout_s, server.heads)


def _model_label(settings: Settings) -> str | None:
    """The model's name in run records: the server's model, the in-process model (and adapter), or the embedded one."""
    label = Path(settings.transformers).name if settings.transformers else (
        settings.model if settings.base_url else settings.embedded_model)
    # A tuned run is named after the folder its adapter is in (OUT of `luban tune train`).
    return f"{label}+{Path(settings.adapter).resolve().parent.name}" if settings.adapter and label else label


def _default_run_dir(settings: Settings, suite: str, model: str | None) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return Path(settings.data_dir) / "eval" / "runs" / f"{suite}-{model or 'server'}-{stamp}"


def _progress(err: TextIO):
    def show(record, done: int, total: int) -> None:
        mark = "✓" if record.resolved else "✗"
        err.write(f"[{done}/{total}] {record.task} {record.scaffold}: {mark} {record.status}, {record.steps} steps, "
                  f"{record.wall_s:.0f} s — {record.detail}\n")
        err.flush()

    return show


def write_reports(run_dir: Path, out: TextIO) -> None:
    """report.json, report.md and report.html in the run folder; the summary table on `out`."""
    from ..eval import html, report
    from ..eval.records import latest, load_run

    store = load_run(run_dir)
    meta, records = store.meta(), latest(store.records())
    if not records:
        raise ConfigError(f"{run_dir} has no finished tasks yet.")
    (run_dir / "report.json").write_text(json.dumps(report.report_json(meta, records), indent=1) + "\n")
    (run_dir / "report.md").write_text(report.markdown(meta, records))
    (run_dir / "report.html").write_text(html.page(meta, records))
    out.write(report.md_table(report.summary_rows(records)) + "\n")
    out.write(f"\nReports: {', '.join(str(run_dir / name) for name in REPORTS)}\n")


def compare_runs(run_a: str, run_b: str | None, out: TextIO, held_out: str | None = None) -> int:
    from ..eval.compare import compare, sides
    from ..eval.records import latest, load_run

    a = (Path(run_a).name, latest(load_run(Path(run_a)).records()))
    b = (Path(run_b).name, latest(load_run(Path(run_b)).records())) if run_b else None
    out.write(compare(*sides(a, b), trained_on(Path(held_out)) if held_out else None))
    return 0


def trained_on(dataset: Path):
    """What the dataset card in `dataset` (from luban tune data) says the tuned model learned from."""
    from ..eval.compare import Trained

    try:
        card = json.loads((dataset / "card.json").read_text())
    except (OSError, json.JSONDecodeError):
        raise ConfigError(f"--held-out needs a dataset folder from luban tune data; {dataset} has no readable "
                          "card.json.") from None
    return Trained(str(dataset), frozenset(card.get("eval_tasks", ())), frozenset(card.get("libraries", ())))


def build_suite(settings: Settings, args: Any, out: TextIO, err: TextIO) -> int:
    from ..eval.bugfix import build_suite as build

    libraries = [x.strip() for x in args.libraries.split(",")] if args.libraries else None
    report = build(Path(args.out), cache_dir(settings), libraries=libraries, seed=args.seed,
                   progress=lambda line: (err.write(line + "\n"), err.flush()))
    out.write(f"{report}\n")
    return 0


def eval_command(settings: Settings, args: Any, out: TextIO, err: TextIO) -> int:
    if args.suite == "compare":
        if not args.runs:
            raise ConfigError("luban eval compare needs one or two run folders: compare RUN_A [RUN_B].")
        return compare_runs(args.runs[0], args.runs[1] if len(args.runs) > 1 else None, out,
                            getattr(args, "held_out", None))
    if args.suite == "report":
        if len(args.runs) != 1:
            raise ConfigError("luban eval report needs one run folder.")
        write_reports(Path(args.runs[0]), out)
        return 0
    if args.suite == "build-suite":
        return build_suite(settings, args, out, err)
    if args.runs:
        raise ConfigError(f"Unexpected argument {args.runs[0]!r} after the suite name.")
    if args.jobs < 1:
        raise ConfigError("--jobs must be at least 1.")
    if settings.transformers and (args.jobs > 1 or args.ray):
        raise ConfigError("An in-process model (--transformers) runs one task at a time; drop --jobs and --ray.")
    if args.fresh_server and (settings.base_url or settings.transformers):
        raise ConfigError("--fresh-server starts the embedded model anew for each run; it cannot restart a server at "
                          "--base-url, and the in-process model (--transformers) starts each run from an empty "
                          "cache already.")
    if args.fresh_server and (args.jobs != 1 or args.ray):
        raise ConfigError("--fresh-server runs one task at a time, each with the model's server to itself; drop "
                          "--jobs and --ray.")
    if not settings.base_url and settings.model:  # `--model NAME` without a server picks an embedded model
        settings = replace(settings, embedded_model=settings.model, model=None)
    if args.fresh_server is None:  # reproducible wherever it can be: one run at a time on the embedded model
        fresh = not (settings.base_url or settings.transformers or args.ray) and args.jobs == 1
        args = argparse.Namespace(**{**vars(args), "fresh_server": fresh})
    return run_eval(settings, args, out, err)
