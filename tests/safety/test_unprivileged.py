"""Re-run tests/safety as nobody (uid/gid 65534) when the suite runs as root, as CI does: a sandbox that
only holds because of root's privileges, or only fails because of them, shows up here."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

NOBODY = 65534
HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
AS_NOBODY = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]


def _runnable(python: str, env: dict[str, str]) -> str | None:
    """Why nobody cannot run the suite with `python`, or None. Through a shell: setpriv itself execs with root's
    capabilities still in hand, so it reaches an interpreter that nobody's own children (the Landlock
    launcher) cannot, say one under a 0700 /root."""
    check = [*AS_NOBODY, "/bin/sh", "-c", 'exec "$0" -c "import luban, pytest"', python]
    done = subprocess.run(check, cwd=REPO, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines()
        return f"{python}: {lines[-1] if lines else f'exit code {done.returncode}'}"
    return None


def _interpreter(env: dict[str, str]) -> tuple[str, dict[str, str]] | str:
    """This interpreter if nobody can run it; else the system's Python of the same version with this
    environment's packages on PYTHONPATH (a venv built on a Python under a 0700 home). Or why neither works."""
    reasons = [_runnable(sys.executable, env)]
    if reasons[0] is None:
        return sys.executable, env
    system = f"/usr/bin/python{sys.version_info.major}.{sys.version_info.minor}"
    if Path(system).exists():
        packages = os.pathsep.join([str(REPO / "src"), sysconfig.get_paths()["purelib"]])
        env = {**env, "PYTHONPATH": packages, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"}
        reasons.append(_runnable(system, env))
        if reasons[-1] is None:
            return system, env
    return f"uid {NOBODY} cannot run the suite: " + "; ".join(reasons)


def test_the_safety_suite_passes_unprivileged(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("not root: this run already is the unprivileged one")
    if shutil.which("setpriv") is None:
        pytest.skip("setpriv (util-linux) is not installed, so the suite cannot be re-run as nobody")
    home = tmp_path / "home"
    home.mkdir()
    os.chown(home, NOBODY, NOBODY)
    os.chmod(tmp_path, 0o755)
    if not os.access(HERE, os.R_OK) or not os.stat(HERE).st_mode & 0o005:
        pytest.skip(f"uid {NOBODY} cannot read the checkout at {REPO}")
    found = _interpreter({"HOME": str(home), "PATH": os.environ.get("PATH", os.defpath), "LANG": "C.UTF-8"})
    if isinstance(found, str):
        pytest.skip(found)
    python, env = found
    # This file skips itself when not root, so the inner run cannot recurse; --ignore makes that plain.
    argv = [*AS_NOBODY, python, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", "-m", "not model",
            f"--ignore={Path(__file__)}", str(HERE)]
    done = subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    summary = done.stdout.strip().splitlines()
    print("\n".join(summary[-15:]))
    assert done.returncode == 0, "\n".join(summary[-40:]) + done.stderr[-2000:]
