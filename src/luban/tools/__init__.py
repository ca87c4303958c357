"""The Tool protocol and the built-in tool set; one tool per module, its model-facing text beside it."""

from __future__ import annotations

from typing import Any, Mapping, Protocol, Sequence

from ..types import Effect, ToolCall, ToolResult, ToolSpec, Touched
from ..workspace import Workspace


# A path parameter may carry "x-existing": "file" | "writable" | "dir" | "any": it must name something that
# exists ("writable": an existing file the agent may change).
# Tools check that themselves; a protocol that constrains decoding can turn it into an enum of real paths.
EXISTING = "x-existing"


class Tool(Protocol):
    spec: ToolSpec
    effect: Effect

    def __call__(self, args: Mapping[str, Any], ws: Workspace) -> ToolResult: ...

    def touches(self, args: Mapping[str, Any]) -> Touched:
        """What a call with `args` touches: the paths it names, the command it runs (as codex tools declare their
        sandbox needs). Policy, guards, checkpoints and the context engine ask this, never the tool's name."""
        ...


def default_tools() -> tuple[Tool, ...]:
    """The built-in tools in a fixed order (the order is part of the byte-stable prompt prefix)."""
    from . import bash, edit, glob, grep, ls, read, write

    return (read.TOOL, edit.TOOL, write.TOOL, bash.TOOL, grep.TOOL, glob.TOOL, ls.TOOL)


def path_argument(args: Mapping[str, Any]) -> Touched:
    """The file tools' declaration: the call touches its `path` argument."""
    path = args.get("path")
    return Touched((path,)) if isinstance(path, str) else Touched()


def touched_by(tool: Tool | None, args: Mapping[str, Any]) -> Touched:
    """What a call of `tool` touches, as the tool declares it; a tool that declares nothing (one written before
    declarations, a test's) is taken to touch its `path` argument."""
    declare = getattr(tool, "touches", None)
    return declare(args) if declare is not None else path_argument(args)


def declared(call: ToolCall, tools: Sequence[Tool] = ()) -> Touched:
    """For a call read back from a transcript, or judged on its own: what the tool of its name among `tools`
    declares, else the built-in tool of its name."""
    tool = next((t for t in (*tools, *default_tools()) if t.spec.name == call.name), None)
    return touched_by(tool, call.arguments)
