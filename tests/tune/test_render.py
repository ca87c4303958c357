"""Trajectories rendered in the serving protocol and the tokenizer's own chat template, spans on the turns
trained on."""

import pytest

from luban.errors import TuneError
from luban.models.protocol import NEXT_STEP, JsonProtocol, NativeProtocol, protocol_named
from luban.tune.render import chats, rendered
from luban.tune.trajectories import Found, from_sessions

from .sessions import record

EDIT_ARGS = '{"path": "calc.py", "old_string": "a - b", "new_string": "a + b"}'


@pytest.fixture
def trajectory(tmp_path):
    (tmp_path / "repo").mkdir()
    record(tmp_path / "sessions", tmp_path / "repo")
    found = Found()
    from_sessions(tmp_path / "sessions", found)
    return found.trajectories[0]


def spans(tokenizer, trajectory, protocol):
    messages, trained = chats(trajectory, protocol)
    text = rendered(tokenizer, messages, trained, trajectory.specs if protocol.name == "native" else ())
    return messages, trained, [text.text[s:e] for s, e in text.spans]


def test_in_its_own_protocol_a_trajectory_keeps_the_turns_as_written(tiny_tokenizer, trajectory):
    messages, trained, texts = spans(tiny_tokenizer, trajectory, JsonProtocol())
    assert messages[0] == {"role": "system", "content": trajectory.system.content}
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user", "assistant", "user",
                                             "assistant", "user", "assistant"]
    assert trained == [6, 8]
    assert texts == [
        f'{{"thought": "fix the operator", "tool": "edit_file", "args": {EDIT_ARGS}}}<|im_end|>\n',
        '{"thought": "use finish", "tool": "finish", "args": {"answer": "Fixed add."}}<|im_end|>\n']


def test_served_natively_calls_become_tool_calls_and_results_tool_messages(tiny_tokenizer, trajectory):
    messages, trained, texts = spans(tiny_tokenizer, trajectory, NativeProtocol())
    assert messages[0]["content"] == "\n\n".join(p for p in trajectory.system_parts if p)
    assert messages[6] == {"role": "assistant", "content": "fix the operator", "tool_calls": [
        {"id": "call_0", "type": "function", "function": {"name": "edit_file", "arguments": {
            "path": "calc.py", "old_string": "a - b", "new_string": "a + b"}}}]}
    assert messages[7]["role"] == "tool" and messages[7]["content"].startswith("Edited calc.py (1 replacement).")
    assert not messages[7]["content"].endswith(NEXT_STEP)
    assert texts == [f'fix the operator<tool_call>\n{{"name": "edit_file", "arguments": {EDIT_ARGS}}}\n'
                     "</tool_call><|im_end|>\n", "Fixed add.<|im_end|>\n"]


def test_served_in_a_text_format_calls_are_written_in_it(tiny_tokenizer, trajectory):
    hermes = protocol_named("text", "hermes")
    messages, _, texts = spans(tiny_tokenizer, trajectory, hermes)
    before, after = trajectory.system_parts
    assert messages[0]["content"] == f"{before}\n\n{hermes.system_text(trajectory.specs)}\n\n{after}"
    assert messages[7]["content"].startswith("<tool_response>\nEdited calc.py (1 replacement).")
    assert texts == [f'fix the operator\n<tool_call>\n{{"name": "edit_file", "arguments": {EDIT_ARGS}}}\n'
                     "</tool_call><|im_end|>\n", "Fixed add.<|im_end|>\n"]


def test_a_tokenizer_without_a_chat_template_is_refused_in_one_sentence(tiny_tokenizer, trajectory):
    messages, trained = chats(trajectory, JsonProtocol())
    template, tiny_tokenizer.chat_template = tiny_tokenizer.chat_template, None
    try:
        with pytest.raises(TuneError) as caught:
            rendered(tiny_tokenizer, messages, trained)
    finally:
        tiny_tokenizer.chat_template = template
    assert str(caught.value) == "The model's tokenizer has no chat template; tune an instruct (chat) model."
