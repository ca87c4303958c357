"""`luban tune train` on a tiny random Qwen2: the PEFT adapter and its GGUF form, resuming after kill -9, and
the one-sentence refusals of bad input."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from luban.errors import ModelUnavailable, TuneError
from luban.tune.base import BaseModel, locate
from luban.tune.train import TrainConfig, train

CONFIG = TrainConfig(max_length=256, accumulate=1, steps=3, save_every=2, lr=0.01)
BLOCKS = ("attn_k", "attn_output", "attn_q", "attn_v", "ffn_down", "ffn_gate", "ffn_up")


@pytest.fixture(scope="module")
def trained(tmp_path_factory, tiny_model, dataset):
    out = tmp_path_factory.mktemp("tuned")
    summary = train(locate(str(tiny_model), out), dataset, out, CONFIG, lambda line: None)
    return out, summary


def test_training_writes_a_peft_adapter_that_loads_back_onto_its_base(tiny_model, trained):
    import torch
    from peft import PeftModel
    from safetensors.torch import load_file
    from transformers import AutoModelForCausalLM

    out, summary = trained
    assert (summary.steps, summary.resumed_at, len(summary.losses), summary.device) == (3, 0, 3, "cpu")
    config = json.loads((out / "adapter" / "adapter_config.json").read_text())
    assert (config["base_model_name_or_path"], config["r"], config["lora_alpha"]) == (tiny_model.name, 8, 16)
    saved = load_file(str(out / "adapter" / "adapter_model.safetensors"))
    assert any(v.abs().sum() > 0 for k, v in saved.items() if "lora_B" in k)  # it learned something
    base = AutoModelForCausalLM.from_pretrained(str(tiny_model))
    ids = torch.tensor([[5, 6, 7, 8]])
    before = base(ids).logits
    tuned = PeftModel.from_pretrained(base, str(out / "adapter"))
    loaded = {k.replace(".default", ""): v for k, v in tuned.state_dict().items() if "lora_" in k}
    assert sorted(loaded) == sorted(saved) and all(torch.equal(loaded[k], saved[k]) for k in saved)
    assert not torch.allclose(tuned(ids).logits, before)


def test_the_gguf_adapter_has_llama_cpps_metadata_and_tensor_names(trained):
    import gguf
    from safetensors.numpy import load_file

    out, _ = trained
    reader = gguf.GGUFReader(str(out / "adapter.gguf"))
    fields = {k: reader.fields[k].contents() for k in ("general.architecture", "general.type", "adapter.type",
                                                       "adapter.lora.alpha")}
    assert fields == {"general.architecture": "qwen2", "general.type": "adapter", "adapter.type": "lora",
                      "adapter.lora.alpha": 16.0}
    tensors = {t.name: t for t in reader.tensors}
    assert sorted(tensors) == sorted(f"blk.{i}.{b}.weight.lora_{ab}" for i in (0, 1) for b in BLOCKS for ab in "ab")
    q_a, q_b = tensors["blk.0.attn_q.weight.lora_a"], tensors["blk.0.attn_q.weight.lora_b"]
    assert ([int(n) for n in q_a.shape], [int(n) for n in q_b.shape]) == ([64, 8], [8, 64])  # ne: (in, r), (r, out)
    peft = load_file(str(out / "adapter" / "adapter_model.safetensors"))
    key = "base_model.model.model.layers.0.self_attn.q_proj.lora_{}.weight"
    assert (q_a.data == peft[key.format("A")]).all() and (q_b.data == peft[key.format("B")]).all()


def test_a_run_killed_with_sigkill_resumes_from_its_last_checkpoint(tiny_model, dataset, tmp_path):
    from safetensors.torch import load_file

    config = TrainConfig(max_length=256, accumulate=1, steps=20, save_every=2, lr=0.01)
    killed = tmp_path / "killed"
    argv = [sys.executable, "-m", "luban.ui.cli", "tune", "train", "--model", str(tiny_model), "--data",
            str(dataset), "--out", str(killed), "--max-length", "256", "--accumulate", "1", "--steps", "20",
            "--save-every", "2", "--lr", "0.01"]
    child = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             env={**os.environ, "LUBAN_HOME": str(tmp_path / "home")})
    state = killed / "checkpoint" / "state.json"
    deadline = time.monotonic() + 120
    while not state.exists() and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    child.send_signal(signal.SIGKILL)
    child.wait()
    at = json.loads(state.read_text())["step"]
    assert 2 <= at < 20
    lines = []
    resumed = train(locate(str(tiny_model), tmp_path), dataset, killed, config, lines.append)
    assert (resumed.steps, resumed.resumed_at, len(resumed.losses)) == (20, at, 20)
    assert lines[0] == f"resuming at step {at} from {killed / 'checkpoint'}"
    whole = train(locate(str(tiny_model), tmp_path), dataset, tmp_path / "whole", config, lambda line: None)
    assert resumed.losses == whole.losses
    a = load_file(str(killed / "adapter" / "adapter_model.safetensors"))
    b = load_file(str(tmp_path / "whole" / "adapter" / "adapter_model.safetensors"))
    assert all(a[k].equal(b[k]) for k in b)


def test_a_folder_that_is_not_a_model_is_one_sentence(tmp_path):
    with pytest.raises(ModelUnavailable) as caught:
        locate(str(tmp_path), tmp_path)
    assert str(caught.value) == (f"{tmp_path} is not a model: give a Hugging Face model folder (with config.json), "
                                 "a GGUF file, or an embedded model name (qwen2.5-coder-1.5b, qwen2.5-coder-0.5b).")


def test_a_dataset_without_samples_is_one_sentence(tiny_model, tmp_path):
    (tmp_path / "ds").mkdir()
    (tmp_path / "ds" / "dataset.jsonl").write_text("")
    (tmp_path / "ds" / "card.json").write_text(json.dumps({"model": tiny_model.name}))
    with pytest.raises(TuneError) as caught:
        train(locate(str(tiny_model), tmp_path), tmp_path / "ds", tmp_path / "out", CONFIG, print)
    assert str(caught.value) == f"{tmp_path / 'ds' / 'dataset.jsonl'} has no samples; build it again with luban tune data."


def test_a_dataset_for_another_model_is_one_sentence(tiny_model, dataset, tmp_path):
    other = BaseModel(tiny_model, None, "other-model")
    with pytest.raises(TuneError) as caught:
        train(other, dataset, tmp_path / "out", CONFIG, print)
    assert str(caught.value) == (f"{dataset} was rendered for {tiny_model.name}, not other-model; build it for this "
                                 "model with luban tune data --model other-model.")


def test_resuming_into_a_run_with_other_settings_is_one_sentence(tiny_model, dataset, trained):
    out, _ = trained
    with pytest.raises(TuneError) as caught:
        train(locate(str(tiny_model), out), dataset, out, TrainConfig(max_length=256, rank=4, steps=3), print)
    assert str(caught.value) == (f"{out} holds a training run on other data, another base model or other settings; "
                                 "pass another --out, or delete it to start over.")


def test_no_disk_space_for_the_adapter_is_one_sentence_before_training(tiny_model, dataset, tmp_path):
    with pytest.raises(TuneError) as caught:
        train(locate(str(tiny_model), tmp_path), dataset, tmp_path / "out", CONFIG, print,
              free_bytes=lambda path: 1000)
    assert str(caught.value) == (f"No space for the adapter in {tmp_path / 'out'}: it needs about 1.3 MiB and 0.0 MiB "
                                 "is free; free some space or pass --out on another disk.")
    assert list((tmp_path / "out").iterdir()) == []
