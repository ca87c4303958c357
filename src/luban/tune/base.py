"""The base model to tune: a Hugging Face folder, a GGUF file (transformers dequantizes it), or an embedded
model by name (its assembled GGUF). Torch and transformers are imported only here and in train.py."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ModelUnavailable, TuneError

EXTRA = "luban tune needs the transformers extra: pip install 'luban[transformers]'."


@dataclass(frozen=True)
class BaseModel:
    folder: Path
    gguf_file: str | None  # a GGUF file in `folder`, loaded through transformers' GGUF support
    name: str  # how the dataset card and the adapter name it

    @property
    def kwargs(self) -> dict[str, Any]:
        return {"gguf_file": self.gguf_file} if self.gguf_file else {}


def locate(spec: str, data_dir: Path) -> BaseModel:
    """The model `spec` names; an embedded model is assembled from its parts if it was not yet."""
    from ..models import catalog

    if spec in catalog.CATALOG:
        path = catalog.assemble(catalog.CATALOG[spec], data_dir, lambda *_: None)
        return BaseModel(path.parent, path.name, spec)
    path = Path(spec).expanduser()
    if path.is_file() and path.suffix == ".gguf":
        return BaseModel(path.parent, path.name, path.name)
    if path.is_dir() and (path / "config.json").is_file():
        return BaseModel(path, None, path.name)
    ggufs = sorted(path.glob("*.gguf")) if path.is_dir() else []
    if len(ggufs) == 1:
        return BaseModel(path, ggufs[0].name, ggufs[0].name)
    raise ModelUnavailable(f"{spec} is not a model: give a Hugging Face model folder (with config.json), a GGUF "
                           f"file, or an embedded model name ({', '.join(catalog.CATALOG)}).")


def tokenizer(base: BaseModel) -> Any:
    try:
        from transformers import AutoTokenizer
    except ImportError:
        raise TuneError(EXTRA) from None
    _quiet()
    try:
        return AutoTokenizer.from_pretrained(str(base.folder), **base.kwargs)
    except (OSError, ValueError) as exc:
        raise ModelUnavailable(f"Cannot read the tokenizer of {base.name}: {_first_line(exc)}") from None


def model(base: BaseModel, device: str) -> Any:
    """The model in float32 on CPU, bfloat16 on a GPU that has it (LoRA training is stable in both)."""
    try:
        import torch
        from transformers import AutoModelForCausalLM
    except ImportError:
        raise TuneError(EXTRA) from None
    _quiet()
    dtype = torch.bfloat16 if device == "cuda" and torch.cuda.is_bf16_supported() else torch.float32
    try:
        loaded = AutoModelForCausalLM.from_pretrained(str(base.folder), dtype=dtype, **base.kwargs)
    except (OSError, ValueError) as exc:
        raise ModelUnavailable(f"Cannot load {base.name}: {_first_line(exc)}") from None
    return loaded.to(device)


def _quiet() -> None:
    """No per-tensor progress bars from transformers: luban prints its own progress."""
    from transformers.utils import logging

    logging.disable_progress_bar()
    logging.set_verbosity_error()


def device() -> str:
    """CUDA where torch sees a GPU, else the CPU."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def architecture(model_config: Any) -> tuple[str, int]:
    """(model type, number of blocks): what the GGUF adapter's tensor names depend on."""
    return model_config.model_type, int(model_config.num_hidden_layers)


def adapter_base(adapter_dir: Path) -> dict[str, Any]:
    config = adapter_dir / "adapter_config.json"
    try:
        return json.loads(config.read_text())
    except (OSError, json.JSONDecodeError):
        raise TuneError(f"{adapter_dir} is not a PEFT adapter (no readable adapter_config.json).") from None


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    line = text[0] if text else type(exc).__name__
    return line if line.endswith(".") else line + "."
