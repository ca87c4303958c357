"""Benchmark: the workspace listing (workspace/listing.py), listed once and then cached, against listing the tree
again at every step as the per-step hints and the gate's pointers used to.

    .venv/bin/python bench/listing.py [ROOT] [--steps 30]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from luban.workspace.listing import Listing


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path, nargs="?", default=Path("."))
    parser.add_argument("--steps", type=int, default=30)
    args = parser.parse_args()
    root = args.root.resolve()
    started = time.monotonic()
    for _ in range(args.steps):
        files = Listing(root).files()  # a fresh listing every step
    every_step = time.monotonic() - started
    listing = Listing(root)
    started = time.monotonic()
    for _ in range(args.steps):
        cached = listing.files()  # what a run does between calls that may change the tree
    once = time.monotonic() - started
    assert files == cached
    print(f"{root}: {len(files)} files; {args.steps} steps listing every step {every_step:.3f} s, "
          f"listed once {once:.3f} s")


if __name__ == "__main__":
    main()
