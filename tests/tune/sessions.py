"""Recorded sessions for the tune tests: a scripted model driven through the real loop, test gate and
Transcript writer, so the transcript is exactly what Luban writes."""

from __future__ import annotations

import json
from pathlib import Path

from luban.agent import loop
from luban.config import Settings
from luban.harness.gate import TestGate
from luban.harness import Harness
from luban.models.protocol import JsonProtocol, label
from luban.models.scripted import assistant, script
from luban.context.prompt import system_prompt
from luban.session import Transcript
from luban.tools import default_tools
from luban.workspace import Workspace

SETTINGS = Settings(permission_mode="full-auto", edit_samples=1)
GATE = "python3 -c 'import calc; assert calc.add(2, 3) == 5'"


def turn(tool, thought="", **args):
    return assistant(json.dumps({"thought": thought or f"use {tool}", "tool": tool, "args": args}))


# Every kind of turn: an unreadable reply (dropped), a repaired call (masked), a refused finish (masked),
# then an edit and the final answer (trained).
REPLIES = (
    assistant("I will read calc.py"),
    turn("read_file", path="calc.py", offset="1"),
    turn("finish", answer="Looks fine."),
    turn("edit_file", "fix the operator", path="calc.py", old_string="a - b", new_string="a + b"),
    turn("finish", answer="Fixed add."),
)


def record(sessions: Path, repo: Path, replies=REPLIES, gate: str | None = GATE, tools=None) -> Path:
    """Run one task in `repo` with the JSON protocol and write its transcript under `sessions`."""
    (repo / "calc.py").write_text("def add(a, b):\n    return a - b\n")
    ws = Workspace.open(repo, repo.parent / f"{repo.name}-out")
    protocol, tools = JsonProtocol(), tools or default_tools()
    transcript = Transcript.create(sessions, repo, "scripted", label(protocol), [t.spec.name for t in tools])
    system = system_prompt(ws, protocol.system_text([t.spec for t in tools]))
    transcript.append_message(system)
    harness = Harness(protocol, TestGate(gate) if gate else None)
    run = loop.run("fix add", model=script(*replies), tools=tools, ws=ws, settings=SETTINGS, history=[system],
                   transcript=transcript, harness=harness)
    for _ in run:
        pass
    transcript.close()
    return transcript.path
