"""Where eval jobs run: threads in this process (N jobs against one server, which batches them), or a Ray
cluster. Both yield each job's files and Record as it finishes, in completion order."""

from __future__ import annotations

import tempfile
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Protocol, Sequence

from .records import Record
from .runner import ModelSource, RunOptions, run_task
from .task import Task


@dataclass(frozen=True)
class Job:
    task: Task
    scaffold: str


@dataclass(frozen=True)
class Finished:
    job: Job
    record: Record
    files: dict[str, bytes]  # transcript files by name, written into the run folder by the caller


class Backend(Protocol):
    def run(self, jobs: Sequence[Job], source: ModelSource, options: RunOptions) -> Iterator[Finished]: ...


def execute(job: Job, source: ModelSource, options: RunOptions) -> Finished:
    """Run one job with its transcripts in a private folder, returned as bytes: a Ray worker may be on
    another machine, so only the caller writes into the run folder."""
    with tempfile.TemporaryDirectory(prefix="luban-job-") as tmp:
        transcript = Path(tmp) / "transcripts" / f"{job.task.id}.{job.scaffold}.jsonl"
        transcript.parent.mkdir()
        record = run_task(job.task, job.scaffold, source, options, transcript)
        files = {p.name: p.read_bytes() for p in transcript.parent.iterdir() if p.is_file()}
    return Finished(job, record, files)


@dataclass(frozen=True)
class Threads:
    jobs: int = 1

    def run(self, jobs: Sequence[Job], source: ModelSource, options: RunOptions) -> Iterator[Finished]:
        pool = ThreadPoolExecutor(max(1, self.jobs), thread_name_prefix="luban-eval")
        try:
            pending: set[Future[Finished]] = {pool.submit(execute, job, source, options) for job in jobs}
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    yield future.result()
        finally:
            # On Ctrl-C, queued jobs are dropped; finished ones were already recorded, so a resume redoes
            # only what did not finish.
            pool.shutdown(wait=False, cancel_futures=True)


@dataclass(frozen=True)
class RayCluster:
    """`address` is a Ray cluster address, or `local` to start a Ray instance on this machine."""

    address: str
    jobs: int = 1

    def run(self, jobs: Sequence[Job], source: ModelSource, options: RunOptions) -> Iterator[Finished]:
        import ray  # deferred: heavy, and only this backend needs it

        if not ray.is_initialized():
            ray.init(address=None if self.address == "local" else self.address, include_dashboard=False,
                     log_to_driver=False, configure_logging=False)
        remote = ray.remote(num_cpus=0)(execute)  # jobs wait on the model server, not on CPUs here
        queue, running = list(jobs), []
        while queue or running:
            while queue and len(running) < max(1, self.jobs):
                running.append(remote.remote(queue.pop(0), source, options))
            done, running = ray.wait(running, num_returns=1)
            yield ray.get(done[0])
