"""locate_fault: run the project's test command under coverage and name the functions most likely to hold
the bug (harness/faults.py). It changes no file; it runs only the test command the user configured."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from ..types import Effect, ToolResult, ToolSpec, Touched
from ..workspace import Workspace
from ._input import ToolError, parse_args

SPEC = ToolSpec(
    name="locate_fault",
    description=(
        "Run the project's tests with coverage and list the functions most likely to contain the bug, best "
        "first, as path:line function score. Lines that only failing tests run score highest. Read the first "
        "function it names before you edit."
    ),
    parameters={
        "type": "object",
        "properties": {
            "top": {"type": "integer", "minimum": 1, "maximum": 20, "default": 5,
                    "description": "How many functions to list."},
        },
        "required": [],
        "additionalProperties": False,
    },
)


@dataclass(frozen=True)
class LocateFault:
    """`command` is the project's test command (the gate's); `task` the user's request, whose names count."""

    command: str = ""
    task: str = ""
    timeout_s: int = 600
    spec: ToolSpec = SPEC
    # It reads the workspace and runs the test command the harness already runs unasked.
    effect: Effect = "read"

    def touches(self, args: Mapping[str, Any]) -> Touched:
        return Touched()  # no path of the model's choosing; the test command is the user's

    def __call__(self, args: Mapping[str, Any], ws: Workspace) -> ToolResult:
        from ..harness.faults import locate  # deferred: coverage and tree-sitter

        try:
            checked = parse_args(self.spec, args)
            if not self.command:
                raise ToolError("locate_fault needs the project's test command, and none is set; read the "
                                "failing test's traceback and grep for the names it calls instead.")
        except ToolError as error:
            return error.result()
        found = locate(self.command, ws, task=self.task, timeout=self.timeout_s, top=checked["top"])
        return ToolResult(found.render())
