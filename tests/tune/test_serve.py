"""The GGUF adapter in the embedded llama.cpp server (xllamacpp) on a tiny Qwen2 GGUF: it loads and changes
what the model says; an adapter for another base model, or a wrong --adapter, is one sentence."""

import httpx
import pytest

from luban.config import Settings
from luban.errors import ConfigError, ModelUnavailable
from luban.models.embedded import EmbeddedServer
from luban.ui.runtime import adapter_file
from luban.tune.base import locate
from luban.tune.train import TrainConfig, train

from . import tiny

PROMPT = {"messages": [{"role": "user", "content": "def add(a, b):"}], "max_tokens": 8, "temperature": 0}


@pytest.fixture(scope="module")
def adapter(tmp_path_factory, tiny_model, dataset):
    out = tmp_path_factory.mktemp("serve")
    # A high learning rate, so that a few steps change the tiny model's greedy output.
    train(locate(str(tiny_model), out), dataset, out, TrainConfig(max_length=256, accumulate=1, steps=4, lr=0.5),
          lambda line: None)
    return out / "adapter.gguf"


def reply(gguf, log, adapter=None):
    with EmbeddedServer(gguf, "tiny", 256, log, threads=1, adapter=adapter) as server:
        url = server.start(lambda *a: None)
        body = httpx.post(url + "/v1/chat/completions", json=PROMPT, timeout=60).json()
        loaded = httpx.get(url + "/lora-adapters", timeout=10).json()
    return body["choices"][0]["message"]["content"], loaded


def test_the_embedded_server_applies_the_adapter(tiny_model, adapter, tmp_path):
    gguf = tiny.gguf_file(tiny_model, tmp_path / "tiny.gguf")
    base, no_adapters = reply(gguf, tmp_path / "server.log")
    tuned, adapters = reply(gguf, tmp_path / "server.log", adapter)
    assert no_adapters == []
    assert [(a["path"], a["scale"]) for a in adapters] == [(str(adapter), 1.0)]
    assert tuned != base


def test_an_adapter_for_another_base_model_is_one_sentence(adapter, tmp_path):
    other = tiny.gguf_file(tiny.model_folder(tmp_path / "other", hidden=32), tmp_path / "other.gguf")
    with pytest.raises(ModelUnavailable) as caught:
        reply(other, tmp_path / "server.log", adapter)
    assert str(caught.value) == (
        f"The adapter {adapter} does not fit the model tiny (llama.cpp: tensor 'blk.0.attn_k.weight' has incorrect "
        "shape (hint: maybe wrong base model?)); use an adapter trained on this base model.")


def test_a_wrong_adapter_flag_is_one_sentence_before_anything_starts(adapter, tmp_path):
    cases = {str(adapter.parent / "adapter"): f"{adapter.parent / 'adapter'} is a folder; the embedded model takes "
             "the GGUF adapter file that luban tune train wrote beside it (adapter.gguf).",
             str(tmp_path / "nope.gguf"): f"No adapter file {tmp_path / 'nope.gguf'}."}
    for flag, sentence in cases.items():
        with pytest.raises(ConfigError) as caught:
            adapter_file(Settings(adapter=flag))
        assert str(caught.value) == sentence
    with pytest.raises(ConfigError) as caught:
        adapter_file(Settings(adapter=str(adapter), base_url="http://127.0.0.1:1/v1"))
    assert str(caught.value) == ("--adapter applies to the embedded model or an in-process one (--transformers); "
                                  "a server at --base-url loads its own adapters.")
    assert adapter_file(Settings(adapter=str(adapter))) == adapter
