"""A PEFT LoRA adapter written as a GGUF LoRA adapter that llama.cpp (the embedded server) loads.

The facts follow llama.cpp's own converter (convert_lora_to_gguf.py) and loader (llama-adapter.cpp):
general.type = adapter, adapter.type = lora, adapter.lora.alpha; each adapted weight's base GGUF name
(the gguf package's tensor name map) with `.lora_a` (rank × in) and `.lora_b` (out × rank) appended.
"""

from __future__ import annotations

import errno
import json
from pathlib import Path

from ..errors import TuneError

# Architectures whose Hugging Face weights reach GGUF by renaming alone. Llama-family converters permute the
# q and k rows, which a LoRA's B matrix would have to follow; that is not done here.
RENAME_ONLY = ("qwen2", "qwen3")
ADAPTER_FILE = "adapter_model.safetensors"


def export_gguf(adapter_dir: Path, out: Path, model_type: str, blocks: int) -> Path:
    """Write the adapter in `adapter_dir` (PEFT's save_pretrained) to the GGUF file `out`; returns `out`."""
    import gguf  # deferred: part of the `transformers` extra
    from safetensors.torch import load_file

    if model_type not in RENAME_ONLY:
        raise TuneError(f"A GGUF adapter can be written for {', '.join(RENAME_ONLY)} models, not {model_type}; "
                        f"the PEFT adapter in {adapter_dir} still works with --transformers.")
    config = json.loads((adapter_dir / "adapter_config.json").read_text())
    arch = next(a for a, name in gguf.MODEL_ARCH_NAMES.items() if name == model_type)
    names = gguf.get_tensor_name_map(arch, blocks)
    pairs = _pairs(load_file(str(adapter_dir / ADAPTER_FILE)), names)
    partial = out.with_name(out.name + ".partial")
    writer = gguf.GGUFWriter(str(partial), model_type)
    writer.add_type(gguf.GGUFType.ADAPTER)
    writer.add_string(gguf.Keys.Adapter.TYPE, "lora")
    writer.add_float32(gguf.Keys.Adapter.LORA_ALPHA, float(config["lora_alpha"]))
    for name, (a, b) in sorted(pairs.items()):  # float32 whatever the training dtype (numpy has no bfloat16)
        writer.add_tensor(f"{name}.lora_a", a.float().numpy())
        writer.add_tensor(f"{name}.lora_b", b.float().numpy())
    try:
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
        writer.close()
        partial.replace(out)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        if exc.errno == errno.ENOSPC:
            raise TuneError(f"No space left for the GGUF adapter {out}; free some space or write it elsewhere "
                            "with --out.") from None
        raise
    return out


def _pairs(tensors: dict, names) -> dict[str, tuple]:
    """{base GGUF tensor name: (A, B)} from PEFT's `base_model.model.<hf name>.lora_A.weight` keys."""
    pairs: dict[str, dict[str, object]] = {}
    for key, value in tensors.items():
        half = "A" if ".lora_A." in key else "B" if ".lora_B." in key else None
        if half is None:
            raise TuneError(f"The adapter holds {key}, which is not a LoRA matrix; only LoRA adapters can be "
                            "written as GGUF.")
        hf_name = key.removeprefix("base_model.model.").replace(f".lora_{half}.weight", ".weight")
        gguf_name = names.get_name(hf_name, try_suffixes=(".weight",))
        if gguf_name is None:
            raise TuneError(f"The adapter changes {hf_name}, which has no GGUF name for this architecture.")
        pairs.setdefault(gguf_name, {})[half] = value
    return {name: (ab["A"], ab["B"]) for name, ab in pairs.items()}
