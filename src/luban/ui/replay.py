"""A session's transcript read back as the events its turns yielded, for front-ends that show a resumed session
as it went (the terminal UI's /resume, ACP's session/load)."""

from __future__ import annotations

from typing import Any

from ..types import AssistantText, Event, Notice, ToolCall, ToolFinished, ToolResult, ToolStarted

_PLAIN = {"AssistantText": AssistantText, "Notice": Notice}


def replayed_event(record: dict[str, Any]) -> Event | None:
    """The event an `event` record holds; None for those not worth showing again (approvals, model usage)."""
    kind = record.get("kind")
    if kind in _PLAIN:
        return _PLAIN[kind](**{k: v for k, v in record.items() if k not in ("type", "kind")})
    if kind == "ToolStarted":
        return ToolStarted(ToolCall(**record["call"]))
    if kind == "ToolFinished":
        return ToolFinished(ToolCall(**record["call"]), ToolResult(**record["result"]), record.get("wall_s", 0.0))
    return None
