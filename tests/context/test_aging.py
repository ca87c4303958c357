"""Old tool outputs shrink in batches: the prefix of each request is the previous request's, byte for byte,
except at the one step where a batch is shortened."""

import json

from luban.agent import loop
from luban.config import Settings
from luban.context.aging import BATCH, KEEP_WHOLE, SHORTENED, due, shortened
from luban.harness import Harness
from luban.models.protocol import JsonProtocol
from luban.models.scripted import ScriptedModel, assistant
from luban.models import ModelInfo
from luban.tools import bash
from luban.types import Compacted, Message
from luban.workspace import Workspace


def turn(command):
    return assistant(json.dumps({"thought": "look", "tool": "bash", "args": {"command": command}}))


def test_nothing_is_due_until_a_whole_batch_has_aged():
    messages = [Message("tool", str(i)) for i in range(12)]
    whole = {id(m): m.content for m in messages}
    positions = list(range(12))
    assert due(positions[:KEEP_WHOLE + BATCH - 1], whole, messages) == []
    assert due(positions[:KEEP_WHOLE + BATCH], whole, messages) == list(range(BATCH))
    del whole[id(messages[0])]  # shortened already (or short to begin with)
    assert due(positions[:KEEP_WHOLE + BATCH], whole, messages) == []


def test_a_shortened_output_keeps_its_first_whole_lines_and_names_the_file():
    text = "".join(f"line {i}\n" for i in range(200))
    # 10 lines of 7 characters and 66 of 8 fill 598 of the 600.
    assert shortened(text, "out/bash-1.txt") == ("\n".join(f"line {i}" for i in range(76)) + "\n"
                                                 + SHORTENED.format(path="out/bash-1.txt"))


def test_through_the_loop_the_prefix_is_rewritten_once_per_batch_and_the_full_output_is_kept(tmp_path):
    (tmp_path / "ws").mkdir()
    ws = Workspace.open(tmp_path / "ws", tmp_path / "out")
    steps = KEEP_WHOLE + BATCH + 2
    replies = [*[turn(f"seq 1 300; echo call {i}") for i in range(steps)],
               assistant(json.dumps({"thought": "t", "tool": "finish", "args": {"answer": "ok"}}))]
    model = ScriptedModel(replies, ModelInfo("scripted", 65536))  # room for outputs of 1,000 characters
    gen = loop.run("look around", model=model, tools=(bash.TOOL,), ws=ws,
                   settings=Settings(permission_mode="full-auto", max_steps=50), history=[Message("system", "s")],
                   harness=Harness(JsonProtocol(), age_outputs=True))
    events = list(gen)
    rewritten = [k for k in range(1, len(model.requests))
                 if model.requests[k].messages[:len(model.requests[k - 1].messages) - 1]
                 != model.requests[k - 1].messages[:-1]]  # the last message carries the protocol's reminder
    assert rewritten == [KEEP_WHOLE + BATCH]
    assert [(e.pruned, e.how) for e in events if isinstance(e, Compacted)] == [(BATCH, "aged")]
    after = model.requests[KEEP_WHOLE + BATCH].messages
    results = [m for m in after if m.content.startswith("Result of bash:")]
    assert [SHORTENED.split("{")[0] in m.content for m in results] == [True] * BATCH + [False] * KEEP_WHOLE
    first = results[0].content
    assert first.startswith("Result of bash:\n1\n2\n3\n")
    path = first.rsplit("all of it is in ", 1)[1].split(" — ")[0]
    assert open(path).read().endswith("300\ncall 0\nexit code: 0")
