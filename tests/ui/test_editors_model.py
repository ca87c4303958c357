"""The real clients with a real model: the Claude Agent SDK and an ACP client drive Luban on the embedded model.

Runs serially (pytest's default): on two cores any parallel CPU work slows the model tenfold.
"""

import asyncio
import os
import shlex
import sys

import anyio
import pytest
from acp import PROTOCOL_VERSION, text_block
from acp.stdio import spawn_agent_process
from claude_agent_sdk import AssistantMessage, ClaudeAgentOptions, ResultMessage, ToolUseBlock, query

from luban.config import user_data_dir

pytestmark = pytest.mark.model
MODEL = "qwen2.5-coder-1.5b"
QUESTION = "What is the secret word in the file notes.txt? Read the file to find out."


@pytest.fixture
def repo(tmp_path):
    root = tmp_path / "repo"
    root.mkdir()
    (root / "notes.txt").write_text("Meeting notes, 3 March.\nThe secret word is PERSIMMON.\nBring snacks.\n")
    return root


@pytest.fixture
def env(tmp_path):
    """Share the assembled GGUF (1 GB) with the user's data dir; keep this test's sessions apart."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "models").symlink_to(user_data_dir(os.environ) / "models", target_is_directory=True)
    return {"LUBAN_DATA_DIR": str(data)}


def test_the_sdk_drives_luban_on_the_embedded_model(tmp_path, repo, env):
    wrapper = tmp_path / "luban-cli"
    wrapper.write_text(f"#!/bin/sh\nexec {shlex.quote(sys.executable)} -m luban.ui.cli \"$@\" --embedded-model {MODEL}\n")
    wrapper.chmod(0o755)
    options = ClaudeAgentOptions(cli_path=str(wrapper), cwd=str(repo), env=env, permission_mode="plan")

    async def run():
        return [m async for m in query(prompt=QUESTION, options=options)]

    messages = anyio.run(run)
    uses = [b for m in messages if isinstance(m, AssistantMessage) for b in m.content if isinstance(b, ToolUseBlock)]
    assert (uses[0].name, uses[0].input["path"]) == ("read_file", "notes.txt")
    result = messages[-1]
    assert isinstance(result, ResultMessage) and (result.subtype, result.is_error) == ("success", False)
    assert "PERSIMMON" in result.result


class Editor:
    def __init__(self):
        self.updates = []

    async def session_update(self, session_id, update, **_):
        self.updates.append(update)

    async def request_permission(self, session_id, tool_call, options, **_):
        raise AssertionError("plan mode asks nothing")

    def on_connect(self, conn):
        pass


def test_an_acp_client_drives_luban_acp_on_the_embedded_model(repo, env):
    editor = Editor()

    async def go():
        async with spawn_agent_process(editor, sys.executable, "-m", "luban.ui.cli", "acp", "--embedded-model", MODEL,
                                       "--permission-mode", "plan", env={**os.environ, **env},
                                       cwd=str(repo)) as (conn, _):
            await conn.initialize(protocol_version=PROTOCOL_VERSION)
            new = await conn.new_session(cwd=str(repo))
            return await conn.prompt(session_id=new.session_id, prompt=[text_block(QUESTION)])

    done = asyncio.run(asyncio.wait_for(go(), 900))
    assert done.stop_reason == "end_turn"
    reads = [u for u in editor.updates if u.session_update == "tool_call" and u.kind == "read"]
    assert [loc.path for loc in reads[0].locations] == [str(repo / "notes.txt")]
    said = "".join(u.content.text for u in editor.updates if u.session_update == "agent_message_chunk")
    assert "PERSIMMON" in said
