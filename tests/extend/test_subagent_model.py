"""With the real embedded model: the parent delegates a search to the explore subagent and answers from its report.
Also measures what the delegation saved the parent's context, against the same search done by the parent itself
(printed; run with -s to see it). Serial and slow: the lead runs it (`pytest -m model -s tests/extend`)."""

import json
import os
import subprocess
import sys

import pytest

from luban.config import user_data_dir

pytestmark = pytest.mark.model
MODEL = "qwen2.5-coder-1.5b"
DELEGATE = ("Which file defines MAX_RETRIES, and what is its value? Use the task tool with the explore agent to "
            "search the code base, then answer from its report.")
YOURSELF = "Which file defines MAX_RETRIES, and what is its value? Search the code base with grep and read_file."


def repo_with_a_needle(root):
    root.mkdir()
    for i in range(10):
        (root / f"module_{i}.py").write_text("".join(f"def helper_{i}_{j}(x):\n    return x * {j} + {i}\n\n"
                                                     for j in range(40)))
    (root / "module_7.py").write_text((root / "module_7.py").read_text() + "MAX_RETRIES = 17\n")


def luban(args, tmp_path, timeout=900):
    data = tmp_path / "data"
    data.mkdir(parents=True, exist_ok=True)
    (data / "models").symlink_to(user_data_dir(os.environ) / "models", target_is_directory=True)
    # Seeded: when the 1.5B repeats a call, its next reply is sampled (the unstick temperature), and unseeded
    # that made one run in five answer with the wrong file.
    env = {**os.environ, "LUBAN_DATA_DIR": str(data), "LUBAN_HOME": str(tmp_path / "home"), "LUBAN_SEED": "0"}
    done = subprocess.run([sys.executable, "-m", "luban.ui.cli", *args], capture_output=True, text=True,
                          timeout=timeout, env=env, stdin=subprocess.DEVNULL)
    assert done.returncode in (0, 3), done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


def parent_prompts(records):
    """The parent's own requests' prompt tokens (a subagent's carry parent_tool_use_id)."""
    return [r["usage"]["input_tokens"] for r in records
            if r.get("subtype") == "model_usage" and "parent_tool_use_id" not in r]


def test_the_parent_delegates_a_search_and_uses_the_report(tmp_path):
    repo_with_a_needle(tmp_path / "repo")
    args = ["--embedded-model", MODEL, "--permission-mode", "plan", "--output-format", "stream-json",
            "--max-steps", "8", "--cwd", str(tmp_path / "repo")]
    delegated = luban(["-p", DELEGATE, *args], tmp_path / "a")
    uses = [(c["name"], r.get("parent_tool_use_id")) for r in delegated if r["type"] == "assistant"
            for c in r["message"]["content"] if c["type"] == "tool_use"]
    assert ("task", None) in uses
    assert any(parent for _, parent in uses), "the subagent ran tools of its own"
    assert [r for r in delegated if r.get("subtype") == "subagent_result"]
    final = delegated[-1]
    # The parent searched nothing itself: naming the file is using the report. (The 1.5B often hands the subagent
    # "find MAX_RETRIES" without asking for the value, and then reports the file and line only.)
    assert final["type"] == "result" and "module_7" in final["result"]

    yourself = luban(["-p", YOURSELF, *args], tmp_path / "b")
    with_task, alone = parent_prompts(delegated), parent_prompts(yourself)
    print(f"\nparent prompt tokens with a subagent: last {with_task[-1]}, all {sum(with_task)} over "
          f"{len(with_task)} requests; searching itself: last {alone[-1]}, all {sum(alone)} over {len(alone)} "
          f"requests; saved on the last prompt: {alone[-1] - with_task[-1]} "
          f"(the search itself {'found' if '17' in yourself[-1].get('result', '') else 'missed'} the value)")
