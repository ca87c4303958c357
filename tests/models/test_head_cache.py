"""The system prompt's head kept as llama.cpp's saved KV state between sessions (models/head_cache.py).

The first tests run the real embedded server (0.5B); the others answer through a mock HTTP transport, for what a
server can refuse."""

import json
import os
from pathlib import Path

import httpx
import pytest

from luban.config import user_data_dir
from luban.context.engine import session_prefix
from luban.models import drain
from luban.models.embedded import EmbeddedServer, weights_key
from luban.models.head_cache import KEEP_FILES
from luban.models.openai_compat import OpenAICompatModel, ServerConfig
from luban.models.protocol import JsonProtocol
from luban.tools import default_tools
from luban.types import Message, Request
from luban.workspace import Workspace

GGUF = user_data_dir(os.environ) / "models" / "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"
TASK = Message("user", "Say which file holds the function add.")


def first_request(tmp_path: Path, heads: Path | None):
    """A new session's system prompt, a side request with a prompt of its own (as a focused write sends), then
    the session's first request, on a server started for them: (cached tokens of the side request and of the
    first request, its reply, the saved heads by name and inode)."""
    repo = tmp_path / "repo"
    repo.mkdir(exist_ok=True)
    (repo / "calc.py").write_text("def add(a, b):\n    return a + b\n")
    ws = Workspace.open(repo, tmp_path / "out")
    protocol, specs = JsonProtocol(), [t.spec for t in default_tools()]
    with EmbeddedServer(GGUF, "m", 4096, tmp_path / "server.log", threads=2, heads=heads) as server:
        model = OpenAICompatModel(ServerConfig(server.start(lambda *_: None), "m", head_cache=heads))
        system = session_prefix(ws, model, 64, protocol, specs, warm=True)
        side = drain(model, Request((Message("system", "You are a careful programmer."), TASK), (), 0.0, 8))
        done = drain(model, protocol.request([system, TASK], specs, 0.0, 40))
        model.close()
    files = {p.name: p.stat().st_ino for p in heads.iterdir()} if heads else {}
    return side.usage.cached_tokens, done.usage.cached_tokens, done.message.content, files


@pytest.mark.model
@pytest.mark.skipif(not GGUF.is_file(), reason="the embedded 0.5B is assembled by the README's set-up")
def test_a_new_session_starts_from_the_saved_head_and_replies_as_the_first_did(tmp_path):
    heads = tmp_path / "heads" / weights_key(GGUF, None)
    side, cached, reply, files = first_request(tmp_path, heads)
    # The head (rules and tools) is restored only for the request that starts with it, after the side request,
    # and came from the cache although the side request had the slot last.
    assert side == 0 and cached > 500 and len(files) == 1

    side, again, reply_again, files_again = first_request(tmp_path, heads)
    assert files_again == files  # restored, not computed and saved anew
    assert (side, again, reply_again) == (0, cached, reply)  # the same bytes restored: the same reply

    _, cold, _, _ = first_request(tmp_path, None)
    assert cold < 20  # without saved heads: only the chat template's opening, shared with the side request


# ---- what a server can refuse (mock HTTP transport) ----

class Server:
    """Answers llama.cpp's template, slot and completion endpoints; `refuse` names paths answered with 501; the
    slot is busy for the first `busy` looks at it (a request being cancelled)."""

    def __init__(self, folder: Path, refuse: tuple[str, ...] = (), busy: float = 0):
        self.folder, self.refuse, self.busy, self.paths = folder, refuse, busy, []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path, action = request.url.path, request.url.params.get("action")
        self.paths.append(f"{path}?{action}" if action else path)
        if any(path.startswith(r) for r in self.refuse):
            return httpx.Response(501, json={"error": {"message": "not supported"}})
        body = json.loads(request.content or b"{}")
        if path == "/apply-template":
            return httpx.Response(200, json={"prompt": "<|im_start|>system\n" + body["messages"][0]["content"]})
        if path == "/slots":
            self.busy -= 1
            return httpx.Response(200, json=[{"id": 0, "is_processing": self.busy >= 0}])
        if path == "/completion":
            return httpx.Response(200, json={"content": "", "tokens_evaluated": 12})
        if action == "save":
            (self.folder / body["filename"]).write_bytes(b"kv")
            return httpx.Response(200, json={"n_saved": 12})
        return httpx.Response(200, json={"n_restored": 12})


def keep(tmp_path: Path, server: Server):
    model = OpenAICompatModel(ServerConfig("http://llama", "m", head_cache=tmp_path),
                              transport=httpx.MockTransport(server))
    request = JsonProtocol().request([Message("system", "You are Luban.")], [], 0.0, 1)
    return model.restore_head(request)


def test_a_saved_head_is_restored_without_computing_it_again(tmp_path):
    first, second = Server(tmp_path), Server(tmp_path)
    assert keep(tmp_path, first).computed and not keep(tmp_path, second).computed
    assert "/completion" in first.paths and "/completion" not in second.paths
    assert [p.name for p in tmp_path.iterdir()] == [keep(tmp_path, Server(tmp_path)).name]  # no .part left


@pytest.mark.parametrize("refused", ["/apply-template", "/slots/0", "/completion"])
def test_a_server_that_refuses_a_step_leaves_the_session_as_it_was(tmp_path, refused):
    assert keep(tmp_path, Server(tmp_path, refuse=(refused,))) is None
    assert not list(tmp_path.glob("head-*.bin"))


def test_no_head_is_restored_into_a_slot_serving_another_request(tmp_path):
    server = Server(tmp_path, busy=float("inf"))
    assert keep(tmp_path, server) is None and "/completion" not in server.paths


def test_a_slot_that_frees_within_a_moment_gets_the_head(tmp_path):
    server = Server(tmp_path, busy=3)  # a reply stopped mid-stream is still being cancelled
    assert keep(tmp_path, server).computed and server.paths.count("/slots") == 4


def test_a_server_luban_did_not_start_is_left_alone(tmp_path):
    server = Server(tmp_path)
    model = OpenAICompatModel(ServerConfig("http://llama", "m"), transport=httpx.MockTransport(server))
    assert model.restore_head(JsonProtocol().request([Message("system", "x")], [], 0.0, 1)) is None
    assert server.paths == []


def test_only_the_most_recently_used_heads_are_kept(tmp_path):
    names = []
    for n in range(KEEP_FILES + 2):
        model = OpenAICompatModel(ServerConfig("http://llama", "m", head_cache=tmp_path),
                                  transport=httpx.MockTransport(Server(tmp_path)))
        names.append(model.restore_head(JsonProtocol().request([Message("system", f"head {n}")], [], 0.0, 1)).name)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(names[-KEEP_FILES:])
