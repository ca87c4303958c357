import pytest

from luban.eval.backends import Job, RayCluster
from luban.eval.folder import load_folder

from .fixtures import FIX, OPTIONS

ray = pytest.importorskip("ray")


def test_the_ray_backend_runs_jobs_on_a_local_instance(suite_dir):
    tasks = load_folder(suite_dir).tasks
    try:
        finished = list(RayCluster("local", jobs=2).run([Job(t, "luban") for t in tasks], FIX, OPTIONS))
    finally:
        ray.shutdown()
    assert sorted((f.record.task, f.record.resolved, f.record.status) for f in finished) == [
        ("by-test-id", True, "done"), ("exit-code", True, "done")]
    # Transcripts come back as bytes: a worker may be on another machine.
    assert all(f"{f.record.task}.luban.jsonl" in f.files for f in finished)
