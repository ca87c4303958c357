"""The in-process transformers backend on a tiny random Qwen2 (conftest.py): the real chat template, the real
forward passes, streaming, tool calls in each protocol, the KV cache across turns, adapters, and bad input."""

import json

import jsonschema
import pytest
import torch

from luban.models.checkpoint import load_checkpoint
from luban.models.in_process import TransformersModel
from luban.models.prompt_cache import common_prefix
from luban.models.protocol import JsonProtocol, TurnHints
from luban.tools import default_tools
from luban.types import Completion, Message, PromptProgress, Request, TextDelta, ToolCall

SPECS = [t.spec for t in default_tools()]
READ = [s for s in SPECS if s.name in ("read_file", "list_dir")]
TASK = Message("user", "What is the secret word in notes.txt?")
SYSTEM = "You are a coding agent."


@pytest.fixture(scope="module")
def model(tiny_model):
    return TransformersModel(load_checkpoint(tiny_model))


def run(model, request):
    items = list(model.complete(request))
    assert isinstance(items[-1], Completion) and not any(isinstance(i, Completion) for i in items[:-1])
    return items[:-1], items[-1]


def test_the_prompt_is_the_chat_template_with_the_tools_and_the_history(model):
    call = ToolCall("call_0", "read_file", {"path": "notes.txt"})
    request = Request((Message("system", SYSTEM), TASK, Message("assistant", "", (call,)),
                       Message("tool", "The secret word is PERSIMMON.", tool_call_id="call_0")), tuple(READ[:1]))
    tool = json.dumps({"type": "function", "function": {"name": "read_file", "description": READ[0].description,
                                                        "parameters": READ[0].parameters}}, ensure_ascii=False)
    assert model.prompt_text(request) == (
        "<|im_start|>system\nYou are a coding agent.\n\n# Tools\n\nYou may call one or more functions to assist with "
        "the user query.\n\nYou are provided with function signatures within <tools></tools> XML tags:\n<tools>\n"
        f"{tool}\n</tools>\n\nFor each function call, return a json object with function name and arguments within "
        '<tool_call></tool_call> XML tags:\n<tool_call>\n{"name": <function-name>, "arguments": <args-json-object>}\n'
        "</tool_call><|im_end|>\n<|im_start|>user\nWhat is the secret word in notes.txt?<|im_end|>\n"
        '<|im_start|>assistant\n<tool_call>\n{"name": "read_file", "arguments": {"path": "notes.txt"}}\n</tool_call>'
        "<|im_end|>\n<|im_start|>user\n<tool_response>\nThe secret word is PERSIMMON.\n</tool_response><|im_end|>\n"
        "<|im_start|>assistant\n")


def test_a_reply_streams_as_text_deltas_and_ends_with_one_completion(model):
    request = Request((Message("system", SYSTEM), TASK), temperature=0.0, max_tokens=12)
    deltas, completion = run(model, request)
    prompt = model.count_tokens(model.prompt_text(request))
    assert len(deltas) > 1 and all(isinstance(d, TextDelta) for d in deltas)
    assert "".join(d.text for d in deltas) == completion.message.content
    assert (completion.finish_reason, completion.model, completion.usage.completion_tokens,
            completion.usage.prompt_tokens) == ("length", "tiny-qwen2", 12, prompt)


def test_a_long_prompt_reports_its_progress(model):
    request = Request((Message("system", SYSTEM), Message("user", "notes " * 400)), temperature=0.0, max_tokens=1)
    model.close()  # nothing cached: the whole prompt runs
    items, _ = run(model, request)
    total = model.count_tokens(model.prompt_text(request))
    assert [i for i in items if isinstance(i, PromptProgress)] == [
        PromptProgress(min(n, total), total) for n in range(256, total + 256, 256)]


def test_json_turns_are_valid_calls_even_from_a_random_model(model):
    protocol, hints = JsonProtocol(), TurnHints(files=("app.py", "notes.txt"), dirs=(".",), writable=("app.py",))
    request = protocol.request([Message("system", protocol.system_text(SPECS)), TASK], SPECS, 1.0, 600, hints)
    schema = request.response_format["json_schema"]["schema"]
    finished = []
    for seed in range(6):
        torch.manual_seed(seed)
        _, completion = run(model, request)
        # The grammar bounds the structure, not a string field's length (only the thought has a maxLength): a
        # random model can write a file's content until the token limit. Seed 1 did on this session's CPU, where
        # an earlier machine's arithmetic sampled otherwise; such a turn ends as cut by the length limit.
        if completion.finish_reason == "length":
            continue
        jsonschema.validate(json.loads(completion.message.content), schema)
        finished.append((completion.finish_reason, protocol.read(completion.message, SPECS, "c").error))
    assert len(finished) >= 4 and set(finished) == {("stop", None)}


def test_without_the_grammar_the_random_model_writes_no_turn(model):
    protocol = JsonProtocol()
    request = protocol.request([Message("system", protocol.system_text(SPECS)), TASK], SPECS, 1.0, 60)
    request = Request(request.messages, temperature=1.0, max_tokens=60)  # the same, unconstrained
    errors = []
    for seed in range(6):
        torch.manual_seed(seed)
        _, completion = run(model, request)
        errors.append(protocol.read(completion.message, SPECS, "c").error is not None)
    assert errors == [True] * 6


def test_the_second_turn_reuses_the_shared_prefix_and_reports_it(model):
    first = Request((Message("system", SYSTEM), Message("user", "Read app.py")), temperature=0.0, max_tokens=4)
    second = Request((Message("system", SYSTEM), Message("user", "Read notes.txt")), temperature=0.0, max_tokens=4)
    ids = [model._tokenizer(model.prompt_text(r), add_special_tokens=False)["input_ids"] for r in (first, second)]
    model.close()
    assert [run(model, r)[1].usage.cached_tokens for r in (first, second, second)] == [
        0, common_prefix(*ids), len(ids[1]) - 1]


def test_a_reused_cache_changes_no_reply(tiny_model, model):
    first = Request((Message("system", SYSTEM), TASK), temperature=0.0, max_tokens=16)
    _, reply = run(model, first)
    second = Request((*first.messages, reply.message, Message("user", "Go on.")), temperature=0.0, max_tokens=16)
    _, warm = run(model, second)
    _, cold = run(TransformersModel(load_checkpoint(tiny_model)), second)
    assert warm.usage.cached_tokens >= reply.usage.prompt_tokens
    assert (warm.message, cold.usage.cached_tokens) == (cold.message, 0)
