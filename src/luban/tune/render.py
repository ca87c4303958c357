"""A trajectory as the served model will read it: chat messages in the serving protocol, rendered by the
tokenizer's own chat template, with the character spans of the assistant turns that are trained on.

A trajectory made in the serving protocol keeps its messages as written (they are what the model produced);
one made in another protocol has its calls, results and tool instructions written again in the serving one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from ..errors import TuneError
from ..models.formats.parsed import wire_tool
from ..models.protocol import JsonProtocol, TextProtocol, ToolProtocol, label, protocol_labelled
from ..types import Message, ToolCall, ToolSpec
from .trajectories import Note, Step, Trajectory, finish_json

Chat = dict[str, Any]


@dataclass(frozen=True)
class Rendered:
    text: str
    spans: tuple[tuple[int, int], ...]  # [start, end) of the characters trained on


def chats(trajectory: Trajectory, protocol: ToolProtocol) -> tuple[list[Chat], list[int]]:
    """The chat messages in `protocol`, and the indices of those trained on."""
    same = label(protocol) == trajectory.protocol
    made_in = protocol_labelled(trajectory.protocol)
    before, after = trajectory.system_parts
    system = trajectory.system.content if same else "\n\n".join(
        p for p in (before, protocol.system_text(trajectory.specs), after) if p)
    out: list[Chat] = [{"role": "system", "content": system}, {"role": "user", "content": trajectory.task}]
    trained: list[int] = []
    for item in trajectory.items:
        if isinstance(item, Note):
            out.append(_chat(item.message))
            continue
        turns = [(item.message, item.results)] if same else _written(item, protocol, made_in)
        for message, results in turns:
            if item.train:
                trained.append(len(out))
            out.append(_chat(message))
            out += [_chat(r) for r in results]
    return out, trained


def _written(step: Step, protocol: ToolProtocol, made_in: ToolProtocol) -> list[tuple[Message, tuple[Message, ...]]]:
    """The step's turns as `protocol` writes them; JSON turns hold one call each, so several calls make
    several turns."""
    if not step.calls:
        answer = step.answer or ""
        content = finish_json(step.thought, answer) if isinstance(protocol, JsonProtocol) else answer
        return [(Message("assistant", content), ())]
    results = tuple(protocol.result(call, _view(result, made_in, call)) for call, result
                    in zip(step.calls, step.results))
    if isinstance(protocol, JsonProtocol):
        return [(protocol.turn_for(step.thought if n == 0 else "", call).message, (results[n],))
                for n, call in enumerate(step.calls)]
    if isinstance(protocol, TextProtocol):
        text = "\n".join([step.thought, *(protocol.format.render_call(c) for c in step.calls)]).lstrip("\n")
        return [(Message("assistant", text), results)]
    return [(Message("assistant", step.thought, step.calls), results)]


def _view(result: Message, made_in: ToolProtocol, call: ToolCall) -> str:
    """What a tool returned, without the wrapping of the protocol the trajectory was made in (found by having
    that protocol wrap a placeholder)."""
    head, _, tail = made_in.result(call, "\0").content.partition("\0")
    text = result.content
    if text.startswith(head) and text.endswith(tail) and len(text) >= len(head) + len(tail):
        return text[len(head):len(text) - len(tail)]
    return text


def _chat(message: Message) -> Chat:
    chat: Chat = {"role": message.role, "content": message.content}
    if message.tool_calls:
        chat["tool_calls"] = [{"id": c.id, "type": "function",
                               "function": {"name": c.name, "arguments": dict(c.arguments)}}
                              for c in message.tool_calls]
    if message.tool_call_id is not None:
        chat["tool_call_id"] = message.tool_call_id
    return chat


def rendered(tokenizer: Any, messages: Sequence[Chat], trained: Sequence[int],
             specs: Sequence[ToolSpec] = ()) -> Rendered | None:
    """The conversation in the tokenizer's chat template; None when the template does not render each
    trained turn as a stable prefix of the whole (a turn's span cannot then be found)."""
    if not getattr(tokenizer, "chat_template", None):
        raise TuneError("The model's tokenizer has no chat template; tune an instruct (chat) model.")
    tools = [wire_tool(s) for s in specs] or None

    def render(upto: int, prompt: bool) -> str:
        return tokenizer.apply_chat_template(list(messages[:upto]), tools=tools, tokenize=False,
                                             add_generation_prompt=prompt)

    whole = render(len(messages), False)
    spans = []
    for index in trained:
        head, turn = render(index, True), render(index + 1, False)
        if not (turn.startswith(head) and whole.startswith(turn)):
            return None
        spans.append((len(head), len(turn)))
    return Rendered(whole, tuple(spans))
