"""The context engine inside real runs of the loop with the scripted model at an 8k window: a byte-stable
prefix across turns, tool outputs cut to the window, compaction (and a failing summary call), resume."""

import http.server
import json
import threading

from luban.agent import loop
from luban.config import Settings
from luban.context.compact import PRUNED, SUMMARISER, SUMMARY_HEAD
from luban.errors import ContextOverflow, ModelUnavailable
from luban.harness import Harness
from luban.models import ModelInfo
from luban.models.openai_compat import OpenAICompatModel, ServerConfig
from luban.models.protocol import JsonProtocol
from luban.models.scripted import ScriptedModel, assistant
from luban.models.wire import chat_body
from luban.session import Transcript
from luban.tools import bash, edit, read
from luban.types import Compacted, Message, ModelReplied, Notice, Request, ToolCall, TurnEnded
from luban.ui.headless import drive
from luban.workspace import Workspace

SETTINGS = Settings(permission_mode="full-auto", max_steps=60)
TOOLS = (read.TOOL, edit.TOOL, bash.TOOL)
SUMMARY = "Task: fix big.py. Done so far: read it. Files touched: small.py. Open todos: none. Last test result: none."


def workspace(tmp_path):
    root = tmp_path / "repo"
    root.mkdir()
    (root / "big.py").write_text("".join(f"value_{i} = {i}  # a line long enough to matter {i:04}\n"
                                         for i in range(600)))
    (root / "small.py").write_text("x = 0\n")
    return Workspace.open(root, tmp_path / "scratch")


class Agent:
    """A scripted agent: each reply is a function of the request; summary requests get SUMMARY (or fail)."""

    def __init__(self, steps, summary=SUMMARY):
        self.steps = list(steps)
        self.summary = summary
        self.work_requests: list[Request] = []
        self.summary_requests: list[Request] = []

    def __call__(self, request: Request) -> Message:
        if request.messages[0].content == SUMMARISER:
            self.summary_requests.append(request)
            if isinstance(self.summary, Exception):
                raise self.summary
            return assistant(self.summary)
        self.work_requests.append(request)
        return self.steps.pop(0)


def model_for(agent, n):
    return ScriptedModel([agent] * n, ModelInfo("scripted", 8192))


def reads(n, start=1):
    return [assistant(calls=[ToolCall(f"r{i}", "read_file", {"path": "big.py", "offset": start + 40 * i,
                                                             "limit": 200})]) for i in range(n)]


def run(model, ws, transcript=None, history=None):
    history = history or [Message("system", "You are a test agent.")]
    events = []
    outcome = drive(loop.run("Fix big.py.", model=model, tools=TOOLS, ws=ws, settings=SETTINGS, history=history,
                             transcript=transcript), events.append)
    return events, outcome


def wire(request):
    return [json.dumps(m, sort_keys=True) for m in chat_body(request, "m")["messages"]]


def test_prefix_is_byte_stable_across_20_turns_with_edits_reminders_and_compaction(tmp_path):
    ws = workspace(tmp_path)
    echo = assistant(calls=[ToolCall("e", "bash", {"command": "echo same"})])
    steps = (reads(6) + [assistant(calls=[ToolCall(f"w{i}", "edit_file", {"path": "small.py", "old_string": f"x = {i}",
                                                                          "new_string": f"x = {i + 1}"})])
                         for i in range(4)]
             + [echo] * 4  # the third and fourth repeats get a nudge appended: a reminder at the tail
             + reads(5, start=300) + [assistant("Done.")])
    agent = Agent(steps)
    events, outcome = run(model_for(agent, len(steps) + 2), ws)
    assert outcome.status == "done" and outcome.steps == 20
    # The index of the request that follows each compaction: the number of model replies before it.
    after_compaction = [sum(isinstance(x, ModelReplied) for x in events[:i])
                        for i, e in enumerate(events) if isinstance(e, Compacted)]
    assert after_compaction, "the run was long enough to need compaction"
    requests = [wire(r) for r in agent.work_requests]
    extends = [requests[i][:len(requests[i - 1])] == requests[i - 1] for i in range(1, len(requests))]
    # Each request extends the one before byte for byte, except right after a compaction, which rebuilt it.
    assert [i for i, ok in enumerate(extends, 1) if not ok] == after_compaction
    nudged = [r for r in agent.work_requests[-1].messages if "Repeating it will not help" in r.content]
    assert len(nudged) == 2


def test_compaction_at_8k_prunes_old_outputs_then_summarises_and_keeps_the_task(tmp_path):
    ws = workspace(tmp_path)
    steps = reads(12) + [assistant("Done.")]
    agent = Agent(steps)
    events, outcome = run(model_for(agent, 40), ws)
    assert outcome.status == "done"
    compacted = [e for e in events if isinstance(e, Compacted)]
    assert compacted and all(e.after_tokens < e.before_tokens for e in compacted)
    assert any(e.summarised for e in compacted) and any(e.pruned for e in compacted)
    for request in agent.summary_requests:  # each summary request itself fits the window
        assert sum(len(m.content) for m in request.messages) / 3 + 600 < 8192
    last = agent.work_requests[-1].messages
    assert last[1] == Message("user", "Fix big.py.")
    assert last[2].content == f"{SUMMARY_HEAD}\n{SUMMARY}"
    assert last[-1].role == "tool" and "value_" in last[-1].content  # the newest output is whole
    # Nothing sent ever passed the prompt budget (8192 - 1024 for the reply) by the server's own count.
    assert max(e.usage.prompt_tokens for e in events if isinstance(e, ModelReplied)) <= 8192 - 1024


def test_a_failing_summary_call_leaves_the_history_as_it_was(tmp_path):
    ws = workspace(tmp_path)
    steps = reads(7) + [assistant("Done.")]
    agent = Agent(steps, summary=ModelUnavailable("the server went away"))
    events, outcome = run(model_for(agent, 40), ws)
    assert outcome.status == "done"
    failures = [e for e in events if isinstance(e, Notice) and e.text.startswith("Compaction failed")]
    assert failures == [Notice("Compaction failed (the server went away); the history is unchanged.")]
    assert len(agent.summary_requests) == 1
    requests = [wire(r) for r in agent.work_requests]
    assert all(requests[i][:len(requests[i - 1])] == requests[i - 1] for i in range(1, len(requests)))
    assert not [e for e in events if isinstance(e, Compacted)]


def test_when_summaries_keep_failing_old_outputs_are_pruned_before_the_window_overflows(tmp_path):
    ws = workspace(tmp_path)
    agent = Agent(reads(14) + [assistant("Done.")], summary=ModelUnavailable("the server went away"))
    events, outcome = run(model_for(agent, 40), ws)
    assert outcome.status == "done"
    assert len(agent.summary_requests) == 2  # MAX_FAILED_COMPACTIONS, then no more summary attempts
    assert [e.how for e in events if isinstance(e, Compacted)] == ["pruned"]
    assert max(e.usage.prompt_tokens for e in events if isinstance(e, ModelReplied)) <= 8192 - 1024


def test_long_tool_output_is_cut_to_the_window_and_kept_whole_in_a_file(tmp_path):
    ws = workspace(tmp_path)
    steps = [assistant(calls=[ToolCall("b", "bash", {"command": "cat big.py"})]), assistant("Done.")]
    agent = Agent(steps)
    run(model_for(agent, 4), ws)
    seen = agent.work_requests[1].messages[-1].content
    assert len(seen) < 4_000 and "value_0 = 0" in seen and "value_599 = 599" in seen
    # bash kept its own cut of the 30 kB output, the loop cut that to the window: the marker the model sees
    # leads to bash's copy, whose marker leads to the whole output.
    spilled = ws.resolve(seen.split("full output in ")[1].split(" — ")[0]).read_text()
    whole = ws.resolve(spilled.split("full output in ")[1].split(" — ")[0]).read_text()
    assert whole == (ws.root / "big.py").read_text()


def test_resume_after_compaction_continues_from_the_compacted_history(tmp_path):
    ws = workspace(tmp_path)
    steps = reads(12) + [assistant("Done.")]
    agent = Agent(steps)
    transcript = Transcript.create(tmp_path / "sessions", ws.root, "scripted")
    system = Message("system", "You are a test agent.")
    transcript.append_message(system)
    run(model_for(agent, 40), ws, transcript, [system])
    transcript.close()
    _, history, warnings = Transcript.resume(transcript.path)
    assert warnings == []
    assert history[2].content == f"{SUMMARY_HEAD}\n{SUMMARY}"
    assert history[-1] == Message("assistant", "Done.")
    assert len(history) < 12


def test_json_protocol_stubs_keep_the_protocol_shape(tmp_path):
    ws = workspace(tmp_path)
    steps = [assistant(json.dumps({"thought": "look", "tool": "read_file",
                                   "args": {"path": "big.py", "offset": 1 + 40 * i, "limit": 200}}))
             for i in range(8)] + [assistant(json.dumps({"thought": "ok", "tool": "finish", "args": {"answer": "ok"}}))]
    agent = Agent(steps)
    history = [Message("system", "You are a test agent.")]
    gen = loop.run("Fix big.py.", model=model_for(agent, 20), tools=TOOLS, ws=ws, settings=SETTINGS,
                   history=history, harness=Harness(JsonProtocol()))
    events = list(gen)
    assert isinstance(events[-1], TurnEnded) and events[-1].outcome.status == "done"
    # Old outputs were pruned before the summary: the summariser read stubs in the protocol's own shape.
    stub = JsonProtocol().result(ToolCall("x", "read_file", {}),
                                 PRUNED.format(call='read_file(path="big.py", offset=1, limit=200)'))
    assert f"[user] {stub.content}" in agent.summary_requests[0].messages[1].content


LLAMA_CPP_400 = ("The model server rejected the request (HTTP 400): request (5000 tokens) exceeds the available context "
                 "size (4096 tokens), try increasing it.")


class SmallerServer(Agent):
    """A server whose real window (4096) is half what it reported (8192): it refuses what does not fit, in
    llama.cpp's words, as the HTTP client reports them."""

    def __init__(self, steps, window=4096):
        super().__init__(steps)
        self.window, self.refused = window, []

    def __call__(self, request: Request) -> Message:
        if sum(len(m.content) for m in request.messages) / 3 + (request.max_tokens or 0) > self.window:
            self.refused.append(request)
            self.work_requests.append(request)
            raise ContextOverflow(LLAMA_CPP_400)
        return super().__call__(request)


def test_a_prompt_the_server_says_exceeds_its_window_is_compacted_and_sent_once_more(tmp_path):
    ws = workspace(tmp_path)
    server = SmallerServer(reads(8) + [assistant("Done.")])
    events, outcome = run(model_for(server, 40), ws)
    assert (outcome.status, outcome.message) == ("done", "Done.")
    said = Notice(f"{LLAMA_CPP_400[:-1]}; compacting the history to send it once more.")
    assert [e for e in events if isinstance(e, Notice)] == [said]
    after = events[events.index(said) + 1]
    assert isinstance(after, Compacted) and after.summarised > 0
    assert len(server.refused) == 1 and len(server.summary_requests) >= 1
    # The request sent once more is the compacted history: the task kept, the reads before it summarised.
    refused, retried = server.refused[0], server.work_requests[server.work_requests.index(server.refused[0]) + 1]
    assert (retried.messages[1], retried.messages[2].content) == (refused.messages[1], f"{SUMMARY_HEAD}\n{SUMMARY}")
    assert sum(len(m.content) for m in retried.messages) < sum(len(m.content) for m in refused.messages) / 2


def test_a_prompt_that_still_does_not_fit_after_compaction_ends_the_run_in_one_sentence(tmp_path):
    ws = workspace(tmp_path)
    server = SmallerServer([assistant("Done.")], window=100)
    transcript = Transcript.create(tmp_path / "sessions", ws.root, "scripted")
    events, outcome = run(model_for(server, 5), ws, transcript)
    transcript.close()
    stopped = (f"{LLAMA_CPP_400[:-1]}, even after the history was compacted; give the server a larger context "
               "window, or start a new session.")
    assert (outcome.status, outcome.message, len(server.refused)) == ("error", stopped, 2)
    records = [json.loads(line) for line in transcript.path.read_text().splitlines()]
    assert (records[-1]["type"], records[-1]["status"], records[-1]["message"]) == ("outcome", "error", stopped)


def test_max_wall_s_stops_a_compaction_whose_summary_request_hangs_with_the_outcome_written(tmp_path):
    release, posted = threading.Event(), []

    class Stalling(http.server.BaseHTTPRequestHandler):
        """A server with a 4096-token window that takes its time over every chat request."""

        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            self._answer(200, json.dumps({"data": [{"id": "m", "max_model_len": 4096}]}).encode())

        def do_POST(self) -> None:
            posted.append(json.loads(self.rfile.read(int(self.headers["content-length"]))))
            if self.path != "/v1/chat/completions":
                return self._answer(404, b"")
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.end_headers()
            self.close_connection = True
            release.wait(5)  # a slow prefill; never done before the run's limit

        def _answer(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Stalling)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    config = ServerConfig(f"http://127.0.0.1:{server.server_address[1]}/v1", "m", max_retries=0)
    model = OpenAICompatModel(config)
    ws = workspace(tmp_path)
    # A history well past the compaction threshold, so the run starts with a summary request.
    history = [Message("system", "You are a test agent."), Message("user", "Earlier task.")]
    history += [Message(role, f"{role} turn {i}: " + "x" * 1200) for i in range(6) for role in ("assistant", "user")]
    transcript = Transcript.create(tmp_path / "sessions", ws.root, "m")
    try:
        events = list(loop.run("Fix big.py.", model=model, tools=TOOLS, ws=ws, history=history, transcript=transcript,
                               settings=Settings(permission_mode="full-auto", max_wall_s=1.0)))
    finally:
        release.set()
        transcript.close()
        model.close()
        server.shutdown()
        server.server_close()
    outcome = events[-1].outcome
    assert (outcome.status, outcome.message) == (
        "max_time", "Stopped: the run's time limit (max_wall_s) ran out while waiting for the model.")
    assert outcome.wall_s < 4  # the limit is 1 s; the server would have answered after 5
    assert [m["messages"][0]["content"] for m in posted if "messages" in m] == [SUMMARISER]
    records = [json.loads(line) for line in transcript.path.read_text().splitlines()]
    assert (records[-1]["type"], records[-1]["status"]) == ("outcome", "max_time")
    assert "compaction" not in [r["type"] for r in records]
