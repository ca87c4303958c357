import http.server
import json
import socket
import struct
import threading
import time
from dataclasses import replace
from typing import Callable, Iterator

import httpx
import pytest

from luban.errors import (Cancelled, ConfigError, ContextOverflow, ModelProtocolError, ModelRejected, ModelTimeout, ModelUnavailable,
                          ReplyBroken, TimeUp)
from luban.models import ModelInfo
from luban.models.openai_compat import OpenAICompatModel, ServerConfig
from luban.types import Completion, Message, ReplyRestarted, Request, TextDelta, ToolCall, ToolSpec, Usage

URL = "http://llm.test:8080"
REQUEST = Request((Message("user", "hi"),))
Handler = Callable[[httpx.Request], httpx.Response]


def chunk(delta: dict | None = None, finish: str | None = None) -> dict:
    return {"object": "chat.completion.chunk", "model": "qwen",
            "choices": [{"index": 0, "delta": delta or {}, "finish_reason": finish}]}


def sse(*events: dict, done: bool = True) -> bytes:
    text = "".join(f"data: {json.dumps(e)}\n\n" for e in events) + ("data: [DONE]\n\n" if done else "")
    return text.encode()


def stream_response(body: bytes | httpx.SyncByteStream) -> httpx.Response:
    headers = {"content-type": "text/event-stream"}
    if isinstance(body, bytes):
        return httpx.Response(200, headers=headers, content=body)
    return httpx.Response(200, headers=headers, stream=body)


HELLO = sse(chunk({"role": "assistant"}), chunk({"content": "Hel"}), chunk({"content": "lo"}, "stop"))


class Server:
    """A fake server: records every request and answers from a route table or a queue of chat replies."""

    def __init__(self, *replies: httpx.Response | Exception, routes: dict[str, object] | None = None) -> None:
        self.replies = list(replies)
        self.routes = routes or {}
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.path == "/v1/chat/completions":
            reply = self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]
            if isinstance(reply, Exception):
                raise reply
            return reply
        found = self.routes.get(request.url.path)
        return httpx.Response(200, json=found) if found is not None else httpx.Response(404, text="Not Found")

    @property
    def paths(self) -> list[str]:
        return [r.url.path for r in self.requests]


class Gate(httpx.SyncByteStream):
    """A response body that sends `before`, then waits for `gate` (at most 5 s) before sending `after`."""

    def __init__(self, before: list[bytes], gate: threading.Event, after: bytes = b"") -> None:
        self.before, self.gate, self.after = before, gate, after

    def __iter__(self) -> Iterator[bytes]:
        for piece in self.before:
            yield piece
            time.sleep(0.02)
        self.gate.wait(5)
        yield self.after


def model_for(server: Handler, sleeps: list[float] | None = None, cancel: threading.Event | None = None,
              **config: object) -> OpenAICompatModel:
    settings = {"base_url": URL + "/v1", "model": "qwen", **config}
    record = sleeps.append if sleeps is not None else (lambda s: None)
    return OpenAICompatModel(ServerConfig(**settings), transport=httpx.MockTransport(server), sleep=record,
                             cancel=cancel)


def consume(model: OpenAICompatModel, request: Request = REQUEST) -> tuple[list[object], Exception | None]:
    """Everything the stream yielded before it ended, and the error that ended it (None if none)."""
    items: list[object] = []
    try:
        for item in model.complete(request):
            items.append(item)
    except Exception as exc:
        return items, exc
    return items, None


def without_wall(items: list[object]) -> list[object]:
    return [replace(i, wall_s=0.0) if isinstance(i, Completion) else i for i in items]


def test_streams_text_then_one_completion():
    items, error = consume(model_for(Server(stream_response(HELLO))))
    assert error is None
    assert without_wall(items) == [
        TextDelta("Hel"), TextDelta("lo"),
        Completion(Message("assistant", "Hello"), "stop", Usage(requests=1), "qwen"),
    ]
    assert items[-1].wall_s > 0


def test_request_body_is_the_exact_openai_json():
    server = Server(stream_response(HELLO))
    call = ToolCall("c1", "read", {"path": "a.py"})
    raw = ToolCall("c2", "edit", {}, raw='{"path": "a.py",')
    request = Request(
        messages=(
            Message("system", "You are Luban."),
            Message("user", "Read a.py"),
            Message("assistant", "Reading.", (call, raw), reasoning="I should read it."),
            Message("tool", "x = 1", tool_call_id="c1"),
            Message("tool", "Error: arguments are not JSON.", tool_call_id="c2"),
        ),
        tools=(ToolSpec("read", "Read a file.", {"type": "object", "properties": {"path": {"type": "string"}}}),),
        temperature=0.2,
        max_tokens=512,
        response_format={"type": "json_object"},
    )
    consume(model_for(server, api_key="sk-local"), request)
    sent = server.requests[0]
    assert (sent.method, str(sent.url), sent.headers["authorization"], sent.headers["content-type"]) == (
        "POST", f"{URL}/v1/chat/completions", "Bearer sk-local", "application/json")
    assert json.loads(sent.content) == {
        "model": "qwen",
        "messages": [
            {"role": "system", "content": "You are Luban."},
            {"role": "user", "content": "Read a.py"},
            {"role": "assistant", "content": "Reading.", "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "read", "arguments": '{"path": "a.py"}'}},
                {"id": "c2", "type": "function", "function": {"name": "edit", "arguments": '{"path": "a.py"}'}},
            ]},
            {"role": "tool", "content": "x = 1", "tool_call_id": "c1"},
            {"role": "tool", "content": "Error: arguments are not JSON.", "tool_call_id": "c2"},
        ],
        "stream": True,
        "stream_options": {"include_usage": True},
        "tools": [{"type": "function", "function": {
            "name": "read", "description": "Read a file.",
            "parameters": {"type": "object", "properties": {"path": {"type": "string"}}}}}],
        "temperature": 0.2,
        "max_tokens": 512,
        "response_format": {"type": "json_object"},
    }


def test_a_minimal_request_omits_optional_keys_and_authorization():
    server = Server(stream_response(HELLO))
    consume(model_for(server))
    assert json.loads(server.requests[0].content) == {
        "model": "qwen", "messages": [{"role": "user", "content": "hi"}],
        "stream": True, "stream_options": {"include_usage": True}}
    assert "authorization" not in server.requests[0].headers


def test_retries_a_503_then_succeeds():
    sleeps: list[float] = []
    server = Server(httpx.Response(503, json={"error": {"message": "Loading model"}}), stream_response(HELLO))
    items, error = consume(model_for(server, sleeps, backoff_s=1.0))
    assert (error, items[-1].message, len(server.requests)) == (None, Message("assistant", "Hello"), 2)
    assert len(sleeps) == 1 and 0.0 <= sleeps[0] <= 1.0


def test_a_429_waits_as_long_as_retry_after_says():
    sleeps: list[float] = []
    server = Server(httpx.Response(429, headers={"retry-after": "2"}, text="busy"), stream_response(HELLO))
    items, error = consume(model_for(server, sleeps))
    assert (error, sleeps, len(server.requests)) == (None, [2.0], 2)


def test_gives_up_after_max_retries():
    sleeps: list[float] = []
    server = Server(httpx.Response(503, json={"error": {"message": "Loading model"}}))
    items, error = consume(model_for(server, sleeps, max_retries=2, backoff_s=1.0))
    assert (items, type(error), str(error)) == (
        [], ModelUnavailable, f"The model server at {URL} answered HTTP 503 3 times: Loading model.")
    assert len(server.requests) == 3
    assert len(sleeps) == 2 and 0.0 <= sleeps[0] <= 1.0 and 0.0 <= sleeps[1] <= 2.0


def test_an_unreachable_server_is_unavailable_after_retries():
    server = Server(httpx.ConnectError("[Errno 111] Connection refused"))
    items, error = consume(model_for(server, max_retries=1))
    assert (type(error), str(error), len(server.requests)) == (
        ModelUnavailable, f"Cannot reach the model server at {URL}: [Errno 111] Connection refused.", 2)


def test_a_400_is_rejected_with_the_servers_message_and_not_retried():
    body = {"error": {"code": 400, "type": "invalid_request_error", "message": "tools param requires --jinja flag"}}
    server = Server(httpx.Response(400, json=body))
    items, error = consume(model_for(server))
    assert (type(error), str(error), len(server.requests)) == (
        ModelRejected, "The model server rejected the request (HTTP 400): tools param requires --jinja flag.", 1)


# Each server's words for a prompt longer than its window, as their sources write them.
OVERFLOWS = [
    (400, {"error": {"code": 400, "type": "exceed_context_size_error", "n_prompt_tokens": 9000, "n_ctx": 8192,
                     "message": "request (9000 tokens) exceeds the available context size (8192 tokens), try "
                                "increasing it"}}),  # llama.cpp
    (400, {"error": {"code": 400, "type": "invalid_request_error",
                     "message": "the request exceeds the available context size, try increasing it"}}),  # older
    (400, {"object": "error", "type": "BadRequestError", "code": 400,
           "message": "This model's maximum context length is 8192 tokens. However, your request has 9000 input "
                      "tokens. Please reduce the length of the input messages."}),  # vLLM
    (400, {"object": "error", "type": "BadRequestError", "code": 400,
           "message": "The decoder prompt (length 9000) is longer than the maximum model length of 8192. Make sure "
                      "that `max_model_len` is no smaller than the number of text tokens."}),  # vLLM V1
    (400, {"object": "error", "code": 400, "message": "The input (9000 tokens) is longer than the model's context "
                                                      "length (8192 tokens)."}),  # SGLang
    (400, {"detail": "Requested token count exceeds the model's maximum context length of 8192 tokens. You "
                     "requested a total of 9000 tokens: 8000 tokens from the input messages and 1000 tokens for "
                     "the completion."}),  # SGLang
    (500, {"error": "the input length exceeds the context length"}),  # Ollama
    (400, {"error": "Trying to keep the first 9000 tokens when context the overflows. However, the model is loaded "
                    "with context length of only 8192 tokens, which is not enough. The number of tokens to keep "
                    "from the initial prompt is greater than the context length."}),  # LM Studio
]


@pytest.mark.parametrize(("status", "body"), OVERFLOWS)
def test_a_prompt_longer_than_the_window_is_a_context_overflow_and_not_retried(status: int, body: dict):
    server = Server(httpx.Response(status, json=body))
    items, error = consume(model_for(server))
    said = body["error"] if isinstance(body.get("error"), str) else body.get("detail") or _message(body)
    assert (type(error), str(error), len(server.requests)) == (
        ContextOverflow, f"The model server rejected the request (HTTP {status}): {said.rstrip('.')}.", 1)


def _message(body: dict) -> str:
    return body["error"]["message"] if "error" in body else body["message"]


def test_a_context_overflow_inside_the_stream_is_one_too():
    body = sse({"error": {"code": 400, "type": "exceed_context_size_error", "message": "request (9000 tokens) "
                          "exceeds the available context size (8192 tokens), try increasing it"}}, done=False)
    items, error = consume(model_for(Server(stream_response(body))))
    assert (items, type(error), str(error)) == (
        [], ContextOverflow, "The model server rejected the request mid-reply: request (9000 tokens) exceeds the "
                             "available context size (8192 tokens), try increasing it.")


def test_a_404_with_a_plain_text_body():
    items, error = consume(model_for(Server(httpx.Response(404, text="model 'qwen' not found\n"))))
    assert (type(error), str(error)) == (
        ModelRejected, "The model server rejected the request (HTTP 404): model 'qwen' not found.")


def test_malformed_json_in_the_stream_is_a_protocol_error():
    body = sse(chunk({"content": "a"}), done=False) + b"data: {oops\n\n"
    items, error = consume(model_for(Server(stream_response(body))))
    assert (items, type(error), str(error)) == (
        [TextDelta("a")], ModelProtocolError,
        "The model server sent a stream event that is not valid JSON "
        "(Expecting property name enclosed in double quotes: line 1 column 2 (char 1)): '{oops'.")


CUT = sse(chunk({"content": "Reading."}),
          chunk({"tool_calls": [{"index": 0, "id": "a", "function": {"name": "read", "arguments": '{"pa'}}]}),
          done=False)
CUT_SHORT = ("The model server ended its reply before finishing it (no finish_reason and no [DONE]); "
             "it may have crashed or run out of memory")


def test_a_stream_cut_without_done_raises_and_yields_no_completion():
    items, error = consume(model_for(Server(stream_response(CUT)), max_retries=0))
    assert (items, type(error), str(error)) == ([TextDelta("Reading.")], ReplyBroken, CUT_SHORT + ".")
    assert isinstance(error, ModelUnavailable)


def test_a_stream_cut_short_is_sent_again_without_the_partial_reply():
    sleeps: list[float] = []
    server = Server(stream_response(CUT), stream_response(HELLO))
    items, error = consume(model_for(server, sleeps, backoff_s=1.0))
    assert (error, without_wall(items), len(server.requests)) == (None, [
        TextDelta("Reading."),
        ReplyRestarted(f"{CUT_SHORT}; sent the request again (retry 1 of 4), discarding the partial reply."),
        TextDelta("Hel"), TextDelta("lo"), Completion(Message("assistant", "Hello"), "stop", Usage(requests=1), "qwen"),
    ], 2)
    assert len(sleeps) == 1 and 0.0 <= sleeps[0] <= 1.0


def test_a_reply_that_keeps_breaking_gives_up_after_max_retries():
    sleeps: list[float] = []
    server = Server(stream_response(CUT))
    items, error = consume(model_for(server, sleeps, max_retries=2, backoff_s=1.0))
    assert (type(error), str(error), len(server.requests)) == (ReplyBroken, f"{CUT_SHORT} (3 times in a row).", 3)
    assert [type(i).__name__ for i in items] == ["TextDelta", "ReplyRestarted", "TextDelta", "ReplyRestarted",
                                                 "TextDelta"]
    assert len(sleeps) == 2 and 0.0 <= sleeps[0] <= 1.0 and 0.0 <= sleeps[1] <= 2.0


def test_a_broken_connection_mid_stream_is_unavailable():
    class Broken(httpx.SyncByteStream):
        def __iter__(self) -> Iterator[bytes]:
            yield sse(chunk({"content": "a"}), done=False)
            raise httpx.RemoteProtocolError("peer closed connection without sending complete message body")

    items, error = consume(model_for(Server(stream_response(Broken())), max_retries=0))
    assert (items, type(error), str(error)) == (
        [TextDelta("a")], ReplyBroken,
        f"The connection to the model server at {URL} broke mid-reply: "
        "peer closed connection without sending complete message body.")


class QuietServer(http.server.ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a handler that reset its own connection fails to flush it; that is the point, not news


def serve(handler: type[http.server.BaseHTTPRequestHandler]) -> QuietServer:
    server = QuietServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_a_connection_reset_mid_reply_on_a_real_socket_is_sent_again():
    served: list[str] = []

    class ResettingOnce(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["content-length"]))
            served.append(self.path)
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.end_headers()  # no length and no chunking: the body runs until the connection closes
            self.close_connection = True
            if len(served) > 1:
                self.wfile.write(HELLO)
                return
            self.wfile.write(sse(chunk({"content": "Hal"}), done=False))
            self.wfile.flush()
            time.sleep(0.2)  # the client reads the first piece before the reset
            # SO_LINGER 0: close() sends a TCP reset, as a server killed or a proxy dropping the line would.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()

        def log_message(self, *args: object) -> None:
            pass

    server = serve(ResettingOnce)
    url = f"http://127.0.0.1:{server.server_address[1]}"
    sleeps: list[float] = []
    model = OpenAICompatModel(ServerConfig(url + "/v1", "m"), sleep=sleeps.append)
    try:
        items, error = consume(model)
    finally:
        model.close()
        server.shutdown()
        server.server_close()
    assert (error, without_wall(items), served, len(sleeps)) == (None, [
        TextDelta("Hal"),
        ReplyRestarted(f"The connection to the model server at {url} broke mid-reply: [Errno 104] Connection reset "
                       "by peer; sent the request again (retry 1 of 4), discarding the partial reply."),
        TextDelta("Hel"), TextDelta("lo"), Completion(Message("assistant", "Hello"), "stop", Usage(requests=1), "qwen"),
    ], ["/v1/chat/completions"] * 2, 1)


def test_an_error_object_inside_the_stream_is_rejected():
    body = sse(chunk({"content": "a"}), {"error": {"code": 400, "message": "Invalid tool call."}}, done=False)
    items, error = consume(model_for(Server(stream_response(body))))
    assert (items, type(error), str(error)) == (
        [TextDelta("a")], ModelRejected, "The model server rejected the request mid-reply: Invalid tool call.")


def test_pings_and_event_lines_are_ignored():
    body = b": ping\n\nevent: message\n" + HELLO
    items, error = consume(model_for(Server(stream_response(body))))
    assert (error, items[-1].message) == (None, Message("assistant", "Hello"))


def test_a_plain_json_answer_is_a_protocol_error():
    reply = httpx.Response(200, json={"choices": [{"message": {"role": "assistant", "content": "hi"}}]})
    items, error = consume(model_for(Server(reply)))
    assert (type(error), str(error)) == (
        ModelProtocolError,
        f"The model server at {URL} answered with one JSON object instead of an event stream; "
        "it may not support stream: true.")


def test_cancelling_mid_stream_stops_without_a_completion():
    cancel, gate = threading.Event(), threading.Event()
    server = Server(stream_response(Gate([sse(chunk({"content": "a"}), done=False)], gate, HELLO)))
    items: list[object] = []
    with pytest.raises(Cancelled) as caught:
        for item in model_for(server, cancel=cancel).complete(REQUEST):
            items.append(item)
            cancel.set()
    gate.set()
    assert (items, str(caught.value)) == ([TextDelta("a")], "The model request was cancelled.")


def test_cancel_unblocks_a_read_on_a_real_socket():
    # The one test over a real socket: only there does abandoning have to shut the socket down, so that the
    # reader thread stops now rather than when the server next writes.
    release = threading.Event()

    class Stalling(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["content-length"]))
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.end_headers()  # no length and no chunking: the body runs until the connection closes
            self.wfile.write(sse(chunk({"content": "a"}), done=False))
            self.wfile.flush()
            release.wait(5)  # a long prefill

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Stalling)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    before = set(threading.enumerate())
    cancel = threading.Event()
    model = OpenAICompatModel(ServerConfig(f"http://127.0.0.1:{server.server_address[1]}/v1", "m"), cancel=cancel)
    try:
        readers: list[threading.Thread] = []
        with pytest.raises(Cancelled):
            for item in model.complete(REQUEST):
                # Taken while the reader is surely alive: once cancelled it may end before a later look finds it.
                readers = [t for t in set(threading.enumerate()) - before if t.name == "luban-model-http"]
                cancel.set()
        for reader in readers:
            reader.join(2)
        assert (len(readers), [r.is_alive() for r in readers]) == (1, [False])
    finally:
        release.set()
        model.close()
        server.shutdown()
        server.server_close()


def test_a_request_cancelled_before_it_starts_sends_nothing():
    cancel = threading.Event()
    cancel.set()
    server = Server(stream_response(HELLO))
    items, error = consume(model_for(server, cancel=cancel))
    assert (items, type(error), server.requests) == ([], Cancelled, [])


def test_no_first_token_in_time_is_a_timeout_naming_the_setting():
    gate = threading.Event()
    server = Server(stream_response(Gate([], gate, HELLO)))
    items, error = consume(model_for(server, first_token_timeout_s=0.1))
    gate.set()
    assert (items, type(error), str(error)) == (
        [], ModelTimeout, "The model server sent nothing for 0.1 s; a long prompt on slow hardware may need "
                          "more, so raise first_token_timeout_s.")


TIME_UP = "Stopped: the run's time limit (max_wall_s) ran out while waiting for the model."


def test_a_request_gives_up_at_the_runs_deadline_however_patient_its_own_timeouts():
    gate = threading.Event()
    server = Server(stream_response(Gate([], gate, HELLO)))
    items, error = consume(model_for(server), replace(REQUEST, deadline=time.monotonic() + 0.2))
    gate.set()
    assert (items, type(error), str(error)) == ([], TimeUp, TIME_UP)


def test_a_retry_that_would_wait_past_the_runs_deadline_is_not_waited_for():
    sleeps: list[float] = []
    server = Server(httpx.Response(429, headers={"retry-after": "30"}, text="busy"), stream_response(HELLO))
    items, error = consume(model_for(server, sleeps), replace(REQUEST, deadline=time.monotonic() + 10))
    assert (items, type(error), str(error), sleeps, len(server.requests)) == ([], TimeUp, TIME_UP, [], 1)


def test_pings_do_not_keep_a_stalled_stream_alive():
    gate = threading.Event()
    body = Gate([sse(chunk({"content": "a"}), done=False)] + [b": ping\n\n"] * 20, gate, HELLO)
    items, error = consume(model_for(Server(stream_response(body)), idle_timeout_s=0.15))
    gate.set()
    assert (items, type(error), str(error)) == (
        [TextDelta("a")], ModelTimeout,
        "The model server went silent for 0.15 s mid-reply; raise idle_timeout_s if this hardware is that slow.")


def test_a_read_timeout_from_httpx_is_a_model_timeout():
    server = Server(httpx.ReadTimeout("timed out"))
    items, error = consume(model_for(server))
    assert (type(error), str(error), len(server.requests)) == (
        ModelTimeout, "The model server sent nothing for 600 s; a long prompt on slow hardware may need more, "
                      "so raise first_token_timeout_s.", 1)


@pytest.mark.parametrize("base_url", ["http://h:1/v1", "http://h:1/v1/", "http://h:1", "http://h:1/", "h:1/v1"])
def test_base_url_with_or_without_v1(base_url: str):
    assert ServerConfig(base_url).root == "http://h:1"


# ---- discovery ----


def discovered(routes: dict[str, object], model: str | None = None) -> tuple[ModelInfo, list[str]]:
    server = Server(stream_response(HELLO), routes=routes)
    info = model_for(server, model=model).discover()
    return info, server.paths


def test_llama_cpp_window_comes_from_props_not_the_trained_length():
    routes = {
        "/v1/models": {"object": "list", "data": [{"id": "qwen2.5-coder-7b-q4_k_m.gguf", "owned_by": "llamacpp",
                                                   "meta": {"n_ctx_train": 32768, "n_vocab": 151936}}]},
        "/props": {"default_generation_settings": {"n_ctx": 8192}, "total_slots": 1},
    }
    assert discovered(routes) == (ModelInfo("qwen2.5-coder-7b-q4_k_m.gguf", 8192), ["/v1/models", "/props"])


def test_a_single_model_llama_server_answers_to_any_configured_name():
    routes = {"/v1/models": {"data": [{"id": "model.gguf", "owned_by": "llamacpp"}]},
              "/props": {"default_generation_settings": {"n_ctx": 4096}}}
    assert discovered(routes, model="coder")[0] == ModelInfo("coder", 4096)


def test_vllm_window_comes_from_max_model_len():
    routes = {"/v1/models": {"data": [{"id": "Qwen/Qwen2.5-Coder-7B-Instruct", "owned_by": "vllm",
                                       "max_model_len": 32768}]}}
    assert discovered(routes) == (ModelInfo("Qwen/Qwen2.5-Coder-7B-Instruct", 32768), ["/v1/models"])


OLLAMA_MODELS = {"data": [{"id": "llama3.2:latest", "owned_by": "library"},
                          {"id": "qwen2.5-coder:7b", "owned_by": "library"}]}
OLLAMA_SHOW = {"model_info": {"general.architecture": "qwen2", "qwen2.context_length": 32768},
               "parameters": 'num_ctx                        16384\nstop                           "<|im_end|>"'}


def test_ollama_window_is_the_models_num_ctx():
    info, paths = discovered({"/v1/models": OLLAMA_MODELS, "/api/show": OLLAMA_SHOW}, model="qwen2.5-coder:7b")
    assert (info, paths) == (ModelInfo("qwen2.5-coder:7b", 16384), ["/v1/models", "/props", "/api/show"])


def test_ollama_without_num_ctx_uses_the_loaded_runners_window():
    show = {**OLLAMA_SHOW, "parameters": 'stop "<|im_end|>"'}
    ps = {"models": [{"name": "qwen2.5-coder:7b", "model": "qwen2.5-coder:7b", "context_length": 4096}]}
    routes = {"/v1/models": OLLAMA_MODELS, "/api/show": show, "/api/ps": ps}
    assert discovered(routes, model="qwen2.5-coder:7b")[0] == ModelInfo("qwen2.5-coder:7b", 4096)


def test_ollama_num_ctx_is_capped_at_the_trained_length():
    show = {**OLLAMA_SHOW, "parameters": "num_ctx 65536"}
    assert discovered({"/v1/models": OLLAMA_MODELS, "/api/show": show}, model="qwen2.5-coder:7b")[0] == ModelInfo(
        "qwen2.5-coder:7b", 32768)


def test_ollama_model_not_loaded_has_an_unknown_window_and_a_bare_name_means_latest():
    # Ollama picks the window of a model it has yet to load, so the trained 131072 is not it.
    show = {"model_info": {"general.architecture": "llama", "llama.context_length": 131072}}
    routes = {"/v1/models": OLLAMA_MODELS, "/api/show": show, "/api/ps": {"models": []}}
    assert discovered(routes, model="llama3.2") == (
        ModelInfo("llama3.2:latest", None), ["/v1/models", "/props", "/api/show", "/api/ps", "/api/v1/models"])


def test_lm_studio_window_is_the_loaded_context_length():
    routes = {
        "/v1/models": {"data": [{"id": "qwen2.5-coder-7b-instruct", "owned_by": "organization_owner"}]},
        "/api/v1/models": {"models": [
            {"key": "other", "loaded_instances": [], "max_context_length": 8192},
            {"key": "qwen2.5-coder-7b-instruct", "max_context_length": 32768,
             "loaded_instances": [{"id": "qwen2.5-coder-7b-instruct", "config": {"context_length": 16384}}]},
        ]},
    }
    assert discovered(routes) == (ModelInfo("qwen2.5-coder-7b-instruct", 16384),
                                  ["/v1/models", "/props", "/api/show", "/api/v1/models"])


def test_a_configured_model_the_server_does_not_serve_names_the_ones_it_does():
    with pytest.raises(ConfigError) as caught:
        discovered({"/v1/models": OLLAMA_MODELS}, model="qwen3")
    assert str(caught.value) == (f"The model server at {URL} does not serve 'qwen3'; "
                                 "it serves: llama3.2:latest, qwen2.5-coder:7b.")


def test_no_probe_answers_means_an_unknown_window():
    assert discovered({}, model="local") == (
        ModelInfo("local", None), ["/v1/models", "/props", "/api/show", "/api/v1/models"])


def test_discovery_of_an_unreachable_server():
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno 111] Connection refused")

    assert model_for(refuse, model="local").discover() == ModelInfo("local", None)
    with pytest.raises(ModelUnavailable) as caught:
        model_for(refuse, model=None).discover()
    assert str(caught.value) == f"Cannot reach the model server at {URL}: [Errno 111] Connection refused."


def test_without_a_configured_model_complete_asks_the_server_which_one():
    server = Server(stream_response(HELLO), routes={"/v1/models": {"data": [{"id": "served", "max_model_len": 4096}]}})
    model = model_for(server, model=None)
    items, error = consume(model)
    assert (error, model.info, json.loads(server.requests[-1].content)["model"]) == (
        None, ModelInfo("served", 4096), "served")


def test_a_reply_that_holds_what_its_request_needs_is_stopped_there():
    # A focused rewrite's reply: the function in a block, then an explanation nobody reads.
    parts = ["Fixed:\n```python\ndef f(x):\n    return x", " + 1\n```", "\nThis adds one", " because", " tests want it."]
    body = b"".join([sse(chunk({"content": part}), done=False) for part in parts] + [sse(chunk({}, "stop"))])
    wants_block = Request((Message("user", "fix f"),), enough=lambda text: text.count("```") >= 2)
    items, error = consume(model_for(Server(stream_response(body))), wants_block)
    completion = items[-1]
    assert error is None and completion.finish_reason == "enough"
    assert completion.message.content == "Fixed:\n```python\ndef f(x):\n    return x + 1\n```"
    # Without `enough` the same reply is read to its end.
    items, _ = consume(model_for(Server(stream_response(body))))
    assert items[-1].message.content == "".join(parts) and items[-1].finish_reason == "stop"
