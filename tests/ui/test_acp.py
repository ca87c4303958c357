"""`luban acp` driven by the agent-client-protocol package's own client side, against a scripted model server."""

import asyncio
import json
import os
import sys
from pathlib import Path

import pytest
from acp import PROTOCOL_VERSION, RequestError, text_block
from acp.schema import (AllowedOutcome, ClientCapabilities, CreateTerminalResponse, DeniedOutcome,
                        FileSystemCapabilities, ReadTextFileResponse, RequestPermissionResponse, TerminalOutputResponse,
                        WaitForTerminalExitResponse, WriteTextFileResponse)
from acp.stdio import spawn_agent_process, spawn_stdio_connection

from sdk_harness import BUGGY, FIXED, env, repo
from tui_harness import STALL, ScriptedServer, call, text

READ = call("read_file", path="calc.py")
EDIT = call("edit_file", path="calc.py", old_string="return a - b", new_string="return a + b")


class Editor:
    """An ACP client as an editor is one: it records every update, answers permission requests from `answers`,
    and (with `buffers`) serves file reads from its unsaved buffers and takes the agent's writes."""

    def __init__(self, answers=(), buffers=None):
        self.answers, self.buffers = list(answers), buffers
        self.updates, self.asked, self.reads, self.writes = [], [], [], []
        self.terminals, self.released = [], []

    async def session_update(self, session_id, update, **_):
        self.updates.append(update)

    async def request_permission(self, session_id, tool_call, options, **_):
        self.asked.append((tool_call.tool_call_id, tool_call.kind, [o.option_id for o in options]))
        answer = self.answers.pop(0)
        if isinstance(answer, asyncio.Event):  # an editor still asking when the user cancels the turn
            await answer.wait()
            answer = "cancelled"
        outcome = DeniedOutcome(outcome="cancelled") if answer == "cancelled" else AllowedOutcome(
            outcome="selected", option_id=answer)
        return RequestPermissionResponse(outcome=outcome)

    async def read_text_file(self, session_id, path, line=None, limit=None, **_):
        self.reads.append(path)
        return ReadTextFileResponse(content=self.buffers.get(path, Path(path).read_text()))

    async def write_text_file(self, session_id, path, content, **_):
        self.writes.append((path, content))
        self.buffers[path] = content
        return WriteTextFileResponse()

    async def create_terminal(self, session_id, command, args=None, env=None, cwd=None, output_byte_limit=None, **_):
        process = await asyncio.create_subprocess_exec(command, *(args or []), cwd=cwd, stdin=asyncio.subprocess.DEVNULL,
                                                       stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        self.terminals.append([command, args, cwd, process, b""])
        return CreateTerminalResponse(terminal_id=f"term-{len(self.terminals)}")

    def _terminal(self, terminal_id):
        return self.terminals[int(terminal_id.removeprefix("term-")) - 1]

    async def wait_for_terminal_exit(self, session_id, terminal_id, **_):
        terminal = self._terminal(terminal_id)
        terminal[4] = await terminal[3].stdout.read()
        return WaitForTerminalExitResponse(exit_code=await terminal[3].wait())

    async def terminal_output(self, session_id, terminal_id, **_):
        terminal = self._terminal(terminal_id)
        return TerminalOutputResponse(output=terminal[4].decode(), truncated=False)

    async def kill_terminal(self, session_id, terminal_id, **_):
        self._terminal(terminal_id)[3].kill()

    async def release_terminal(self, session_id, terminal_id, **_):
        self.released.append(terminal_id)

    def on_connect(self, conn):
        pass

    def kinds(self):
        """Each update as (what it is, what it says)."""
        shown = []
        for u in self.updates:
            kind = u.session_update
            if kind in ("agent_message_chunk", "agent_thought_chunk", "user_message_chunk"):
                shown.append((kind, u.content.text))
            elif kind == "tool_call":
                shown.append((kind, u.tool_call_id, u.kind, u.status, [loc.path for loc in u.locations or []]))
            elif kind == "tool_call_update":
                diffs = [(c.old_text, c.new_text) for c in u.content or [] if c.type == "diff"]
                shown.append((kind, u.tool_call_id, u.status, diffs))
            else:
                shown.append((kind,))
        return shown


@pytest.fixture
def server():
    servers = []

    def start(replies):
        servers.append(ScriptedServer(replies))
        return servers[-1]

    yield start
    for s in servers:
        s.close()


def luban_acp(tmp_path, url):
    return (sys.executable, "-m", "luban.ui.cli", "acp", "--base-url", url, "--tool-protocol", "native")


async def session(editor, tmp_path, url, root, fs=False, terminal=False):
    """A connection to a fresh `luban acp`, initialized."""
    command = luban_acp(tmp_path, url)
    spawned = spawn_agent_process(editor, *command, env={**os.environ, **env(tmp_path), "GITHUB_TOKEN": "sekrit"},
                                  cwd=str(root))
    conn, process = await spawned.__aenter__()
    capabilities = ClientCapabilities(fs=FileSystemCapabilities(read_text_file=fs, write_text_file=fs),
                                      terminal=terminal)
    init = await conn.initialize(protocol_version=PROTOCOL_VERSION, client_capabilities=capabilities)
    return spawned, conn, init


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 60))


def test_an_edit_the_editor_allows(tmp_path, server):
    root = repo(tmp_path)
    model = server([READ, EDIT, {**text("Fixed: add now adds."), "reasoning_content": "The edit is in."}])
    editor = Editor(answers=["allow_once"])

    async def go():
        spawned, conn, init = await session(editor, tmp_path, model.url, root)
        new = await conn.new_session(cwd=str(root))
        done = await conn.prompt(session_id=new.session_id, prompt=[text_block("Fix add in calc.py.")])
        await spawned.__aexit__(None, None, None)
        return init, new, done

    init, new, done = run(go())
    assert (init.agent_capabilities.load_session, init.agent_info.name) == (True, "luban")
    assert (new.modes.current_mode_id, [m.id for m in new.modes.available_modes]) == (
        "ask", ["plan", "ask", "auto-edit", "full-auto"])
    assert done.stop_reason == "end_turn"
    assert (root / "calc.py").read_text() == FIXED
    assert editor.asked == [("call_edit_file", "edit", ["allow_once", "allow_always", "reject_once", "reject_always"])]
    calc = str(root / "calc.py")
    assert editor.kinds() == [
        ("tool_call", "call_read_file", "read", "pending", [calc]),
        ("tool_call_update", "call_read_file", "completed", []),
        ("tool_call", "call_edit_file", "edit", "pending", [calc]),
        ("tool_call_update", "call_edit_file", "in_progress", []),
        ("tool_call_update", "call_edit_file", "completed", [(BUGGY, FIXED)]),
        ("agent_thought_chunk", "The edit is in."),
        ("agent_message_chunk", "Fixed: add now adds."),
    ]


def test_an_edit_the_editor_rejects(tmp_path, server):
    root = repo(tmp_path)
    model = server([EDIT, text("I was not allowed to edit.")])
    editor = Editor(answers=["reject_once"])

    async def go():
        spawned, conn, _ = await session(editor, tmp_path, model.url, root)
        new = await conn.new_session(cwd=str(root))
        done = await conn.prompt(session_id=new.session_id, prompt=[text_block("Fix add in calc.py.")])
        await spawned.__aexit__(None, None, None)
        return done

    assert run(go()).stop_reason == "end_turn"
    assert (root / "calc.py").read_text() == BUGGY
    assert editor.kinds()[-2:] == [("tool_call_update", "call_edit_file", "failed", []),
                                   ("agent_message_chunk", "I was not allowed to edit.")]
    told = [m["content"] for m in model.bodies[1]["messages"] if m["role"] == "tool"]
    assert told == ["Error: The user declined this edit_file call."]


def test_cancel_mid_turn_stops_it_and_the_session_goes_on(tmp_path, server):
    root = repo(tmp_path)
    model = server([STALL, text("Here again.")])
    editor = Editor()

    async def go():
        spawned, conn, _ = await session(editor, tmp_path, model.url, root)
        new = await conn.new_session(cwd=str(root))
        turn = asyncio.create_task(conn.prompt(session_id=new.session_id, prompt=[text_block("Take your time.")]))
        while not model.bodies:
            await asyncio.sleep(0.05)
        await conn.cancel(session_id=new.session_id)
        cancelled = await turn
        again = await conn.prompt(session_id=new.session_id, prompt=[text_block("Are you there?")])
        await spawned.__aexit__(None, None, None)
        return new.session_id, cancelled, again

    session_id, cancelled, again = run(go())
    assert (cancelled.stop_reason, again.stop_reason) == ("cancelled", "end_turn")
    transcript = tmp_path / "home" / "data" / "sessions" / f"{session_id}.jsonl"
    records = [json.loads(line) for line in transcript.read_text().splitlines()]
    assert [(r["status"], r["message"]) for r in records if r["type"] == "outcome"] == [
        ("interrupted", "Cancelled by the editor (session/cancel)."), ("done", "Here again.")]
    assert [m["content"] for m in model.bodies[1]["messages"] if m["role"] != "system"] == [
        "Take your time.", "[Interrupted by the user before this turn finished.]", "Are you there?"]


def test_session_load_replays_an_earlier_session_and_continues_it(tmp_path, server):
    root = repo(tmp_path)
    model = server([READ, text("add subtracts."), text("Yes, I remember.")])

    async def first():
        spawned, conn, _ = await session(Editor(), tmp_path, model.url, root)
        new = await conn.new_session(cwd=str(root))
        await conn.prompt(session_id=new.session_id, prompt=[text_block("What does add do?")])
        await spawned.__aexit__(None, None, None)
        return new.session_id

    session_id = run(first())
    editor = Editor()

    async def second():
        spawned, conn, _ = await session(editor, tmp_path, model.url, root)
        loaded = await conn.load_session(cwd=str(root), session_id=session_id)
        replayed = editor.kinds()
        done = await conn.prompt(session_id=session_id, prompt=[text_block("Do you remember?")])
        await spawned.__aexit__(None, None, None)
        return loaded, replayed, done

    loaded, replayed, done = run(second())
    assert (loaded.modes.current_mode_id, done.stop_reason) == ("ask", "end_turn")
    assert replayed == [("user_message_chunk", "What does add do?"),
                        ("tool_call", "call_read_file", "read", "pending", [str(root / "calc.py")]),
                        ("tool_call_update", "call_read_file", "completed", []),
                        ("agent_message_chunk", "add subtracts.")]
    history = [m.get("content") for m in model.bodies[2]["messages"] if m["role"] == "user"]
    assert history == ["What does add do?", "Do you remember?"]


def test_file_tools_go_through_the_editor_when_it_offers_fs(tmp_path, server):
    root = repo(tmp_path)
    calc = str(root / "calc.py")
    unsaved = "def add(a, b):\n    return a - b  # unsaved\n"
    model = server([READ, call("edit_file", path="calc.py", old_string="return a - b  # unsaved",
                               new_string="return a + b"), text("Fixed the buffer.")])
    editor = Editor(buffers={calc: unsaved})

    async def go():
        spawned, conn, _ = await session(editor, tmp_path, model.url, root, fs=True)
        new = await conn.new_session(cwd=str(root))
        await conn.set_session_mode(session_id=new.session_id, mode_id="auto-edit")
        done = await conn.prompt(session_id=new.session_id, prompt=[text_block("Fix add.")])
        await spawned.__aexit__(None, None, None)
        return done

    assert run(go()).stop_reason == "end_turn"
    assert editor.reads == [calc, calc]  # read_file, then edit_file reading what it replaces
    assert editor.writes == [(calc, FIXED)]
    assert (root / "calc.py").read_text() == FIXED
    assert editor.asked == []  # auto-edit, set by session/set_mode, edits without asking


def test_a_malformed_request_gets_a_json_rpc_error_and_the_agent_keeps_serving(tmp_path, server):
    model = server([])
    root = repo(tmp_path)

    async def no_requests(method, params, is_notification):
        return None

    async def go():
        command = luban_acp(tmp_path, model.url)
        async with spawn_stdio_connection(no_requests, *command, env={**os.environ, **env(tmp_path)},
                                          cwd=str(root)) as (conn, process):
            errors = []
            for method, params in (("session/prompt", {"prompt": "not a list"}), ("no/such/method", {}),
                                   ("session/prompt", {"sessionId": "nope", "prompt": []}),
                                   ("session/new", {"cwd": str(tmp_path / "gone"), "mcpServers": []})):
                with pytest.raises(RequestError) as caught:
                    await conn.send_request(method, params)
                errors.append((caught.value.code, caught.value.data))
            process.stdin.write(b"this is not json\n")
            init = await conn.send_request("initialize", {"protocolVersion": PROTOCOL_VERSION})
        return errors, init, process.returncode

    errors, init, code = run(go())
    assert [code for code, _ in errors] == [-32602, -32601, -32602, -32602]
    assert errors[2:][0][1] == {"message": "No session 'nope' here; start one with session/new or load it with "
                                           "session/load."}
    assert errors[3][1] == {"message": f"The workspace {tmp_path / 'gone'} does not exist or is not a directory."}
    assert init["agentInfo"]["name"] == "luban"


def test_always_answers_hold_for_the_rest_of_the_session(tmp_path, server):
    root = repo(tmp_path)
    write = call("write_file", path="notes.txt", content="one\n")
    touch = call("bash", command="touch made_by_bash")
    model = server([write, touch, text("First turn done."), write, touch, text("Second turn done.")])
    editor = Editor(answers=["allow_always", "reject_always"])

    async def go():
        spawned, conn, _ = await session(editor, tmp_path, model.url, root)
        new = await conn.new_session(cwd=str(root))
        for task in ("Write notes and touch a file.", "Again."):
            await conn.prompt(session_id=new.session_id, prompt=[text_block(task)])
        await spawned.__aexit__(None, None, None)

    run(go())
    assert [tool for tool, _, _ in editor.asked] == ["call_write_file", "call_bash"]  # asked once each
    assert not (root / "made_by_bash").exists()
    told = [m["content"] for m in model.bodies[5]["messages"] if m["role"] == "tool"][-1]
    assert "The user rejected calls like this one for the rest of the session." in told


def test_plan_mode_sends_the_plan(tmp_path, server):
    root = repo(tmp_path)
    model = server([text("The plan:\n1. Read calc.py.\n2. Change - to + in add.\n3. Run the tests.")])
    editor = Editor()

    async def go():
        spawned, conn, _ = await session(editor, tmp_path, model.url, root)
        new = await conn.new_session(cwd=str(root))
        await conn.set_session_mode(session_id=new.session_id, mode_id="plan")
        with pytest.raises(RequestError) as refused:
            await conn.set_session_mode(session_id=new.session_id, mode_id="yolo")
        await conn.prompt(session_id=new.session_id, prompt=[text_block("Plan the fix.")])
        await spawned.__aexit__(None, None, None)
        return refused.value

    refused = run(go())
    assert refused.data == {"message": "Unknown mode 'yolo'; Luban's modes are plan, ask, auto-edit, full-auto."}
    plans = [u for u in editor.updates if u.session_update == "plan"]
    assert [(e.content, e.status) for e in plans[0].entries] == [
        ("Read calc.py.", "pending"), ("Change - to + in add.", "pending"), ("Run the tests.", "pending")]


def test_commands_run_in_the_editors_terminal_when_it_offers_one(tmp_path, server):
    root = repo(tmp_path)
    model = server([call("bash", command="echo from the terminal; touch made_by_bash"), text("Ran it.")])
    editor = Editor(answers=["allow_once"])

    async def go():
        spawned, conn, _ = await session(editor, tmp_path, model.url, root, terminal=True)
        new = await conn.new_session(cwd=str(root))
        done = await conn.prompt(session_id=new.session_id, prompt=[text_block("Run it.")])
        await spawned.__aexit__(None, None, None)
        return done

    assert run(go()).stop_reason == "end_turn"
    assert (root / "made_by_bash").exists()
    (command, args, cwd, _, output), = editor.terminals
    assert (command, args[0], args[-3:], cwd, output) == (
        "env", "-i", ["bash", "-c", "echo from the terminal; touch made_by_bash"], str(root), b"from the terminal\n")
    assert [a for a in args if "sekrit" in a] == []  # Luban's environment for commands: credentials removed
    assert editor.released == ["term-1"]
    shown = [[c.type for c in u.content or []] for u in editor.updates if u.session_update == "tool_call_update"]
    assert shown == [[], ["terminal"], ["terminal", "content"]]  # approved, then the terminal, then the result
    told = [m["content"] for m in model.bodies[1]["messages"] if m["role"] == "tool"]
    assert told == ["from the terminal\nexit code: 0"]


def test_cancel_while_the_editor_is_asking_for_permission(tmp_path, server):
    root = repo(tmp_path)
    model = server([EDIT, text("Still here.")])
    cancelled = asyncio.Event()
    editor = Editor(answers=[cancelled])

    async def go():
        spawned, conn, _ = await session(editor, tmp_path, model.url, root)
        new = await conn.new_session(cwd=str(root))
        turn = asyncio.create_task(conn.prompt(session_id=new.session_id, prompt=[text_block("Fix add.")]))
        while not editor.asked:
            await asyncio.sleep(0.05)
        await conn.cancel(session_id=new.session_id)
        cancelled.set()
        stopped = await turn
        again = await conn.prompt(session_id=new.session_id, prompt=[text_block("Hello?")])
        await spawned.__aexit__(None, None, None)
        return stopped, again

    stopped, again = run(go())
    assert (stopped.stop_reason, again.stop_reason) == ("cancelled", "end_turn")
    assert (root / "calc.py").read_text() == BUGGY


def test_the_task_list_is_the_editors_plan(tmp_path, server):
    root = repo(tmp_path)
    steps = [{"content": "Read calc.py", "status": "completed"}, {"content": "Fix add", "status": "in_progress"},
             {"content": "Run the tests", "status": "pending"}]
    model = server([call("todo", todos=steps), text("Planned.")])
    editor = Editor()

    async def go():
        spawned, conn, _ = await session(editor, tmp_path, model.url, root)
        new = await conn.new_session(cwd=str(root))
        await conn.prompt(session_id=new.session_id, prompt=[text_block("Plan it.")])
        await spawned.__aexit__(None, None, None)

    run(go())
    assert [u.session_update for u in editor.updates] == ["plan", "agent_message_chunk"]
    assert [(e.content, e.status) for e in editor.updates[0].entries] == [
        ("Read calc.py", "completed"), ("Fix add", "in_progress"), ("Run the tests", "pending")]
