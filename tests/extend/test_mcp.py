"""The MCP client against real servers: mcp-server-time and mcp-server-git over stdio, a fixture server on the
real SDK over stdio and over streamable HTTP on 127.0.0.1; tool calls go through the loop with the scripted model."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from luban.agent import loop
from luban.config import Settings
from luban.errors import ConfigError, LubanError
from luban.extend.extensions import open_extensions
from luban.extend.mcp_client import McpServers, RemotePrompt
from luban.extend.mcp_config import ServerConfig, parse_mcp_json, tool_name
from luban.extend.mcp_tools import mcp_tools, prompt_commands
from luban.harness import Harness
from luban.models.protocol import JsonProtocol, protocol_named
from luban.models.scripted import assistant, script
from luban.safety.redact import Redactor
from luban.safety.trust import set_trust
from luban.extend.project import project_extensions
from luban.types import ApprovalNeeded, Decision, Message, ToolCall, ToolFinished, TurnEnded
from luban.workspace import Workspace

BIN = Path(sys.executable).parent
FIXTURE = Path(__file__).with_name("mcp_fixture_server.py")
SYSTEM = Message("system", "be useful")


def fixture_config(name: str = "fx") -> ServerConfig:
    return ServerConfig(name, sys.executable, (str(FIXTURE),))


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    repo = tmp_path_factory.mktemp("repo")
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    (repo / "hello.txt").write_text("hi\n")
    running = McpServers({"time": ServerConfig("time", str(BIN / "mcp-server-time")),
                          "git": ServerConfig("git", str(BIN / "mcp-server-git"), ("--repository", str(repo))),
                          "fx": fixture_config()})
    assert running.start() == []
    yield running
    running.close()


def drive(tools, tmp_path, model, settings, decisions=(), harness=Harness()):
    ws = Workspace.open(tmp_path, tmp_path / ".out")
    run = loop.run("do it", model=model, tools=tools, ws=ws, settings=settings, history=[SYSTEM], harness=harness)
    events, answers = [], list(decisions)
    try:
        event = next(run)
        while True:
            events.append(event)
            event = run.send(answers.pop(0) if isinstance(event, ApprovalNeeded) else None)
    except StopIteration as stop:
        return events, stop.value


def finished(events):
    return [e.result for e in events if isinstance(e, ToolFinished)]


def test_config_reads_claude_codes_shape_and_says_what_is_wrong():
    servers = parse_mcp_json(json.dumps({"mcpServers": {
        "time": {"command": "uvx", "args": ["mcp-server-time"], "env": {"TZ": "UTC"}},
        "docs": {"type": "http", "url": "http://127.0.0.1:9/mcp", "headers": {"Authorization": "Bearer x"}}}}), "f")
    assert servers == {"time": ServerConfig("time", "uvx", ("mcp-server-time",), {"TZ": "UTC"}, source="f"),
                       "docs": ServerConfig("docs", url="http://127.0.0.1:9/mcp",
                                            headers={"Authorization": "Bearer x"}, source="f")}
    with pytest.raises(ConfigError, match=r'The MCP server \'x\' in f needs either "command"'):
        parse_mcp_json('{"mcpServers": {"x": {"args": []}}}', "f")
    with pytest.raises(ConfigError, match="is not valid JSON"):
        parse_mcp_json("{", "f")
    assert tool_name("my.server", "get time") == "mcp__my_server__get_time"


def test_tools_appear_with_their_schemas_in_every_protocol(servers):
    specs = {t.spec.name: t.spec for t in mcp_tools(servers)}
    assert {"mcp__time__get_current_time", "mcp__time__convert_time", "mcp__git__git_status", "mcp__fx__echo",
            "mcp_resources", "mcp_read_resource"} <= set(specs)
    time_spec = specs["mcp__time__get_current_time"]
    assert time_spec.parameters["required"] == ["timezone"]
    assert time_spec.description.startswith("[MCP time] Get current time")
    text = protocol_named("text", "hermes").system_text([time_spec])
    assert "mcp__time__get_current_time" in text and "IANA timezone name" in text
    schema = JsonProtocol().request([SYSTEM], [time_spec], 0.0, 100).response_format["json_schema"]["schema"]
    branch = schema["anyOf"][0]
    assert branch["properties"]["tool"] == {"const": "mcp__time__get_current_time"}
    assert branch["properties"]["args"]["required"] == ["timezone"]
    assert branch["properties"]["args"]["properties"]["timezone"]["type"] == "string"


def test_a_call_through_the_loop_runs_when_a_server_rule_allows_it(servers, tmp_path):
    call = ToolCall("c1", "mcp__time__get_current_time", {"timezone": "UTC"})
    model = script(assistant(calls=[call]), assistant("It is now."))
    settings = Settings(permissions={"allow": ["mcp__time"]})
    events, outcome = drive(mcp_tools(servers), tmp_path, model, settings)
    result = finished(events)[0]
    assert not result.error and json.loads(result.content)["timezone"] == "UTC"
    assert outcome.status == "done" and not any(isinstance(e, ApprovalNeeded) for e in events)
    assert model.requests[1].messages[-1].content == result.content


def test_git_server_on_a_temporary_repository(servers, tmp_path):
    call = ToolCall("c1", "mcp__git__git_status", {"repo_path": servers.configs["git"].args[1]})
    events, _ = drive(mcp_tools(servers), tmp_path, script(assistant(calls=[call]), assistant("ok")),
                      Settings(permission_mode="full-auto"))
    result = finished(events)[0]
    assert not result.error and "hello.txt" in result.content


def test_by_default_a_call_asks_and_a_declined_or_denied_call_does_not_run(servers, tmp_path):
    call = ToolCall("c1", "mcp__fx__echo", {"text": "hello"})
    events, outcome = drive(mcp_tools(servers), tmp_path, script(assistant(calls=[call]), assistant("ok")),
                            Settings(), decisions=[Decision(False)])
    asked = [e for e in events if isinstance(e, ApprovalNeeded)]
    assert [a.call.name for a in asked] == ["mcp__fx__echo"] and asked[0].looser_mode == "full-auto"
    assert finished(events)[0].content == "The user declined this mcp__fx__echo call."
    one_tool_denied = Settings(permission_mode="full-auto", permissions={"deny": ["mcp__fx__echo"]})
    events, outcome = drive(mcp_tools(servers), tmp_path, script(assistant(calls=[call]), assistant("ok")),
                            one_tool_denied)
    assert finished(events)[0].content == "mcp__fx__echo is denied by the rule `mcp__fx__echo`."
    assert [d.call.name for d in outcome.denials] == ["mcp__fx__echo"]


def test_output_is_redacted_and_capped(servers, tmp_path):
    token = "ghp_" + "a1B2" * 9
    calls = [ToolCall("c1", "mcp__fx__echo", {"text": f"token={token}"}),
             ToolCall("c2", "mcp__fx__lines", {"n": 20000})]
    model = script(assistant(calls=calls), assistant("ok"))
    events, _ = drive(mcp_tools(servers), tmp_path, model, Settings(permission_mode="full-auto"),
                      harness=Harness(redactor=Redactor()))
    echoed, long = finished(events)
    assert echoed.content == "token=[REDACTED:github-token]"
    seen = model.requests[1].messages[-1].content
    assert "lines cut; full output in" in seen and len(seen) < len(long.content) // 10


def test_resources_and_prompts(servers):
    assert servers.resources("fx").content == "notes://readme  readme — The fixture's notes."
    assert servers.read_resource("fx", "notes://readme").content == "Fixture notes: the answer is 42."
    state = next(s for s in servers.states() if s.name == "fx")
    assert state.prompts == (RemotePrompt("fx", "review", "Ask for a review of one file.", ("path",)),)
    assert servers.prompt("fx", "review", {"path": "a.py"}).content == "Review a.py for bugs and say what you found."


def test_a_server_that_crashes_mid_call_or_hangs_is_one_sentence_and_the_run_goes_on(tmp_path):
    flaky = McpServers({"fx": fixture_config(), "slow": fixture_config("slow")}, call_timeout_s=2)
    try:
        flaky.start()
        tools = mcp_tools(flaky)
        calls = [ToolCall("c1", "mcp__fx__crash", {}), ToolCall("c2", "mcp__fx__echo", {"text": "x"}),
                 ToolCall("c3", "mcp__slow__hang", {})]
        events, outcome = drive(tools, tmp_path, script(assistant(calls=calls), assistant("went on")),
                                Settings(permission_mode="full-auto"))
    finally:
        flaky.close()
    crashed, after, hung = finished(events)
    assert crashed.error and crashed.content.startswith("MCP server fx stopped working (crash failed: ")
    assert after.error and after.content.startswith("MCP server fx is unavailable: crash failed: ")
    assert hung.error and hung.content.startswith("MCP server slow stopped working (hang failed: no answer within")
    assert outcome.status == "done" and outcome.message == "went on"


def test_a_server_that_never_starts_is_reported_and_the_others_work(tmp_path):
    mixed = McpServers({"gone": ServerConfig("gone", str(tmp_path / "no-such-server")),
                        "mute": ServerConfig("mute", "sleep", ("60",)), "fx": fixture_config()}, start_timeout_s=5)
    try:
        started = time.monotonic()
        warnings = mixed.start()
        assert time.monotonic() - started < 15  # in parallel, under the timeout
        assert warnings == [f"MCP server gone is unavailable: its command was not found ([Errno 2] No such file or "
                            f"directory: '{tmp_path / 'no-such-server'}').",
                            "MCP server mute is unavailable: it did not start within 5 s."]
        assert [t.spec.name for t in mcp_tools(mixed)][:1] == ["mcp__fx__crash"]
        assert mixed.call("gone", "x", {}).content.startswith("MCP server gone is unavailable: its command was not")
    finally:
        mixed.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_streamable_http_server_on_localhost(tmp_path):
    port = _free_port()
    process = subprocess.Popen([sys.executable, str(FIXTURE), "http", str(port)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.2)
        remote = McpServers({"web": ServerConfig("web", url=f"http://127.0.0.1:{port}/mcp")})
        try:
            assert remote.start() == []
            call = ToolCall("c1", "mcp__web__echo", {"text": "over http"})
            events, _ = drive(mcp_tools(remote), tmp_path, script(assistant(calls=[call]), assistant("ok")),
                              Settings(permissions={"allow": ["mcp__web__echo"]}))
            assert finished(events)[0].content == "over http"
        finally:
            remote.close()
    finally:
        process.terminate()
        process.wait(10)


def test_an_untrusted_project_mcp_json_gains_nothing_until_trusted(tmp_path):
    home, work = tmp_path / "home", tmp_path / "work"
    work.mkdir()
    (work / ".mcp.json").write_text(json.dumps({"mcpServers": {"fx": {"command": sys.executable,
                                                                       "args": [str(FIXTURE)]}}}))
    env = {"LUBAN_HOME": str(home)}
    settings = Settings(cwd=str(work), data_dir=str(home / "data"))
    untrusted = open_extensions(settings, env)
    assert untrusted.servers.configs == {}
    assert untrusted.warnings == ["This repository's own extensions (MCP server fx) stay off until you review "
                                  "them with `luban trust`."]
    set_trust(home / "data", project_extensions(work), True)
    trusted = open_extensions(settings, env)
    assert list(trusted.servers.configs) == ["fx"] and trusted.warnings == []
    (work / ".mcp.json").write_text(json.dumps({"mcpServers": {"fx": {"command": "sh", "args": ["-c", "x"]}}}))
    assert open_extensions(settings, env).servers.configs == {}  # changed since: trusted no longer


def _tui_session(tmp_path, servers):
    from luban.extend.extensions import Extensions

    from rich.console import Console

    from luban.session import Transcript
    from luban.ui.tui_session import Session

    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    settings = Settings(data_dir=str(tmp_path / "data"), cwd=str(work))
    ws = Workspace.open(work)
    transcript = Transcript.create(tmp_path / "data" / "sessions", ws.root, "scripted")
    console = Console(width=200, record=True, color_system=None, force_terminal=False, highlight=False)
    return Session(settings, console, ws, script(), Harness(), transcript, [SYSTEM], lambda e: Decision(True),
                   tmp_path / "commands", None, extensions=Extensions(servers))


def test_a_servers_prompts_are_slash_commands(servers, tmp_path):
    from luban.ui.slash import dispatch

    session = _tui_session(tmp_path, servers)
    assert session.user_commands()["mcp__fx__review"].description == "Ask for a review of one file."
    assert dispatch(session, "/mcp__fx__review src/a.py") == "Review src/a.py for bugs and say what you found."
    gone = McpServers({"fx": fixture_config()})
    gone.start()
    review = prompt_commands(gone)["mcp__fx__review"]
    gone.close()
    with pytest.raises(LubanError, match=r"^MCP server fx is unavailable: it is not running. Go on without it.$"):
        review.task("a.py")


def test_references_in_a_tools_schema_are_inlined_for_the_json_protocol():
    from luban.extend.mcp_tools import inlined

    schema = {"type": "object", "properties": {"where": {"$ref": "#/$defs/Place"}}, "required": ["where"],
              "$defs": {"Place": {"type": "object", "properties": {"city": {"type": "string"}}}}}
    assert inlined(schema) == {"type": "object", "required": ["where"], "properties": {
        "where": {"type": "object", "properties": {"city": {"type": "string"}}}}}
    node = {"type": "object", "properties": {"next": {"$ref": "#/$defs/Node"}}}
    deep = inlined({"$ref": "#/$defs/Node", "$defs": {"Node": node}}, depth=2)
    assert deep == {"type": "object", "properties": {"next": {"type": "object", "properties": {
        "next": {"type": "object"}}}}}


def test_variables_in_a_server_entry_come_from_the_environment(tmp_path):
    from luban.extend.mcp_config import configured

    extra = tmp_path / "m.json"
    extra.write_text(json.dumps({"mcpServers": {"docs": {
        "url": "http://127.0.0.1:${PORT:-8765}/mcp", "headers": {"Authorization": "Bearer ${DOCS_TOKEN}"}}}}))
    assert configured(tmp_path, str(extra), env={"DOCS_TOKEN": "t0k"})["docs"] == ServerConfig(
        "docs", url="http://127.0.0.1:8765/mcp", headers={"Authorization": "Bearer t0k"}, source=str(extra))
    with pytest.raises(ConfigError, match=r"uses \$\{DOCS_TOKEN\}, which is not set in the environment"):
        configured(tmp_path, str(extra), env={})
    with pytest.raises(ConfigError, match="^No MCP config file"):
        configured(tmp_path, str(tmp_path / "missing.json"))


def test_an_untrusted_project_config_cannot_name_an_mcp_config_either(tmp_path):
    from luban.config import load

    work = tmp_path / "work"
    (work / ".luban").mkdir(parents=True)
    (work / "evil.json").write_text(json.dumps({"mcpServers": {"x": {"command": "sh"}}}))
    (work / ".luban" / "config.toml").write_text('mcp_config = "evil.json"\n')
    settings = load({"cwd": str(work)}, {"LUBAN_HOME": str(tmp_path / "home")})
    assert settings.mcp_config == ""
    assert open_extensions(settings, {"LUBAN_HOME": str(tmp_path / "home")}).servers.configs == {}
