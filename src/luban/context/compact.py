"""Compaction: fit a long history back into the window — prune old tool outputs first, then have the model
summarise the older turns (in chunks that each fit the window). Pure: the caller swaps the history in only
when everything succeeded, so a failing summary call leaves the history as it was.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

from ..tools import todo
from ..types import Message, Request, ToolCall
from .budget import Budget

KEEP_RESULTS = 3  # the newest tool outputs stay whole: the model is usually working from them
SUMMARY_TOKENS = 600  # the summary's own reply budget
SUMMARY_OVERHEAD = 400  # instructions and chat-template tokens around a chunk
LINE_CHARS = 2_000  # one message in the summariser's input, at most
PRUNED = "[output of {call} removed to save context; call the tool again if you need it]"
SUMMARISER = """\
You condense the record of a coding agent's work so that it can go on without the full record. Write plain \
text under these headings, each brief: Task (what the user asked, with every detail that matters), Done so far \
(steps taken and decisions, with reasons), Files touched (path: what changed), Open todos (what remains to do), \
Last test result (the command and its outcome, with the key error lines). Keep file paths, function names, \
commands and error messages exact. At most 300 words."""
PLAN_HEAD = "Your task list as you last wrote it:"
SUMMARY_HEAD = "[Earlier turns of this session were condensed to fit the context window. Summary:]"

Count = Callable[[str], int]
Summarise = Callable[[Request], str]


@dataclass(frozen=True)
class Compaction:
    messages: tuple[Message, ...]  # the new history, system prompt first
    pruned: int  # tool outputs replaced by a stub
    summarised: int  # messages folded into the summary


def message_tokens(message: Message, count: Count) -> int:
    calls = json.dumps([[c.name, c.arguments] for c in message.tool_calls], default=str) if message.tool_calls else ""
    return count(message.content) + (count(calls) if calls else 0) + 4  # + role and template tokens


def history_tokens(messages: Sequence[Message], count: Count) -> int:
    return sum(message_tokens(m, count) for m in messages)


def prune(messages: Sequence[Message], results: Mapping[int, tuple[ToolCall, Callable[[str], Message]]]
          ) -> tuple[list[Message], int]:
    """Replace all but the newest KEEP_RESULTS tool outputs with a stub naming the call.

    `results` maps id(message) of each tool-result message to its call and a function that renders a result
    message in the run's protocol (so a stub is shaped exactly like the output it replaces)."""
    positions = [i for i, m in enumerate(messages) if id(m) in results]
    old = set(positions[:-KEEP_RESULTS] if len(positions) > KEEP_RESULTS else []) - {latest_plan(messages, results)}
    pruned = list(messages)
    for i in old:
        call, render = results[id(messages[i])]
        pruned[i] = render(PRUNED.format(call=describe(call)))
    return pruned, len(old)


def latest_plan(messages: Sequence[Message], results: Mapping[int, tuple[ToolCall, Callable[[str], Message]]]
                ) -> int | None:
    """Where the result of the latest successful `todo` call is: it is never pruned, and a summary carries it."""
    return next((i for i in range(len(messages) - 1, -1, -1) if id(messages[i]) in results
                 and results[id(messages[i])][0].name == todo.NAME
                 and not todo.problem(results[id(messages[i])][0].arguments.get("todos"))), None)


def _plan_summarised(messages: Sequence[Message], results: Mapping[int, tuple[ToolCall, Callable[[str], Message]]],
                     start: int) -> str | None:
    """The task list that the summary of messages[:start] must carry: the latest one, from a `todo` result or an
    earlier summary note; None when the latest list stays in the kept turns, or there is none."""
    plan = latest_plan(messages, results)
    if plan is not None:
        return todo.render(results[id(messages[plan])][0].arguments["todos"]) if plan < start else None
    marker = f"\n\n{PLAN_HEAD}\n"
    notes = [m.content for m in messages[:start] if m.content.startswith(SUMMARY_HEAD) and marker in m.content]
    return notes[-1].split(marker, 1)[1] if notes else None


def describe(call: ToolCall) -> str:
    args = ", ".join(f"{k}={json.dumps(v, ensure_ascii=False)[:80]}" for k, v in call.arguments.items())
    return f"{call.name}({args})"


def compact(messages: Sequence[Message], system: Message, budget: Budget, count: Count,
            results: Mapping[int, tuple[ToolCall, Callable[[str], Message]]], summarise: Summarise,
            goal: int | None = None) -> Compaction:
    """The history with a fresh `system` prompt, brought under `goal` tokens (budget.compact_to unless given) if
    it can be; summary chunks fill the budget's window either way.

    messages[0] is the old system prompt and messages[1] the task, which is always kept. Raises whatever
    `summarise` raises (a model error): then nothing has changed."""
    goal = budget.compact_to if goal is None else goal
    pruned, n_pruned = prune(messages, results)
    task = _kept_task(pruned[1], goal, count) if len(pruned) > 1 else None
    head = [system, task] if task else [system]
    if history_tokens(head + pruned[len(head):], count) <= goal:
        return Compaction(tuple(head + pruned[len(head):]), n_pruned, 0)
    room = goal - history_tokens(head, count) - SUMMARY_TOKENS
    start = _recent_start(pruned, len(head), room, count)
    older = pruned[len(head):start]
    if not older:
        return Compaction(tuple(head + pruned[len(head):]), n_pruned, 0)
    summary = _summary(older, budget, count, summarise)
    plan = _plan_summarised(pruned, results, start)
    if plan:  # the model's own task list outlives the turns it was in
        summary += f"\n\n{PLAN_HEAD}\n{plan}"
    note = Message("user", f"{SUMMARY_HEAD}\n{summary}")
    return Compaction(tuple(head + [note] + pruned[start:]), n_pruned, len(older))


def _kept_task(task: Message, goal: int, count: Count) -> Message:
    """The task stays verbatim unless it alone would crowd the window (e.g. a huge pasted log)."""
    limit = goal // 4
    if message_tokens(task, count) <= limit:
        return task
    marker = "[... the middle of the task text was cut to fit the window ...]"
    return Message(task.role, _clip(task.content, limit * 3, marker))


def _recent_start(messages: Sequence[Message], first: int, room: int, count: Count) -> int:
    """Index where the kept recent turns begin: as many whole turns as fit in `room`, starting at an
    assistant message so no tool result loses the call it answers."""
    used, start = 0, len(messages)
    for i in range(len(messages) - 1, first - 1, -1):
        used += message_tokens(messages[i], count)
        if used > room:
            break
        if messages[i].role == "assistant":
            start = i
    return start


def _summary(older: Sequence[Message], budget: Budget, count: Count, summarise: Summarise) -> str:
    """A rolling summary over chunks of `older`, each request fitting the window."""
    summary = ""
    for chunk in _chunks([_line(m) for m in older], budget, count):
        previous = f"Summary of the turns before these:\n{summary}\n\n" if summary else ""
        prompt = f"{previous}Record of the agent's work:\n\n" + "\n\n".join(chunk)
        request = Request((Message("system", SUMMARISER), Message("user", prompt)), temperature=0.0,
                          max_tokens=SUMMARY_TOKENS)
        summary = summarise(request).strip()
        if not summary:
            raise ValueError("the model returned an empty summary")
    return summary


def _chunks(lines: list[str], budget: Budget, count: Count) -> list[list[str]]:
    room = budget.prompt - SUMMARY_TOKENS - SUMMARY_OVERHEAD - count(SUMMARISER) - SUMMARY_TOKENS  # last summary
    chunks: list[list[str]] = [[]]
    used = 0
    for line in lines:
        size = count(line) + 2
        if chunks[-1] and used + size > room:
            chunks.append([])
            used = 0
        chunks[-1].append(line)
        used += size
    return chunks


def _line(message: Message) -> str:
    """One message as the summariser reads it."""
    calls = "".join(f"\n-> {describe(c)}" for c in message.tool_calls)
    text = _clip(message.content, LINE_CHARS, "[...]")
    role = "tool result" if message.role == "tool" else message.role
    return f"[{role}] {text}{calls}"


def _clip(text: str, chars: int, marker: str) -> str:
    """`text`, or its head and tail around `marker` when it is longer than `chars`."""
    if len(text) <= chars:
        return text
    return f"{text[:chars // 2]}\n{marker}\n{text[-(chars // 2):]}"
