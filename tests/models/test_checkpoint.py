"""Loading models into the process: a PEFT adapter trained here on the tiny model, tool calls in the text and
native protocols through it, and the one-sentence errors for what cannot be loaded."""

import json

import pytest
from conftest import build_tiny_model, train_adapter

from luban.errors import ModelUnavailable
from luban.models.checkpoint import load_checkpoint, model_dtype
from luban.models.formats import FORMATS
from luban.models.in_process import TransformersModel
from luban.models.protocol import NativeProtocol, TextProtocol
from luban.tools import default_tools
from luban.types import Completion, Message, ToolCall

READ = [t.spec for t in default_tools() if t.spec.name in ("read_file", "list_dir")]
TASK = Message("user", "What is the secret word in notes.txt?")
TEXT = TextProtocol(FORMATS["hermes"])
CALL = ToolCall("call_0", "read_file", {"path": "notes.txt"})


def text_request():
    return TEXT.request([Message("system", "You are a coding agent.\n\n" + TEXT.system_text(READ)), TASK], READ,
                        0.0, 60)


def native_request():
    return NativeProtocol().request([Message("system", "You are a coding agent."), TASK], READ, 0.0, 60)


@pytest.fixture(scope="module")
def adapter(tiny_model, tmp_path_factory):
    """An adapter that teaches the tiny model to answer the task with a read_file call, in both protocols."""
    base = TransformersModel(load_checkpoint(tiny_model))
    reply = FORMATS["hermes"].render_call(CALL)
    return train_adapter(tiny_model, tmp_path_factory.mktemp("adapters") / "reads-notes",
                         [(base.prompt_text(text_request()), reply), (base.prompt_text(native_request()), reply)])


def reply(model, request):
    return [item for item in model.complete(request) if isinstance(item, Completion)][-1]


def test_with_the_adapter_the_text_protocol_reads_the_call(tiny_model, adapter):
    tuned, base = (TransformersModel(load_checkpoint(tiny_model, a)) for a in (adapter, None))
    turns = [TEXT.read(reply(m, text_request()).message, READ, "call") for m in (tuned, base)]
    assert [(t.calls, t.error) for t in turns] == [((CALL,), None), ((), None)]


def test_with_the_adapter_native_tools_come_back_as_tool_calls(tiny_model, adapter):
    completion = reply(TransformersModel(load_checkpoint(tiny_model, adapter)), native_request())
    assert (completion.message, completion.finish_reason) == (Message("assistant", "", (CALL,)), "tool_calls")


def test_the_weights_load_in_the_dtype_chosen_for_the_device_unless_one_is_given(tiny_model):
    import torch

    assert [load_checkpoint(tiny_model, dtype=d).model.dtype for d in (None, torch.float32)] == [
        model_dtype("cpu"), torch.float32]


def test_an_adapter_for_another_base_model_is_refused(tiny_model, tmp_path):
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    other = build_tiny_model(tmp_path / "wider", hidden=96)
    get_peft_model(AutoModelForCausalLM.from_pretrained(other), LoraConfig(target_modules=["q_proj", "v_proj"])
                   ).save_pretrained(tmp_path / "for-wider")
    with pytest.raises(ModelUnavailable) as error:
        load_checkpoint(tiny_model, tmp_path / "for-wider")
    assert str(error.value) == (f"The adapter in {tmp_path / 'for-wider'} does not fit tiny-qwen2: it was made for "
                                f"another base model ({other}).")


def test_a_folder_without_an_adapter_config_is_refused(tiny_model, tmp_path):
    with pytest.raises(ModelUnavailable) as error:
        load_checkpoint(tiny_model, tmp_path)
    assert str(error.value) == f"{tmp_path} is not a PEFT adapter: it has no adapter_config.json."


def test_a_folder_that_is_not_a_model_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("not a model\n")
    with pytest.raises(ModelUnavailable) as error:
        load_checkpoint(tmp_path)
    assert str(error.value) == f"{tmp_path} is not a Hugging Face model folder: it has no config.json."


def test_a_missing_path_is_refused(tmp_path):
    with pytest.raises(ModelUnavailable) as error:
        load_checkpoint(tmp_path / "nowhere")
    assert str(error.value) == f"No model at {tmp_path / 'nowhere'}; give a Hugging Face model folder or a .gguf file."


def test_a_gguf_of_an_architecture_transformers_lacks_is_refused(tmp_path):
    import gguf
    import numpy

    path = tmp_path / "odd.gguf"
    writer = gguf.GGUFWriter(str(path), "rwkv9")
    writer.add_tensor("token_embd.weight", numpy.zeros((4, 4), dtype=numpy.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    with pytest.raises(ModelUnavailable) as error:
        load_checkpoint(path)
    assert str(error.value) == (f"transformers cannot load the GGUF file {path}: GGUF model with architecture rwkv9 "
                                "is not supported yet.")


def test_a_file_that_is_not_gguf_is_refused(tmp_path):
    path = tmp_path / "broken.gguf"
    path.write_bytes(b"not a gguf file at all")
    with pytest.raises(ModelUnavailable) as error:
        load_checkpoint(path)
    assert str(error.value) == (f"transformers cannot load the GGUF file {path}: it does not start with the GGUF "
                                "magic bytes, so it is not a GGUF file.")


def test_a_model_folder_without_a_chat_template_is_refused(tiny_model, tmp_path):
    import shutil

    plain = tmp_path / "plain"
    shutil.copytree(tiny_model, plain)
    (plain / "chat_template.jinja").unlink(missing_ok=True)
    config = json.loads((plain / "tokenizer_config.json").read_text())
    config.pop("chat_template", None)
    (plain / "tokenizer_config.json").write_text(json.dumps(config))
    with pytest.raises(ModelUnavailable) as error:
        load_checkpoint(plain)
    assert str(error.value) == (f"The tokenizer of the model folder {plain} has no chat template, so Luban cannot "
                                "write its prompts; use an instruct (chat) model.")
