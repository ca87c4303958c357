"""Window budgets, token counting through a server's /tokenize, and small-context mode's prefix size."""

import json

import httpx
import pytest

from luban.context.budget import Budget
from luban.context.engine import session_prefix
from luban.context.tokens import counter, estimate
from luban.models import ModelInfo
from luban.models.openai_compat import OpenAICompatModel, ServerConfig
from luban.models.protocol import protocol_named
from luban.models.scripted import ScriptedModel
from luban.tools import default_tools
from luban.workspace import Workspace


def test_budgets_for_small_and_large_windows():
    small, tiny, large = Budget(16_384, 1_024), Budget(8_192, 1_024), Budget(131_072, 4_096)
    assert (small.prompt, small.prefix, small.tool_output, small.compact_at, small.compact_to) == (
        15_360, 2_500, 3_215, 11_520, 6_912)
    assert (tiny.prompt, tiny.prefix, tiny.tool_output, tiny.compact_at) == (7_168, 2_500, 1_167, 5_376)
    assert (large.small, large.prefix, large.tool_output) == (False, 8_000, 29_744)


def server_model(handler):
    return OpenAICompatModel(ServerConfig("http://llm.test:8080/v1", model="m"), transport=httpx.MockTransport(handler))


def test_counts_with_llama_cpp_tokenize():
    bodies = []

    def llama(request):
        bodies.append(json.loads(request.content))
        return httpx.Response(200, json={"tokens": [1, 2, 3]})

    count = counter(server_model(llama))
    assert count("hello world") == 3
    assert bodies == [{"content": "hello world", "add_special": False}]


def test_counts_with_vllm_tokenize_after_the_llama_shape_is_refused():
    bodies = []

    def vllm(request):
        body = json.loads(request.content)
        bodies.append(body)
        if "prompt" not in body:
            return httpx.Response(400, json={"error": "prompt: field required"})
        return httpx.Response(200, json={"count": 2, "max_model_len": 32768, "tokens": [5, 6]})

    count = counter(server_model(vllm))
    assert (count("a"), count("b")) == (2, 2)
    # The shape that worked is remembered: one refused probe, then one request per count.
    assert bodies == [{"content": "a", "add_special": False},
                      {"prompt": "a", "model": "m", "add_special_tokens": False},
                      {"prompt": "b", "model": "m", "add_special_tokens": False}]


def test_a_server_without_tokenize_is_estimated_and_not_asked_again():
    asked = []

    def ollama(request):
        asked.append(request.url.path)
        return httpx.Response(404, text="404 page not found")

    count = counter(server_model(ollama))
    assert count("x" * 30) == estimate("x" * 30) == 10
    assert count("y" * 30) == 10
    assert asked == ["/tokenize", "/tokenize"]  # both shapes tried once, never again


def test_models_without_a_tokenizer_are_estimated():
    assert counter(ScriptedModel([]))("abcdef") == 2


@pytest.mark.parametrize("protocol", ["native", "text", "json"])
def test_small_context_mode_keeps_system_prompt_and_tool_specs_under_2500_tokens(tmp_path, protocol):
    for i in range(400):  # a repository far too big to list whole
        package = tmp_path / f"pkg{i % 20}"
        package.mkdir(exist_ok=True)
        (package / f"module_{i}.py").write_text(f"def function_{i}(a, b):\n    return a + b\n")
    (tmp_path / "AGENTS.md").write_text("Run the tests with `make test`.\n" + "More guidance. " * 2000)
    model = ScriptedModel([], ModelInfo("scripted", 16_384))
    chosen = protocol_named(protocol, "hermes")
    specs = [t.spec for t in default_tools()]
    system = session_prefix(Workspace.open(tmp_path), model, 1024, chosen, specs)
    tools = estimate(json.dumps([s.__dict__ for s in specs])) if protocol == "native" else 0
    assert estimate(system.content) + tools <= 2_500
    assert "Run the tests with `make test`." in system.content
    assert "pkg0/module_0.py" in system.content
