"""Frozen value types shared by every layer: messages, tool calls, completions and loop events."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Literal, Mapping

Role = Literal["system", "user", "assistant", "tool"]
Effect = Literal["read", "write", "exec"]


@dataclass(frozen=True)
class ToolCall:
    id: str
    name: str
    arguments: Mapping[str, Any]
    # The arguments as the model wrote them when they did not read as a JSON object (`arguments` is then {}):
    # repair reads them, and they go back to the model as written.
    raw: str | None = None

    @property
    def written(self) -> str | Mapping[str, Any]:
        """What the model wrote for the arguments: the raw text where it did not read as an object."""
        return self.raw if self.raw is not None else self.arguments


@dataclass(frozen=True)
class Touched:
    """What one tool call touches, as its tool declares it (Tool.touches): the workspace paths it names, as the
    model wrote them, and the command line it runs. Permission rules, guards, checkpoints and the context
    engine ask this instead of knowing tools by name."""

    paths: tuple[str, ...] = ()
    command: str | None = None


@dataclass(frozen=True)
class Message:
    role: Role
    content: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None
    reasoning: str | None = None


@dataclass(frozen=True)
class ToolSpec:
    """What the model is told about a tool: its name, description and JSON schema."""

    name: str
    description: str
    parameters: Mapping[str, Any]


@dataclass(frozen=True)
class ToolResult:
    content: str
    error: bool = False


@dataclass(frozen=True)
class Usage:
    """Token counts and server timings of one or more requests.

    `cached_tokens` are prompt tokens the server reused from its KV cache; `prompt_tokens` counts all of them.
    """

    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    prompt_ms: float = 0.0
    decode_ms: float = 0.0
    requests: int = 0

    @property
    def evaluated_tokens(self) -> int:
        return self.prompt_tokens - self.cached_tokens

    @property
    def cache_share(self) -> float:
        """The share of prompt tokens the server served from its KV cache (0 when it reported none)."""
        return self.cached_tokens / self.prompt_tokens if self.prompt_tokens else 0.0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.prompt_tokens + other.prompt_tokens,
            self.completion_tokens + other.completion_tokens,
            self.cached_tokens + other.cached_tokens,
            self.prompt_ms + other.prompt_ms,
            self.decode_ms + other.decode_ms,
            self.requests + other.requests,
        )


@dataclass(frozen=True)
class Request:
    messages: tuple[Message, ...]
    tools: tuple[ToolSpec, ...] = ()
    temperature: float | None = None
    max_tokens: int | None = None
    # An OpenAI-style response_format (e.g. {"type": "json_schema", ...}) to constrain decoding.
    response_format: Mapping[str, Any] | None = None
    # Send assistant reasoning back as `reasoning_content` (models whose profile says they need it).
    send_reasoning: bool = False
    # The time.monotonic() by which the run must stop (max_wall_s): the request gives up then (TimeUp).
    deadline: float | None = None
    seed: int | None = None  # the sampling seed sent to the server; None: the server picks one
    # Whether the reply's text so far holds all the caller will use of it (the first usable code block of a focused
    # rewrite): the stream is stopped there, finish reason ENOUGH (models/wire.py). None: the reply runs to its end.
    enough: Callable[[str], bool] | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class TextDelta:
    text: str


@dataclass(frozen=True)
class ReasoningDelta:
    text: str


@dataclass(frozen=True)
class PromptProgress:
    """The server has read `processed` of the prompt's `total` tokens (llama.cpp's prompt_progress): the only
    sign of life during a long CPU prefill."""

    processed: int
    total: int


@dataclass(frozen=True)
class ReplyRestarted:
    """The reply broke off before it finished (a connection reset, a stream cut short) and the request is being
    sent again: whatever was streamed of it so far is void. `text` says so in one sentence."""

    text: str


@dataclass(frozen=True)
class Completion:
    """A finished assistant turn as the server sent it (tool calls not yet parsed from text)."""

    message: Message
    finish_reason: str | None
    usage: Usage
    model: str = ""
    wall_s: float = 0.0


# What a Model's complete() yields: deltas as they come, exactly one Completion last.
StreamItem = TextDelta | ReasoningDelta | PromptProgress | ReplyRestarted | Completion


# ---- events the loop yields; every front-end consumes these ----


@dataclass(frozen=True)
class AssistantText:
    text: str
    reasoning: str | None = None


@dataclass(frozen=True)
class ToolStarted:
    call: ToolCall


@dataclass(frozen=True)
class ToolFinished:
    call: ToolCall
    result: ToolResult
    wall_s: float = 0.0


@dataclass(frozen=True)
class ApprovalNeeded:
    call: ToolCall
    reason: str
    risky: bool = False  # it can destroy work (safety/risks.py): snapshot the workspace before running it
    # What would let such a call run without asking: the least permissive looser mode that allows it, and
    # whether an allow rule for exactly this call would. Neither: only a person's approval will do.
    looser_mode: str | None = None
    rule_would: bool = False


@dataclass(frozen=True)
class Decision:
    """A human's answer to ApprovalNeeded. `always`: allow calls like this one (the narrowest pattern) for the
    rest of the session; `message`: what to tell the agent instead (with approved=False)."""

    approved: bool
    message: str = ""
    always: bool = False


@dataclass(frozen=True)
class ModelReplied:
    """One model request finished: its usage and wall time."""

    usage: Usage
    wall_s: float


@dataclass(frozen=True)
class Notice:
    """Something the user should know that is not the model's words (a nudge, a repaired transcript)."""

    text: str


@dataclass(frozen=True)
class Compacted:
    """The history was brought back under its budget: old tool outputs pruned, older turns summarised."""

    before_tokens: int
    after_tokens: int
    pruned: int  # tool outputs replaced by a stub
    summarised: int  # messages folded into a summary
    how: str = "compacted"  # or "pruned": the summary failed and only old outputs were dropped


@dataclass(frozen=True)
class CallStats:
    """Tool calls of a run: valid as the model sent them, repaired by the harness, or rejected with an error."""

    valid: int = 0
    repaired: int = 0
    rejected: int = 0

    @property
    def calls(self) -> int:
        return self.valid + self.repaired + self.rejected


@dataclass(frozen=True)
class Denial:
    """A tool call that did not run because the permission rules, the mode or the user refused it."""

    call: ToolCall
    reason: str


OutcomeStatus = Literal["done", "error", "max_steps", "max_time", "max_tokens", "stuck", "interrupted"]


@dataclass(frozen=True)
class Outcome:
    status: OutcomeStatus
    message: str = ""
    steps: int = 0
    usage: Usage = field(default_factory=Usage)
    wall_s: float = 0.0
    model_s: float = 0.0
    calls: CallStats = field(default_factory=CallStats)
    denials: tuple[Denial, ...] = ()  # in the order they happened


@dataclass(frozen=True)
class TurnEnded:
    outcome: Outcome


@dataclass(frozen=True)
class SubagentEvent:
    """An event of a subagent's run (the `task` tool's call `call_id`), for the front-ends to show nested under
    that call; its own transcript records it (`session`, a child of the parent session). Its ApprovalNeeded
    events are not wrapped: they reach the driver as they are, to be answered."""

    call_id: str
    agent: str
    event: Any  # an Event
    session: str = ""


Event = (AssistantText | ToolStarted | ToolFinished | ApprovalNeeded | ModelReplied | Notice | Compacted | TurnEnded
         | SubagentEvent)
