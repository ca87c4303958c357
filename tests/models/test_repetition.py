"""A reply caught in a loop is stopped mid-stream and ends as one cut short (models/repetition.py)."""

import json

from luban.models.repetition import REPEAT, looping
from luban.models.wire import assemble
from luban.types import TextDelta

# he-42's HumanEval-129: three import lines, JSON-escaped inside an edit's new_string, again and again.
BLOCK = "from typing import List\\nfrom typing import Optional\\nfrom collections import deque\\n"
START = '{"thought": "I will fix it.", "tool": "edit_file", "args": {"path": "solution.py", "new_string": "'


def chunk(text: str, **extra: object) -> str:
    return json.dumps({"choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}], **extra})


def test_a_block_repeated_over_the_span_is_a_loop_and_a_few_repeats_are_not():
    assert not looping(START + BLOCK * 5)  # 425 characters of repeats: a file may import this much twice over
    assert looping(START + BLOCK * 10)
    assert looping("x" + "    return None\\n" * 60)


def test_ordinary_code_and_short_repeated_rules_are_not_loops():
    code = "".join(f"def f{i}(x):\n    return x + {i}\n\n" for i in range(80))  # similar lines, never the same
    assert not looping(code)
    assert not looping("=" * 79 + "\n" + "-" * 79)  # under the span
    assert not looping("[" + "0, " * 100 + "]")  # a row of a hundred zeros


def test_the_stream_is_stopped_once_the_reply_loops_with_the_usage_so_far():
    timings = {"prompt_n": 900, "cache_n": 100, "predicted_n": 12}
    payloads = [chunk(START), *(chunk(BLOCK, timings=timings) for _ in range(40))]
    seen = []

    def feed():
        for payload in payloads:
            seen.append(payload)
            yield payload

    items = list(assemble(feed()))
    completion = items[-1]
    assert completion.finish_reason == REPEAT
    assert len(seen) < 15  # stopped at the loop, not after the 40 chunks the server would have sent
    assert completion.message.content == "".join(i.text for i in items if isinstance(i, TextDelta))
    assert (completion.usage.prompt_tokens, completion.usage.cached_tokens) == (1000, 100)
