"""Wiring shared by every front-end: open the model the settings name, open or resume a session."""

from __future__ import annotations

import contextlib
import importlib.util
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator, Sequence

from ..config import Settings, environment, untrusted_project
from ..context.engine import session_prefix
from ..agent.subagent import task_tool
from ..errors import ConfigError, SessionError
from ..extend.extensions import Extensions
from ..harness import Harness, offered_tools
from ..models import Model
from ..models.openai_compat import OpenAICompatModel, ServerConfig
from ..models.probe import cached_probe
from ..models.profiles import Profile, load_profiles, match_profile
from ..models.protocol import label
from ..safety import policy
from ..sandbox import Unconfined, for_agent
from ..session import Transcript, find, latest_for
from ..tools import Tool, todo
from ..types import Message, ToolSpec
from ..workspace import Workspace
from ..workspace.checkpoints import Checkpoints

if TYPE_CHECKING:
    from ..models.embedded import EmbeddedServer

Progress = Callable[[str, float], None]
LISTED = 5  # leftover temp files named one by one; the rest are counted
IN_PROCESS_PACKAGES = ("torch", "transformers", "peft", "llguidance")  # what the `transformers` extra installs
UNCONFINED = ("Commands run unconfined (--no-sandbox): they can read and change anything your user can, so "
              "keep a mode that asks before each one.")


def open_workspace(settings: Settings) -> tuple[Workspace, list[str]]:
    """The workspace with its command sandbox (fail closed: SandboxUnavailable when none works and the settings
    do not allow running unconfined), swept of the temp files killed runs left, and warnings for the user."""
    policy.Rules.parse(settings.permissions)  # a malformed rule stops the start, not the first tool call
    sandbox = for_agent(settings.sandbox, full_auto=settings.permission_mode == "full-auto",
                        no_sandbox=settings.no_sandbox, host=environment(),
                        programs=[settings.test_command] if settings.test_command else [])
    ws = Workspace.open(settings.cwd, sandbox=sandbox)
    warnings = [UNCONFINED] if isinstance(sandbox, Unconfined) else []
    swept = ws.sweep()
    if swept:
        listed = ", ".join(f"{s.path} ({_size(s.size)})" for s in swept[:LISTED])
        more = f" and {len(swept) - LISTED} more" if len(swept) > LISTED else ""
        warnings.append(f"Removed {len(swept)} temp file(s) that a killed Luban run left: {listed}{more}.")
    pending = untrusted_project(settings)
    if pending:
        warnings.append(f"This repository's .luban/config.toml asks for: {'; '.join(pending)}. It stays ignored "
                        "until you review it with `luban trust`.")
    return ws, warnings


def _size(size: int) -> str:
    return f"{size / 1e6:.1f} MB" if size >= 100_000 else f"{size} bytes"


def session_tools(settings: Settings, extensions: Extensions, task: str = "") -> tuple[Tool, ...]:
    """What the model is offered: the harness's tools (harness.offered_tools), the task list, the extensions'
    tools, and the task tool that hands work to subagents over those, less what the permission mode always
    denies. Starts the MCP servers the first time."""
    base = policy.offered((*offered_tools(settings, task), todo.TOOL, *extensions.tools()), settings.permission_mode)
    return policy.offered((*base, task_tool(extensions.agents, base)), settings.permission_mode)


def open_checkpoints(ws: Workspace, settings: Settings) -> Checkpoints:
    return Checkpoints.open(ws.root, Path(settings.data_dir))


@contextlib.contextmanager
def open_model(settings: Settings, progress: Progress) -> Iterator[Model]:
    """The configured server, the in-process model, or the embedded model started for the duration of the block."""
    if settings.transformers:
        model = open_in_process(settings, progress)
        try:
            yield model
        finally:
            model.close()
        return
    with serve(settings, progress) as endpoint:
        yield _connect(settings, endpoint)


def open_in_process(settings: Settings, progress: Progress) -> Model:
    """The `transformers` model loaded into this process, with the adapter if one is set, and its family's
    text format and stop markers from its profile."""
    from ..models.checkpoint import load_checkpoint
    from ..models.in_process import TransformersModel

    missing = [name for name in IN_PROCESS_PACKAGES if importlib.util.find_spec(name) is None]
    if missing:
        raise ConfigError(f"--transformers needs the transformers extra ({', '.join(missing)} missing); install it "
                          "with: pip install 'luban[transformers]'.")
    adapter = Path(settings.adapter).expanduser() if settings.adapter else None
    checkpoint = load_checkpoint(Path(settings.transformers).expanduser(), adapter, progress=progress)
    profile = match_profile(load_profiles(settings.profiles), checkpoint.name)
    return TransformersModel(checkpoint, tool_format=profile.tool_format, stop=profile.stop)


@dataclass(frozen=True)
class Endpoint:
    """Where the model is served: the server's URL, the model's name there (None: the one it serves), and the
    folder where the server saves prompt heads (only a server Luban started has one)."""

    base_url: str
    model: str | None
    heads: Path | None = None


@contextlib.contextmanager
def serve(settings: Settings, progress: Progress, slots: int = 1) -> Iterator[Endpoint]:
    """The configured server, or the embedded model started for the block with `slots` concurrent requests (eval
    jobs)."""
    if settings.base_url:
        adapter_file(settings)  # refuses an adapter for a server's model
        yield Endpoint(settings.base_url, settings.model)
        return
    with embedded_server(settings, progress, slots) as server:
        yield Endpoint(server.start(progress), server.alias, server.heads)


def embedded_server(settings: Settings, progress: Progress, slots: int = 1) -> EmbeddedServer:
    """The embedded model's server, not started yet, its GGUF assembled from the installed packages."""
    from ..models import catalog
    from ..models.embedded import EmbeddedServer, weights_key

    adapter = adapter_file(settings)  # the in-process model takes its own (open_in_process)
    spec = catalog.spec_for(settings.embedded_model)
    data_dir = Path(settings.data_dir)
    gguf = catalog.assemble(spec, data_dir, progress)
    log = data_dir / "logs" / "embedded-server.log"
    heads = data_dir / "heads" / weights_key(gguf, adapter)
    return EmbeddedServer(gguf, spec.name, settings.embedded_context, log, slots=slots, adapter=adapter, heads=heads)


def adapter_file(settings: Settings) -> Path | None:
    """The GGUF LoRA adapter for the embedded model, checked before anything starts."""
    if not settings.adapter:
        return None
    path = Path(settings.adapter).expanduser()
    if settings.base_url:
        raise ConfigError(("--adapter applies to the embedded model or an in-process one (--transformers); a server at "
                          "--base-url loads its own adapters."))
    if path.is_dir():
        raise ConfigError(f"{path} is a folder; the embedded model takes the GGUF adapter file that luban tune train "
                          "wrote beside it (adapter.gguf).")
    if not path.is_file():
        raise ConfigError(f"No adapter file {path}.")
    return path


def _connect(settings: Settings, endpoint: Endpoint) -> Model:
    config = ServerConfig(base_url=endpoint.base_url, model=endpoint.model, api_key=settings.api_key,
                          first_token_timeout_s=settings.first_token_timeout_s,
                          idle_timeout_s=settings.idle_timeout_s, head_cache=endpoint.heads)
    model = OpenAICompatModel(config)
    model.discover()
    return model


def sessions_dir(settings: Settings) -> Path:
    return Path(settings.data_dir) / "sessions"


def resolve_protocol(settings: Settings, model: Model) -> Settings:
    """With `auto` and a server: native function calling if a (cached) probe shows it works, else the
    model's own text format. The embedded model keeps `auto`, which means constrained JSON turns."""
    if settings.tool_protocol != "auto" or not settings.base_url:
        return settings
    key = f"{settings.base_url} {model.info.name}"
    works = cached_probe(Path(settings.data_dir) / "native-tools.json", key, model)
    return replace(settings, tool_protocol="native" if works else "text")


def profile_for(model: Model, settings: Settings) -> Profile:
    """The model family's quirks, matched from the name the server reports (patterns are data)."""
    return match_profile(load_profiles(settings.profiles), model.info.name)


def open_session(settings: Settings, ws: Workspace, model: Model, specs: Sequence[ToolSpec], harness: Harness, *,
                 resume: str | None = None, continue_last: bool = False
                 ) -> tuple[Transcript, list[Message], list[str]]:
    """A new session (history = the system prompt), or a resumed one with its repaired history."""
    path = find(sessions_dir(settings), resume) if resume else None
    if continue_last:
        path = latest_for(sessions_dir(settings), ws.root)
        if path is None:
            raise SessionError(f"No earlier session in {ws.root} to continue.")
    if path:
        return Transcript.resume(path)
    transcript = Transcript.create(sessions_dir(settings), ws.root, model.info.name, label(harness.protocol),
                                   [s.name for s in specs])
    system = session_prefix(ws, model, settings.max_reply_tokens, harness.protocol, specs, warm=True)
    transcript.append_message(system)
    return transcript, [system], []
