"""The fine-tuning loop: plain PyTorch.

Why not DeepSpeed here: fine-tuning a BERT-base/large-sized model fits one device, and on CPU DeepSpeed
adds no speed (checked on this project's 2-core machine when it was planned) but adds process-group set-up
and a JIT build;
what fine-tuning needs from the paper -- mixed precision, gradient accumulation, layer-wise learning-rate
decay, warmup + decay, clipping -- is a few lines of torch. Pretraining (multi-GPU, ZeRO) is where
DeepSpeed earns its place.

* AdamW with decoupled weight decay, none on biases and LayerNorm weights (as BERT and HF ``Trainer``).
* Layer-wise learning-rate decay (``layer_lr_decay < 1``): the head gets the base rate, the top encoder
  layer ``decay`` times it, each layer below another factor ``decay``, the embeddings the lowest.
* Linear warmup, then linear or cosine decay to zero, stepped per optimiser update.
* Mixed precision only on a GPU (bf16 where supported, else fp16 with loss scaling); fp32 on CPU, where
  bf16 is ~33x slower on this class of machine and fp16 is unsupported.
* Evaluation on dev after every epoch; the best epoch's weights are kept (in memory, on CPU) and restored
  at the end; optional early stopping after ``patience`` epochs without improvement.
"""

from __future__ import annotations

import math
import random
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from model.finetune.features import Feature, collate
from model.finetune.params import FinetuneParams

Progress = Callable[[int, int], None]
TARGETS = ("labels", "label", "start", "end")


def set_seed(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def pick_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def autocast_dtype(precision: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype for ``precision`` on ``device``; ``None`` means plain fp32."""
    if precision == "fp32" or (precision == "auto" and device.type != "cuda"):
        return None
    if precision == "auto":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if precision == "fp16" and device.type != "cuda":
        raise ValueError("fp16 needs a GPU; use precision 'fp32' (or 'bf16', slow on most CPUs)")
    return {"bf16": torch.bfloat16, "fp16": torch.float16}[precision]


_LAYER = re.compile(r"\.layers?\.(\d+)\.")


def layer_depth(name: str, n_layers: int) -> int:
    """Distance from the output: 0 for the head, 1 for the top encoder layer (and other encoder parameters
    such as a final LayerNorm), ``n_layers`` for the bottom layer, ``n_layers + 1`` for the embeddings."""
    if not name.startswith("encoder."):
        return 0
    if "embeddings" in name:
        return n_layers + 1
    m = _LAYER.search(name)
    return n_layers - int(m.group(1)) if m else 1


def param_groups(model: nn.Module, params: FinetuneParams) -> list[dict[str, Any]]:
    """AdamW groups by (learning-rate depth, weight decay or not)."""
    no_decay = {id(p) for m in model.modules() if isinstance(m, nn.LayerNorm) for p in m.parameters()}
    n_layers = int(getattr(getattr(model, "encoder", model), "config").num_hidden_layers)
    groups: dict[tuple[int, bool], dict[str, Any]] = {}
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        depth = layer_depth(name, n_layers) if params.layer_lr_decay != 1.0 else 0
        decay = not (name.endswith("bias") or id(p) in no_decay)
        g = groups.setdefault(
            (depth, decay),
            {"params": [], "lr": params.learning_rate * params.layer_lr_decay**depth, "weight_decay": params.weight_decay if decay else 0.0},
        )
        g["params"].append(p)
    return [groups[k] for k in sorted(groups)]


def lr_lambda(total_steps: int, warmup_steps: int, schedule: str) -> Callable[[int], float]:
    def f(step: int) -> float:
        if step < warmup_steps:
            return step / max(1, warmup_steps)
        progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
        if schedule == "cosine":
            return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))
        return max(0.0, 1.0 - progress)

    return f


def batches(features: Sequence[Feature], batch_size: int, generator: torch.Generator | None = None) -> list[list[Feature]]:
    order = torch.randperm(len(features), generator=generator).tolist() if generator is not None else range(len(features))
    order = list(order)
    return [[features[i] for i in order[k : k + batch_size]] for k in range(0, len(order), batch_size)]


def _to(batch: dict[str, torch.Tensor], device: torch.device) -> dict[str, torch.Tensor]:
    return {k: v.to(device, non_blocking=True) for k, v in batch.items()}


@torch.no_grad()
def predict(model: nn.Module, features: Sequence[Feature], pad_id: int, batch_size: int, precision: str = "auto") -> list[torch.Tensor]:
    """Logits per feature (on CPU, padding removed), in input order.

    Features are run in length order, so each batch pads little, then put back in input order.
    """
    device = next(model.parameters()).device
    dtype = autocast_dtype(precision, device)
    model.eval()
    order = sorted(range(len(features)), key=lambda i: len(features[i]["input_ids"]))
    out: list[torch.Tensor | None] = [None] * len(features)
    for k in range(0, len(order), batch_size):
        idx = order[k : k + batch_size]
        batch = {k: v for k, v in collate([features[i] for i in idx], pad_id).items() if k not in TARGETS}
        with torch.autocast(device.type, dtype=dtype or torch.float32, enabled=dtype is not None):
            _, logits = model(_to(batch, device))
        logits = logits.float().cpu()
        for j, i in enumerate(idx):
            n = len(features[i]["input_ids"])
            out[i] = logits[j, :n] if logits.dim() == 3 else logits[j]
    return out  # type: ignore[return-value]


@dataclass
class EpochLog:
    epoch: int
    train_loss: float
    dev: dict[str, float]
    seconds: float


@dataclass
class TrainResult:
    best_epoch: int
    best_dev: dict[str, float]
    history: list[EpochLog] = field(default_factory=list)
    stopped_early: bool = False
    optimizer_steps: int = 0
    train_seconds: float = 0.0


def train(
    model: nn.Module,
    train_features: Sequence[Feature],
    evaluate: Callable[[nn.Module], dict[str, float]],
    primary: str,
    params: FinetuneParams,
    pad_id: int,
    progress: Progress | None = None,
) -> TrainResult:
    """Train ``model`` in place; afterwards it holds the weights of the epoch with the best ``evaluate()[primary]``."""
    device = next(model.parameters()).device
    dtype = autocast_dtype(params.precision, device)
    scaler = torch.amp.GradScaler(device.type, enabled=dtype == torch.float16)
    optimizer = torch.optim.AdamW(param_groups(model, params), lr=params.learning_rate, betas=(0.9, 0.999), eps=1e-8)
    steps_per_epoch = math.ceil(math.ceil(len(train_features) / params.batch_size) / params.grad_accum_steps)
    total = steps_per_epoch * params.epochs
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda(total, int(params.warmup_ratio * total), params.lr_schedule))
    generator = torch.Generator().manual_seed(params.seed)

    result = TrainResult(best_epoch=0, best_dev={})
    best_score, best_state, bad_epochs = -math.inf, None, 0
    t_start = time.perf_counter()
    for epoch in range(1, params.epochs + 1):
        model.train()
        t0, losses = time.perf_counter(), []
        epoch_batches = batches(train_features, params.batch_size, generator)
        optimizer.zero_grad(set_to_none=True)
        for k, feats in enumerate(epoch_batches, 1):
            batch = _to(collate(feats, pad_id), device)
            with torch.autocast(device.type, dtype=dtype or torch.float32, enabled=dtype is not None):
                loss, _ = model(batch)
            scaler.scale(loss / params.grad_accum_steps).backward()
            losses.append(float(loss.detach()))
            if k % params.grad_accum_steps == 0 or k == len(epoch_batches):
                scaler.unscale_(optimizer)
                if params.max_grad_norm:
                    nn.utils.clip_grad_norm_(model.parameters(), params.max_grad_norm)
                scaler.step(optimizer)
                scaler.update()
                scheduler.step()
                optimizer.zero_grad(set_to_none=True)
                result.optimizer_steps += 1
                if progress:
                    progress(result.optimizer_steps, total)
        dev = evaluate(model)
        result.history.append(EpochLog(epoch, sum(losses) / max(1, len(losses)), dev, time.perf_counter() - t0))
        if dev[primary] > best_score:
            best_score, bad_epochs = dev[primary], 0
            result.best_epoch, result.best_dev = epoch, dev
            best_state = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
        else:
            bad_epochs += 1
            if params.early_stopping_patience is not None and bad_epochs >= params.early_stopping_patience:
                result.stopped_early = epoch < params.epochs
                break
    if best_state is not None:
        model.load_state_dict(best_state)
    result.train_seconds = time.perf_counter() - t_start
    return result

