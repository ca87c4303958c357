"""Loading a model into this process with Hugging Face transformers: a model folder or a GGUF file, an optional
PEFT adapter on top, on CUDA where torch finds it, else the CPU. Every failure the user can fix is one sentence."""

from __future__ import annotations

import contextlib
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from ..errors import ModelUnavailable

# What transformers, torch and peft raise for files they cannot read (a bad file is not a bug of ours).
_UNREADABLE = (OSError, ValueError, KeyError, RuntimeError)


@dataclass(frozen=True)
class Checkpoint:
    """A loaded model and its tokenizer, ready to generate."""

    model: Any
    tokenizer: Any
    name: str  # what profiles are matched on: the folder's or the GGUF file's name
    context_window: int | None
    device: str


def load_checkpoint(path: Path, adapter: Path | None = None, device: str | None = None, dtype: Any = None,
                    progress: Callable[[str, float], None] = lambda stage, fraction: None) -> Checkpoint:
    """Load `path` (a Hugging Face model folder, or a .gguf file that transformers dequantizes), then `adapter`;
    on `device` in `dtype` (a torch dtype), by default the ones `model_dtype` picks where torch finds a GPU or not."""
    import torch  # deferred: seconds to import, and only this backend needs it

    source = _source(path)
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    progress(f"loading {path.name} with transformers on {device}", -1.0)
    tokenizer = _tokenizer(path, source)
    model = _model(path, source, device, dtype or model_dtype(device))
    if adapter is not None:
        progress(f"applying the adapter {adapter.name}", -1.0)
        model = apply_adapter(model, adapter, path.name)
    model.eval()
    window = getattr(model.config, "max_position_embeddings", None)
    name = path.stem if path.suffix == ".gguf" else path.resolve().name
    return Checkpoint(model, tokenizer, name, window if isinstance(window, int) else None, device)


def _source(path: Path) -> dict[str, Any]:
    """from_pretrained's arguments for `path`; offline only, since a name on the Hub is not a path here."""
    if path.is_file() and path.suffix.lower() == ".gguf":
        return {"pretrained_model_name_or_path": str(path.parent), "gguf_file": path.name, "local_files_only": True}
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise ModelUnavailable(f"{path} is not a Hugging Face model folder: it has no config.json.")
        return {"pretrained_model_name_or_path": str(path), "local_files_only": True}
    if path.exists():
        raise ModelUnavailable(f"{path} is neither a model folder nor a .gguf file.")
    raise ModelUnavailable(f"No model at {path}; give a Hugging Face model folder or a .gguf file.")


def _what(path: Path) -> str:
    return f"the GGUF file {path}" if path.suffix.lower() == ".gguf" else f"the model folder {path}"


def _tokenizer(path: Path, source: dict[str, Any]) -> Any:
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(**source)
    except _UNREADABLE as exc:
        raise ModelUnavailable(f"transformers cannot load {_what(path)}: {_reason(exc, path)}.") from None
    if not getattr(tokenizer, "chat_template", None):
        raise ModelUnavailable(f"The tokenizer of {_what(path)} has no chat template, so Luban cannot write "
                               "its prompts; use an instruct (chat) model.")
    return tokenizer


def _model(path: Path, source: dict[str, Any], device: str, dtype: Any) -> Any:
    from transformers import AutoModelForCausalLM
    from transformers.utils import logging

    logging.disable_progress_bar()  # its bars would tear the TUI; Luban shows its own progress
    placement: dict[str, Any] = {"device_map": device} if device.startswith("cuda") else {}
    try:
        # The GGUF loader draws a bar with plain tqdm on stderr, which no transformers setting turns off.
        with contextlib.redirect_stderr(io.StringIO()):
            model = AutoModelForCausalLM.from_pretrained(**source, dtype=dtype, **placement)
    except _UNREADABLE as exc:
        raise ModelUnavailable(f"transformers cannot load {_what(path)}: {_reason(exc, path)}.") from None
    return model if placement else model.to(device)


def model_dtype(device: str) -> Any:
    """bfloat16 on a GPU (float16 where it has none); on a CPU bfloat16 only where it has bf16 instructions.

    bench/transformers_cache.py on the 0.5B, AVX512-BF16 CPU: bfloat16 read the prompt 1.8x faster than float32 at
    the same decode speed and gave the same greedy reply; without such instructions bf16 is emulated and slower.
    """
    import torch

    if device.startswith("cuda"):
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    native = [getattr(torch.cpu, name, lambda: False)() for name in ("_is_avx512_bf16_supported",
                                                                     "_is_amx_tile_supported")]
    return torch.bfloat16 if any(native) else torch.float32


def apply_adapter(model: Any, adapter: Path, base_name: str) -> Any:
    """The model with the PEFT adapter in `adapter` merged into its weights (merged: as fast as the base)."""
    from peft import PeftModel

    config_file = adapter / "adapter_config.json"
    if not config_file.is_file():
        raise ModelUnavailable(f"{adapter} is not a PEFT adapter: it has no adapter_config.json.")
    try:
        tuned = PeftModel.from_pretrained(model, str(adapter))
    except _UNREADABLE:
        # PEFT's own message is a page of mismatched tensor shapes; what the user needs is which model it fits.
        base = _adapter_base(config_file)
        raise ModelUnavailable(f"The adapter in {adapter} does not fit {base_name}: it was made for another base "
                               f"model{f' ({base})' if base else ''}.") from None
    return tuned.merge_and_unload()


def _adapter_base(config_file: Path) -> str:
    try:
        return str(json.loads(config_file.read_text()).get("base_model_name_or_path") or "")
    except (OSError, ValueError, AttributeError):
        return ""


def _reason(exc: BaseException, path: Path) -> str:
    """The first line of a library's error, the path already named called "it", without its closing period."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    text = (lines[0] if lines else type(exc).__name__).replace(str(path), "it")
    return (text[:199] + "…" if len(text) > 200 else text).rstrip(".")
