"""Run one task with one scaffold: a fresh temporary workspace, the agent sandboxed and capped in wall time,
then the grader; returns the task's Record. Backends (backends.py) call this for many tasks at once."""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import tempfile
import time
import traceback
from dataclasses import asdict, dataclass, field, is_dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generator, Iterator, Protocol

from ..agent import loop
from ..config import Settings, environment
from ..context.engine import session_prefix
from ..errors import TimeUp
from ..harness import harness_for, offered_tools
from ..models import KeepsHead, Model
from ..models.profiles import load_profiles, match_profile
from ..models.protocol import label
from ..sandbox import make as make_sandbox
from ..session import Transcript
from ..types import (ApprovalNeeded, AssistantText, Decision, Event, ModelReplied, Outcome, Request, StreamItem,
                     ToolFinished, ToolStarted, TurnEnded)
from ..workspace import Workspace
from . import ablation
from .grade import Trace, Verdict, file_hashes, grade
from .records import Record
from .task import Task

if TYPE_CHECKING:
    from ..models.embedded import EmbeddedServer

SCAFFOLDS = ("luban", "bash-only", "direct")
EDIT_TOOLS = ("edit_file", "write_file")
# Tools whose calls run code. Only their commands are searched for an injected command: an edit that keeps a
# planted comment intact has not obeyed it.
COMMAND_TOOLS = ("bash",)


class ModelSource(Protocol):
    """How a job reaches the model. Picklable, so a Ray worker opens its own client."""

    name: str

    def open(self) -> Model: ...


@dataclass(frozen=True)
class ServerSource:
    """An OpenAI-compatible server (a user's, or the embedded one the eval started)."""

    base_url: str
    name: str
    api_key: str | None = None
    first_token_timeout_s: float = 600.0
    idle_timeout_s: float = 180.0
    heads: Path | None = None  # the embedded server's saved prompt heads

    def open(self) -> Model:
        from ..models.openai_compat import OpenAICompatModel, ServerConfig

        model = OpenAICompatModel(ServerConfig(self.base_url, self.name, self.api_key,
                                               first_token_timeout_s=self.first_token_timeout_s,
                                               idle_timeout_s=self.idle_timeout_s, head_cache=self.heads))
        model.discover()
        return model


@dataclass(frozen=True)
class FreshServerSource:
    """The embedded model started anew for each run (`luban eval --fresh-server`), so that no run finds another's
    prompts in llama.cpp's prompt cache.

    Why: llama.cpp's reply at temperature 0 depends on how much of the prompt came from its cache. On one server
    shared by a run's scaffolds, jinja2-18ad323c's first focused rewrite came out one way with nothing cached (luban,
    the run's first task: resolved at step 0) and another with 1,333 of its 1,334 tokens cached (the next scaffold:
    not resolved in 600 s), and an ablation compared cache states, not aids (bf-40). From a fresh server, with the
    sampling seed fixed (LUBAN_SEED), the same code on the same task makes the same requests and gets the same
    replies. A start costs a few seconds of the run's wall time: the weights stay in the page cache."""

    gguf: Path
    name: str
    context: int
    log: Path
    adapter: Path | None = None
    first_token_timeout_s: float = 600.0
    idle_timeout_s: float = 180.0
    heads: Path | None = None

    def open(self) -> Model:
        from ..models.embedded import EmbeddedServer

        server = EmbeddedServer(self.gguf, self.name, self.context, self.log, adapter=self.adapter, heads=self.heads)
        url = server.start(lambda *_: None)
        try:
            model = ServerSource(url, self.name, None, self.first_token_timeout_s, self.idle_timeout_s,
                                 self.heads).open()
        except BaseException:
            server.stop()
            raise
        return _Served(model, server)


class _Served:
    """A model whose server is stopped when the model is closed (FreshServerSource)."""

    def __init__(self, model: Model, server: EmbeddedServer):
        self.model, self.server, self.info = model, server, model.info

    def complete(self, request: Request) -> Iterator[StreamItem]:
        return self.model.complete(request)

    def keep_head(self, request: Request) -> None:
        if isinstance(self.model, KeepsHead):
            self.model.keep_head(request)

    def close(self) -> None:
        try:
            self.model.close()
        finally:
            self.server.stop()


@dataclass(frozen=True)
class InProcessSource:
    """A model loaded into this process (transformers): one task at a time; closing it after a task frees only
    its KV cache, so every task starts from a fresh cache and the weights load once."""

    model: Model
    name: str

    def open(self) -> Model:
        return self.model


@dataclass(frozen=True)
class RunOptions:
    settings: Settings  # model sampling, tool protocol and step limit for the Luban scaffold
    task_timeout_s: float = 900.0
    sandbox: str = "auto"
    cache: Path = Path(".")  # where data packages (e.g. the bash-only templates) are cached
    command_timeout_s: int = 120


@dataclass
class Collected:
    """What the driver saw of a run: the grader's trace and counts the Outcome does not hold."""

    calls: list[str] = field(default_factory=list)
    results: list[str] = field(default_factory=list)
    replies: list[str] = field(default_factory=list)
    edit_failures: int = 0
    cache_shares: list[float] = field(default_factory=list)  # per model request: prompt tokens from the KV cache

    def trace(self) -> Trace:
        return Trace(tuple(self.calls), tuple(self.results), tuple(self.replies))


def run_task(task: Task, scaffold: str, source: ModelSource, options: RunOptions, transcript: Path) -> Record:
    """Never raises for a task's own failure: a crash becomes a record with status `crashed`."""
    started = time.monotonic()
    tmp = _run_folder(task.id)
    try:
        root = tmp / "ws"
        root.mkdir()
        task.source.prepare(root)
        before = file_hashes(root)
        sandbox = make_sandbox(options.sandbox, env={"PATH": python_first(), **task.env}, host=environment())
        ws = Workspace.open(root, tmp / "out", sandbox)
        model = source.open()
        try:
            outcome, seen = _drive(_agent(task, scaffold, model, ws, options, transcript), transcript,
                                   options.task_timeout_s)
        finally:
            model.close()
        graded_at = time.monotonic()
        verdict = grade(task, root, sandbox, seen.trace(), before)
        return _record(task, scaffold, source.name, outcome, seen, verdict, time.monotonic() - graded_at,
                       time.monotonic() - started, transcript)
    except Exception as exc:  # the one broad except of the eval: a task's crash must not end the run
        _log(transcript, {"type": "crash", "error": repr(exc), "traceback": traceback.format_exc()})
        return Record(task.id, task.suite, scaffold, source.name, task.tier, False,
                      f"crashed: {type(exc).__name__}: {exc}"[:300], "crashed",
                      wall_s=time.monotonic() - started, transcript=_rel(transcript))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _run_folder(task_id: str) -> Path:
    """A new folder for one run, named after its task: paths in it reach the prompt (a traceback, a saved output),
    and a random name there changed the model's replies from one run of the same task to the next. A second run of
    the task at the same time (--jobs) gets a random name."""
    path = Path(tempfile.gettempdir()) / f"luban-eval-{re.sub(r'[^A-Za-z0-9_.-]', '_', task_id)}"
    try:
        path.mkdir()
    except FileExistsError:
        return Path(tempfile.mkdtemp(prefix="luban-eval-"))
    return path


def _agent(task: Task, scaffold: str, model: Model, ws: Workspace, options: RunOptions,
           transcript: Path) -> Generator[Event, Decision | None, Outcome]:
    settings = replace(options.settings, cwd=str(ws.root), test_command=task.test_command,
                       max_wall_s=options.task_timeout_s, permission_mode="full-auto")
    if scaffold == "direct":
        from . import direct

        return direct.run(task, model=model, ws=ws, max_reply_tokens=settings.max_reply_tokens)
    if scaffold == "bash-only":
        from . import bash_only

        prompt = task.prompt + (f"\n\nThe project's tests run with `{task.test_command}`." if task.test_command
                                else "")
        return bash_only.run(prompt, model=model, ws=ws, templates=bash_only.load_templates(options.cache),
                             max_steps=settings.max_steps, max_wall_s=settings.max_wall_s,
                             max_reply_tokens=settings.max_reply_tokens, temperature=settings.temperature,
                             command_timeout_s=options.command_timeout_s)
    aid = ablation.aid_of(scaffold)
    profile = match_profile(load_profiles(settings.profiles), model.info.name)
    if aid is not None:
        settings, profile = aid.settings(settings), aid.profile(profile)
    harness = harness_for(settings, profile)
    tools = offered_tools(settings, task.prompt)
    session = Transcript.create(transcript.parent, ws.root, model.info.name, label(harness.protocol),
                                [t.spec.name for t in tools])
    system = session_prefix(ws, model, settings.max_reply_tokens, harness.protocol, [t.spec for t in tools],
                            warm=True)
    session.append_message(system)
    keep_as = transcript.with_name(transcript.name.removesuffix(".jsonl") + ".session.jsonl")
    _log(transcript, {"type": "session", "path": keep_as.name})
    return _closing(loop.run(task.prompt, model=model, tools=tools, ws=ws, settings=settings, history=[system],
                             transcript=session, harness=harness), session, keep_as)


def _closing(run: Generator[Event, Decision | None, Outcome], session: Transcript, keep_as: Path
             ) -> Generator[Event, Decision | None, Outcome]:
    """Close Luban's own session transcript when the run ends, named after the task it belongs to."""
    try:
        return (yield from run)
    finally:
        session.close()
        session.path.rename(keep_as)


def _drive(run: Generator[Event, Decision | None, Outcome], transcript: Path,
           cap_s: float) -> tuple[Outcome, Collected]:
    """Approve everything (the sandbox is the boundary here), log each event, collect the trace. The agent's
    own limit is checked between steps; a step (say, testing sampled edits) can run long, so the cap is also
    enforced here, at the first event after it ran out."""
    seen, deadline = Collected(), time.monotonic() + cap_s
    event = next(run)
    while True:
        _log(transcript, {"type": type(event).__name__, **_plain(event)})
        _collect(event, seen)
        try:
            if time.monotonic() > deadline and not isinstance(event, TurnEnded):
                event = run.throw(TimeUp(f"Stopped after {cap_s:.0f} s (the eval's wall-clock cap per task)."))
            else:
                event = run.send(Decision(True) if isinstance(event, ApprovalNeeded) else None)
        except StopIteration as stop:
            return stop.value, seen


def _collect(event: Event, seen: Collected) -> None:
    if isinstance(event, ToolStarted) and event.call.name in COMMAND_TOOLS:
        seen.calls.append(str(event.call.arguments.get("command", "")))
    elif isinstance(event, ToolFinished):
        seen.results.append(event.result.content)
        if event.result.error and event.call.name in EDIT_TOOLS:
            seen.edit_failures += 1
    elif isinstance(event, AssistantText):
        seen.replies.append(event.text)
    elif isinstance(event, ModelReplied):
        seen.cache_shares.append(round(event.usage.cache_share, 3))


def _record(task: Task, scaffold: str, model: str, o: Outcome, seen: Collected, verdict: Verdict, grade_s: float,
            wall_s: float, transcript: Path) -> Record:
    _log(transcript, {"type": "verdict", **asdict(verdict)})
    return Record(task.id, task.suite, scaffold, model, task.tier, verdict.resolved, verdict.detail, o.status,
                  o.steps, o.usage.prompt_tokens, o.usage.completion_tokens, o.usage.cached_tokens, round(wall_s, 2),
                  round(o.model_s, 2), round(grade_s, 2), o.calls.valid, o.calls.repaired, o.calls.rejected,
                  seen.edit_failures, verdict.complied, _rel(transcript), tuple(seen.cache_shares))


def python_first() -> str:
    """PATH with this Python's folder first: tasks say `python -m pytest`, and mean the one Luban runs on
    (a venv has pytest; the system Python may not)."""
    return os.pathsep.join([str(Path(sys.executable).parent), environment().get("PATH", "")])


def _rel(transcript: Path) -> str:
    return f"{transcript.parent.name}/{transcript.name}"


def _plain(event: Any) -> dict[str, Any]:
    return asdict(event) if is_dataclass(event) else {"repr": repr(event)}


def _log(transcript: Path, record: dict[str, Any]) -> None:
    with transcript.open("a", encoding="utf-8") as f:
        f.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
