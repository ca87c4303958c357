"""Benchmark: the repo map of Django's source, cold (empty tag cache) and warm (same cache again).

Downloads the Django sdist from PyPI once (kept in --cache), then prints median times over --runs, the number
of files parsed, the map's size in tokens, and its first lines.

    .venv/bin/python bench/repomap.py --runs 3
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

from luban.context.repomap import CACHE_FILE, repo_map
from luban.context.tokens import estimate

DJANGO = "6.1.3"
IN_PLAY = ["django/db/models/query.py"]
BUDGET = 2048


def django_source(cache: Path) -> Path:
    """The unpacked sdist, downloaded with the venv's pip the first time."""
    root = cache / f"django-{DJANGO}"
    if (root / "django").is_dir():
        return root
    cache.mkdir(parents=True, exist_ok=True)
    sdists = sorted(cache.glob(f"django-{DJANGO}.tar.gz"))
    if not sdists:
        subprocess.run(
            # Django 6 requires Python 3.12; we only read its source, whatever Python runs this.
            [sys.executable, "-m", "pip", "download", f"django=={DJANGO}", "--no-binary", ":all:", "--no-deps",
             "--ignore-requires-python", "-d", str(cache)],
            check=True,
        )  # fmt: skip
        sdists = sorted(cache.glob(f"django-{DJANGO}.tar.gz"))
    with tarfile.open(sdists[0]) as tar:
        tar.extractall(cache, filter="data")
    return root


def timed(root: Path, cache_dir: Path) -> tuple[float, str]:
    start = time.perf_counter()
    text = repo_map(root, in_play=IN_PLAY, budget_tokens=BUDGET, cache_dir=cache_dir)
    return time.perf_counter() - start, text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=Path("/tmp/luban-bench-django"))
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    root = django_source(args.cache)
    cold, warm, texts, parsed = [], [], set(), 0
    for i in range(args.runs):
        with tempfile.TemporaryDirectory() as tmp:
            seconds, text = timed(root, Path(tmp))
            cold.append(seconds)
            texts.add(text)
            parsed = len(json.loads((Path(tmp) / CACHE_FILE).read_text())["files"])
            seconds, text = timed(root, Path(tmp))
            warm.append(seconds)
            texts.add(text)
        print(f"run {i + 1}: cold {cold[-1]:.2f} s, warm {warm[-1]:.2f} s", flush=True)
    (text,) = texts  # every run, cold or warm, must give the same bytes
    print(f"django {DJANGO}: {parsed} files parsed")
    print(f"cold median {statistics.median(cold):.2f} s, warm median {statistics.median(warm):.2f} s")
    print(f"map: {estimate(text)} tokens (budget {BUDGET}), {len(text.splitlines())} lines; the first 15:")
    print("\n".join(text.splitlines()[:15]))


if __name__ == "__main__":
    main()
