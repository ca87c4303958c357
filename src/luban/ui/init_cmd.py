"""`luban init`: write a first AGENTS.md for the workspace and say where it went."""

from __future__ import annotations

from pathlib import Path
from typing import TextIO

from ..context.init import write_agents_md


def init_command(cwd: str, force: bool, out: TextIO) -> int:
    path = write_agents_md(Path(cwd).resolve(), force=force)
    lines = path.read_text(encoding="utf-8").splitlines()
    sections = [line[3:] for line in lines if line.startswith("## ")]
    out.write(f"Wrote {path}: {len(lines)} lines in sections {', '.join(sections)}. Review it and add what the "
              "repository's files could not say.\n")
    return 0
