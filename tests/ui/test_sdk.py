"""The real Claude Agent SDK drives luban as its cli_path, against a scripted model server."""

import sys
from pathlib import Path

import anyio
import pytest
from claude_agent_sdk import (AssistantMessage, ClaudeAgentOptions, ClaudeSDKClient, PermissionResultAllow,
                              PermissionResultDeny, ResultMessage, SystemMessage, ThinkingBlock, ToolResultBlock,
                              UserMessage, create_sdk_mcp_server, query, tool)

from sdk_harness import BUGGY, FIXED, cli, env, repo
from tui_harness import STALL, ScriptedServer, call, text

TIME_SERVER = str(Path(sys.executable).parent / "mcp-server-time")
READ = call("read_file", path="calc.py")
EDIT_INPUT = {"path": "calc.py", "old_string": "return a - b", "new_string": "return a + b"}
EDIT = call("edit_file", **EDIT_INPUT)


@pytest.fixture
def server():
    servers = []

    def start(replies):
        servers.append(ScriptedServer(replies))
        return servers[-1]

    yield start
    for s in servers:
        s.close()


def options(tmp_path, url, root, **more):
    return ClaudeAgentOptions(cli_path=str(cli(tmp_path, url)), cwd=str(root), env=env(tmp_path), **more)


def shape(messages):
    """Each message as its SDK type and what it carries that matters here."""
    shown = []
    for m in messages:
        if isinstance(m, SystemMessage):
            shown.append(("system", m.subtype))
        elif isinstance(m, AssistantMessage):
            shown += [("assistant", m.model, type(b).__name__, getattr(b, "text", getattr(b, "name", "")))
                      for b in m.content]
        elif isinstance(m, UserMessage):
            shown += [("user", type(b).__name__, b.is_error) for b in m.content if isinstance(b, ToolResultBlock)]
        elif isinstance(m, ResultMessage):
            shown.append(("result", m.subtype, m.is_error, m.result, m.total_cost_usd, m.permission_denials))
    return shown


def test_query_with_accept_edits_fixes_a_small_repo_and_every_message_parses(tmp_path, server):
    root = repo(tmp_path)
    model = server([READ, EDIT, {**text("Fixed: add now adds."), "reasoning_content": "The edit is in."}])

    async def run():
        return [m async for m in query(prompt="Fix add in calc.py.",
                                       options=options(tmp_path, model.url, root, permission_mode="acceptEdits"))]

    messages = anyio.run(run)
    assert shape(messages) == [
        ("system", "init"), ("system", "model_usage"),
        ("assistant", "scripted-coder", "ToolUseBlock", "read_file"),
        ("user", "ToolResultBlock", False),
        ("system", "model_usage"),
        ("assistant", "scripted-coder", "ToolUseBlock", "edit_file"),
        ("user", "ToolResultBlock", False),
        ("system", "model_usage"),
        ("assistant", "scripted-coder", "ThinkingBlock", ""), ("assistant", "scripted-coder", "TextBlock",
                                                               "Fixed: add now adds."),
        ("result", "success", False, "Fixed: add now adds.", 0.0, []),
    ]
    assert (root / "calc.py").read_text() == FIXED
    thinking = [b for m in messages if isinstance(m, AssistantMessage) for b in m.content if isinstance(b, ThinkingBlock)]
    assert thinking == [ThinkingBlock("The edit is in.", signature="")]
    init = messages[0].data
    assert (init["permissionMode"], init["claude_code_version"], init["cwd"]) == ("auto-edit", "2.0.0", str(root))
    assert model.bodies[0]["messages"][-1]["content"].startswith("Fix add in calc.py.")


def test_can_use_tool_denies_a_command_and_luban_respects_it(tmp_path, server):
    root = repo(tmp_path)
    model = server([call("bash", command="touch made_by_bash"), call("write_file", path="notes.txt", content="ok\n"),
                    text("The command was refused; the note is written.")])
    asked = []

    async def only_files(tool, arguments, context):
        asked.append((tool, arguments, context.tool_use_id))
        if tool == "bash":
            return PermissionResultDeny(message="No commands in this repository.")
        return PermissionResultAllow()

    async def prompt():
        yield {"type": "user", "message": {"role": "user", "content": "Create a file with bash, then write a note."}}

    async def run():
        return [m async for m in query(prompt=prompt(), options=options(tmp_path, model.url, root,
                                                                         can_use_tool=only_files))]

    messages = anyio.run(run)
    assert asked == [("bash", {"command": "touch made_by_bash"}, "call_bash"),
                     ("write_file", {"path": "notes.txt", "content": "ok\n"}, "call_write_file")]
    assert not (root / "made_by_bash").exists()
    assert (root / "notes.txt").read_text() == "ok\n"
    result = messages[-1]
    assert (result.subtype, result.permission_denials) == ("success", [
        {"tool_name": "bash", "tool_use_id": "call_bash", "tool_input": {"command": "touch made_by_bash"}}])
    told = [m["content"] for m in model.bodies[1]["messages"] if m["role"] == "tool"]
    assert told == ["Error: The user declined this bash call. No commands in this repository."]


def test_a_client_session_runs_two_turns_and_an_interrupt(tmp_path, server):
    root = repo(tmp_path)
    model = server([text("First answer."), text("Second answer, remembering the first."), STALL])

    async def run():
        results = []
        async with ClaudeSDKClient(options(tmp_path, model.url, root)) as client:
            for prompt in ("first question", "second question"):
                await client.query(prompt)
                results.append([m async for m in client.receive_response()][-1])
            await client.query("a third that stalls")
            async with anyio.create_task_group() as group:
                async def interrupt_once_asked():
                    while len(model.bodies) < 3:
                        await anyio.sleep(0.05)
                    await client.interrupt()
                group.start_soon(interrupt_once_asked)
                results.append([m async for m in client.receive_response()][-1])
        return results

    first, second, third = anyio.run(run)
    assert (first.result, first.session_id == second.session_id, second.result) == (
        "First answer.", True, "Second answer, remembering the first.")
    assert (third.subtype, third.is_error, third.result) == (
        "error_during_execution", True, "Interrupted by the SDK (interrupt).")
    assert [m["content"] for m in model.bodies[1]["messages"] if m["role"] != "system"] == [
        "first question", "First answer.", "second question"]


def test_set_permission_mode_takes_effect_from_the_next_turn(tmp_path, server):
    root = repo(tmp_path)
    model = server([EDIT, text("Not allowed in default mode."), READ, EDIT, text("Fixed now.")])

    async def run():
        async with ClaudeSDKClient(options(tmp_path, model.url, root, permission_mode="default")) as client:
            await client.query("Fix add.")
            first = [m async for m in client.receive_response()]
            await client.set_permission_mode("acceptEdits")
            await client.query("Fix add; you may edit now.")
            second = [m async for m in client.receive_response()]
        return first, second

    first, second = anyio.run(run)
    assert [(m.data["permissionMode"]) for m in first + second if isinstance(m, SystemMessage)
            and m.subtype == "init"] == ["ask", "auto-edit"]
    assert first[-1].permission_denials == [{"tool_name": "edit_file", "tool_use_id": "call_edit_file",
                                             "tool_input": EDIT_INPUT}]
    assert (second[-1].result, second[-1].permission_denials) == ("Fixed now.", [])
    assert (root / "calc.py").read_text() == FIXED


def test_flags_luban_does_not_act_on_get_one_line_each_not_a_usage_error(tmp_path, server):
    root = repo(tmp_path)
    model = server([text("Hello.")])
    lines = []

    @tool("greet", "Greet someone", {"name": str})
    async def greet(args):
        return {"content": [{"type": "text", "text": f"Hello, {args['name']}"}]}

    servers = {"time": {"command": TIME_SERVER}, "inproc": create_sdk_mcp_server("inproc", tools=[greet])}

    async def run():
        more = dict(mcp_servers=servers, max_budget_usd=1.0, stderr=lines.append, system_prompt="Answer in one word.")
        return [m async for m in query(prompt="hi", options=options(tmp_path, model.url, root, **more))]

    messages = anyio.run(run)
    assert messages[-1].result == "Hello."
    assert [line for line in lines if line.startswith("luban:")] == [
        "luban: ignoring --max-budget-usd: a local model has no bill.",
        "luban: ignoring the SDK MCP server 'inproc': it runs in the SDK's process, which Luban cannot reach; give "
        "Luban a stdio or HTTP server instead."]
    assert "mcp__time__get_current_time" in messages[0].data["tools"]  # the SDK's stdio server, started by Luban
    assert model.bodies[0]["messages"][-1]["content"] == (
        "<instructions>\nAnswer in one word.\n</instructions>\n\nhi")
