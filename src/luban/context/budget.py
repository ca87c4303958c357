"""How a model's context window is shared: the frozen prefix, tool outputs, the history, the reply."""

from __future__ import annotations

from dataclasses import dataclass

SMALL_WINDOW = 16_384
# Small-context mode: on windows up to 16k the system prompt and tool specs together stay under this, so
# most of the window is left for the work itself.
SMALL_PREFIX_TOKENS = 2_500
LARGE_PREFIX_SHARE = 8  # on larger windows the prefix may take an eighth of it…
LARGE_PREFIX_TOKENS = 8_000  # …up to this
MIN_OUTPUT_TOKENS = 400
# Compaction starts when the prompt passes COMPACT_AT of what the window leaves after the reply, and brings it
# down to COMPACT_TO, so that it runs rarely (each compaction costs one uncached prefill) and a few more turns
# of full-size tool output still fit after it.
COMPACT_AT, COMPACT_TO = 0.75, 0.45


@dataclass(frozen=True)
class Budget:
    """Token budgets for one model window; `reply` is the reserve kept free for the answer."""

    window: int
    reply: int

    @property
    def prompt(self) -> int:
        """The most prompt tokens a request may carry."""
        return max(self.window - self.reply, 1)

    @property
    def small(self) -> bool:
        return self.window <= SMALL_WINDOW

    @property
    def prefix(self) -> int:
        """System prompt plus tool specs."""
        if self.small:
            return SMALL_PREFIX_TOKENS
        return min(self.window // LARGE_PREFIX_SHARE, LARGE_PREFIX_TOKENS)

    @property
    def tool_output(self) -> int:
        """One tool result as the model sees it; beyond this it is cut to head and tail."""
        return max((self.prompt - min(self.prefix, self.prompt // 2)) // 4, MIN_OUTPUT_TOKENS)

    @property
    def compact_at(self) -> int:
        return int(self.prompt * COMPACT_AT)

    @property
    def compact_to(self) -> int:
        return int(self.prompt * COMPACT_TO)
