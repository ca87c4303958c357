"""MCP server configuration in Claude Code's `.mcp.json` shape:
{"mcpServers": {"NAME": {"command": ..., "args": [...], "env": {...}} | {"url": ..., "headers": {...}}}}."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping

from ..errors import ConfigError

PROJECT_MCP = ".mcp.json"
# Where the user's own servers live, beside config.toml (either name; Claude Code's is the dotted one).
USER_MCP = ("mcp.json", ".mcp.json")
_NAME = re.compile(r"[^A-Za-z0-9_-]")


@dataclass(frozen=True)
class ServerConfig:
    """One server: started as a command over stdio, or reached at a URL over streamable HTTP."""

    name: str
    command: str = ""
    args: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    url: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)
    source: str = ""  # the file it came from, for messages

    @property
    def transport(self) -> str:
        return "http" if self.url else "stdio"


def tool_name(server: str, tool: str) -> str:
    """`mcp__server__tool` as Claude Code names it, in the characters function names allow, at most 64."""
    return f"mcp__{_NAME.sub('_', server)}__{_NAME.sub('_', tool)}"[:64]


def read_mcp_json(path: Path) -> dict[str, ServerConfig]:
    """The servers a `.mcp.json` file names ({} when there is no such file); a malformed one is a ConfigError."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"Cannot read the MCP config {path}: {exc}.") from None
    return parse_mcp_json(text, str(path))


def parse_mcp_json(text: str, source: str) -> dict[str, ServerConfig]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"The MCP config {source} is not valid JSON ({exc.msg}, line {exc.lineno}).") from None
    servers = data.get("mcpServers") if isinstance(data, dict) else None
    if not isinstance(servers, dict):
        raise ConfigError(f'The MCP config {source} must be an object with "mcpServers": {{"NAME": {{...}}}}.')
    return {name: _server(name, entry, source) for name, entry in servers.items()}


def _server(name: str, entry: Any, source: str) -> ServerConfig:
    where = f"MCP server {name!r} in {source}"
    if not isinstance(entry, dict) or bool(entry.get("command")) == bool(entry.get("url")):
        raise ConfigError(f'The {where} needs either "command" (with optional "args" and "env") or "url" (with '
                          'optional "headers").')
    kind = entry.get("type")
    if kind not in (None, "stdio", "http", "streamable-http"):
        raise ConfigError(f"The {where} has type {kind!r}; Luban speaks stdio and streamable HTTP (type \"http\").")
    args, env, headers = entry.get("args", []), entry.get("env", {}), entry.get("headers", {})
    if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
        raise ConfigError(f'The {where} has "args" that are not a list of strings.')
    for key, table in (("env", env), ("headers", headers)):
        if not isinstance(table, dict) or not all(isinstance(v, str) for v in table.values()):
            raise ConfigError(f'The {where} has "{key}" that is not an object of strings.')
    if not isinstance(entry.get("command", entry.get("url")), str):
        raise ConfigError(f'The {where} has a "command" or "url" that is not a string.')
    return ServerConfig(name, entry.get("command", ""), tuple(args), dict(env), entry.get("url", ""), dict(headers),
                        source)


def configured(user_dir: Path, extra: str = "", project: Path | None = None,
               env: Mapping[str, str] | None = None) -> dict[str, ServerConfig]:
    """Every server the user configured: their config folder's file, then `--mcp-config FILE`, then the project's
    `.mcp.json` when the caller passes it (only once trusted: extend/project.py); a later one of a name wins.
    `${VAR}` and `${VAR:-default}` in a server's strings are filled from `env`, as Claude Code does, so a token
    can stay out of the file."""
    servers: dict[str, ServerConfig] = {}
    for name in USER_MCP:
        servers.update(read_mcp_json(user_dir / name))
    if extra.lstrip().startswith("{"):  # JSON text rather than a file, as Claude Code (and its Agent SDK) pass it
        servers.update(parse_mcp_json(extra, "--mcp-config"))
    elif extra:
        path = Path(extra).expanduser()
        if not path.is_file():
            raise ConfigError(f"No MCP config file {path} (--mcp-config).")
        servers.update(read_mcp_json(path))
    if project is not None:
        servers.update(read_mcp_json(project / PROJECT_MCP))
    return {name: expanded(server, env or {}) for name, server in servers.items()}


_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def expanded(server: ServerConfig, env: Mapping[str, str]) -> ServerConfig:
    def fill(text: str) -> str:
        def value(match: re.Match[str]) -> str:
            name, default = match.group(1), match.group(2)
            if name in env:
                return env[name]
            if default is not None:
                return default
            raise ConfigError(f"The MCP server {server.name!r} in {server.source} uses ${{{name}}}, which is not set "
                              "in the environment (write ${" + name + ":-DEFAULT} for a default).")
        return _VARIABLE.sub(value, text)

    return replace(server, command=fill(server.command), args=tuple(fill(a) for a in server.args),
                   env={k: fill(v) for k, v in server.env.items()}, url=fill(server.url),
                   headers={k: fill(v) for k, v in server.headers.items()})
