"""The flags Claude Code takes that the Claude Agent SDK passes, so `luban` can be the SDK's cli_path.

The ones with a Luban meaning are mapped onto its settings; the rest are accepted and named on stderr, one line
each, instead of failing the run with a usage error. Kept light: `luban --help` imports this.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any, TextIO

from ..errors import ConfigError

# Claude Code's permission modes, as the SDK names them, onto Luban's.
CLAUDE_MODES = {"default": "ask", "acceptEdits": "auto-edit", "plan": "plan", "bypassPermissions": "full-auto",
                "dontAsk": "ask"}
# Flags Luban accepts and does not act on, with whether each takes a value, and why it does not act on it.
IGNORED = {
    "--verbose": (False, "stream-json is always complete"),
    "--tools": (True, "Luban offers its own tools"),
    "--allowedTools": (True, "permission rules live in Luban's permissions config (docs/permissions.md)"),
    "--disallowedTools": (True, "permission rules live in Luban's permissions config (docs/permissions.md)"),
    "--max-budget-usd": (True, "a local model has no bill"),
    "--task-budget": (True, "a local model has no bill"),
    "--fallback-model": (True, "Luban talks to one model server"),
    "--betas": (True, "there is no Anthropic API behind Luban"),
    "--settings": (True, "Luban reads its own config files"),
    "--setting-sources": (True, "Luban reads its own config files"),
    "--add-dir": (True, "the workspace is one folder"),
    "--strict-mcp-config": (False, "Luban also starts the MCP servers of its own config"),
    "--include-partial-messages": (False, "Luban sends whole messages"),
    "--include-hook-events": (False, "Luban sends no hook events"),
    "--fork-session": (False, "a resumed session continues in place"),
    "--session-id": (True, "Luban names its sessions itself"),
    "--resume-session-at": (True, "a session resumes at its end"),
    "--resume-drops-turn": (True, "a session resumes at its end"),
    "--session-mirror": (False, "Luban keeps its own transcript"),
    "--plugin-dir": (True, "Luban has no plugins"),
    "--max-thinking-tokens": (True, "reasoning is the model server's setting"),
    "--thinking": (True, "reasoning is the model server's setting"),
    "--thinking-display": (True, "reasoning is always shown when the model sends it"),
    "--effort": (True, "reasoning is the model server's setting"),
    "--json-schema": (True, "structured output is not supported"),
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Claude Code's flags, hidden from --help (docs/stream-json.md lists them)."""
    hidden = argparse.SUPPRESS
    parser.add_argument("--input-format", choices=("text", "stream-json"), default="text", help=hidden)
    parser.add_argument("--system-prompt", help=hidden)
    parser.add_argument("--system-prompt-file", help=hidden)
    parser.add_argument("--append-system-prompt", help=hidden)
    parser.add_argument("--max-turns", type=int, help=hidden)
    parser.add_argument("--permission-prompt-tool", help=hidden)
    for flag, (takes_value, _) in IGNORED.items():
        dest = "ignored_" + flag.lstrip("-").replace("-", "_")
        if takes_value:
            parser.add_argument(flag, dest=dest, action="append", help=hidden)
        else:
            parser.add_argument(flag, dest=dest, action="store_true", help=hidden)


def overrides(args: argparse.Namespace) -> dict[str, Any]:
    """The Luban settings Claude Code's flags stand for."""
    mode = getattr(args, "permission_mode", None)
    mapped: dict[str, Any] = {"permission_mode": CLAUDE_MODES.get(mode, mode)}
    if getattr(args, "max_turns", None) is not None and getattr(args, "max_steps", None) is None:
        mapped["max_steps"] = args.max_turns
    if _json_mcp(args):
        mapped["mcp_config"] = _split_servers(args.mcp_config)[0]
    return mapped


def _json_mcp(args: argparse.Namespace) -> bool:
    return (getattr(args, "mcp_config", None) or "").lstrip().startswith("{")


def _split_servers(text: str) -> tuple[str, list[str]]:
    """--mcp-config as the SDK passes it (JSON text): the text less its in-process servers (`"type": "sdk"`, which
    live in the SDK's own process, out of Luban's reach), and their names."""
    try:
        data = json.loads(text)
        servers = data["mcpServers"]
        in_sdk = [name for name, entry in servers.items() if isinstance(entry, dict) and entry.get("type") == "sdk"]
    except (ValueError, KeyError, TypeError, AttributeError):
        return text, []  # malformed: reading the MCP config says what is wrong, in one sentence
    return json.dumps({**data, "mcpServers": {n: e for n, e in servers.items() if n not in in_sdk}}), in_sdk


def warn_ignored(args: argparse.Namespace, err: TextIO) -> None:
    """One stderr line per flag given that Luban does not act on."""
    for flag, (_, why) in IGNORED.items():
        if flag == "--verbose":
            continue  # the SDK always passes it, and it changes nothing a caller could miss
        if getattr(args, "ignored_" + flag.lstrip("-").replace("-", "_"), None):
            err.write(f"luban: ignoring {flag}: {why}.\n")
    for name in _split_servers(args.mcp_config)[1] if _json_mcp(args) else []:
        err.write(f"luban: ignoring the SDK MCP server {name!r}: it runs in the SDK's process, which Luban cannot "
                  "reach; give Luban a stdio or HTTP server instead.\n")
    tool = getattr(args, "permission_prompt_tool", None)
    if tool not in (None, "stdio"):
        err.write(f"luban: ignoring --permission-prompt-tool {tool}: only stdio (the SDK's can_use_tool) is "
                  "supported.\n")


def instructions(args: argparse.Namespace) -> str:
    """The caller's system prompt text (--system-prompt, --system-prompt-file, --append-system-prompt). Luban keeps
    its own system prompt, which its tool protocol depends on; this text goes to the model with the first task."""
    parts = [getattr(args, "system_prompt", None) or "", getattr(args, "append_system_prompt", None) or ""]
    path = getattr(args, "system_prompt_file", None)
    if path:
        try:
            parts.insert(0, Path(path).read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"Cannot read --system-prompt-file {path}: {exc.strerror}.") from None
    return "\n\n".join(p.strip() for p in parts if p.strip())


def with_instructions(task: str, instructions: str) -> str:
    return f"<instructions>\n{instructions}\n</instructions>\n\n{task}" if instructions else task
