"""A tiny randomly initialised Qwen2 model (2 layers, hidden 64, a 1200-token byte-level BPE vocabulary trained
here, Qwen2.5's own chat template), saved once per test session as a Hugging Face folder: the real transformers
path in seconds, with no download."""

from __future__ import annotations

from pathlib import Path

import pytest

TEMPLATE = Path(__file__).parent / "fixtures" / "qwen2.5-chat-template.jinja"
SPECIAL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
MARKUP = ["<tool_call>", "</tool_call>", "<tool_response>", "</tool_response>", "<tools>", "</tools>"]


def corpus() -> list[str]:
    """Text like the prompts the tests send, so the tiny vocabulary writes them in few tokens."""
    from luban.models.formats import FORMATS
    from luban.models.protocol import JsonProtocol
    from luban.tools import default_tools

    specs = [tool.spec for tool in default_tools()]
    return [TEMPLATE.read_text(), JsonProtocol().system_text(specs), FORMATS["hermes"].render_tools(specs), *SAMPLES]


SAMPLES = [
    '{"thought": "Read the file first.", "tool": "read_file", "args": {"path": "app.py"}}',
    '{"name": "read_file", "arguments": {"path": "notes.txt"}}',
    "def add(a, b):\n    return a + b\n\nclass Point:\n    x: int = 0\n",
    "Answer every message with exactly one JSON object and nothing else. The tool's result comes back.",
    "You are a coding agent. Read the file, fix the bug, run the tests and finish with an answer.",
]


def build_tiny_model(folder: Path, hidden: int = 64, seed: int = 0) -> Path:
    """Write a tiny Qwen2 model and its tokenizer to `folder`; returns it."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    bpe.train_from_iterator(corpus(), trainers.BpeTrainer(vocab_size=1200, special_tokens=SPECIAL, show_progress=False,
                                                        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    bpe.add_tokens(MARKUP)
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=bpe, eos_token="<|im_end|>", pad_token="<|endoftext|>",
                                        chat_template=TEMPLATE.read_text())
    torch.manual_seed(seed)
    config = Qwen2Config(vocab_size=len(tokenizer), hidden_size=hidden, intermediate_size=2 * hidden,
                         num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                         max_position_embeddings=4096, tie_word_embeddings=True, initializer_range=0.1,
                         eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id)
    model = Qwen2ForCausalLM(config)
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    import torch

    # One thread: on a machine whose cores are busy, two threads spin on each other's barriers, and a tiny
    # model's decode step goes from 1 ms to 40 ms.
    torch.set_num_threads(1)
    return build_tiny_model(tmp_path_factory.mktemp("models") / "tiny-qwen2")


def train_adapter(base: Path, folder: Path, examples: list[tuple[str, str]], steps: int = 40) -> Path:
    """A LoRA adapter on `base` trained until greedy decoding answers each prompt with its reply (text as the
    chat template wrote it); saved with PEFT to `folder`."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(base)
    torch.manual_seed(0)
    model = get_peft_model(AutoModelForCausalLM.from_pretrained(base), LoraConfig(
        r=8, lora_alpha=16, lora_dropout=0.0,
        target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]))
    batches = []
    for prompt, reply in examples:
        asked = tokenizer(prompt, add_special_tokens=False)["input_ids"]
        answer = tokenizer(reply + tokenizer.eos_token, add_special_tokens=False)["input_ids"]
        batches.append((torch.tensor([asked + answer]), torch.tensor([[-100] * len(asked) + answer])))
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    for _ in range(steps):
        for ids, labels in batches:
            model(input_ids=ids, labels=labels).loss.backward()
            optimizer.step()
            optimizer.zero_grad()
    model.save_pretrained(folder)
    return folder
