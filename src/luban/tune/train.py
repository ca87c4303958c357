"""`luban tune train`: LoRA on a dataset from `luban tune data`, with a plain torch loop over peft (measured
against TRL's SFTTrainer in bench/tune_loop.py). It checkpoints every `save_every` optimizer steps and resumes
from the last checkpoint when run again on the same OUT (a kill -9 loses at most those steps); the result is
OUT/adapter (PEFT) and OUT/adapter.gguf (for the embedded llama.cpp server)."""

from __future__ import annotations

import hashlib
import json
import math
import random
import resource
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

from ..errors import TuneError
from . import base as bases
from .dataset import CARD_JSON, DATASET, labelled
from .export import RENAME_ONLY, export_gguf
from .windows import Window, windows

TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
CHECKPOINT, ADAPTER, ADAPTER_GGUF, SUMMARY = "checkpoint", "adapter", "adapter.gguf", "train.json"
Progress = Callable[[str], None]


@dataclass(frozen=True)
class TrainConfig:
    """Defaults sized for small windows and CPUs: short windows, a small rank, accumulation for batch size."""

    max_length: int = 1024
    rank: int = 8
    alpha: int = 16
    dropout: float = 0.05
    lr: float = 2e-4
    accumulate: int = 8  # windows per optimizer step (one at a time: no padding)
    epochs: float = 1.0
    steps: int = 0  # optimizer steps; 0: as many as `epochs` takes
    save_every: int = 10
    seed: int = 0


@dataclass(frozen=True)
class Summary:
    steps: int
    resumed_at: int
    windows: int
    tokens: int  # processed, context included
    seconds: float
    tokens_per_s: float
    peak_memory_mb: float
    losses: tuple[float, ...]
    device: str


def train(base: bases.BaseModel, data: Path, out: Path, config: TrainConfig, progress: Progress,
          free_bytes: Callable[[Path], int] = lambda p: shutil.disk_usage(p).free) -> Summary:
    import torch

    samples = _dataset(data, base)
    device = bases.device()
    tokenizer = bases.tokenizer(base)
    cut = [w for s in samples for w in windows(*labelled(tokenizer, s["text"], s["train"]), config.max_length)]
    if not cut:
        raise TuneError(f"{data / DATASET} has no trained tokens within {config.max_length} tokens a window.")
    torch.manual_seed(config.seed)
    model = _peft(bases.model(base, device), config, base)
    params = [p for p in model.parameters() if p.requires_grad]
    _check_space(out, sum(p.numel() for p in params), free_bytes)
    optimizer = torch.optim.AdamW(params, lr=config.lr, weight_decay=0.0)
    total = config.steps or max(1, math.ceil(len(cut) * config.epochs / config.accumulate))
    fingerprint = _fingerprint(data, base, config, total)
    state = _resume(out, fingerprint, model, optimizer, progress)
    order = _order(len(cut), total * config.accumulate, config.seed)
    run = _Run(model, optimizer, cut, order, config, total, device)
    summary = run.loop(state, out, fingerprint, progress)
    _save(model, out, base, progress)
    return summary


def _dataset(data: Path, base: bases.BaseModel) -> list[dict[str, Any]]:
    path = data / DATASET
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
        card = json.loads((data / CARD_JSON).read_text())
    except (OSError, json.JSONDecodeError):
        raise TuneError(f"{data} is not a dataset from luban tune data (no readable {DATASET} and {CARD_JSON}).") \
            from None
    samples = [json.loads(line) for line in lines if line.strip()]
    if not samples:
        raise TuneError(f"{path} has no samples; build it again with luban tune data.")
    if card.get("model") not in (base.name, None):
        raise TuneError(f"{data} was rendered for {card['model']}, not {base.name}; build it for this model with "
                        f"luban tune data --model {base.name}.")
    return samples


def _peft(model: Any, config: TrainConfig, base: bases.BaseModel) -> Any:
    from peft import LoraConfig, get_peft_model

    present = {name.rsplit(".", 1)[-1] for name, _ in model.named_modules()}
    targets = [t for t in TARGETS if t in present]
    if not targets:
        raise TuneError(f"{base.name} has none of the layers LoRA adapts here ({', '.join(TARGETS)}).")
    lora = LoraConfig(r=config.rank, lora_alpha=config.alpha, lora_dropout=config.dropout,
                      target_modules=targets, task_type="CAUSAL_LM")
    model.config.use_cache = False
    return get_peft_model(model, lora)


def _check_space(out: Path, trainable: int, free_bytes: Callable[[Path], int]) -> None:
    """The adapter twice (PEFT, GGUF) and a checkpoint (weights and two Adam moments), in float32."""
    out.mkdir(parents=True, exist_ok=True)
    needed = trainable * 4 * 5 + (1 << 20)
    free = free_bytes(out)
    if free < needed:
        raise TuneError(f"No space for the adapter in {out}: it needs about {needed / 2**20:.1f} MiB and "
                        f"{free / 2**20:.1f} MiB is free; free some space or pass --out on another disk.")


def _fingerprint(data: Path, base: bases.BaseModel, config: TrainConfig, total: int) -> str:
    digest = hashlib.sha256((data / DATASET).read_bytes())
    settings = {**asdict(config), "save_every": 0, "steps": total, "base": base.name}
    digest.update(json.dumps(settings, sort_keys=True).encode())
    return digest.hexdigest()


def _order(n: int, draws: int, seed: int) -> list[int]:
    """Which window each micro-step trains on: shuffled epochs, fixed by the seed (a resume repeats it)."""
    rng, order = random.Random(seed), []
    while len(order) < draws:
        epoch = list(range(n))
        rng.shuffle(epoch)
        order += epoch
    return order[:draws]


@dataclass
class _State:
    step: int = 0
    losses: tuple[float, ...] = ()
    seconds: float = 0.0
    tokens: int = 0
    resumed_at: int = 0


class _Run:
    """The optimizer loop; progress and checkpoints between steps."""

    def __init__(self, model, optimizer, cut: list[Window], order: list[int], config: TrainConfig, total: int,
                 device: str):
        self.model, self.optimizer, self.cut, self.order = model, optimizer, cut, order
        self.config, self.total, self.device = config, total, device

    def loop(self, state: _State, out: Path, fingerprint: str, progress: Progress) -> Summary:
        self.model.train()
        warmup = max(1, self.total // 10)
        while state.step < self.total:
            started = time.monotonic()
            for group in self.optimizer.param_groups:
                group["lr"] = self.config.lr * _schedule(state.step, self.total, warmup)
            loss, tokens = self._step(state.step)
            state.step += 1
            state.losses += (round(loss, 5),)
            state.seconds += time.monotonic() - started
            state.tokens += tokens
            progress(_line(state, self.total))
            if state.step % self.config.save_every == 0 or state.step == self.total:
                _checkpoint(out, fingerprint, self.model, self.optimizer, state)
        return Summary(state.step, state.resumed_at, len(self.cut), state.tokens, round(state.seconds, 2),
                       round(state.tokens / max(state.seconds, 1e-9), 1), _peak_mb(self.device), state.losses,
                       self.device)

    def _step(self, step: int) -> tuple[float, int]:
        import torch

        accumulate, total_loss, tokens = self.config.accumulate, 0.0, 0
        for micro in range(accumulate):
            window = self.cut[self.order[step * accumulate + micro]]
            ids = torch.tensor([window.ids], device=self.device)
            labels = ids.masked_fill(torch.tensor([window.trained], device=self.device).logical_not(), -100)
            loss = self.model(input_ids=ids, labels=labels).loss / accumulate
            loss.backward()
            total_loss += loss.item()
            tokens += len(window.ids)
        torch.nn.utils.clip_grad_norm_([p for p in self.model.parameters() if p.requires_grad], 1.0)
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        return total_loss, tokens


def _schedule(step: int, total: int, warmup: int) -> float:
    """Linear warm-up, then linear decay to a tenth: a function of the step alone, so a resume needs no state."""
    if step < warmup:
        return (step + 1) / warmup
    return max(0.1, 1 - (step - warmup) / max(1, total - warmup))


def _line(state: _State, total: int) -> str:
    per_step = state.seconds / max(1, state.step - state.resumed_at)
    eta = per_step * (total - state.step)
    return (f"step {state.step}/{total}  loss {state.losses[-1]:.4f}  "
            f"{state.tokens / max(state.seconds, 1e-9):.0f} tok/s  {per_step:.1f} s/step  eta {eta:.0f} s")


def _peak_mb(device: str) -> float:
    import torch

    if device == "cuda":
        return round(torch.cuda.max_memory_allocated() / 2**20, 1)
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)  # Linux: KiB


def _checkpoint(out: Path, fingerprint: str, model, optimizer, state: _State) -> None:
    """Written beside the old one and swapped in, so a kill at any moment leaves one whole checkpoint."""
    import torch
    from peft import get_peft_model_state_dict
    from safetensors.torch import save_file

    new, current, old = out / f"{CHECKPOINT}.new", out / CHECKPOINT, out / f"{CHECKPOINT}.old"
    shutil.rmtree(new, ignore_errors=True)
    new.mkdir(parents=True)
    # save_embedding_layers=False: only LoRA layers are trained, and "auto" would look the base up on the hub.
    weights = get_peft_model_state_dict(model, save_embedding_layers=False)
    save_file({k: v.contiguous() for k, v in weights.items()}, str(new / "lora.safetensors"))
    torch.save({"optimizer": optimizer.state_dict(), "rng": torch.get_rng_state()}, new / "optimizer.pt")
    (new / "state.json").write_text(json.dumps({"fingerprint": fingerprint, **asdict(state)}))
    if current.exists():
        current.replace(old)
    new.replace(current)
    shutil.rmtree(old, ignore_errors=True)


def _resume(out: Path, fingerprint: str, model, optimizer, progress: Progress) -> _State:
    import torch
    from peft import set_peft_model_state_dict
    from safetensors.torch import load_file

    found = next((d for d in (out / CHECKPOINT, out / f"{CHECKPOINT}.old") if (d / "state.json").exists()), None)
    if found is None:
        return _State()
    saved = json.loads((found / "state.json").read_text())
    if saved.pop("fingerprint") != fingerprint:
        raise TuneError(f"{out} holds a training run on other data, another base model or other settings; "
                        "pass another --out, or delete it to start over.")
    set_peft_model_state_dict(model, load_file(str(found / "lora.safetensors")))
    extra = torch.load(found / "optimizer.pt", weights_only=False)
    optimizer.load_state_dict(extra["optimizer"])
    torch.set_rng_state(extra["rng"])
    state = _State(**{**saved, "losses": tuple(saved["losses"])})
    state.resumed_at = state.step
    progress(f"resuming at step {state.step} from {found}")
    return state


def _save(model, out: Path, base: bases.BaseModel, progress: Progress) -> None:
    """The PEFT adapter, named after its base model, and its GGUF form where the architecture allows."""
    adapter = out / ADAPTER
    model.peft_config["default"].base_model_name_or_path = base.name
    try:
        model.save_pretrained(str(adapter), save_embedding_layers=False)
    except OSError as exc:
        raise TuneError(f"Could not write the adapter to {adapter}: {exc.strerror or exc}.") from None
    model_type, blocks = bases.architecture(model.base_model.model.config)
    if model_type not in RENAME_ONLY:
        progress(f"No GGUF adapter for a {model_type} model (only {', '.join(RENAME_ONLY)}); {adapter} works with "
                 "--transformers.")
        return
    export_gguf(adapter, out / ADAPTER_GGUF, model_type, blocks)
