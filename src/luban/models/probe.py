"""Does this server + model do native function calling? Asked once with a tiny request, then cached.

Servers without a tool parser for the model's family answer with the call as text in `content` (or with
prose); then Luban speaks the model's own text format instead.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..errors import ModelRejected
from ..types import Completion, Message, Request, ToolSpec
from . import Model

PROBE_TOOL = ToolSpec("get_weather", "Get the current weather in a city.",
                      {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]})
PROBE_ASK = "What is the weather in Paris right now? Use the get_weather tool."


def native_calls_work(model: Model) -> bool:
    """One short request: a native `get_weather` call with a city means function calling works."""
    request = Request((Message("user", PROBE_ASK),), (PROBE_TOOL,), temperature=0.0, max_tokens=64)
    try:
        completion = [item for item in model.complete(request) if isinstance(item, Completion)][-1]
    except ModelRejected:
        return False  # e.g. "tools param requires --jinja": no native tools on this server
    calls = completion.message.tool_calls
    return bool(calls) and calls[0].name == PROBE_TOOL.name and isinstance(calls[0].arguments.get("city"), str)


def cached_probe(cache: Path, key: str, model: Model) -> bool:
    """The probe's answer for `key` (server URL + model), asking the server only the first time."""
    try:
        known = json.loads(cache.read_text())
    except (OSError, json.JSONDecodeError):
        known = {}
    if not isinstance(known, dict) or not isinstance(known.get(key), bool):
        known = known if isinstance(known, dict) else {}
        known[key] = native_calls_work(model)
        try:
            cache.parent.mkdir(parents=True, exist_ok=True)
            cache.write_text(json.dumps(known, indent=1, sort_keys=True))
        except OSError:
            pass  # a full disk or a read-only data folder: the next start only probes again
    return known[key]
