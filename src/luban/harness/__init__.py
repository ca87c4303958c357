"""How much the harness carries the model, built from settings; everything off is a plain tool loop."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

from ..config import Settings
from ..models.profiles import Profile
from ..models.protocol import NativeProtocol, ToolProtocol, protocol_named
from ..safety import policy
from ..safety.redact import Redactor
from ..tools import Tool, default_tools
from ..tools.locate_fault import LocateFault
from .gate import TestGate
from .guards import TEST_FILES, Guards
from .hooks import Hooks



@dataclass(frozen=True)
class Harness:
    protocol: ToolProtocol = field(default_factory=NativeProtocol)
    gate: TestGate | None = None
    protected: tuple[str, ...] = ()
    read_before_write: bool = False
    reasoning_format: str = "none"  # from the profile: how reasoning is marked in the reply text
    send_reasoning: bool = False
    redactor: Redactor = field(default_factory=Redactor)  # applied to every tool result
    hooks: Hooks = field(default_factory=Hooks)
    regression_guard: bool = False  # with a gate: undo a change that leaves fewer tests passing (judge.py)
    test_digests: bool = False  # a shell command that runs the tests answers with their digest (testcommand.py)
    skip_reruns: bool = False  # a command run again with nothing changed is answered from its last run (reruns.py)
    localize_faults: bool = False  # a failing gate names the likeliest places of the bug (faults.py)
    focused_writes: bool = False  # from the profile: stubs the task names are written in a focused request first
    age_outputs: bool = False  # old tool outputs shrink to their first lines, in batches (context/aging.py)
    finish_on_pass: bool = False  # from the profile: a change that turns the failing judge green ends the run

    def guards(self) -> Guards:
        """Fresh per-run guard state."""
        return Guards(self.protected, self.read_before_write)


def offered_tools(settings: Settings, task: str = "") -> tuple[Tool, ...]:
    """The tools the model is offered: the built-in ones the mode allows, and with a test command (not in plan
    mode, where the gate runs no command) locate_fault, whose ranking counts the names `task` mentions."""
    tools = default_tools()
    if settings.test_command and settings.localize_faults and settings.permission_mode != "plan":
        tools += (LocateFault(settings.test_command, task),)
    return policy.offered(tools, settings.permission_mode)


def harness_for(settings: Settings, profile: Profile | None = None, environ: Mapping[str, str] | None = None
                ) -> Harness:
    """The profile supplies the text format (for the text protocol) and how the model reasons; `environ`
    the credential values to redact from tool output."""
    tool_format = profile.tool_format if profile else "hermes"
    name = settings.tool_protocol
    if name == "auto":  # constrained JSON turns measured better for the small embedded models
        name = "native" if settings.base_url else "json"
    gate = TestGate(settings.test_command) if settings.test_command else None
    protected = tuple(p.strip() for p in settings.protected_paths.split(",") if p.strip())
    if gate and not settings.allow_test_edits:
        protected += TEST_FILES
    return Harness(protocol_named(name, tool_format), gate, protected, settings.read_before_write,
                   profile.reasoning_format if profile else "none", profile.send_reasoning_back if profile else False,
                   Redactor.from_environ(environ or {}), Hooks.parse(settings.hooks), settings.regression_guard,
                   settings.test_digests, settings.skip_reruns, settings.localize_faults,
                   profile.focused_writes if profile else False, settings.age_outputs,
                   profile.finish_on_pass if profile else False)
