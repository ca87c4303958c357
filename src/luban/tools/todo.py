"""The `todo` tool: the model keeps a short list of steps with their status, written whole each time.

It holds no state: the list is the latest call's arguments, so it lives in the history and the transcript
(resume gets it back), compaction keeps the latest one (context/compact.py), and every front-end shows the call.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from ..types import Effect, ToolResult, ToolSpec, Touched
from ..workspace import Workspace

NAME = "todo"
STATUSES = ("pending", "in_progress", "completed")
MAX_ITEMS = 20
MARKS = {"pending": "[ ]", "in_progress": "[>]", "completed": "[x]"}
DESCRIPTION = ("Keep your plan for a task of several steps: send the whole list each time, each step with its "
               "status (pending, in_progress, completed); one step in_progress at a time. Update it as you go.")


@dataclass(frozen=True)
class TodoTool:
    spec: ToolSpec = ToolSpec(NAME, DESCRIPTION, {
        "type": "object",
        "properties": {"todos": {"type": "array", "maxItems": MAX_ITEMS, "items": {
            "type": "object", "properties": {"content": {"type": "string"}, "status": {"enum": list(STATUSES)}},
            "required": ["content", "status"]}}},
        "required": ["todos"]})
    effect: Effect = "read"  # it changes nothing outside the conversation

    def __call__(self, args: Mapping[str, Any], ws: Workspace) -> ToolResult:
        items = args.get("todos")
        wrong = problem(items)
        if wrong:
            return ToolResult(wrong, error=True)
        return ToolResult(render(items))

    def touches(self, args: Mapping[str, Any]) -> Touched:
        return Touched()


TOOL = TodoTool()


def render(items: Any) -> str:
    """The list as the model and the user read it: `[x] done`, `[>] doing`, `[ ] to do`."""
    lines = [f"{MARKS[i['status']]} {' '.join(str(i['content']).split())}" for i in items]
    done = sum(i["status"] == "completed" for i in items)
    return f"Task list ({done} of {len(items)} done):\n" + "\n".join(lines) if items else "Task list cleared."


def problem(items: Any) -> str | None:
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        return 'todos must be a list of {"content": "...", "status": "pending"} objects.'
    if len(items) > MAX_ITEMS:
        return f"Keep the list short: at most {MAX_ITEMS} steps, not {len(items)}."
    for i in items:
        if not isinstance(i.get("content"), str) or not i["content"].strip():
            return "Every step needs its content: a short sentence saying what to do."
        if i.get("status") not in STATUSES:
            return f"The status of {i['content']!r} must be one of {', '.join(STATUSES)}, not {i.get('status')!r}."
    if sum(i["status"] == "in_progress" for i in items) > 1:
        return "Only one step may be in_progress at a time; mark the others pending or completed."
    return None
