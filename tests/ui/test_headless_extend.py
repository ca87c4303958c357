"""A headless run end to end with the extensions: the task list, a subagent and a real MCP server (mcp-server-time,
from --mcp-config), against a scripted OpenAI-compatible server; and `luban mcp list`."""

import json
import os
import sys
from pathlib import Path

from luban.ui.cli import main
from tui_harness import ScriptedServer, call, text

TIME_SERVER = str(Path(sys.executable).parent / "mcp-server-time")
PLAN = [{"content": "Find the constant", "status": "in_progress"}]


def _home(tmp_path, monkeypatch):
    for name in [n for n in os.environ if n.startswith("LUBAN_")]:
        monkeypatch.delenv(name)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("LUBAN_HOME", str(home))
    (home / "config.toml").write_text('[permissions]\nallow = ["mcp__time"]\n')
    mcp = tmp_path / "servers.json"
    mcp.write_text(json.dumps({"mcpServers": {"time": {"command": TIME_SERVER},
                                              "gone": {"command": str(tmp_path / "missing")}}}))
    return mcp


def test_stream_json_shows_the_task_list_the_subagent_and_the_mcp_call(tmp_path, monkeypatch, capsys):
    mcp = _home(tmp_path, monkeypatch)
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "deep.py").write_text("ANSWER = 42\n")
    server = ScriptedServer([call("todo", todos=PLAN), call("task", agent="explore", prompt="Where is ANSWER?"),
                             call("grep", pattern="ANSWER"), text("deep.py:1 sets ANSWER = 42."),
                             call("mcp__time__get_current_time", timezone="UTC"), text("42, at this time.")])
    try:
        code = main(["-p", "find ANSWER", "--base-url", server.url, "--tool-protocol", "native", "--cwd", str(repo),
                     "--output-format", "stream-json", "--mcp-config", str(mcp)])
    finally:
        server.close()
    captured = capsys.readouterr()
    records = [json.loads(line) for line in captured.out.splitlines()]
    assert code == 0 and records[-1]["result"] == "42, at this time."
    tools = records[0]["tools"]
    assert tools[-4:] == ["todo", "mcp__time__convert_time", "mcp__time__get_current_time", "task"]
    uses = [(c["name"], r.get("parent_tool_use_id")) for r in records if r["type"] == "assistant"
            for c in r["message"]["content"] if c["type"] == "tool_use"]
    assert uses == [("todo", None), ("task", None), ("grep", "call_task"), ("mcp__time__get_current_time", None)]
    results = {c["tool_use_id"]: c for r in records if r["type"] == "user" for c in r["message"]["content"]}
    assert results["call_task"]["content"] == "deep.py:1 sets ANSWER = 42."
    assert json.loads(results["call_mcp__time__get_current_time"]["content"])["timezone"] == "UTC"
    assert [r["status"] for r in records if r.get("subtype") == "subagent_result"] == ["done"]
    child_tools = [t["function"]["name"] for t in server.bodies[2]["tools"]]
    assert child_tools == ["read_file", "grep", "glob", "list_dir"]
    assert "! MCP server gone is unavailable: its command was not found" in captured.err


def test_mcp_list_shows_each_servers_state_and_tools(tmp_path, monkeypatch, capsys):
    mcp = _home(tmp_path, monkeypatch)
    assert main(["mcp", "list", "--mcp-config", str(mcp), "--cwd", str(tmp_path)]) == 1
    assert capsys.readouterr().out == (
        f"time (stdio: {TIME_SERVER}): ready\n"
        "  mcp__time__get_current_time  Get current time in a specific timezone\n"
        "  mcp__time__convert_time  Convert time between timezones\n"
        f"gone (stdio: {tmp_path / 'missing'}): failed — its command was not found ([Errno 2] No such file or "
        f"directory: '{tmp_path / 'missing'}')\n")
