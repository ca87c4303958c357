"""The MCP servers of a session, on one background asyncio thread: the agent loop is synchronous and the mcp SDK
is async, so each server's session lives in a task there and the loop waits on futures with timeouts.

Servers start lazily (the first time tools are wanted), in parallel, under a timeout. A server that does not
start, crashes, hangs or fails is reported in one sentence and the run goes on without it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import json
import os
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping

from ..types import ToolResult
from .mcp_config import ServerConfig

START_TIMEOUT_S = 30.0
CALL_TIMEOUT_S = 120.0
_WHY_CHARS = 200
MAX_RESULT_CHARS = 2_000_000


@dataclass(frozen=True)
class RemoteTool:
    server: str
    name: str
    description: str
    schema: Mapping[str, Any]


@dataclass(frozen=True)
class RemotePrompt:
    server: str
    name: str
    description: str
    arguments: tuple[str, ...]  # in order: a slash command's words fill them


@dataclass(frozen=True)
class ServerState:
    """What `luban mcp list` shows: not started, starting, ready (with its tools and prompts), or failed (why)."""

    name: str
    transport: str
    state: str = "not started"
    why: str = ""
    tools: tuple[RemoteTool, ...] = ()
    prompts: tuple[RemotePrompt, ...] = ()
    resources: bool = False  # it lists at least one resource


@dataclass
class McpServers:
    """The session's MCP servers: started together on first use, called by name, closed once."""

    configs: Mapping[str, ServerConfig]
    log_dir: Path | None = None
    start_timeout_s: float = START_TIMEOUT_S
    call_timeout_s: float = CALL_TIMEOUT_S
    _states: dict[str, ServerState] = field(default_factory=dict)
    _clients: dict[str, Any] = field(default_factory=dict)
    _tasks: dict[str, concurrent.futures.Future] = field(default_factory=dict)
    _loop: asyncio.AbstractEventLoop | None = None
    _stop: asyncio.Event | None = None
    _starting: dict[str, concurrent.futures.Future] = field(default_factory=dict)  # set once each has started
    _begun: bool = False
    _begun_at: float = 0.0
    _waited: bool = False

    def __post_init__(self) -> None:
        self._states = {n: ServerState(n, c.transport) for n, c in self.configs.items()}

    def begin(self) -> None:
        """Start every server at once without waiting (while the model loads, say); start() waits for them."""
        if self._begun or not self.configs:
            return
        self._begun, self._begun_at = True, time.monotonic()
        try:
            import mcp  # noqa: F401  (the optional extra)
        except ImportError:
            for name in self.configs:
                self._fail(name, "the mcp package is not installed (pip install 'luban[mcp]')")
            return
        self._loop = asyncio.new_event_loop()
        threading.Thread(target=self._loop.run_forever, name="luban-mcp", daemon=True).start()
        self._stop = self._await(self._event())
        for name, config in self.configs.items():
            self._starting[name] = concurrent.futures.Future()
            self._states[name] = replace(self._states[name], state="starting")
            serve = self._serve(config, self._starting[name])
            self._tasks[name] = asyncio.run_coroutine_threadsafe(serve, self._loop)

    def start(self) -> list[str]:
        """Start the servers (if begin() has not) and wait, up to the timeout from when they began, for them; one
        sentence per server that failed. Later calls return nothing: it was said once."""
        if self._waited or not self.configs:
            return []
        self.begin()
        self._waited = True
        left = self.start_timeout_s - (time.monotonic() - self._begun_at)
        concurrent.futures.wait(self._starting.values(), timeout=max(left, 0))
        for name, started in self._starting.items():
            if not started.done():
                self._fail(name, f"it did not start within {self.start_timeout_s:g} s")
                self._tasks[name].cancel()
        return self.failures()

    def failures(self) -> list[str]:
        return [f"MCP server {s.name} is unavailable: {s.why}." for s in self._states.values() if s.state == "failed"]

    def states(self) -> list[ServerState]:
        return list(self._states.values())

    def prompts(self) -> list[RemotePrompt]:
        return [p for s in self._states.values() if s.state == "ready" for p in s.prompts]

    def tools(self) -> list[RemoteTool]:
        return [t for s in self._states.values() if s.state == "ready" for t in s.tools]

    def call(self, server: str, tool: str, arguments: Mapping[str, Any]) -> ToolResult:
        """The tool's result as text; a server that is gone, hangs or fails gives one sentence as an error."""
        client = self._ready(server)
        if isinstance(client, ToolResult):
            return client
        try:
            result = self._await(client.call_tool(tool, dict(arguments), read_timeout_seconds=self.call_timeout_s),
                                 self.call_timeout_s + 5)
        except Exception as exc:
            return self._broken(server, f"{tool} failed", exc)
        return ToolResult(result_text(result.content, result.structured_content), bool(result.is_error))

    def resources(self, server: str) -> ToolResult:
        client = self._ready(server)
        if isinstance(client, ToolResult):
            return client
        try:
            listing = self._await(client.list_resources(), self.call_timeout_s)
        except Exception as exc:
            return self._broken(server, "listing its resources failed", exc)
        lines = [f"{r.uri}  {r.name}" + (f" — {r.description}" if r.description else "") for r in listing.resources]
        return ToolResult("\n".join(lines) or f"MCP server {server} offers no resources.")

    def read_resource(self, server: str, uri: str) -> ToolResult:
        client = self._ready(server)
        if isinstance(client, ToolResult):
            return client
        try:
            read = self._await(client.read_resource(uri), self.call_timeout_s)
        except Exception as exc:
            return self._broken(server, f"reading {uri} failed", exc)
        return ToolResult(result_text(read.contents, None))

    def prompt(self, server: str, name: str, arguments: Mapping[str, str]) -> ToolResult:
        """A server prompt's messages as one text (a slash command's task)."""
        client = self._ready(server)
        if isinstance(client, ToolResult):
            return client
        try:
            got = self._await(client.get_prompt(name, dict(arguments)), self.call_timeout_s)
        except Exception as exc:
            return self._broken(server, f"the prompt {name} failed", exc)
        return ToolResult("\n\n".join(result_text([m.content], None) for m in got.messages))

    def close(self) -> None:
        """Stop every server (their processes end with their sessions) and the thread."""
        if self._loop is None:
            return
        loop, self._loop = self._loop, None
        with contextlib.suppress(Exception):
            loop.call_soon_threadsafe(self._stop.set)
            concurrent.futures.wait(self._tasks.values(), timeout=10)
        loop.call_soon_threadsafe(loop.stop)

    # ---- on the background thread ----

    async def _event(self) -> asyncio.Event:
        return asyncio.Event()

    async def _serve(self, config: ServerConfig, ready: concurrent.futures.Future) -> None:
        from mcp import Client

        try:
            with self._errlog(config.name) as errlog:
                async with Client(_transport(config, errlog), read_timeout_seconds=self.start_timeout_s) as client:
                    self._states[config.name] = await _described(client, self._states[config.name])
                    self._clients[config.name] = client
                    ready.set_result(None)
                    await self._stop.wait()
        except asyncio.CancelledError:
            pass  # it did not start in time: already reported
        except BaseException as exc:  # whatever the SDK or the server raised: one sentence, the session goes on
            if self._states[config.name].state != "failed":
                self._fail(config.name, _why(exc))
        finally:
            self._clients.pop(config.name, None)
            if not ready.done():
                ready.set_result(None)

    @contextlib.contextmanager
    def _errlog(self, name: str):
        """Where a stdio server's stderr goes: its log file, never the user's terminal."""
        if self.log_dir is None:
            with open(os.devnull, "w") as sink:
                yield sink
            return
        self.log_dir.mkdir(parents=True, exist_ok=True)
        with open(self.log_dir / f"mcp-{name}.log", "a", encoding="utf-8") as log:
            yield log

    # ---- helpers ----

    def _await(self, coroutine: Any, timeout: float | None = None) -> Any:
        try:
            return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)
        except concurrent.futures.TimeoutError:
            raise TimeoutError(f"no answer within {timeout:g} s") from None

    def _ready(self, server: str) -> Any:
        self.start()
        client = self._clients.get(server)
        if client is not None:
            return client
        state = self._states.get(server)
        why = state.why if state and state.why else "it is not running"
        return ToolResult(f"MCP server {server} is unavailable: {why}. Go on without it.", error=True)

    def _broken(self, server: str, what: str, exc: BaseException) -> ToolResult:
        hung = isinstance(exc, TimeoutError) or "timed out" in str(exc)
        why = f"no answer within {self.call_timeout_s:g} s" if hung else _why(exc)
        if self._gone(server, exc):
            self._fail(server, f"{what}: {why}")
            return ToolResult(f"MCP server {server} stopped working ({what}: {why}); its tools are unavailable "
                              "for the rest of this session. Go on without it.", error=True)
        return ToolResult(f"MCP server {server}: {what}: {why}", error=True)

    def _gone(self, server: str, exc: BaseException) -> bool:
        """A hang or a lost connection ends the server for the session; an error it answered with does not."""
        task = self._tasks.get(server)
        text = str(exc).lower()
        return (isinstance(exc, TimeoutError) or (task is not None and task.done()) or "closed" in text
                or "timed out" in text)

    def _fail(self, name: str, why: str) -> None:
        self._states[name] = replace(self._states[name], state="failed", why=why[:_WHY_CHARS], tools=())
        self._clients.pop(name, None)


def _transport(config: ServerConfig, errlog: Any) -> Any:
    if config.url:
        from mcp.client.streamable_http import streamable_http_client
        from mcp.shared._httpx_utils import create_mcp_http_client

        client = create_mcp_http_client(headers=dict(config.headers)) if config.headers else None
        return streamable_http_client(config.url, http_client=client)
    from mcp.client.stdio import StdioServerParameters, stdio_client

    params = StdioServerParameters(command=config.command, args=list(config.args), env=dict(config.env) or None)
    return stdio_client(params, errlog=errlog)


async def _described(client: Any, state: ServerState) -> ServerState:
    caps = client.server_capabilities
    listing = await client.list_tools()
    tools = tuple(RemoteTool(state.name, t.name, t.description or "", t.input_schema or {"type": "object"})
                  for t in listing.tools)
    prompts: tuple[RemotePrompt, ...] = ()
    if caps.prompts is not None:
        with contextlib.suppress(Exception):  # a server whose prompt listing fails still offers its tools
            prompts = tuple(RemotePrompt(state.name, p.name, p.description or "",
                                         tuple(a.name for a in p.arguments or ()))
                            for p in (await client.list_prompts()).prompts)
    resources = False  # a capability with nothing behind it would only add two tools to every prompt
    if caps.resources is not None:
        with contextlib.suppress(Exception):
            resources = bool((await client.list_resources()).resources)
    return replace(state, state="ready", why="", tools=tools, prompts=prompts, resources=resources)


def result_text(blocks: Any, structured: Any) -> str:
    """Content blocks as the text the model reads; images and other binary content named, not inlined."""
    parts = []
    for block in blocks or ():
        text = getattr(block, "text", None)
        resource = getattr(block, "resource", None)
        if isinstance(text, str):
            parts.append(text)
        elif resource is not None and isinstance(getattr(resource, "text", None), str):
            parts.append(resource.text)
        elif getattr(block, "uri", None) is not None and getattr(block, "type", "") == "resource_link":
            parts.append(f"[resource {block.uri}]")
        else:
            kind = getattr(block, "type", "content")
            parts.append(f"[{kind} content ({getattr(block, 'mime_type', '') or 'binary'}), not shown]")
    if not parts and structured is not None:
        parts.append(json.dumps(structured, ensure_ascii=False, indent=1))
    text = "\n".join(parts)
    # The context engine cuts long output to the window (keeping the whole in a file); this only bounds memory.
    return text if len(text) <= MAX_RESULT_CHARS else text[:MAX_RESULT_CHARS] + "\n[... the rest was not kept]"


def _why(exc: BaseException) -> str:
    """The innermost cause of a failure, in one line: task groups wrap what really went wrong."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    text = " ".join(str(exc).split()) or type(exc).__name__
    if isinstance(exc, FileNotFoundError):
        return f"its command was not found ({text})"
    if isinstance(exc, TimeoutError):
        return text if text != "TimeoutError" else "it did not answer in time"
    return text if isinstance(exc, OSError) else f"{type(exc).__name__}: {text}"
