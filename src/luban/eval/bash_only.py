"""The `--scaffold bash-only` baseline: mini-swe-agent's text-based protocol (one bash command per reply, a fresh
shell each) on the same model, yielding the loop's Events. Reproduces mini-swe-agent 2.4.6 (MIT, github.com/SWE-agent/
mini-swe-agent): config/mini_textbased.yaml, read from the pinned wheel at run time, with its agent and environment."""

from __future__ import annotations

import ast
import os
import platform
import re
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generator, Mapping

from ..config import environment
from ..errors import LubanError
from ..models import Model, drain
from ..types import (AssistantText, CallStats, Completion, Decision, Event, Message, ModelReplied, Notice, Outcome,
                     Request, ToolCall, ToolFinished, ToolResult, ToolStarted, TurnEnded, Usage)
from ..workspace import Workspace
from .packages import PackageUnavailable, Wheel

WHEEL = Wheel("mini-swe-agent", "2.4.6", "mini_swe_agent-2.4.6-py3-none-any.whl",
              "a35463c553ac825c7773b03cfa69cd44958e3af20155dcc5711fdf9e4c67cd54")
CONFIG = "minisweagent/config/mini_textbased.yaml"
MODEL_SOURCE = "minisweagent/models/litellm_textbased_model.py"
AGENT_SOURCE = "minisweagent/agents/default.py"
# LocalEnvironment ends the run when an action's first output line is this and it exited 0.
SUBMIT = "COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT"
# After the group is killed, how long to wait for the pipe to close (a process that left the group may hold it).
KILL_WAIT_S = 2.0


@dataclass(frozen=True)
class BashOnlyTemplates:
    """mini-swe-agent's prompts and formats as its wheel ships them (jinja2 sources, not rendered)."""

    system: str
    instance: str
    observation: str
    format_error: str
    action_regex: str
    env: Mapping[str, str] = field(default_factory=dict)
    max_format_errors: int = 3


def load_templates(cache: Path) -> BashOnlyTemplates:
    """Read the templates from the wheel (downloaded into `cache` once), so no prompt text lives in our repo."""
    import yaml  # the `eval` extra; deferred so importing this module stays cheap

    config = yaml.safe_load(WHEEL.read(cache, CONFIG))
    agent, model, env = config["agent"], config["model"], config.get("environment", {})
    # The regex and the format-error limit are pydantic defaults in the package's code, not in the yaml.
    regex = _class_default(WHEEL.read(cache, MODEL_SOURCE), "LitellmTextbasedModelConfig", "action_regex")
    max_errors = agent["max_consecutive_format_errors"] if "max_consecutive_format_errors" in agent else (
        _class_default(WHEEL.read(cache, AGENT_SOURCE), "AgentConfig", "max_consecutive_format_errors"))
    return BashOnlyTemplates(agent["system_template"], agent["instance_template"], model["observation_template"],
                             model["format_error_template"], regex, dict(env.get("env", {})), int(max_errors))


def _class_default(source: bytes, cls: str, name: str) -> Any:
    """A class attribute's default value as written in the package's source (read, never executed)."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ClassDef) and node.name == cls:
            for stmt in node.body:
                if (isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) and stmt.target.id == name
                        and stmt.value is not None):
                    return ast.literal_eval(stmt.value)
    raise PackageUnavailable(f"{WHEEL.file_name} has no default for {cls}.{name}.")


@dataclass(frozen=True)
class _Limits:
    max_steps: int
    max_wall_s: float
    max_reply_tokens: int
    temperature: float
    command_timeout_s: int


@dataclass
class _State:
    """What the run has done so far, and the figures its Outcome reports."""

    model: Model
    ws: Workspace
    templates: BashOnlyTemplates
    limits: _Limits
    variables: dict[str, Any] = field(default_factory=dict)
    messages: list[Message] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)
    steps: int = 0
    usage: Usage = field(default_factory=Usage)
    model_s: float = 0.0
    valid: int = 0
    rejected: int = 0

    def outcome(self, status: str, message: str = "") -> Outcome:
        wall = round(time.monotonic() - self.started, 3)
        return Outcome(status, message, self.steps, self.usage, wall, round(self.model_s, 3),  # type: ignore[arg-type]
                       CallStats(valid=self.valid, rejected=self.rejected))


def run(task: str, *, model: Model, ws: Workspace, templates: BashOnlyTemplates, max_steps: int, max_wall_s: float,
        max_reply_tokens: int, temperature: float = 0.0, command_timeout_s: int = 60
        ) -> Generator[Event, Decision | None, Outcome]:
    """Solve `task` the way mini-swe-agent does; every command runs unasked (it never yields ApprovalNeeded).

    Done when a command prints the submission line; an error after too many malformed replies in a row.
    """
    limits = _Limits(max_steps, max_wall_s, max_reply_tokens, temperature, command_timeout_s)
    st = _State(model, ws, templates, limits)
    try:
        outcome = yield from _steps(task, st)
    except LubanError as exc:  # as in agent/loop.py: a model or workspace failure ends the run, it does not crash it
        outcome = st.outcome(exc.status, str(exc))
    yield TurnEnded(outcome)
    return outcome


def _steps(task: str, st: _State) -> Generator[Event, Decision | None, Outcome]:
    t = st.templates
    # DefaultAgent renders with the environment's platform.uname() fields and the task.
    st.variables = {**platform.uname()._asdict(), "task": task}
    st.messages += [Message("system", _render(t.system, **st.variables)),
                    Message("user", _render(t.instance, **st.variables))]
    format_errors = 0
    while True:
        limit = _limit_reached(st)
        if limit:
            return limit
        completion = yield from _query(st)
        content = completion.message.content
        actions = [a.strip() for a in re.findall(t.action_regex, content, re.DOTALL)]
        if len(actions) != 1:
            format_errors += 1
            st.rejected += 1
            yield Notice(f"The reply had {len(actions)} mswea_bash_command blocks, not one; sent the format error "
                         f"back ({format_errors} of {t.max_format_errors} in a row).")
            # Like mini-swe-agent, the malformed reply is left out of the history; only the error goes back.
            error = f"Expected exactly 1 action, found {len(actions)}."
            st.messages.append(Message("user", _render(t.format_error, actions=actions, error=error,
                                                       finish_reason=completion.finish_reason)))
            if 0 < t.max_format_errors <= format_errors:  # 0: no limit, as in mini
                return st.outcome("error", f"The model sent {format_errors} malformed replies in a row.")
            continue
        format_errors = 0
        st.valid += 1
        st.messages.append(Message("assistant", content))
        submission = yield from _execute(actions[0], st)
        if submission is not None:
            return st.outcome("done", submission)


def _limit_reached(st: _State) -> Outcome | None:
    if st.steps >= st.limits.max_steps:
        return st.outcome("max_steps", f"Stopped after {st.steps} steps (max_steps).")
    if time.monotonic() - st.started >= st.limits.max_wall_s:
        return st.outcome("max_time", f"Stopped after {st.limits.max_wall_s:.0f} s (max_wall_s).")
    return None


def _query(st: _State) -> Generator[Event, Decision | None, Completion]:
    """One plain chat request (mini's text-based model sends no tools); a step is a model call, as in mini."""
    st.steps += 1
    request = Request(tuple(st.messages), (), st.limits.temperature, st.limits.max_reply_tokens)
    completion = drain(st.model, request)
    st.usage += completion.usage
    st.model_s += completion.wall_s
    yield ModelReplied(completion.usage, completion.wall_s)
    message = completion.message
    if message.content or message.reasoning:
        yield AssistantText(message.content, message.reasoning)
    return completion


def _execute(command: str, st: _State) -> Generator[Event, Decision | None, str | None]:
    """Run one action; the submission text if it submitted, else None after sending the observation back."""
    call = ToolCall(f"call_{st.steps}", "bash", {"command": command})
    yield ToolStarted(call)
    started = time.monotonic()
    output = _shell(command, st.ws, st.templates.env, st.limits.command_timeout_s)
    submission = _submission(output)
    # mini never renders a submitting action's output, so the event carries it raw.
    text = output["output"] if submission is not None else _render(
        st.templates.observation, output=output, **st.variables)
    yield ToolFinished(call, ToolResult(text, error=output["returncode"] != 0), round(time.monotonic() - started, 3))
    if submission is None:
        st.messages.append(Message("user", text))
    return submission


def _submission(output: Mapping[str, Any]) -> str | None:
    """LocalEnvironment's check: the first line after leading blanks is the marker and the command exited 0."""
    lines = output["output"].lstrip().splitlines(keepends=True)
    if lines and lines[0].strip() == SUBMIT and output["returncode"] == 0:
        return "".join(lines[1:])
    return None


def _shell(command: str, ws: Workspace, env: Mapping[str, str], timeout: int) -> dict[str, Any]:
    """LocalEnvironment.execute through our sandbox: a fresh shell in the root, stdout and stderr together; on a
    timeout the process group is killed and what it printed so far is kept, with mini's exception text."""
    try:
        proc = subprocess.Popen(ws.sandbox.wrap(["bash", "-c", command], ws.root), cwd=ws.root,
                                env={**environment(), **env}, text=True, encoding="utf-8", errors="replace",
                                # No stdin, unlike mini: a driver (the TUI) may own the terminal.
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                start_new_session=True)
    except OSError as exc:  # e.g. the sandbox binary is missing: the model sees it, as mini's env reports it
        return _failed(exc)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        return _failed(subprocess.TimeoutExpired(command, timeout), _kill(proc))
    except BaseException:  # Ctrl-C or a cancelled run: leave no processes behind
        _kill(proc)
        raise
    return {"output": out, "returncode": proc.returncode, "exception_info": ""}


def _failed(exc: Exception, output: str = "") -> dict[str, Any]:
    """What LocalEnvironment reports when running the command raised (mini's wording)."""
    info = f"An error occurred while executing the command: {exc}"
    return {"output": output, "returncode": -1, "exception_info": info}


def _kill(proc: subprocess.Popen[str]) -> str:
    """SIGKILL the group (as mini does) and return the output read by then."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    try:
        out, _ = proc.communicate(timeout=KILL_WAIT_S)
    except subprocess.TimeoutExpired:  # a process that left the group holds the pipe; give up on its output
        proc.kill()
        proc.wait()
        if proc.stdout:
            proc.stdout.close()
        return ""
    return out


def _render(template: str, **variables: Any) -> str:
    from jinja2 import StrictUndefined, Template  # the `eval` extra; deferred like yaml

    return Template(template, undefined=StrictUndefined).render(**variables)
