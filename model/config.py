"""Pretraining settings: one validated model, loadable from YAML (``configs/pretrain-tiny.yaml``, presets).

Everything that changes the trained weights goes into the run's fingerprint (:meth:`PretrainConfig.
fingerprint_params`); pure execution knobs -- how many processes, which launcher, data-loader workers, how
often to print -- do not, just as ``workers`` never enters a preprocessing fingerprint. (Data-parallel width
changes only the order of floating-point reductions: the global batch and its samples are the same.)
This module imports neither torch nor DeepSpeed, so the flow process can read configs cheaply.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ModelSettings(_Section):
    preset: str = "tiny"
    overrides: dict[str, Any] = Field(default_factory=dict, description="BertConfig fields replacing the preset's")
    vocab_multiple: int = Field(128, ge=1, description="pad the embedding table to a multiple of this (Megatron)")


class DataSettings(_Section):
    seq_len: int = Field(128, ge=8)
    short_seq_prob: float = Field(0.1, ge=0, le=1)
    masked_lm_prob: float = Field(0.15, gt=0, lt=1)
    whole_word_masking: bool = False
    valid_fraction: float = Field(0.05, ge=0, lt=1, description="share of documents held out for validation loss")
    seed: int = 1234


class OptimSettings(_Section):
    lr: float = Field(1e-4, gt=0, description="peak learning rate")
    warmup_fraction: float = Field(0.1, ge=0, lt=1, description="linear warmup over this share of the steps")
    min_lr_ratio: float = Field(0.0, ge=0, le=1, description="cosine decays to lr * this")
    weight_decay: float = Field(0.01, ge=0)
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    grad_clip: float = Field(1.0, gt=0)


class TrainSettings(_Section):
    train_steps: int = Field(1000, ge=1, description="optimizer steps (global batches)")
    global_batch_size: int = Field(32, ge=1)
    micro_batch_size: int = Field(8, ge=1, description="per process; accumulation makes up the rest")
    zero_stage: int = Field(1, ge=0, le=3)
    precision: Literal["auto", "fp32", "bf16", "fp16"] = Field("auto", description="auto: bf16 on GPU, fp32 on CPU")
    seed: int = 1234
    checkpoint_every: int = Field(500, ge=1)
    keep_checkpoints: int = Field(2, ge=1)
    eval_every: int = Field(250, ge=1)
    eval_samples: int = Field(256, ge=1, description="fixed validation samples per evaluation")
    early_stopping_patience: int = Field(0, ge=0, description="stop after this many evals without improvement; 0 = off")
    min_delta: float = Field(0.0, ge=0, description="an eval improves only if it beats the best by more than this")
    log_every: int = Field(10, ge=1)
    num_workers: int = Field(0, ge=0, description="data-loader processes per rank")


class LaunchSettings(_Section):
    launcher: Literal["deepspeed", "torchrun", "slurm", "python"] = Field(
        "deepspeed", description="python = one process, no launcher (CPU smoke runs); slurm = srun inside an allocation"
    )
    nproc_per_node: int = Field(1, ge=1)
    hosts: dict[str, int] = Field(default_factory=dict, description="multi-node: host -> slots, written as a hostfile")
    nodes: int = Field(1, ge=1, description="slurm: nodes of the allocation to run on (srun --nodes)")
    srun_args: list[str] = Field(default_factory=list, description="slurm: extra srun options, e.g. --gpus-per-node=8")
    master_addr: str | None = Field(
        None,
        description="None = the launcher's own discovery (deepspeed: the hostfile's first host; torchrun / python: "
        "127.0.0.1; slurm: the node running `ehrlm pretrain`, i.e. the allocation's first node)",
    )
    master_port: int | None = Field(None, description="None = a free port")
    omp_num_threads: int | None = Field(None, ge=1, description="None = cores / processes on CPU")


_EXECUTION_KNOBS = {"train": {"log_every", "num_workers"}}


class PretrainConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    model: ModelSettings = ModelSettings()
    data: DataSettings = DataSettings()
    optim: OptimSettings = OptimSettings()
    train: TrainSettings = TrainSettings()
    launch: LaunchSettings = LaunchSettings()

    @model_validator(mode="after")
    def _check(self) -> PretrainConfig:
        if self.train.global_batch_size % self.train.micro_batch_size:
            raise ValueError("global_batch_size must be a multiple of micro_batch_size")
        return self

    def world_size(self) -> int:
        if self.launch.hosts:
            return sum(self.launch.hosts.values())
        if self.launch.launcher == "slurm":
            return self.launch.nodes * self.launch.nproc_per_node
        return self.launch.nproc_per_node

    def accumulation_steps(self, world_size: int) -> int:
        per_step = self.train.micro_batch_size * world_size
        if self.train.global_batch_size % per_step:
            raise ValueError(
                f"global_batch_size {self.train.global_batch_size} is not a multiple of micro_batch_size x processes "
                f"= {per_step}"
            )
        return self.train.global_batch_size // per_step

    def fingerprint_params(self) -> dict[str, Any]:
        d = self.model_dump(mode="json", exclude={"launch"})
        for section, names in _EXECUTION_KNOBS.items():
            for name in names:
                d[section].pop(name)
        return d

    @classmethod
    def load(cls, source: PretrainConfig | dict | str | Path) -> PretrainConfig:
        """From a config, a mapping, or a YAML file (settings at the top level or under ``pretrain:``)."""
        if isinstance(source, PretrainConfig):
            return source
        raw = source if isinstance(source, dict) else yaml.safe_load(Path(source).read_text()) or {}
        if not isinstance(raw, dict):
            raise TypeError(f"{source}: expected a mapping of settings, got {type(raw).__name__}")
        return cls.model_validate(raw.get("pretrain", raw))
