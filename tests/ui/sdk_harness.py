"""For the Claude Agent SDK tests: `luban` as the SDK's cli_path, a small executable that runs this checkout's
luban against a scripted model server, and a small repository with a bug to fix."""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path

BUGGY = "def add(a, b):\n    return a - b\n"
FIXED = "def add(a, b):\n    return a + b\n"


def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    (root / "calc.py").write_text(BUGGY)
    return root


def cli(tmp_path: Path, server_url: str) -> Path:
    """An executable that runs luban with the SDK's arguments, talking to `server_url`."""
    wrapper = tmp_path / "luban-cli"
    wrapper.write_text(f"#!/bin/sh\nexec {shlex.quote(sys.executable)} -m luban.ui.cli \"$@\" "
                       f"--base-url {shlex.quote(server_url)} --tool-protocol native\n")
    wrapper.chmod(0o755)
    return wrapper


def env(tmp_path: Path) -> dict[str, str]:
    """What the SDK adds to luban's environment: its own LUBAN_HOME, and no LUBAN_* of the caller's."""
    cleared = {name: "" for name in os.environ if name.startswith("LUBAN_")}
    return {**cleared, "LUBAN_HOME": str(tmp_path / "home")}
