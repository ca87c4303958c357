"""End to end with a real model in Luban's own process: the embedded 0.5B GGUF loaded through transformers'
GGUF support, the real loop and tools, the real CLI, a constrained JSON tool call.

Runs serially (pytest's default): on two cores any parallel CPU work slows the model tenfold.
"""

import json
import os
import subprocess
import sys

import pytest

from luban.config import user_data_dir
from luban.models import catalog

pytestmark = pytest.mark.model


def test_the_0_5b_gguf_in_process_reads_the_file_it_is_asked_about(tmp_path):
    gguf = catalog.gguf_path(catalog.spec_for("qwen2.5-coder-0.5b"), user_data_dir(os.environ))
    assert gguf.exists(), f"{gguf} is missing; run: luban models pull qwen2.5-coder-0.5b"
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "notes.txt").write_text("Meeting notes, 3 March.\nThe secret word is PERSIMMON.\nBring snacks.\n")
    env = {**os.environ, "LUBAN_DATA_DIR": str(tmp_path / "data")}
    done = subprocess.run([sys.executable, "-m", "luban.ui.cli", "-p", "What is the secret word in the file "
                           "notes.txt? Read the file to find out.", "--transformers", str(gguf), "--max-steps", "1",
                           "--permission-mode", "plan", "--output-format", "stream-json", "--cwd", str(repo)],
                          capture_output=True, text=True, timeout=900, env=env)
    events = [json.loads(line) for line in done.stdout.splitlines()]
    uses = [c for e in events if e["type"] == "assistant" for c in e["message"]["content"] if c["type"] == "tool_use"]
    results = [c for e in events if e["type"] == "user" for c in e["message"]["content"]]
    assert (events[0]["model"], uses[0]["name"], uses[0]["input"]["path"]) == (
        "qwen2.5-coder-0.5b-instruct-q4_k_m", "read_file", "notes.txt"), done.stderr
    # The call ran: the file's first line came back (the 0.5B sometimes asks for fewer lines than all three).
    assert (results[0]["content"].startswith("     1\tMeeting notes, 3 March."), results[0]["is_error"]) == (True, False)
