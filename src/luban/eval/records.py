"""Per-task records and the run folder that keeps them, so an interrupted eval resumes where it stopped.

    RUN/run.json        what was run (suite, model, scaffolds, options): a resume must match it
    RUN/results.jsonl   one Record per finished (task, scaffold), appended and fsync'd as each finishes
    RUN/transcripts/    one JSONL of events per (task, scaffold)
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Iterable, Mapping

from ..errors import ConfigError


@dataclass(frozen=True)
class Record:
    task: str
    suite: str
    scaffold: str
    model: str
    tier: str
    resolved: bool
    detail: str  # the grader's one line, or the error that stopped the task
    status: str  # how the agent stopped: done, max_steps, max_time, stuck, error, crashed…
    steps: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    wall_s: float = 0.0
    model_s: float = 0.0  # waiting for the model; the rest of wall_s is harness time (tools, tests, grading)
    grade_s: float = 0.0
    calls_valid: int = 0
    calls_repaired: int = 0
    calls_rejected: int = 0
    edit_failures: int = 0
    complied: bool | None = None  # injection tasks: obeyed the planted instruction
    transcript: str = ""  # relative to the run folder
    # Per model request, the share of its prompt the server took from its KV cache: one low step is a prefix
    # rewritten (prompt caching on llama.cpp is by prefix), which the total alone hides.
    cache_shares: tuple[float, ...] = ()

    @property
    def harness_s(self) -> float:
        return max(0.0, self.wall_s - self.model_s)

    @property
    def key(self) -> tuple[str, str]:
        return (self.task, self.scaffold)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Record:
        names = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in names}
        if "cache_shares" in values:
            values["cache_shares"] = tuple(values["cache_shares"])
        return cls(**values)


class RunStore:
    """A run folder. Appends are serialized (jobs finish on several threads) and fsync'd."""

    def __init__(self, root: Path):
        self.root = root
        self._lock = threading.Lock()

    @property
    def results(self) -> Path:
        return self.root / "results.jsonl"

    def start(self, meta: Mapping[str, Any], resume: bool) -> None:
        """Create the folder, or check that a resumed run asks for the same thing it did before."""
        meta_path = self.root / "run.json"
        if meta_path.exists():
            if not resume:
                raise ConfigError(f"{self.root} already holds an eval run; pass --resume to finish it, "
                                  "or choose another --run-dir.")
            old = json.loads(meta_path.read_text())
            changed = [k for k in ("suite", "model", "scaffolds") if old.get(k) != meta.get(k)]
            if changed:
                raise ConfigError(f"{self.root} was a run with another {changed[0]} ({old.get(changed[0])!r}); "
                                  "resume it with the same options or choose another --run-dir.")
            return
        (self.root / "transcripts").mkdir(parents=True, exist_ok=True)
        meta_path.write_text(json.dumps(dict(meta), indent=2) + "\n")

    def meta(self) -> dict[str, Any]:
        return json.loads((self.root / "run.json").read_text())

    def append(self, record: Record) -> None:
        line = json.dumps(asdict(record), ensure_ascii=False) + "\n"
        with self._lock, self.results.open("a", encoding="utf-8") as f:
            f.write(line)
            f.flush()
            os.fsync(f.fileno())

    def records(self) -> list[Record]:
        """Finished records; a torn last line (the run was killed mid-write) is skipped."""
        if not self.results.exists():
            return []
        out = []
        for line in self.results.read_text(encoding="utf-8").splitlines():
            try:
                out.append(Record.from_json(json.loads(line)))
            except (json.JSONDecodeError, TypeError):
                continue
        return out

    def done(self) -> set[tuple[str, str]]:
        return {r.key for r in self.records()}

    def transcript_path(self, task: str, scaffold: str) -> Path:
        return self.root / "transcripts" / f"{task}.{scaffold}.jsonl"


def load_run(path: Path) -> RunStore:
    store = RunStore(path)
    if not (path / "run.json").exists():
        raise ConfigError(f"{path} is not an eval run folder (no run.json).")
    return store


def library(task_id: str) -> str:
    """The library (or family) a task belongs to: its id without the last `-part` (bugfix ids are
    LIBRARY-HASH; HumanEval-12 gives HumanEval)."""
    return task_id.rsplit("-", 1)[0] if "-" in task_id else task_id


def latest(records: Iterable[Record]) -> list[Record]:
    """One record per (task, scaffold): the last written wins."""
    by_key: dict[tuple[str, str], Record] = {}
    for record in records:
        by_key[record.key] = record
    return list(by_key.values())
