"""Benchmark: what the start-up sweep for leftover temp files (tempfiles.sweep) costs in a folder.

    .venv/bin/python bench/sweep.py [FOLDER ...]     (default: this checkout, /usr and /)
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from luban.workspace import Workspace


def main() -> None:
    folders = sys.argv[1:] or [str(Path(__file__).resolve().parents[1]), "/usr", "/"]
    with tempfile.TemporaryDirectory(prefix="luban-bench-") as scratch:
        for folder in folders:
            ws = Workspace.open(folder, scratch)
            started = time.perf_counter()
            removed = ws.sweep()
            print(f"{folder:>40}: {time.perf_counter() - started:.3f} s, {len(removed)} removed")


if __name__ == "__main__":
    main()
