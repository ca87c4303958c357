import json
from dataclasses import replace

import pytest

from luban.errors import ModelError, ModelProtocolError, ModelRejected, ModelUnavailable
from luban.models.wire import assemble, chat_body, error_message, iter_data
from luban.types import Completion, Message, PromptProgress, ReasoningDelta, Request, TextDelta, ToolCall, Usage


def chunk(delta: dict | None = None, finish: str | None = None, **extra: object) -> str:
    choice = {"index": 0, "delta": delta or {}, "finish_reason": finish}
    return json.dumps({"object": "chat.completion.chunk", "model": "qwen", "choices": [choice], **extra})


def test_iter_data_skips_comments_and_event_fields_and_joins_multiline_data():
    lines = [": ping", "", "event: message", "id: 7", "data: one", "", "data:two", "data: three", "", "retry: 10"]
    assert list(iter_data(lines)) == ["one", "two\nthree"]


def test_iter_data_yields_a_last_event_without_its_blank_line():
    assert list(iter_data(["data: a", "", "data: [DONE]"])) == ["a", "[DONE]"]


def test_text_and_reasoning_deltas_then_the_assembled_completion():
    payloads = [
        chunk({"role": "assistant", "content": None}),
        chunk({"reasoning_content": "Think"}),
        chunk({"reasoning": "ing."}),
        # vLLM has sent both spellings with the same text: it must count once.
        chunk({"reasoning_content": " Done.", "reasoning": " Done."}),
        chunk({"content": "Hel"}),
        chunk({"content": ""}),
        chunk({"content": "lo"}, "stop"),
        "[DONE]",
    ]
    assert list(assemble(payloads)) == [
        ReasoningDelta("Think"),
        ReasoningDelta("ing."),
        ReasoningDelta(" Done."),
        TextDelta("Hel"),
        TextDelta("lo"),
        Completion(Message("assistant", "Hello", reasoning="Thinking. Done."), "stop", Usage(requests=1), "qwen"),
    ]


def test_llama_cpp_prompt_progress_comes_before_the_text():
    progress = [{"choices": [{"index": 0, "delta": {}, "finish_reason": None}],
                 "prompt_progress": {"total": 3000, "cache": 1000, "processed": n, "time_ms": 9.5}}
                for n in (1512, 3000)]
    payloads = [*(json.dumps(p) for p in progress), chunk({"content": "Hi"}, "stop"), "[DONE]"]
    assert list(assemble(payloads)) == [PromptProgress(1512, 3000), PromptProgress(3000, 3000), TextDelta("Hi"),
                                        Completion(Message("assistant", "Hi"), "stop", Usage(requests=1), "qwen")]


def test_prompt_progress_is_asked_for_only_where_the_server_sends_it():
    request = Request((Message("user", "hi"),))
    assert "return_progress" not in chat_body(request, "m")
    assert chat_body(request, "m", progress=True)["return_progress"] is True


def test_a_seed_is_sent_only_when_the_request_has_one():
    request = Request((Message("user", "hi"),))
    assert "seed" not in chat_body(request, "m")
    assert chat_body(replace(request, seed=3), "m")["seed"] == 3


def test_parallel_tool_calls_are_assembled_by_index_across_chunks():
    payloads = [
        chunk({"tool_calls": [{"index": 0, "id": "a1", "type": "function",
                               "function": {"name": "read", "arguments": ""}}]}),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"pa'}}]}),
        chunk({"tool_calls": [{"index": 1, "id": "b2", "function": {"name": "bash", "arguments": '{"command":'}}]}),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": 'th": "a.py"}'}}]}),
        chunk({"tool_calls": [{"index": 1, "function": {"arguments": ' "ls"}'}}]}),
        chunk({}, "tool_calls"),
        "[DONE]",
    ]
    completion = list(assemble(payloads))[-1]
    assert completion == Completion(
        Message("assistant", "", (ToolCall("a1", "read", {"path": "a.py"}), ToolCall("b2", "bash", {"command": "ls"}))),
        "tool_calls",
        Usage(requests=1),
        "qwen",
    )


def test_invalid_or_missing_arguments_are_kept_raw_or_empty_and_missing_ids_are_made_up():
    payloads = [
        chunk({"tool_calls": [{"index": 0, "function": {"name": "edit", "arguments": '{"path": "a.py", '}}]}),
        chunk({"tool_calls": [{"index": 1, "id": "c", "function": {"name": "ls"}}]}),
        chunk({"tool_calls": [{"index": 2, "id": "d", "function": {"name": "x", "arguments": "[1]"}}]}, "tool_calls"),
    ]
    assert list(assemble(payloads))[-1].message.tool_calls == (
        ToolCall("call_0", "edit", {}, raw='{"path": "a.py", '),
        ToolCall("c", "ls", {}),
        ToolCall("d", "x", {}, raw="[1]"),
    )


def test_llama_cpp_usage_and_timings():
    final = {
        "choices": [],
        "usage": {"completion_tokens": 30, "prompt_tokens": 165, "total_tokens": 195,
                  "prompt_tokens_details": {"cached_tokens": 120}},
        "timings": {"cache_n": 120, "prompt_n": 45, "prompt_ms": 1069.3, "predicted_n": 30, "predicted_ms": 548.5},
    }
    payloads = [chunk({"content": "ok"}, "stop"), json.dumps(final), "[DONE]"]
    assert list(assemble(payloads))[-1].usage == Usage(165, 30, 120, 1069.3, 548.5, 1)


def test_usage_falls_back_to_timings_where_prompt_n_excludes_cached_tokens():
    timings = {"cache_n": 100, "prompt_n": 65, "prompt_ms": 10.0, "predicted_n": 7, "predicted_ms": 70.0}
    payloads = [chunk({"content": "ok"}, "stop", timings=timings), "[DONE]"]
    assert list(assemble(payloads))[-1].usage == Usage(165, 7, 100, 10.0, 70.0, 1)


def test_openai_usage_without_timings():
    usage = {"prompt_tokens": 50, "completion_tokens": 5, "prompt_tokens_details": {"cached_tokens": 32}}
    payloads = [chunk({"content": "ok"}, "stop", usage=None), json.dumps({"choices": [], "usage": usage}), "[DONE]"]
    assert list(assemble(payloads))[-1].usage == Usage(50, 5, 32, 0.0, 0.0, 1)


def test_finish_reason_without_done_still_completes():
    assert list(assemble([chunk({"content": "hi"}, "length")]))[-1].finish_reason == "length"


def test_a_stream_cut_mid_tool_call_raises_and_never_yields_a_completion():
    payloads = [chunk({"content": "Let me look."}),
                chunk({"tool_calls": [{"index": 0, "id": "a", "function": {"name": "read", "arguments": '{"pa'}}]})]
    items = []
    with pytest.raises(ModelUnavailable) as caught:
        for item in assemble(payloads):
            items.append(item)
    assert items == [TextDelta("Let me look.")]
    assert str(caught.value) == ("The model server ended its reply before finishing it (no finish_reason and no "
                                 "[DONE]); it may have crashed or run out of memory.")


def test_malformed_json_names_the_problem_with_an_excerpt():
    with pytest.raises(ModelProtocolError) as caught:
        list(assemble([chunk({"content": "a"}), '{"choices": [', "[DONE]"]))
    assert str(caught.value) == ("The model server sent a stream event that is not valid JSON "
                                 "(Expecting value: line 1 column 14 (char 13)): '{\"choices\": ['.")


def test_a_json_value_that_is_not_an_object_is_a_protocol_error():
    with pytest.raises(ModelProtocolError) as caught:
        list(assemble(["[1, 2]"]))
    assert str(caught.value) == "The model server sent a stream event that is not a JSON object: '[1, 2]'."


def test_an_error_object_mid_stream_is_rejected_with_its_message():
    payloads = [chunk({"content": "a"}),
                json.dumps({"error": {"code": 400, "message": "the request exceeds the available context size.",
                                      "type": "exceed_context_size_error"}})]
    with pytest.raises(ModelRejected) as caught:
        list(assemble(payloads))
    assert str(caught.value) == ("The model server rejected the request mid-reply: "
                                 "the request exceeds the available context size.")


def test_a_server_failure_mid_stream_is_a_model_error():
    payloads = [json.dumps({"object": "error", "message": "CUDA out of memory", "type": "InternalServerError",
                            "code": 500})]
    with pytest.raises(ModelError) as caught:
        list(assemble(payloads))
    assert (type(caught.value), str(caught.value)) == (
        ModelError, "The model server failed mid-reply: CUDA out of memory.")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"error": {"message": "bad tools", "type": "invalid_request_error"}}, "bad tools"),
        ({"error": "model 'x' not found"}, "model 'x' not found"),
        ({"object": "error", "message": "too long", "code": 400}, "too long"),
        ({"detail": "Not Found"}, "Not Found"),
        ({"something": "else"}, None),
        (["not", "a", "mapping"], None),
    ],
)
def test_error_message_shapes(body: object, message: str | None):
    assert error_message(body) == message


def test_reasoning_is_sent_back_only_when_the_request_asks():
    from luban.models.wire import chat_body
    from luban.types import Message, Request

    messages = (Message("user", "q"), Message("assistant", "a", reasoning="r"))
    assert chat_body(Request(messages), "m")["messages"][1] == {"role": "assistant", "content": "a"}
    assert chat_body(Request(messages, send_reasoning=True), "m")["messages"][1] == {
        "role": "assistant", "content": "a", "reasoning_content": "r"}


def test_a_broken_call_goes_back_in_history_as_json_a_chat_template_can_parse():

    cut = ToolCall("a", "edit", {}, raw='{"path": "a.py",')  # repairable: sent repaired
    lost = ToolCall("b", "edit", {}, raw='{"path": "a')  # not: sent as one string under the raw key
    body = chat_body(Request((Message("assistant", "", (cut, lost)),)), "m")
    sent = [c["function"]["arguments"] for c in body["messages"][0]["tool_calls"]]
    assert [json.loads(s) for s in sent] == [{"path": "a.py"}, {"__raw__": '{"path": "a'}]
