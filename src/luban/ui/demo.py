"""`luban demo`: copy the bundled example repo, let the agent fix its bug, and report honestly.

The verdict comes from running the example's tests ourselves afterwards, never from the model's words.
"""

from __future__ import annotations

import difflib
import shutil
import subprocess
import sys
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import TextIO

from ..config import Settings, environment
from ..errors import ConfigError, SandboxUnavailable
from ..sandbox import for_agent
from .headless import EXIT_CODES, run_task

EXAMPLE = Path(__file__).parent.parent / "examples" / "shop"
TEST_COMMAND = "python3 -m unittest"
TASK = "The test suite of this repository fails. Find the bug in the code and fix it. Do not change the tests."


def run_tests(root: Path) -> tuple[bool, str]:
    """Run the example's tests with our own interpreter; returns (passed, last summary line)."""
    done = subprocess.run([sys.executable, "-m", "unittest"], cwd=root, capture_output=True, text=True,
                          timeout=120)
    lines = [line for line in done.stderr.strip().splitlines() if line.strip()]
    summary = " ".join(lines[-2:]) if lines else f"exit code {done.returncode}"
    return done.returncode == 0, summary


def prepare(keep: str | None) -> Path:
    if keep:
        target = Path(keep)
        if target.exists() and any(target.iterdir()):
            raise ConfigError(f"{target} is not empty; give --keep a new or empty folder.")
    else:
        target = Path(tempfile.mkdtemp(prefix="luban-demo-")) / "shop"
    shutil.copytree(EXAMPLE, target, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__"))
    return target


def changes(before: Path, after: Path) -> str:
    diff: list[str] = []
    for old in sorted(before.rglob("*.py")):
        new = after / old.relative_to(before)
        new_text = new.read_text(errors="replace").splitlines(keepends=True) if new.exists() else []
        name = str(old.relative_to(before))
        diff += difflib.unified_diff(old.read_text().splitlines(keepends=True), new_text, f"a/{name}", f"b/{name}")
    return "".join(diff)


def demo_mode(settings: Settings, err: TextIO) -> str:
    """The demo works on a throwaway copy, so it asks nothing: full-auto where a sandbox works, else edits
    without asking and commands denied (headless runs deny what would ask); a mode the user chose stays."""
    if settings.permission_mode != "ask":
        return settings.permission_mode
    try:
        for_agent(settings.sandbox, full_auto=True, no_sandbox=False, host=environment())
    except SandboxUnavailable as exc:
        err.write(f"! {exc} The demo runs in auto-edit mode: the agent's own commands are refused.\n")
        return "auto-edit"
    return "full-auto"


def run_demo(settings: Settings, keep: str | None, out: TextIO, err: TextIO) -> int:
    root = prepare(keep)
    settings = replace(settings, cwd=str(root), test_command=settings.test_command or TEST_COMMAND,
                       permission_mode=demo_mode(settings, err))
    passed, summary = run_tests(root)
    out.write(f"Example repository: {root}\nTests before: {'pass' if passed else 'FAIL'} — {summary}\n"
              f"Task: {TASK}\n\n")
    out.flush()
    outcome = run_task(settings, TASK, out, err)
    passed, summary = run_tests(root)
    diff = changes(EXAMPLE, root)
    out.write(f"\nWhat Luban changed:\n{diff or '(nothing)'}\n")
    out.write(f"Agent outcome: {outcome.status} after {outcome.steps} steps, {outcome.wall_s:.0f} s\n")
    out.write(f"Tests after: {'PASS' if passed else 'FAIL'} — {summary}\n")
    return 0 if passed and EXIT_CODES[outcome.status] != 1 else 1
