"""Benchmark: the startup work of a session whose folder is huge and not a repository (`--cwd /`): the time to
build the repository view of the system prompt (file listing and repo map, cold tag cache), and what it says it
left out.

    .venv/bin/python bench/huge_folder.py /
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from luban.context.budget import SMALL_PREFIX_TOKENS
from luban.context.prompt import repository_view


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path, nargs="?", default=Path("/"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as cache:
        started = time.monotonic()
        view = repository_view(args.root, SMALL_PREFIX_TOKENS, (), Path(cache))
        took = time.monotonic() - started
    notes = [line for line in view.splitlines() if line.startswith(("The repo map is partial", "Files in the"))]
    print(f"{args.root}: repository view built in {took:.1f} s ({len(view)} characters, cold tag cache)")
    for line in notes:
        print(f"  {line}")


if __name__ == "__main__":
    main()
