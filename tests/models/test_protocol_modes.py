"""Each way of speaking tools (native, text, constrained JSON), end to end through the HTTP client: a mock
transport plays an OpenAI-compatible server streaming SSE, the loop runs a real read_file call and finishes.
Checks what each mode sends (tools, system text, response schema) and how the reply becomes a call."""

import json

import httpx
import pytest

from luban.agent import loop
from luban.config import Settings
from luban.harness import Harness
from luban.models.openai_compat import OpenAICompatModel, ServerConfig
from luban.models.protocol import protocol_named
from luban.tools import read
from luban.types import Message, ToolFinished, TurnEnded
from luban.workspace import Workspace

SETTINGS = Settings(permission_mode="full-auto", max_steps=5)


def sse(*deltas: dict, finish: str = "stop") -> httpx.Response:
    chunks = [{"choices": [{"index": 0, "delta": d, "finish_reason": None}]} for d in deltas]
    chunks.append({"choices": [{"index": 0, "delta": {}, "finish_reason": finish}],
                   "usage": {"prompt_tokens": 100, "completion_tokens": 10},
                   "timings": {"cache_n": 80, "prompt_n": 20}})
    body = "".join(f"data: {json.dumps(c)}\n\n" for c in chunks) + "data: [DONE]\n\n"
    return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body.encode())


NATIVE_CALL = sse({"role": "assistant", "tool_calls": [{"index": 0, "id": "c1", "type": "function", "function": {
    "name": "read_file", "arguments": '{"path": "a.py"}'}}]}, finish="tool_calls")
HERMES_CALL = sse({"role": "assistant", "content": 'Reading.\n<tool_call>\n{"name": "read_file", '
                                                   '"arguments": {"path": "a.py"}}\n</tool_call>'})
JSON_CALL = sse({"role": "assistant", "content": '{"thought": "read it", "tool": "read_file", '
                                                 '"args": {"path": "a.py"}}'})
JSON_FINISH = sse({"role": "assistant", "content": '{"thought": "seen", "tool": "finish", '
                                                   '"args": {"answer": "a.py sets x."}}'})
PROSE = sse({"role": "assistant", "content": "a.py sets x."})

CASES = {"native": [NATIVE_CALL, PROSE], "text": [HERMES_CALL, PROSE], "json": [JSON_CALL, JSON_FINISH]}


class Server:
    def __init__(self, replies):
        self.replies, self.bodies = list(replies), []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/chat/completions":
            self.bodies.append(json.loads(request.content))
            return self.replies.pop(0)
        if request.url.path == "/v1/models":
            return httpx.Response(200, json={"data": [{"id": "qwen2.5-coder", "max_model_len": 16384}]})
        return httpx.Response(404)


@pytest.mark.parametrize("mode", ["native", "text", "json"])
def test_a_tool_call_in_each_mode_runs_and_the_run_finishes(tmp_path, mode):
    (tmp_path / "a.py").write_text("x = 1\n")
    server = Server(CASES[mode])
    model = OpenAICompatModel(ServerConfig("http://llm.test/v1"), transport=httpx.MockTransport(server))
    protocol = protocol_named(mode, "hermes")
    specs = [read.TOOL.spec]
    system = Message("system", "Rules.\n\n" + protocol.system_text(specs))
    events = list(loop.run("What does a.py set?", model=model, tools=(read.TOOL,), ws=Workspace.open(tmp_path),
                           settings=SETTINGS, history=[system], harness=Harness(protocol)))
    finished = [e for e in events if isinstance(e, ToolFinished)]
    assert [(e.call.name, dict(e.call.arguments), e.result.content) for e in finished] == [
        ("read_file", {"path": "a.py"}, "     1\tx = 1")]
    outcome = events[-1].outcome if isinstance(events[-1], TurnEnded) else None
    assert (outcome.status, outcome.message, outcome.calls.valid, outcome.usage.cached_tokens) == (
        "done", "a.py sets x.", 1, 160)
    first, second = server.bodies
    if mode == "native":
        assert [t["function"]["name"] for t in first["tools"]] == ["read_file"]
        assert second["messages"][-1] == {"role": "tool", "tool_call_id": "c1", "content": "     1\tx = 1"}
    else:
        assert "tools" not in first
    if mode == "text":
        assert "<tools>" in first["messages"][0]["content"]
        assert second["messages"][-1] == {"role": "user",
                                          "content": "<tool_response>\n     1\tx = 1\n</tool_response>"}
    if mode == "json":
        schema = first["response_format"]["json_schema"]["schema"]
        assert [b["properties"]["tool"]["const"] for b in schema["anyOf"]] == ["read_file", "finish"]
    else:
        assert "response_format" not in first
    # The history each mode sends back extends the first request: the prefix stays cacheable.
    assert second["messages"][:len(first["messages"])] == first["messages"]
