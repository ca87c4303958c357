"""Tests as the gate for "done": the harness runs the project's test command itself.

Its output goes to the model before the first turn (weak models fix what they can see failing), and a
final answer is refused while the command still fails, so "the tests pass" is never just the model's word.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from ..tools import bash
from ..workspace import Workspace
from .pointers import code_under_test, source_of

EXCERPT_HEAD, EXCERPT_TAIL = 1800, 700
REFUSED = "You tried to finish, but"  # begins the reply to a refused finish (tune/ does not train on one)


@dataclass(frozen=True)
class TestRun:
    __test__ = False  # not a pytest test class, despite the name
    passed: bool
    output: str


@dataclass(frozen=True)
class TestGate:
    __test__ = False
    command: str
    max_refusals: int = 3

    def run(self, ws: Workspace) -> TestRun:
        result = bash.TOOL({"command": self.command, "timeout": 600}, ws)
        return TestRun(not result.error, excerpt(relative_paths(result.content, ws)))

    def briefing(self, ws: Workspace, run: TestRun | None = None) -> str:
        run = run or self.run(ws)
        state = "passes" if run.passed else "fails"
        text = f"The test command `{self.command}` {state} now. Its output:\n{run.output}"
        return text + _pointers(run, ws)

    def refusal(self, run: TestRun, ws: Workspace) -> str:
        return (f"{REFUSED} `{self.command}` still fails:\n{run.output}{_pointers(run, ws)}\n\n"
                "Fix the code until it passes, then finish.")


def quoted(run: TestRun, ws: Workspace) -> str | None:
    """The file whose definition the briefing or refusal for `run` shows as written, if any."""
    found = quote(run, ws)
    return found[0].split(":", 1)[0] if found and found[1] else None


def quote(run: TestRun, ws: Workspace) -> tuple[str, str, list[str]] | None:
    """(the most-called definition's pointer, its text or "" when too long, all pointers), or None."""
    if run.passed:
        return None
    found = code_under_test(run.output, ws, ws.listing.files())
    return (found[0], source_of(found[0], ws), found) if found else None


def _pointers(run: TestRun, ws: Workspace) -> str:
    found = quote(run, ws)
    if not found:
        return ""
    # The most-called definition's own text, without line numbers (numbered code was measured to make the
    # 1.5B copy the numbers into its edits): weak models that skip reading it still see the bug.
    first, source, pointers = found
    shown = f"\n\n{first.split(' ')[0]}, as it is now:\n{source}" if source else ""
    return "\n\nCode called by the failing lines:\n" + "\n".join(pointers) + shown


def relative_paths(text: str, ws: Workspace) -> str:
    """`text` with the workspace root's absolute path taken off the paths beneath it, as the tools take them.

    unittest's tracebacks name `/tmp/…/shop/test_pricing.py`; the 1.5B then asked for `shop/test_pricing.py`
    (the root's own folder name kept) and repeated it until the run stopped, in 2 of 5 text-mode runs.
    """
    return text.replace(f"{ws.root}{os.sep}", "")


def excerpt(text: str) -> str:
    """Head and tail of a long output: the first failure and the summary line both survive."""
    if len(text) <= EXCERPT_HEAD + EXCERPT_TAIL:
        return text
    return f"{text[:EXCERPT_HEAD]}\n[... {len(text) - EXCERPT_HEAD - EXCERPT_TAIL} characters cut ...]\n{text[-EXCERPT_TAIL:]}"
