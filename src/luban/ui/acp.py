"""`luban acp`: Luban as an Agent Client Protocol agent over stdio, for editors (Zed, JetBrains, Neovim).

Built on the `agent-client-protocol` package: its connection runs on an asyncio loop in a thread of its own, while
sessions are opened and turns run on the main thread, one at a time, where a session/cancel lands as Ctrl-C does.
docs/editors.md says how to set it up in each editor.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import queue
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable, TextIO

from acp import PROTOCOL_VERSION, RequestError, run_agent
from acp.schema import (AgentCapabilities, ClientCapabilities, Implementation, InitializeResponse, LoadSessionResponse,
                        NewSessionResponse, PromptCapabilities, PromptResponse, SetSessionModeResponse)

from .. import __version__
from ..config import Settings
from ..errors import ConfigError, LubanError, SessionError, WorkspaceError
from ..extend.extensions import open_extensions
from ..models import Model
from .acp_files import EditorFiles
from .acp_terminal import EditorTerminal
from .acp_session import OPTIONS, STOP_REASONS, AcpSession, file_text, modes
from .acp_updates import Updates
from .headless import open_run, progress_printer
from .interruption import catch_interrupts
from .runtime import open_model, open_workspace


class MainThread:
    """Runs jobs on the main thread, one at a time, until stopped."""

    def __init__(self) -> None:
        self.jobs: queue.Queue = queue.Queue()

    def call(self, job: Callable[[], Any]) -> concurrent.futures.Future:
        done: concurrent.futures.Future = concurrent.futures.Future()
        self.jobs.put((job, done))
        return done

    def serve(self) -> None:
        while (item := self.jobs.get()) is not None:
            job, done = item
            if not done.set_running_or_notify_cancel():  # the request went away (the editor disconnected)
                continue
            try:
                result = job()
            except KeyboardInterrupt:  # a cancel that came as the turn ended: nothing left to stop
                _settle(done, exception=LubanError("Interrupted."))
            except Exception as exc:  # handed to the request that asked; the agent keeps serving
                _settle(done, exception=exc)
            else:
                _settle(done, result=result)

    def stop(self) -> None:
        self.jobs.put(None)


def _settle(done: concurrent.futures.Future, result: Any = None, exception: BaseException | None = None) -> None:
    with contextlib.suppress(concurrent.futures.InvalidStateError):  # cancelled meanwhile: nobody is waiting
        if exception is not None:
            done.set_exception(exception)
        else:
            done.set_result(result)


class OneLine(logging.Formatter):
    """The ACP package logs what it skips (a line that is not JSON) with a traceback; one line says enough."""

    def formatException(self, ei: Any) -> str:
        return ""

    def format(self, record: logging.LogRecord) -> str:
        record.exc_info, record.exc_text = None, None
        return super().format(record)


class LubanAgent:
    """The ACP Agent interface (acp.interfaces.Agent) over Luban sessions."""

    def __init__(self, settings_for: Callable[[str], Settings], main: MainThread, err: TextIO) -> None:
        self.settings_for, self.main, self.err = settings_for, main, err
        self.sessions: dict[str, AcpSession] = {}
        self.client = ClientCapabilities()
        self.models = contextlib.ExitStack()  # one model for every session, opened with the first
        self.model: Model | None = None
        self.conn: Any = None
        self.loop: asyncio.AbstractEventLoop | None = None

    def on_connect(self, conn: Any) -> None:
        self.conn, self.loop = conn, asyncio.get_running_loop()  # the loop the connection runs on

    async def initialize(self, protocol_version: int, client_capabilities: ClientCapabilities | None = None,
                         client_info: Any = None, **_: Any) -> InitializeResponse:
        self.client = client_capabilities or ClientCapabilities()
        return InitializeResponse(
            protocol_version=min(protocol_version, PROTOCOL_VERSION),
            agent_capabilities=AgentCapabilities(load_session=True, prompt_capabilities=PromptCapabilities(
                image=False, audio=False, embedded_context=True)),
            agent_info=Implementation(name="luban", title="Luban", version=__version__), auth_methods=[])

    async def authenticate(self, method_id: str, **_: Any) -> None:
        return None  # a local model: nothing to log in to

    async def new_session(self, cwd: str, mcp_servers: list[Any] | None = None, **_: Any) -> NewSessionResponse:
        self._no_mcp(mcp_servers)
        session = await self._on_main(lambda: self._open(cwd))
        return NewSessionResponse(session_id=session.id, modes=modes(session.run.settings.permission_mode))

    async def load_session(self, cwd: str, session_id: str, mcp_servers: list[Any] | None = None,
                           **_: Any) -> LoadSessionResponse:
        def load() -> AcpSession:
            session = self.sessions.get(session_id) or self._open(cwd, resume=session_id)
            session.replay()
            return session

        self._no_mcp(mcp_servers)
        session = await self._on_main(load)
        return LoadSessionResponse(modes=modes(session.run.settings.permission_mode))

    async def set_session_mode(self, mode_id: str, session_id: str, **_: Any) -> SetSessionModeResponse:
        refused = self._session(session_id).set_mode(mode_id)
        if refused:
            raise RequestError.invalid_params({"message": refused})
        return SetSessionModeResponse()

    async def prompt(self, prompt: list[Any], session_id: str, **_: Any) -> PromptResponse:
        session = self._session(session_id)
        outcome = await self._on_main(lambda: session.turn(prompt_text(prompt)))
        return PromptResponse(stop_reason=STOP_REASONS.get(outcome.status, "end_turn"))

    async def cancel(self, session_id: str, **_: Any) -> None:
        if session_id in self.sessions:
            self.sessions[session_id].cancel()

    # ---- helpers ----

    def _no_mcp(self, servers: list[Any] | None) -> None:
        if servers:
            self.err.write(f"luban acp: ignoring the {len(servers)} MCP server(s) the editor passed: Luban starts "
                           "those of its own config (docs/extending.md).\n")

    async def _on_main(self, job: Callable[[], Any]) -> Any:
        try:
            return await asyncio.wrap_future(self.main.call(job))
        except (SessionError, WorkspaceError, ConfigError) as exc:  # what the editor asked for cannot be
            raise RequestError.invalid_params({"message": str(exc)}) from None
        except LubanError as exc:
            raise RequestError.internal_error({"message": str(exc)}) from None

    def _session(self, session_id: str) -> AcpSession:
        if session_id not in self.sessions:
            raise RequestError.invalid_params({"message": f"No session {session_id!r} here; start one with "
                                                          "session/new or load it with session/load."})
        return self.sessions[session_id]

    def _open(self, cwd: str, resume: str | None = None) -> AcpSession:
        """On the main thread: a new or resumed Luban session in `cwd`, its files routed through the editor."""
        settings = self.settings_for(cwd)
        ws, notes = open_workspace(settings)
        extensions = self.models.enter_context(contextlib.closing(open_extensions(settings)))  # the cwd's own
        extensions.servers.begin()  # MCP servers start while the model loads
        if self.model is None:
            self.model = self.models.enter_context(open_model(settings, progress_printer(self.err)))
        run = open_run(settings, ws, notes, self.model, extensions, self.err, resume=resume)
        session = AcpSession(run, Updates(lambda update: self._send(session.id, update), run.ws.root, file_text),
                             lambda tool_call: self._client(self.conn.request_permission(
                                 session_id=session.id, tool_call=tool_call, options=OPTIONS)))
        terminal = EditorTerminal(session.id, self.conn, self._client, session.updates.terminal)
        run.ws = replace(run.ws, route=lambda disk: EditorFiles(disk, *self._editor_io(session.id)),
                         terminal=terminal if self.client.terminal else None)
        self.sessions[session.id] = session
        return session

    def _editor_io(self, session_id: str) -> tuple[Any, Any]:
        fs = self.client.fs
        read = (lambda path: self._client(self.conn.read_text_file(session_id=session_id, path=str(path))).content
                ) if fs and fs.read_text_file else None
        write = (lambda path, text: self._client(self.conn.write_text_file(session_id=session_id, path=str(path),
                                                                           content=text))
                 ) if fs and fs.write_text_file else None
        return read, write

    def _send(self, session_id: str, update: Any) -> None:
        self._client(self.conn.session_update(session_id=session_id, update=update))

    def _client(self, call: Any) -> Any:
        """Await a call to the editor from the main thread."""
        assert self.loop is not None
        return asyncio.run_coroutine_threadsafe(call, self.loop).result()


def prompt_text(blocks: list[Any]) -> str:
    """A prompt's text: its text blocks, files the editor embedded (as context), and links to files as @paths."""
    parts = []
    for block in blocks:
        kind = getattr(block, "type", "")
        if kind == "text":
            parts.append(block.text)
        elif kind == "resource" and hasattr(block.resource, "text"):
            parts.append(f"<file uri=\"{block.resource.uri}\">\n{block.resource.text}\n</file>")
        elif kind == "resource_link":
            parts.append(f"@{Path(block.uri.removeprefix('file://'))}")
    return "\n\n".join(parts)


def serve_acp(settings_for: Callable[[str], Settings], err: TextIO) -> int:
    """Serve ACP on stdin/stdout until the editor closes the connection."""
    catch_interrupts()
    main = MainThread()
    agent = LubanAgent(settings_for, main, err)
    handler = logging.StreamHandler(err)
    handler.setFormatter(OneLine("luban acp: %(message)s"))
    logging.basicConfig(level=logging.WARNING, handlers=[handler], force=True)

    def connection() -> None:
        try:
            asyncio.run(run_agent(agent))
        finally:  # the editor is gone: stop what runs for it, then the main thread
            for session in list(agent.sessions.values()):
                session.cancel()
            main.stop()

    threading.Thread(target=connection, name="luban-acp", daemon=True).start()
    try:
        main.serve()
    finally:
        agent.models.close()
        for session in agent.sessions.values():
            session.run.transcript.close()
    return 0
