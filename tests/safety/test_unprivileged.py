"""Re-run tests/safety as nobody (uid/gid 65534) when the suite runs as root, as CI does: a sandbox that
only holds because of root's privileges, or only fails because of them, shows up here."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

NOBODY = 65534
HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
AS_NOBODY = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]


def _unreadable(home: Path) -> str | None:
    """Why nobody cannot run this suite here, or None. Through a shell: setpriv itself execs with root's
    capabilities still in hand, so it reaches an interpreter that nobody's own children (the Landlock
    launcher) cannot, say one under a 0700 /root."""
    check = [*AS_NOBODY, "/bin/sh", "-c", 'exec "$0" -c "import luban, pytest"', sys.executable]
    done = subprocess.run(check, cwd=REPO, capture_output=True, text=True, env={"HOME": str(home), "PATH": os.defpath})
    if done.returncode != 0 or not os.access(HERE, os.R_OK):
        lines = done.stderr.strip().splitlines()
        return f"uid {NOBODY} cannot read the checkout or its Python: {lines[-1] if lines else 'no access'}"
    return None


def test_the_safety_suite_passes_unprivileged(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("not root: this run already is the unprivileged one")
    if shutil.which("setpriv") is None:
        pytest.skip("setpriv (util-linux) is not installed, so the suite cannot be re-run as nobody")
    home = tmp_path / "home"
    home.mkdir()
    os.chown(home, NOBODY, NOBODY)
    os.chmod(tmp_path, 0o755)
    if reason := _unreadable(home):
        pytest.skip(reason)
    env = {"HOME": str(home), "PATH": os.environ.get("PATH", os.defpath), "LANG": "C.UTF-8"}
    # This file skips itself when not root, so the inner run cannot recurse; --ignore makes that plain.
    argv = [*AS_NOBODY, sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", "-m", "not model",
            f"--ignore={Path(__file__)}", str(HERE)]
    done = subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    summary = done.stdout.strip().splitlines()
    print("\n".join(summary[-15:]))
    assert done.returncode == 0, "\n".join(summary[-40:]) + done.stderr[-2000:]
