"""`luban mcp list`: each configured MCP server's state (started to find out) and its tools and prompts."""

from __future__ import annotations

from typing import TextIO

from ..config import Settings
from ..extend.extensions import open_extensions
from ..extend.mcp_config import tool_name


def mcp_command(settings: Settings, out: TextIO) -> int:
    extensions = open_extensions(settings)
    for warning in extensions.warnings:
        out.write(f"! {warning}\n")
    servers = extensions.servers
    if not servers.configs:
        out.write("No MCP servers are configured (see docs/extending.md).\n")
        return 0
    try:
        servers.start()
        for state in servers.states():
            config = servers.configs[state.name]
            where = config.url or " ".join([config.command, *config.args])
            out.write(f"{state.name} ({state.transport}: {where}): {state.state}"
                      + (f" — {state.why}" if state.why else "") + "\n")
            for tool in state.tools:
                out.write(f"  {tool_name(tool.server, tool.name)}  {_first_line(tool.description)}\n")
            for prompt in state.prompts:
                out.write(f"  /{tool_name(state.name, prompt.name)}  (prompt) {_first_line(prompt.description)}\n")
    finally:
        servers.close()
    return 0 if all(s.state == "ready" for s in servers.states()) else 1


def _first_line(text: str) -> str:
    line = (text.strip().splitlines() or [""])[0]
    return line if len(line) <= 80 else line[:79] + "…"
