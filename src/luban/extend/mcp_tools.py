"""MCP servers' tools as Luban tools: `mcp__server__tool` with the server's JSON schema, and two tools for the
servers' resources; their prompts as slash commands. The tools run outside Luban's sandbox (the server does the
work), so they count as `exec`: they ask before each call unless an allow rule (`mcp__server`,
`mcp__server__tool`) or full-auto says otherwise."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from ..errors import LubanError
from ..types import Effect, ToolResult, ToolSpec, Touched
from ..workspace import Workspace
from .mcp_client import McpServers, RemotePrompt, RemoteTool
from .mcp_config import tool_name

_DESCRIPTION_CHARS = 600  # a server's prose goes into every prompt: keep it to what a call needs


@dataclass(frozen=True)
class McpTool:
    spec: ToolSpec
    server: str
    remote: str
    servers: McpServers
    effect: Effect = "exec"

    def __call__(self, args: Mapping[str, Any], ws: Workspace) -> ToolResult:
        return self.servers.call(self.server, self.remote, args)

    def touches(self, args: Mapping[str, Any]) -> Touched:
        return Touched()  # nothing in the workspace, as far as Luban can tell: rules name the tool itself


@dataclass(frozen=True)
class ResourceTool:
    """mcp_resources (list a server's resources) or mcp_read_resource (read one by URI)."""

    spec: ToolSpec
    servers: McpServers
    effect: Effect = "exec"

    def __call__(self, args: Mapping[str, Any], ws: Workspace) -> ToolResult:
        server = str(args.get("server", ""))
        if self.spec.name == LIST_RESOURCES:
            return self.servers.resources(server)
        return self.servers.read_resource(server, str(args.get("uri", "")))

    def touches(self, args: Mapping[str, Any]) -> Touched:
        return Touched()


LIST_RESOURCES, READ_RESOURCE = "mcp_resources", "mcp_read_resource"


def mcp_tools(servers: McpServers) -> tuple[McpTool | ResourceTool, ...]:
    """The ready servers' tools in a fixed order (server, then tool: the prompt prefix stays byte-stable), then
    the resource tools if any server offers resources."""
    tools: list[McpTool | ResourceTool] = [_adapted(t, servers) for t in sorted(
        servers.tools(), key=lambda t: (t.server, t.name))]
    with_resources = sorted(s.name for s in servers.states() if s.state == "ready" and s.resources)
    if with_resources:
        server = {"type": "string", "enum": with_resources}
        tools.append(ResourceTool(ToolSpec(LIST_RESOURCES, "List the resources an MCP server offers (URIs).", {
            "type": "object", "properties": {"server": server}, "required": ["server"]}), servers))
        tools.append(ResourceTool(ToolSpec(READ_RESOURCE, "Read one resource of an MCP server by its URI.", {
            "type": "object", "properties": {"server": server, "uri": {"type": "string"}},
            "required": ["server", "uri"]}), servers))
    return tuple(tools)


def _adapted(remote: RemoteTool, servers: McpServers) -> McpTool:
    description = " ".join(remote.description.split())
    if len(description) > _DESCRIPTION_CHARS:
        description = description[:_DESCRIPTION_CHARS - 1] + "…"
    schema = inlined(dict(remote.schema)) if isinstance(remote.schema, Mapping) else {}
    schema.setdefault("type", "object")
    schema.setdefault("properties", {})
    name = tool_name(remote.server, remote.name)
    return McpTool(ToolSpec(name, f"[MCP {remote.server}] {description}", schema), remote.server, remote.name,
                   servers)


def inlined(schema: dict[str, Any], depth: int = 8) -> dict[str, Any]:
    """The schema with local `$ref`s (`#/$defs/X`, `#/definitions/X`) replaced by what they name: the JSON protocol
    keeps only a tool's properties, so a reference into the dropped `$defs` would dangle (a recursive type is cut
    to a bare object after `depth` levels)."""
    defs = {**schema.get("definitions", {}), **schema.get("$defs", {})}

    def resolve(node: Any, left: int) -> Any:
        if isinstance(node, list):
            return [resolve(n, left) for n in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.rsplit("/", 1)[-1] in defs:
            return resolve(defs[ref.rsplit("/", 1)[-1]], left - 1) if left > 0 else {"type": "object"}
        return {k: resolve(v, left) for k, v in node.items() if k not in ("$defs", "definitions")}

    return resolve(schema, depth)


@dataclass(frozen=True)
class PromptCommand:
    """A server's prompt as the slash command /mcp__server__prompt: its words fill the prompt's arguments in order
    (the last one takes the rest), and the prompt's text becomes the task."""

    name: str
    description: str
    prompt: RemotePrompt
    servers: McpServers

    def task(self, arguments: str) -> str:
        names = self.prompt.arguments
        words = arguments.split(maxsplit=max(len(names) - 1, 0)) if names else []
        result = self.servers.prompt(self.prompt.server, self.prompt.name, dict(zip(names, words)))
        if result.error:
            raise LubanError(result.content)
        return result.content


def prompt_commands(servers: McpServers) -> dict[str, PromptCommand]:
    return {tool_name(p.server, p.name): PromptCommand(tool_name(p.server, p.name), p.description or
                                                       f"prompt {p.name} of MCP server {p.server}", p, servers)
            for p in servers.prompts()}
