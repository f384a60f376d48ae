"""BERT MLM + SOP pretraining driven by DeepSpeed; one process per rank, started by :mod:`model.launch`.

``python -m model.train --config CONFIG.yaml --shards DIR --vocab DIR --run-dir DIR`` (the ``deepspeed`` and
``torchrun`` launchers add ``--local_rank`` / env vars; alone it runs as a one-process job).

Why it is built this way:

- **The DeepSpeed config is generated** from :class:`model.config.PretrainConfig` (:func:`deepspeed_config`):
  ZeRO stage, bf16 on GPU / fp32 on CPU, micro-batch x accumulation x ranks = the global batch, AdamW
  (no decay on biases and LayerNorms, as Megatron), peak LR with linear warmup over 10% of the steps then
  cosine decay (DeepSpeed's ``WarmupCosineLR``), gradient clipping. On CPU, DeepSpeed's JIT-compiled ops
  are avoided (each costs a ~2-minute C++ build on first use and buys nothing on CPU): torch's AdamW, and no
  shared-memory comm op.
- **Resume is exact.** Samples are a pure function of their global index (:mod:`model.samples`), and the
  index of every sample follows from the optimizer step, so the data position needs no state. Each
  checkpoint holds DeepSpeed's model/optimizer/scheduler state plus every rank's torch RNG state (dropout);
  the data loader gets its own generator so creating it never moves the global RNG. Train N steps, or
  N/2 + kill + resume N/2: bit-identical fp32 weights on CPU.
- **A checkpoint counts only when complete.** Rank 0 writes ``<tag>/complete.json`` last, after a barrier
  that follows every rank's shards and RNG file; resume takes the newest tag with that marker (DeepSpeed's
  ``latest`` is written before the other ranks are known to be done) and deletes incomplete ones. A
  checkpoint written by another world size is refused with a clear message (no elastic re-split).
- **Export runs on rank 0 only** (consolidating a ZeRO checkpoint holds the whole fp32 model in host RAM).
- **Metrics** are counts and numbers only (no text): one JSON line per log interval / evaluation, in
  ``metrics.jsonl`` and on stdout with the ``[ehrlm]`` prefix, which the launcher forwards to Prefect.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import re
import shutil
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist

from model.bert import BertForPretraining, build, count_parameters, padded_vocab, preset
from model.config import PretrainConfig
from model.samples import PretrainingSamples, SampleSettings, collate
from pipeline.core.ports import free_port
from pipeline.vocab import load_tokenizer

METRICS = "metrics.jsonl"
RESULT = "result.json"
CHECKPOINTS = "checkpoints"
SAMPLE_CACHE = "_sample_index"
COMPLETE = "complete.json"
HF_DIR = "hf"
LOG_PREFIX = "[ehrlm] "
_TAG = re.compile(r"^step(\d+)$")


def tokenizer_file(vocab: Path) -> Path:
    """A vocab dataset folder or the ``tokenizer.json`` itself."""
    vocab = Path(vocab)
    return vocab / "tokenizer.json" if vocab.is_dir() else vocab


def model_config(cfg: PretrainConfig, tokenizer_json: Path):
    n_tokens = load_tokenizer(tokenizer_json).get_vocab_size()
    vocab = padded_vocab(n_tokens, cfg.model.vocab_multiple)
    bert = preset(cfg.model.preset, vocab, **cfg.model.overrides)
    if bert.max_position_embeddings < cfg.data.seq_len:
        raise ValueError(f"seq_len {cfg.data.seq_len} exceeds max_position_embeddings {bert.max_position_embeddings}")
    return bert


def sample_settings(cfg: PretrainConfig) -> SampleSettings:
    d = cfg.data
    return SampleSettings(d.seq_len, d.short_seq_prob, d.masked_lm_prob, d.whole_word_masking, d.valid_fraction, d.seed)


def resolve_precision(precision: str, on_gpu: bool) -> str:
    if precision == "auto":
        return "bf16" if on_gpu else "fp32"
    return precision


def warmup_steps(cfg: PretrainConfig) -> int:
    return max(1, round(cfg.optim.warmup_fraction * cfg.train.train_steps))


def deepspeed_config(cfg: PretrainConfig, world_size: int, on_gpu: bool) -> dict[str, Any]:
    """The DeepSpeed JSON config for this run."""
    t, o = cfg.train, cfg.optim
    precision = resolve_precision(t.precision, on_gpu)
    adam: dict[str, Any] = {"lr": o.lr, "betas": list(o.betas), "eps": o.eps, "weight_decay": o.weight_decay}
    if not on_gpu:
        adam["torch_adam"] = True  # DeepSpeed's CPU FusedAdam would be JIT-compiled (~2 min) for no gain
    extra: dict[str, Any] = {}
    if precision == "bf16":
        if t.zero_stage == 0:
            raise ValueError(
                "precision bf16 needs zero_stage >= 1: DeepSpeed 0.19 accumulates gradients in fp32 with bf16 weights "
                "only in its ZeRO optimizers (stage 1: BF16_Optimizer); set train.zero_stage: 1 or precision: fp32"
            )
        # without this, 32-128 micro-batches of gradients would be summed in bf16 (8 mantissa bits); Megatron
        # accumulates in fp32
        extra["data_types"] = {"grad_accum_dtype": "fp32"}
    return {
        "train_batch_size": t.global_batch_size,
        "train_micro_batch_size_per_gpu": t.micro_batch_size,
        "gradient_accumulation_steps": cfg.accumulation_steps(world_size),
        "gradient_clipping": o.grad_clip,
        "optimizer": {"type": "AdamW", "params": adam},
        "scheduler": {
            "type": "WarmupCosineLR",
            "params": {
                "total_num_steps": t.train_steps,
                "warmup_num_steps": warmup_steps(cfg),
                "warmup_type": "linear",
                "warmup_min_ratio": 0.0,
                "cos_min_ratio": o.min_lr_ratio,
            },
        },
        # on GPU, overlap gradient reduction with the backward pass (extra bucket memory; nothing to overlap on CPU)
        "zero_optimization": {"stage": t.zero_stage, **({"overlap_comm": True} if on_gpu and t.zero_stage >= 1 else {})},
        "bf16": {"enabled": precision == "bf16"},
        "fp16": {"enabled": precision == "fp16"},
        "steps_per_print": 10**9,
        "wall_clock_breakdown": False,
        **extra,
    }


def no_decay(module: torch.nn.Module, name: str, param: torch.nn.Parameter) -> bool:
    """Megatron's rule: biases, LayerNorm parameters and any other vector get no weight decay.

    Decided by module type, name and the parameter's *logical* shape: under ZeRO-3's ``zero.Init`` every
    ``param.data`` is an empty 1-D placeholder (the real shape is ``param.ds_shape``), so testing ``p.ndim``
    alone puts every parameter in the no-decay group and silently turns weight decay off.
    """
    shape = getattr(param, "ds_shape", param.shape)
    return isinstance(module, torch.nn.LayerNorm) or name == "bias" or len(shape) <= 1


def param_groups(model: torch.nn.Module, weight_decay: float) -> list[dict[str, Any]]:
    """Megatron's grouping: weight decay on matrices and embeddings, none on biases and LayerNorm weights."""
    decay, skip, seen = [], [], set()
    for module in model.modules():
        for name, p in module.named_parameters(recurse=False):
            if id(p) in seen:  # a tied parameter is optimised once
                continue
            seen.add(id(p))
            (skip if no_decay(module, name, p) else decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": skip, "weight_decay": 0.0}]


def init_distributed(on_gpu: bool) -> None:
    """Join (or, alone, create) the process group; on CPU skip DeepSpeed's shm comm op (a 65 s JIT build)."""
    import deepspeed
    import deepspeed.comm.torch  # loads the module whose build_shm_op is patched below

    if "RANK" not in os.environ and os.environ.get("EHRLM_SLURM") == "1":  # srun task: rank from Slurm
        os.environ.update(RANK=os.environ["SLURM_PROCID"], WORLD_SIZE=os.environ["SLURM_NTASKS"],
                          LOCAL_RANK=os.environ["SLURM_LOCALID"])  # fmt: skip
    if "RANK" not in os.environ:
        os.environ.update(RANK="0", WORLD_SIZE="1", LOCAL_RANK="0", MASTER_ADDR="127.0.0.1")
        os.environ.setdefault("MASTER_PORT", str(free_port()))
    if not on_gpu:
        # `deepspeed.comm.torch` is shadowed by the re-exported torch module; patch the real one
        sys.modules["deepspeed.comm.torch"].build_shm_op = lambda: None
    deepspeed.init_distributed(dist_backend="nccl" if on_gpu else "gloo")


class StepBatches:
    """Sample indices of every micro-batch from ``start_step`` on: global batch ``s`` is samples
    ``[s*G, (s+1)*G)``; rank ``r``'s ``m``-th micro-batch is its ``(m*world + r)``-th slice of ``mbs``."""

    def __init__(self, start_step: int, stop_step: int, global_batch: int, micro: int, world: int, rank: int) -> None:
        self.start, self.stop, self.g, self.mbs, self.world, self.rank = start_step, stop_step, global_batch, micro, world, rank

    def __iter__(self) -> Iterator[list[int]]:
        gas = self.g // (self.mbs * self.world)
        for s in range(self.start, self.stop):
            for m in range(gas):
                first = s * self.g + (m * self.world + self.rank) * self.mbs
                yield list(range(first, first + self.mbs))

    def __len__(self) -> int:
        return (self.stop - self.start) * (self.g // (self.mbs * self.world))


def collate_tensors(samples) -> dict[str, torch.Tensor]:
    """:func:`model.samples.collate` as CPU tensors, which the loader can pin for asynchronous copies."""
    return {k: torch.from_numpy(v) for k, v in collate(samples).items()}


def _loader(dataset: PretrainingSamples, batches, num_workers: int) -> torch.utils.data.DataLoader:
    return torch.utils.data.DataLoader(
        dataset,
        batch_sampler=batches,
        collate_fn=collate_tensors,
        num_workers=num_workers,
        generator=torch.Generator(),  # keeps the global RNG (dropout) untouched when iterators are created
        persistent_workers=False,
        pin_memory=torch.cuda.is_available(),  # page-locked: the copies below do not block the host
    )


def _to_device(batch: dict[str, torch.Tensor], device: torch.device) -> dict[str, torch.Tensor]:
    return {k: v.to(device, non_blocking=True) for k, v in batch.items()}


class Window:
    """Sums over a logging window, kept on the engine's device until reduced.

    Why on the device: NCCL only reduces CUDA tensors ("No backend type associated with device type cpu"),
    and reading a CUDA scalar (``float(loss)``) every micro-step would stall the GPU stream. Float64 keeps
    token counts exact (far beyond 2**24) and NCCL reduces it.
    """

    FIELDS = ("loss", "micro", "mlm_correct", "mlm_count", "sop_correct", "sop_count", "tokens")

    def __init__(self, device: torch.device) -> None:
        self.device = torch.device(device)
        self.sums = torch.zeros(len(self.FIELDS), dtype=torch.float64, device=self.device)

    def add(self, out, batch: dict[str, torch.Tensor]) -> None:
        counts = (out.loss.detach(), 1, out.mlm_correct, batch["mlm_labels"].numel(), out.sop_correct,
                  batch["sop_labels"].numel(), batch["attention_mask"].sum())  # fmt: skip
        self.sums += torch.stack([torch.as_tensor(c, device=self.device).to(torch.float64) for c in counts])

    def reduce(self) -> dict[str, float]:
        """Sum over all ranks (one collective on this window's device); plain numbers for the report."""
        t = self.sums.clone()
        dist.all_reduce(t)
        return dict(zip(self.FIELDS, t.cpu().tolist()))


def evaluate(engine, dataset: PretrainingSamples, n_samples: int, micro: int, rank: int, world: int, device) -> dict[str, float]:
    """Validation loss on a fixed set of samples (the first ``n_samples`` of the held-out split), all ranks.

    The count is rounded down to a multiple of the world size so every rank runs the same number of
    forward passes (ZeRO-3 gathers parameters collectively inside forward). Sums stay on ``device`` (the
    engine's) so that the one all-reduce at the end works under NCCL, with no host sync per batch.
    """
    n = min(n_samples, len(dataset)) // world * world
    mine = list(range(rank, n, world))
    batches = [mine[i : i + micro] for i in range(0, len(mine), micro)]
    # mlm_loss_sum, mlm_count, mlm_correct, sop_loss_sum, sop_count, sop_correct
    sums = torch.zeros(6, dtype=torch.float64, device=device)
    engine.eval()
    with torch.no_grad():
        for batch in _loader(dataset, batches, 0):
            b = _to_device(batch, device)
            out = engine(**b)
            k, s = b["mlm_labels"].numel(), b["sop_labels"].numel()
            parts = (out.mlm_loss.detach() * k, k, out.mlm_correct, out.sop_loss.detach() * s, s, out.sop_correct)
            sums += torch.stack([torch.as_tensor(x, device=device).to(torch.float64) for x in parts])
    engine.train()
    dist.all_reduce(sums)
    v = sums.cpu().tolist()
    mlm, sop = v[0] / max(v[1], 1), v[3] / max(v[4], 1)
    return {"loss": mlm + sop, "mlm_loss": mlm, "sop_loss": sop, "mlm_acc": v[2] / max(v[1], 1), "sop_acc": v[5] / max(v[4], 1)}


def _rng_state() -> dict[str, Any]:
    state = {"cpu": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["cpu"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _tags(ckpt_dir: Path) -> list[tuple[int, Path]]:
    if not ckpt_dir.is_dir():
        return []
    return sorted((int(m.group(1)), p) for p in ckpt_dir.iterdir() if p.is_dir() and (m := _TAG.match(p.name)))


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("w") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def complete_marker(tag_dir: Path) -> dict[str, Any] | None:
    """The tag's completion record, or None when the tag is incomplete (a rank died while saving)."""
    try:
        return json.loads((Path(tag_dir) / COMPLETE).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def newest_complete_tag(ckpt_dir: Path) -> tuple[Path, dict[str, Any]] | None:
    """The newest tag whose completion marker exists; newer incomplete tags (and DeepSpeed's ``latest``
    file, which is written before the other ranks' shards are known to be on disk) are ignored."""
    for _, path in reversed(_tags(Path(ckpt_dir))):
        if (marker := complete_marker(path)) is not None:
            return path, marker
    return None


def check_resumable(tag_dir: Path, marker: dict[str, Any], world: int, zero_stage: int) -> None:
    """Refuse a resume that DeepSpeed would get wrong or hang on: ZeRO partitions and the per-rank RNG
    states of a checkpoint belong to the world size that wrote it (no elastic re-split here)."""
    if marker.get("world_size") != world:
        raise ValueError(  # a settings error: retrying the same launch would fail the same way
            f"checkpoint {tag_dir} was written by {marker.get('world_size')} processes but this job has {world}: "
            f"resume with the same number of processes (launch.nproc_per_node x nodes = {marker.get('world_size')}), "
            "or start this run from scratch (force), because ZeRO optimizer partitions and per-rank RNG states "
            "are not re-split across a different world size"
        )
    if marker.get("zero_stage") != zero_stage:
        raise ValueError(f"checkpoint {tag_dir} was written with ZeRO stage {marker.get('zero_stage')}, this job uses "
                           f"{zero_stage}; start from scratch (force)")  # fmt: skip


def remove_incomplete_tags(ckpt_dir: Path) -> list[str]:
    """Delete tags without a completion marker (rank 0 only): a later save of the same step must not mix
    its files with a dead attempt's, and the ZeRO consolidator counts shard files."""
    removed = []
    for _, path in _tags(Path(ckpt_dir)):
        if complete_marker(path) is None:
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path.name)
    return removed


def save(engine, ckpt_dir: Path, step: int, client: dict[str, Any], keep: int, rank: int, world: int, zero_stage: int) -> str:
    """DeepSpeed checkpoint ``step{N}`` + every rank's RNG state, then (rank 0, after a barrier) the
    completion marker, written last; older complete tags beyond ``keep`` are pruned. Returns the tag."""
    tag = f"step{step}"
    engine.save_checkpoint(str(ckpt_dir), tag=tag, client_state=client, save_latest=False)
    torch.save(_rng_state(), ckpt_dir / tag / f"rng-rank{rank}.pt")
    dist.barrier()  # every rank's shards and RNG file are written
    if rank == 0:
        _write_atomic(ckpt_dir / tag / COMPLETE, json.dumps({"tag": tag, "step": step, "world_size": world,
                                                             "zero_stage": zero_stage}))  # fmt: skip
        _write_atomic(ckpt_dir / "latest", tag)  # for DeepSpeed's own tools; resume trusts the markers only
        complete = [path for _, path in _tags(ckpt_dir) if complete_marker(path) is not None]
        for old in complete[:-keep]:
            shutil.rmtree(old, ignore_errors=True)
    dist.barrier()
    return tag


def weights_digest(model: torch.nn.Module) -> str:
    h = hashlib.sha256()
    for name, t in sorted(model.state_dict().items()):
        h.update(name.encode())
        h.update(t.detach().cpu().contiguous().view(torch.uint8).numpy().tobytes())
    return h.hexdigest()[:16]


def final_state_dict(engine, ckpt_dir: Path, tag: str, precision: str, zero_stage: int) -> dict[str, torch.Tensor]:
    """fp32 weights for export: the live module when it holds them, else consolidated from checkpoint ``tag``."""
    if precision == "fp32" and zero_stage < 3:
        return engine.module.state_dict()
    if zero_stage >= 1:
        from deepspeed.utils.zero_to_fp32 import (
            get_fp32_state_dict_from_zero_checkpoint,
        )

        return get_fp32_state_dict_from_zero_checkpoint(str(ckpt_dir), tag=tag)
    return {k: v.float() for k, v in engine.module.state_dict().items()}  # stage 0 + bf16: no fp32 master on disk


def gather_fp32_params(module: torch.nn.Module, keep: bool) -> dict[str, torch.Tensor]:
    """The fp32 master weights, assembled one parameter at a time from their ZeRO partitions.

    A collective (every rank must call it, in the same order); only the rank with ``keep`` holds the
    result, on the CPU, so the others never hold more than one parameter.
    """
    from deepspeed.utils import safe_get_full_fp32_param

    state = {}
    for name, p in module.named_parameters():
        full = safe_get_full_fp32_param(p)
        if full is None:
            raise RuntimeError(f"parameter {name} has no fp32 master copy to export")
        if keep:
            state[name] = full.detach().to("cpu", torch.float32).clone()
    return state


def export_final(engine, ckpt_dir: Path, tag: str, precision: str, zero_stage: int, bert_cfg, tok_json: Path, out: Path,
                 rank: int) -> Path | None:  # fmt: skip
    """The Hugging Face export, written and held on rank 0 only.

    Consolidating a ZeRO checkpoint reads every rank's shards into host RAM (~36 GB at 8.9B parameters):
    done by every rank, a node would hold it 8 times. It is file I/O only, so the other ranks skip it.
    Exception: bf16 at ZeRO-1 runs DeepSpeed's ``BF16_Optimizer`` (fp32 gradient accumulation), whose
    checkpoint files ``zero_to_fp32`` cannot read; there the fp32 masters are gathered from the live
    optimizer, parameter by parameter, by all ranks together -- and still kept by rank 0 alone.
    """
    from deepspeed.runtime.bf16_optimizer import BF16_Optimizer

    if isinstance(engine.optimizer, BF16_Optimizer):
        state = gather_fp32_params(engine.module, keep=rank == 0)
    elif rank != 0:
        return None
    else:
        state = final_state_dict(engine, ckpt_dir, tag, precision, zero_stage)
    if rank != 0:
        return None
    from model.export import export

    return export(state, bert_cfg, tok_json, out)


def plot_metrics(metrics_jsonl: Path, out_png: Path) -> bool:
    """Loss curves as PNG when matplotlib is installed (it is not a dependency); returns whether it plotted."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    rows = [json.loads(line) for line in Path(metrics_jsonl).read_text().splitlines() if line.strip()]
    fig, ax = plt.subplots(figsize=(7, 4))
    for event, label in (("train", "train loss"), ("valid", "validation loss")):
        pts = [(r["step"], r["loss"]) for r in rows if r["event"] == event]
        if pts:
            ax.plot(*zip(*pts), label=label, marker="o" if event == "valid" else None)
    ax.set_xlabel("step")
    ax.set_ylabel("MLM + SOP loss")
    ax.legend()
    fig.savefig(out_png, dpi=100, bbox_inches="tight")
    plt.close(fig)
    return True


class Reporter:
    """Rank 0's metrics sink: JSONL file + prefixed stdout lines (numbers only)."""

    def __init__(self, run_dir: Path, rank: int) -> None:
        self.rank, self.path = rank, run_dir / METRICS

    def __call__(self, record: dict[str, Any]) -> None:
        if self.rank != 0:
            return
        line = json.dumps(record, sort_keys=True)
        with self.path.open("a") as fh:
            fh.write(line + "\n")
        print(LOG_PREFIX + line, flush=True)


def train(cfg: PretrainConfig, shards: Path, vocab: Path, run_dir: Path, kill_at_step: int | None = None) -> dict[str, Any]:
    """Run (or resume) the job in this process; returns rank 0's result summary (also in ``result.json``)."""
    import deepspeed

    on_gpu = torch.cuda.is_available()
    init_distributed(on_gpu)
    rank, world = dist.get_rank(), dist.get_world_size()
    device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0"))) if on_gpu else torch.device("cpu")
    if on_gpu:
        torch.cuda.set_device(device)
    run_dir, tok_json = Path(run_dir), tokenizer_file(vocab)
    run_dir.mkdir(parents=True, exist_ok=True)
    ckpt_dir = run_dir / CHECKPOINTS
    report = Reporter(run_dir, rank)
    t = cfg.train
    precision = resolve_precision(t.precision, on_gpu)

    bert_cfg = model_config(cfg, tok_json)
    ds_cfg = deepspeed_config(cfg, world, on_gpu)
    torch.manual_seed(t.seed)  # identical initial weights on every rank
    if t.zero_stage == 3:  # build partitioned: the large preset does not fit on one device
        with deepspeed.zero.Init(config_dict_or_path=ds_cfg):
            model = BertForPretraining(bert_cfg)
        # the MLM head reads the word-embedding matrix outside the embedding module's forward
        deepspeed.zero.register_external_parameter(model.cls.predictions, model.bert.embeddings.word_embeddings.weight)
    else:
        model = build(bert_cfg, device)
    settings = sample_settings(cfg)
    cache = run_dir.parent / SAMPLE_CACHE
    splits = ["train", "valid"] if cfg.data.valid_fraction > 0 else ["train"]
    if rank == 0:  # build the sample indices once; the other ranks then load them from the cache
        for split in splits:
            PretrainingSamples(shards, tok_json, settings, split, cache)
    dist.barrier()
    train_set = PretrainingSamples(shards, tok_json, settings, "train", cache)
    valid_set = PretrainingSamples(shards, tok_json, settings, "valid", cache) if "valid" in splits else None

    engine, _, _, _ = deepspeed.initialize(model=model, model_parameters=param_groups(model, cfg.optim.weight_decay), config=ds_cfg)
    torch.manual_seed(t.seed * 1000 + rank + 1)  # dropout stream of this rank
    client: dict[str, Any] = {"step": 0, "best_val": math.inf, "bad_evals": 0, "tokens": 0, "stopped_early": False}
    resumed_from = None
    found = newest_complete_tag(ckpt_dir)
    dist.barrier()  # every rank has chosen before rank 0 deletes the incomplete tags
    if rank == 0 and (removed := remove_incomplete_tags(ckpt_dir)):
        report({"event": "note", "message": f"removed incomplete checkpoint(s) {', '.join(removed)}"})
    dist.barrier()
    if found is not None:
        tag_dir, marker = found
        check_resumable(tag_dir, marker, world, t.zero_stage)
        path, loaded = engine.load_checkpoint(str(ckpt_dir), tag=tag_dir.name)
        if path is None:
            raise RuntimeError(f"could not load checkpoint {tag_dir}")
        client.update({k: loaded[k] for k in client})
        _set_rng_state(torch.load(tag_dir / f"rng-rank{rank}.pt", weights_only=False))
        resumed_from = client["step"]
    step = client["step"]
    report({"event": "start", "step": step, "resumed": resumed_from is not None, "world_size": world, "backend": dist.get_backend(),
            "parameters": count_parameters(bert_cfg), "train_samples_per_epoch": len(train_set),
            "valid_samples": len(valid_set) if valid_set else 0, "precision": precision, "zero_stage": t.zero_stage,
            "gradient_accumulation_steps": ds_cfg["gradient_accumulation_steps"]})  # fmt: skip

    def checkpoint() -> None:
        save(engine, ckpt_dir, step, client, t.keep_checkpoints, rank, world, t.zero_stage)
        if kill_at_step is not None and step == kill_at_step:
            os.kill(os.getpid(), signal.SIGKILL)  # fault injection for the resume test: die like a lost node

    def run_eval() -> dict[str, float] | None:
        if valid_set is None:
            return None
        metrics = evaluate(engine, valid_set, t.eval_samples, t.micro_batch_size, rank, world, device)
        if metrics["loss"] < client["best_val"] - t.min_delta:
            client["best_val"], client["bad_evals"] = metrics["loss"], 0
        else:
            client["bad_evals"] += 1
        report({"event": "valid", "step": step, **metrics, "best": client["best_val"], "bad_evals": client["bad_evals"]})
        return metrics

    gas = ds_cfg["gradient_accumulation_steps"]
    batches = StepBatches(step, t.train_steps, t.global_batch_size, t.micro_batch_size, world, rank)
    window, t0, last_eval = Window(device), time.perf_counter(), None
    engine.train()
    loader = iter(_loader(train_set, batches, t.num_workers))
    while step < t.train_steps and not client["stopped_early"]:
        lr = engine.get_lr()[0]
        for _ in range(gas):
            b = _to_device(next(loader), device)
            out = engine(**b)
            engine.backward(out.loss)
            engine.step()
            window.add(out, b)
        step += 1
        client["step"] = step
        evaluate_now = step % t.eval_every == 0
        save_now = step % t.checkpoint_every == 0 or step == t.train_steps
        if step % t.log_every == 0 or save_now or evaluate_now:  # checkpoints carry exact token counts
            w, elapsed = window.reduce(), time.perf_counter() - t0
            client["tokens"] += int(w["tokens"])
            report({"event": "train", "step": step, "loss": w["loss"] / w["micro"],
                    "mlm_acc": w["mlm_correct"] / max(w["mlm_count"], 1), "sop_acc": w["sop_correct"] / max(w["sop_count"], 1),
                    "lr": lr, "tokens_per_s": w["tokens"] / elapsed, "tokens": client["tokens"]})  # fmt: skip
            window, t0 = Window(device), time.perf_counter()
        if evaluate_now:
            last_eval = run_eval()
            if t.early_stopping_patience and client["bad_evals"] >= t.early_stopping_patience:
                client["stopped_early"] = True
        if save_now or client["stopped_early"]:
            checkpoint()
    if last_eval is None or client["step"] % t.eval_every:
        last_eval = run_eval()

    digests = [None] * world
    dist.all_gather_object(digests, weights_digest(engine.module) if t.zero_stage < 3 else "")
    result: dict[str, Any] = {
        "steps": step,
        "resumed_from": resumed_from,
        "stopped_early": client["stopped_early"],
        "best_val_loss": client["best_val"] if valid_set else None,
        "final_val": last_eval,
        "tokens": client["tokens"],
        "samples": step * t.global_batch_size,
        "parameters": count_parameters(bert_cfg),
        "model": bert_cfg.to_dict(),
        "world_size": world,
        "precision": precision,
        "weight_digests": digests,
    }
    # every run ends with a checkpoint of its last step (saved in the loop, or the one it resumed from)
    export_final(engine, ckpt_dir, f"step{step}", precision, t.zero_stage, bert_cfg, tok_json, run_dir / HF_DIR, rank)
    if rank == 0:
        result["plot"] = "loss.png" if plot_metrics(run_dir / METRICS, run_dir / "loss.png") else None
        if result["plot"] is None:
            print(LOG_PREFIX + json.dumps({"event": "note", "message": "matplotlib is not installed: no loss plot"}), flush=True)
        (run_dir / RESULT).write_text(json.dumps(result, indent=1, sort_keys=True, default=str))
        report({"event": "done", "step": step, "stopped_early": client["stopped_early"], "best_val_loss": result["best_val_loss"]})
    dist.barrier()
    return result


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description="ehrlm BERT pretraining (one rank)")
    p.add_argument("--config", required=True, type=Path, help="pretraining YAML/JSON (see configs/pretrain-tiny.yaml)")
    p.add_argument("--shards", required=True, type=Path, help="shards dataset folder")
    p.add_argument("--vocab", required=True, type=Path, help="vocab dataset folder or tokenizer.json")
    p.add_argument("--run-dir", required=True, type=Path, help="where checkpoints, metrics and the export go")
    p.add_argument("--kill-at-step", type=int, default=None, help="testing: SIGKILL after saving this step's checkpoint")
    p.add_argument("--local_rank", type=int, default=None, help=argparse.SUPPRESS)  # the deepspeed launcher adds it
    args = p.parse_args(argv)
    train(PretrainConfig.load(args.config), args.shards, args.vocab, args.run_dir, args.kill_at_step)
    if dist.is_initialized():
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
