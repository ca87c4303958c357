"""Benchmark: edit_file when old_string matches many places of a big file (issue 14, item 11).

For 5k, 10k, 20k and 100k matches (every other line of the file matches), times one edit_file call that
replaces them all (replace_all) and one that is refused because old_string is ambiguous; then a file of about
30 MB (under the size cap), one of 50 MB (over it) and a minified file (all matches on one line). Each case runs in a fresh process with a time limit, so
that code which is quadratic shows as "> LIMIT s" instead of hanging the bench.

    .venv/bin/python bench/edit_matches.py [--limit-s 120]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CASE = """
import sys, time
from luban.tools import edit
from luban.workspace import Workspace
root, replace_all = sys.argv[1], sys.argv[2] == "all"
ws = Workspace.open(root, root + "-scratch")
started = time.perf_counter()
result = edit.TOOL({"path": "big.py", "old_string": "x = 1", "new_string": "x = 2", "replace_all": replace_all}, ws)
print(f"{time.perf_counter() - started:.3f} {result.error} {result.content.splitlines()[0][:90]}")
"""


def body(matches: int, pad: int = 0) -> str:
    """`matches` lines that match, each followed by one that does not (padded by `pad` characters)."""
    filler = "#" * pad
    return "".join(f"x = 1\ny{n} = {n}{filler}\n" for n in range(matches))


def run_case(root: Path, mode: str, limit_s: float) -> str:
    started = time.perf_counter()
    try:
        done = subprocess.run([sys.executable, "-c", CASE, str(root), mode], capture_output=True, text=True,
                              timeout=limit_s)
    except subprocess.TimeoutExpired:
        return f"> {limit_s:.0f} s (still running, killed)"
    if done.returncode != 0:
        return f"failed after {time.perf_counter() - started:.1f} s: {done.stderr.strip().splitlines()[-1]}"
    seconds, error, first = done.stdout.strip().split(" ", 2)
    return f"{float(seconds):8.3f} s  {'error' if error == 'True' else 'ok   '}  {first}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--limit-s", type=float, default=120.0, help="time limit of one case")
    args = parser.parse_args()
    cases = [(f"{n // 1000}k matches", body(n)) for n in (5_000, 10_000, 20_000, 100_000)]
    cases += [("30 MB, 850k matches", body(850_000, 12)), ("50 MB, 1.4M matches", body(1_400_000, 12))]
    cases += [("one 6 MB line, 1M matches", "x = 1;" * 1_000_000 + "\n")]  # a minified file
    with tempfile.TemporaryDirectory(prefix="luban-bench-") as tmp:
        for label, text in cases:
            root = Path(tmp) / "ws"
            root.mkdir(exist_ok=True)
            for mode in ("all", "one"):
                (root / "big.py").write_text(text)
                what = "replace_all" if mode == "all" else "ambiguous"
                size = f"{len(text) / 1e6:.1f} MB"
                print(f"{label:>26} ({size:>7}) {what:>11}: {run_case(root, mode, args.limit_s)}", flush=True)


if __name__ == "__main__":
    main()
