"""The `--scaffold direct` baseline: one plain greedy request for the code, no agent and no tools. The reply's
code goes into the task's one file and the same hidden tests grade it: the model's own score, against which
the harness is judged (a harness must never leave the model worse than it is alone)."""

from __future__ import annotations

import re
import time
from typing import Generator

from ..errors import LubanError
from ..harness.writes import PROMPT, code_blocks
from ..models import Model, drain
from ..types import (AssistantText, Decision, Event, Message, ModelReplied, Outcome, Request, ToolCall, ToolFinished,
                     ToolResult, ToolStarted, TurnEnded)
from ..workspace import Workspace
from .task import Files, Task


def supports(task: Task) -> bool:
    """Whether `task` asks for one function in one given file (humaneval does; a repository's bug does not)."""
    return bool(task.meta.get("entry_point")) and isinstance(task.source, Files) and len(task.source.start) == 1


def run(task: Task, *, model: Model, ws: Workspace, max_reply_tokens: int
        ) -> Generator[Event, Decision | None, Outcome]:
    """Ask once at temperature 0, write what came back, and stop; it never yields ApprovalNeeded."""
    started = time.monotonic()
    assert isinstance(task.source, Files)
    (path, stub), = task.source.start.items()
    request = Request((Message("user", PROMPT.format(code=stub.strip("\n"))),), (), 0.0, max_reply_tokens)
    try:
        completion = drain(model, request)
    except LubanError as exc:  # as in agent/loop.py: a model failure ends the run, it does not crash it
        outcome = Outcome(exc.status, str(exc), 1, wall_s=time.monotonic() - started)
        yield TurnEnded(outcome)
        return outcome
    yield ModelReplied(completion.usage, completion.wall_s)
    yield AssistantText(completion.message.content, completion.message.reasoning)
    code = solution(stub, completion.message.content, str(task.meta["entry_point"]))
    call = ToolCall("direct-1", "write_file", {"path": path, "content": code})
    yield ToolStarted(call)
    ws.files.write(ws.files.place(path), code.encode("utf-8", errors="replace"))
    yield ToolFinished(call, ToolResult(f"Wrote the reply's code to {path}."))
    outcome = Outcome("done", "", 1, completion.usage, round(time.monotonic() - started, 3),
                      round(completion.wall_s, 3))
    yield TurnEnded(outcome)
    return outcome


def solution(stub: str, reply: str, entry_point: str) -> str:
    """The file to grade: the stub followed by the reply's function, so the stub's imports and helpers stay
    and the reply's definition, coming later, is the one called; a reply that is only a body completes the
    stub, as the original HumanEval harness joins prompt and completion."""
    defines = re.compile(rf"^\s*(?:async\s+)?def\s+{re.escape(entry_point)}\s*\(", re.MULTILINE)
    blocks = code_blocks(reply)
    code = next((b for b in blocks if defines.search(b)), max(blocks, key=len) if blocks else reply)
    if defines.search(code):
        return f"{stub.rstrip()}\n\n\n{code.strip(chr(10))}\n"
    return f"{stub.rstrip(chr(10))}\n{code.strip(chr(10))}\n"
