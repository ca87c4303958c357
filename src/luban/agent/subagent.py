"""The `task` tool: a subagent runs the same loop in a fresh context on a subset of the parent's tools (read-only
unless its definition names more, never wider) and hands back a short report. Its steps and tokens count toward
the parent's limits, its transcript is a child of the parent's session, and its events reach the front-ends
wrapped in SubagentEvent (approvals as they are, so the user answers them as the parent's own)."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Any, Generator, Mapping, Sequence

from ..context.engine import session_prefix
from ..extend.agents import MAX_STEPS, AgentDef, granted
from ..models.protocol import label
from ..session import Transcript
from ..types import (ApprovalNeeded, Decision, Effect, Event, Message, Outcome, ToolCall, ToolResult, ToolSpec,
                     SubagentEvent, Touched)
from ..workspace import Workspace
from . import loop
from .state import RunState

NAME = "task"
REPORT_CHARS = 4000  # the report is all the parent keeps of the subagent's work: short by design


@dataclass(frozen=True)
class TaskTool:
    spec: ToolSpec
    agents: Mapping[str, AgentDef]
    effect: Effect = "read"

    def __call__(self, args: Mapping[str, Any], ws: Workspace) -> ToolResult:
        return ToolResult("The task tool runs only inside the agent loop.", error=True)

    def touches(self, args: Mapping[str, Any]) -> Touched:
        return Touched()

    def delegate(self, call: ToolCall, st: RunState) -> Generator[Event, Decision | None, ToolResult]:
        """Run the subagent to its end; its report is the result."""
        agent = self.agents.get(str(call.arguments.get("agent", "explore")))
        prompt = call.arguments.get("prompt")
        if agent is None or not isinstance(prompt, str) or not prompt.strip():
            return ToolResult(f"task needs `prompt` (what to find or do) and `agent`, one of "
                              f"{', '.join(self.agents)}.", error=True)
        settings = _within(st, agent)
        if settings is None:
            return ToolResult("No steps or tokens are left in this run for a subagent; go on yourself.", error=True)
        read_only = [n for n, t in st.tools.items() if t.effect == "read"]
        tools = [st.tools[n] for n in granted(agent, list(st.tools), read_only)]
        transcript = _child_transcript(st, call, agent, [t.spec.name for t in tools])
        system = session_prefix(st.ws, st.model, settings.max_reply_tokens, st.protocol, [t.spec for t in tools])
        history = [Message("system", f"{system.content}\n\n{agent.prompt}".strip())]
        if transcript:
            transcript.append_message(history[0])
        run = loop.run(prompt, model=st.model, tools=tools, ws=st.ws, settings=settings, history=history,
                       transcript=transcript, harness=replace(st.harness, gate=None), allowed=st.session_allow,
                       conversation=history)
        try:
            outcome = yield from _relayed(run, call.id, agent.name, transcript.id if transcript else "")
        finally:
            if transcript:
                transcript.close()
        st.steps += outcome.steps
        st.usage += outcome.usage
        st.model_s += outcome.model_s
        return ToolResult(_report(agent, outcome, history), error=outcome.status != "done")


def _relayed(run: Generator[Event, Decision | None, Outcome], call_id: str, agent: str, session: str
             ) -> Generator[Event, Decision | None, Outcome]:
    """The subagent's events up to the driver: wrapped, except approvals, which the driver answers."""
    answer = None
    while True:
        try:
            event = run.send(answer)
        except StopIteration as stop:
            return stop.value
        answer = (yield event) if isinstance(event, ApprovalNeeded) else (yield SubagentEvent(call_id, agent,
                                                                                               event, session))


def _within(st: RunState, agent: AgentDef):
    """The subagent's settings: its own step limit within what the parent has left of steps, tokens and time,
    less one step, which the parent keeps to answer from the report."""
    s = st.settings
    steps = min(MAX_STEPS, s.max_steps - st.steps - 1)
    tokens = s.max_total_tokens - st.usage.prompt_tokens - st.usage.completion_tokens
    seconds = st.deadline - time.monotonic()
    if steps <= 0 or tokens <= 0 or seconds <= 0:
        return None
    return replace(s, max_steps=steps, max_total_tokens=tokens, max_wall_s=seconds)


def _child_transcript(st: RunState, call: ToolCall, agent: AgentDef, tools: Sequence[str]) -> Transcript | None:
    if st.transcript is None:
        return None
    parent = {"session": st.transcript.id, "call": call.id, "agent": agent.name}
    return Transcript.create(st.transcript.child_dir(), st.ws.root, st.model.info.name, label(st.protocol), tools,
                             parent=parent)


def _report(agent: AgentDef, outcome: Outcome, conversation: Sequence[Message]) -> str:
    text = _cut(outcome.message.strip() or "(no report)", REPORT_CHARS)
    if outcome.status == "done":
        return text
    seen = _last_results(conversation)
    found = f"\nWhat it saw before stopping (its last distinct tool results):\n{seen}" if seen else ""
    return f"The {agent.name} subagent stopped before finishing ({outcome.status}): {text}{found}"


def _last_results(conversation: Sequence[Message], keep: int = 3) -> str:
    """A subagent stopped by a limit often saw the answer without saying it (a weak model grepping file after
    file past the match): its last few distinct tool results are the findings the parent can still use."""
    results: list[str] = []
    for message in reversed(conversation[2:]):  # past the system prompt and the task
        if message.role != "assistant" and message.content not in results:
            results.append(message.content)
        if len(results) == keep:
            break
    return "\n---\n".join(_cut(r, REPORT_CHARS // keep // 2) for r in reversed(results))


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + " [... cut]"


def task_tool(agents: Sequence[AgentDef], parent_tools: Sequence[Any]) -> TaskTool:
    """The task tool offering `agents`; its effect is the widest any of them can have with `parent_tools`, so the
    permission mode judges the delegation as it would the work."""
    names = [t.spec.name for t in parent_tools]
    read_only = [t.spec.name for t in parent_tools if t.effect == "read"]
    effects = {t.spec.name: t.effect for t in parent_tools}
    widest = max((effects[n] for a in agents for n in granted(a, names, read_only)),
                 key=("read", "write", "exec").index, default="read")
    lines = "\n".join(f"- {a.name}: {a.description}" for a in agents)
    spec = ToolSpec(NAME, "Hand a self-contained job to a subagent that works in a fresh context and returns only a "
                          f"short report. Agents:\n{lines}", {
                              "type": "object",
                              "properties": {"agent": {"enum": [a.name for a in agents]},
                                             "prompt": {"type": "string"}},
                              "required": ["agent", "prompt"]})
    return TaskTool(spec, {a.name: a for a in agents}, widest)
