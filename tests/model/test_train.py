"""DeepSpeed pretraining on CPU: the loss falls, resume is bit-exact, two ranks agree, config generation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from model import launch
from model.config import PretrainConfig
from model.train import CHECKPOINTS, HF_DIR, METRICS, RESULT, deepspeed_config

TINY = {
    "model": {"preset": "tiny"},
    "data": {"seq_len": 64},
    "optim": {"lr": 2e-3},
    "train": {"train_steps": 60, "global_batch_size": 16, "micro_batch_size": 8, "zero_stage": 1, "checkpoint_every": 60,
              "eval_every": 20, "eval_samples": 48, "log_every": 5},
    "launch": {"launcher": "python", "omp_num_threads": 1},
}  # fmt: skip


def _config(**sections) -> dict:
    cfg = {k: dict(v) for k, v in TINY.items()}
    for section, values in sections.items():
        cfg[section].update(values)
    return cfg


def _metrics(run: Path, event: str) -> list[dict]:
    rows = [json.loads(line) for line in (run / METRICS).read_text().splitlines()]
    return [r for r in rows if r["event"] == event]


def test_deepspeed_config_reaches_the_global_batch():
    cfg = PretrainConfig.load({"train": {"train_steps": 1000, "global_batch_size": 2048, "micro_batch_size": 8, "zero_stage": 2}})
    ds = deepspeed_config(cfg, world_size=64, on_gpu=True)
    assert ds["train_batch_size"] == 2048 and ds["gradient_accumulation_steps"] == 4
    assert ds["train_micro_batch_size_per_gpu"] * ds["gradient_accumulation_steps"] * 64 == 2048
    assert ds["bf16"]["enabled"] and not ds["fp16"]["enabled"] and ds["zero_optimization"]["stage"] == 2
    assert ds["optimizer"]["type"] == "AdamW" and ds["optimizer"]["params"]["lr"] == 1e-4
    assert "torch_adam" not in ds["optimizer"]["params"] and ds["gradient_clipping"] == 1.0
    sched = ds["scheduler"]
    assert sched["type"] == "WarmupCosineLR" and sched["params"]["warmup_type"] == "linear"
    assert sched["params"]["warmup_num_steps"] == 100 and sched["params"]["total_num_steps"] == 1000
    assert ds["zero_optimization"]["overlap_comm"] is True
    cpu = deepspeed_config(cfg, world_size=2, on_gpu=False)
    assert not cpu["bf16"]["enabled"] and cpu["optimizer"]["params"]["torch_adam"]
    assert "overlap_comm" not in cpu["zero_optimization"]
    with pytest.raises(ValueError, match="multiple"):
        deepspeed_config(cfg, world_size=3, on_gpu=False)


def test_bf16_accumulates_gradients_in_fp32():
    """32-128 micro-batches summed in bf16 lose the small ones; Megatron accumulates in fp32."""
    for stage in (1, 2, 3):
        cfg = PretrainConfig.load({"train": {"zero_stage": stage, "precision": "bf16"}})
        assert deepspeed_config(cfg, 1, on_gpu=True)["data_types"] == {"grad_accum_dtype": "fp32"}
    auto = PretrainConfig.load({"train": {"precision": "auto"}})
    assert deepspeed_config(auto, 1, on_gpu=True)["data_types"]["grad_accum_dtype"] == "fp32"
    assert "data_types" not in deepspeed_config(auto, 1, on_gpu=False)  # fp32 on CPU: nothing to widen
    with pytest.raises(ValueError, match="zero_stage >= 1"):  # DeepSpeed cannot do bf16 + fp32 accumulation at stage 0
        deepspeed_config(PretrainConfig.load({"train": {"zero_stage": 0, "precision": "bf16"}}), 1, on_gpu=True)


@pytest.mark.slow
def test_tiny_model_loss_falls_in_one_process(corpus, tmp_path):
    out = launch.run(corpus["shards"].path, corpus["vocab"].path, _config(), tmp_path)
    run = Path(out["path"])
    train = _metrics(run, "train")
    assert {"loss", "mlm_acc", "sop_acc", "tokens_per_s", "lr", "step"} <= set(train[0])
    first, last = train[0]["loss"], sum(r["loss"] for r in train[-3:]) / 3
    assert last < first - 1.0, f"loss {first:.2f} -> {last:.2f}"
    valid = _metrics(run, "valid")
    assert [v["step"] for v in valid] == [20, 40, 60] and valid[-1]["loss"] < valid[0]["loss"]
    assert max(r["lr"] for r in train) <= 2e-3 and train[-1]["lr"] < 2e-4  # cosine decayed
    result = json.loads((run / RESULT).read_text())
    assert result["steps"] == 60 and result["world_size"] == 1 and result["samples"] == 60 * 16
    assert (run / HF_DIR / "model.safetensors").is_file() and (run / HF_DIR / "tokenizer.json").is_file()


def _module_state(run: Path, step: int) -> dict[str, torch.Tensor]:
    ckpt = torch.load(run / CHECKPOINTS / f"step{step}" / "mp_rank_00_model_states.pt", weights_only=False)
    return ckpt["module"]


@pytest.mark.slow
def test_resume_after_kill_is_bit_exact(corpus, tmp_path):
    cfg = _config(train={"train_steps": 16, "checkpoint_every": 8, "eval_every": 8, "keep_checkpoints": 3})
    args = (corpus["shards"].path, corpus["vocab"].path, cfg)
    straight = Path(launch.run(*args, tmp_path / "straight")["path"])
    with pytest.raises(launch.JobFailed, match="exit code -9"):
        launch.run(*args, tmp_path / "killed", extra_args=("--kill-at-step", "8"))
    # as if the job had then died while saving step 12: shards half written, no completion marker, and
    # DeepSpeed's `latest` already pointing at it
    (work,) = (tmp_path / "killed" / "pretrain").glob(".run-*")
    broken = work / CHECKPOINTS / "step12"
    broken.mkdir()
    (broken / "mp_rank_00_model_states.pt").write_bytes(b"truncated")
    (work / CHECKPOINTS / "latest").write_text("step12")
    resumed_out = launch.run(*args, tmp_path / "killed")
    resumed = Path(resumed_out["path"])
    assert resumed_out["counts"]["resumed_from"] == 8
    a, b = _module_state(straight, 16), _module_state(resumed, 16)
    assert a.keys() == b.keys()
    for name in a:
        assert torch.equal(a[name], b[name]), name
    assert (straight / HF_DIR / "model.safetensors").read_bytes() == (resumed / HF_DIR / "model.safetensors").read_bytes()
    after = lambda run: [(r["step"], r["loss"]) for r in _metrics(run, "train") if r["step"] > 8]
    assert after(straight) == after(resumed)


@pytest.mark.slow
def test_two_processes_agree(corpus, tmp_path):
    cfg = _config(train={"train_steps": 6, "micro_batch_size": 4, "checkpoint_every": 6, "eval_every": 6, "eval_samples": 16},
                  launch={"launcher": "deepspeed", "nproc_per_node": 2})  # fmt: skip
    out = launch.run(corpus["shards"].path, corpus["vocab"].path, cfg, tmp_path)
    result = json.loads((Path(out["path"]) / RESULT).read_text())
    assert result["world_size"] == 2
    digests = result["weight_digests"]
    assert len(digests) == 2 and digests[0] == digests[1], "data-parallel ranks must hold identical weights"
    start = json.loads((Path(out["path"]) / METRICS).read_text().splitlines()[0])
    assert start["gradient_accumulation_steps"] == 2


@pytest.mark.slow
def test_early_stopping_when_validation_stops_improving(corpus, tmp_path):
    # min_delta is larger than any possible improvement: the second evaluation cannot count as one
    cfg = _config(train={"train_steps": 40, "eval_every": 2, "checkpoint_every": 40, "eval_samples": 16,
                         "early_stopping_patience": 1, "min_delta": 100.0})  # fmt: skip
    out = launch.run(corpus["shards"].path, corpus["vocab"].path, cfg, tmp_path)
    assert out["counts"]["stopped_early"] and out["counts"]["steps"] == 4
    run = Path(out["path"])
    assert [v["bad_evals"] for v in _metrics(run, "valid")] == [0, 1]
    assert (run / CHECKPOINTS / "step4").is_dir()


class _RecordedCollective(Exception):
    """Raised by the patched all_reduce once it has recorded its tensor (a meta tensor cannot be read back)."""


def _record_collectives(monkeypatch) -> list[torch.Tensor]:
    seen: list[torch.Tensor] = []

    def all_reduce(tensor, *args, **kwargs):
        seen.append(tensor)
        raise _RecordedCollective

    monkeypatch.setattr(torch.distributed, "all_reduce", all_reduce)
    return seen


def test_collectives_use_the_engine_device(monkeypatch, shards, tokenizer_json, tmp_path):
    """NCCL reduces only tensors on the GPU: every metric all-reduce must be on the engine's device.

    The engine "lives" on the meta device here, so a tensor built on the CPU (what NCCL rejects with
    "No backend type associated with device type cpu") shows up as a device mismatch.
    """
    from types import SimpleNamespace

    from model.samples import PretrainingSamples
    from model.train import Window, evaluate, sample_settings

    device = torch.device("meta")
    seen = _record_collectives(monkeypatch)
    scalar = lambda v: torch.tensor(v, device=device)  # noqa: E731
    out = SimpleNamespace(loss=scalar(2.5), mlm_loss=scalar(2.0), sop_loss=scalar(0.5), mlm_correct=scalar(3),
                          sop_correct=scalar(1))  # fmt: skip
    batch = {"mlm_labels": torch.zeros(6, device=device), "sop_labels": torch.zeros(2, device=device),
             "attention_mask": torch.ones(2, 8, device=device)}  # fmt: skip
    window = Window(device)
    window.add(out, batch)
    with pytest.raises(_RecordedCollective):
        window.reduce()

    class Engine:
        def eval(self):
            pass

        def train(self):
            pass

        def __call__(self, **b):
            assert all(t.device == device for t in b.values())
            return out

    cfg = PretrainConfig.load(TINY)
    valid = PretrainingSamples(shards, tokenizer_json, sample_settings(cfg), "valid", tmp_path)
    with pytest.raises(_RecordedCollective):
        evaluate(Engine(), valid, 8, 4, rank=0, world=1, device=device)
    assert len(seen) == 2
    for t in seen:
        assert t.device == device, f"collective on {t.device}, engine on {device}"
        assert not (t.device.type == "cpu" and device.type != "cpu"), "a CPU tensor sent to a GPU collective"


ZERO3_GROUPS = """
import json
import deepspeed
from model.bert import BertForPretraining, build, preset
from model.config import PretrainConfig
from model.train import deepspeed_config, init_distributed, param_groups

init_distributed(False)
cfg = PretrainConfig.load({"train": {"zero_stage": 3, "global_batch_size": 8, "micro_batch_size": 8}})
bert = preset("tiny", 256)

def names(model):
    by_id = {id(p): n for n, p in model.named_parameters()}
    return [sorted(by_id[id(p)] for p in g["params"]) for g in param_groups(model, 0.01)]

with deepspeed.zero.Init(config_dict_or_path=deepspeed_config(cfg, 1, False)):
    zero3 = BertForPretraining(bert)
print("RESULT " + json.dumps({"zero0": names(build(bert)), "zero3": names(zero3),
                              "placeholder_ndims": sorted({p.ndim for p in zero3.parameters()})}))
"""


def test_zero3_weight_decay_groups_equal_zero0s(tmp_path):
    """Under zero.Init every parameter is an empty 1-D placeholder; the decay groups must not depend on that."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR")}
    env["OMP_NUM_THREADS"] = "1"
    done = subprocess.run([sys.executable, "-c", ZERO3_GROUPS], env=env, capture_output=True, text=True, timeout=300,
                          cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(next(ln for ln in done.stdout.splitlines() if ln.startswith("RESULT "))[7:])
    assert result["placeholder_ndims"] == [1], "the test must really see ZeRO-3 placeholders"
    decay, no_decay = result["zero0"]
    assert "bert.embeddings.word_embeddings.weight" in decay and "bert.encoder.layer.0.attention.self.qkv.weight" in decay
    assert "bert.encoder.ln.weight" in no_decay and "cls.predictions.bias" in no_decay
    assert result["zero3"] == result["zero0"]


def _fake_tag(ckpt: Path, step: int, marker: dict | None) -> Path:
    tag = ckpt / f"step{step}"
    tag.mkdir(parents=True)
    (tag / "mp_rank_00_model_states.pt").write_bytes(b"partial")
    if marker is not None:
        (tag / "complete.json").write_text(json.dumps({"tag": tag.name, "step": step, **marker}))
    return tag


def test_resume_takes_the_newest_complete_tag(tmp_path):
    from model.train import check_resumable, newest_complete_tag, remove_incomplete_tags

    ckpt = tmp_path / "checkpoints"
    assert newest_complete_tag(ckpt) is None
    _fake_tag(ckpt, 4, {"world_size": 2, "zero_stage": 3})
    good = _fake_tag(ckpt, 8, {"world_size": 2, "zero_stage": 3})
    _fake_tag(ckpt, 12, None)  # a rank died while saving step 12
    (ckpt / "step16").mkdir()  # nothing written yet
    (ckpt / "latest").write_text("step12")  # DeepSpeed's pointer would send the resume into the broken tag
    tag_dir, marker = newest_complete_tag(ckpt)
    assert tag_dir == good and marker["step"] == 8
    check_resumable(tag_dir, marker, world=2, zero_stage=3)
    with pytest.raises(ValueError, match=r"written by 2 processes but this job has 4.*same number of processes"):
        check_resumable(tag_dir, marker, world=4, zero_stage=3)
    with pytest.raises(ValueError, match="ZeRO stage 3"):
        check_resumable(tag_dir, marker, world=2, zero_stage=1)
    assert sorted(remove_incomplete_tags(ckpt)) == ["step12", "step16"]
    assert sorted(p.name for p in ckpt.iterdir() if p.is_dir()) == ["step4", "step8"]


def test_export_consolidates_on_rank_0_only(monkeypatch, tmp_path):
    """Consolidating a ZeRO checkpoint holds the whole fp32 model in host RAM: never on every rank."""
    from types import SimpleNamespace

    import deepspeed.utils.zero_to_fp32 as z2f

    from model import export as export_module
    from model.bert import preset
    from model.train import export_final

    calls: list[tuple[str, str]] = []
    monkeypatch.setattr(z2f, "get_fp32_state_dict_from_zero_checkpoint", lambda d, tag=None: calls.append((d, tag)) or {})
    monkeypatch.setattr(export_module, "export", lambda state, cfg, tok, out: out)
    cfg = preset("tiny", 256)
    engine = SimpleNamespace(optimizer=object(), module=None)  # a ZeRO-3 engine's optimizer is no BF16_Optimizer
    for rank in (1, 2, 3):
        assert export_final(engine, tmp_path, "step8", "bf16", 3, cfg, tmp_path / "tok.json", tmp_path / "hf", rank) is None
    assert calls == []
    assert export_final(engine, tmp_path, "step8", "bf16", 3, cfg, tmp_path / "tok.json", tmp_path / "hf", 0) == tmp_path / "hf"
    assert calls == [(str(tmp_path), "step8")], "rank 0 consolidates exactly the final tag"


@pytest.mark.slow
def test_two_process_zero3_kill_resume_is_bit_exact_and_weight_decay_is_on(corpus, tmp_path):
    """ZeRO-3 on 2 ranks (gloo): train, checkpoint, SIGKILL, resume from the newest complete tag (a newer
    incomplete one is ignored), and export exactly what an uninterrupted run exports; weight decay is on
    (the placeholder-shape bug made it silently off, so weight_decay 0 and 0.01 exported identical weights)."""
    cfg = _config(train={"train_steps": 8, "micro_batch_size": 4, "zero_stage": 3, "checkpoint_every": 4, "eval_every": 4,
                         "eval_samples": 16, "keep_checkpoints": 3, "log_every": 2},
                  launch={"launcher": "deepspeed", "nproc_per_node": 2})  # fmt: skip
    args = (corpus["shards"].path, corpus["vocab"].path)
    straight = Path(launch.run(*args, cfg, tmp_path / "straight")["path"])
    with pytest.raises(launch.JobFailed):
        launch.run(*args, cfg, tmp_path / "killed", extra_args=("--kill-at-step", "4"))
    (work,) = (tmp_path / "killed" / "pretrain").glob(".run-*")
    assert (work / CHECKPOINTS / "step4" / "complete.json").is_file()
    broken = work / CHECKPOINTS / "step6"  # as if a later save had died half-way
    broken.mkdir()
    (broken / "zero_pp_rank_0_mp_rank_00_model_states.pt").write_bytes(b"truncated")
    resumed_out = launch.run(*args, cfg, tmp_path / "killed")
    resumed = Path(resumed_out["path"])
    assert resumed_out["counts"]["resumed_from"] == 4 and resumed_out["counts"]["world_size"] == 2
    weights = lambda run: (run / HF_DIR / "model.safetensors").read_bytes()  # noqa: E731
    assert weights(straight) == weights(resumed), "the resumed ZeRO-3 run must export the same bytes"
    after = lambda run: [(r["step"], r["loss"]) for r in _metrics(run, "train") if r["step"] > 4]  # noqa: E731
    assert after(straight) == after(resumed)

    no_decay = _config(optim={"weight_decay": 0.0}, train=cfg["train"], launch=cfg["launch"])
    other = Path(launch.run(*args, no_decay, tmp_path / "no-decay")["path"])
    assert weights(other) != weights(straight), "weight_decay must change what ZeRO-3 trains"


@pytest.mark.slow
@pytest.mark.parametrize("stage", [1, 2, 3])
def test_bf16_runs_export_their_fp32_masters(corpus, tmp_path, stage):
    """bf16 + fp32 accumulation is a different optimizer per stage (ZeRO-1: BF16_Optimizer, whose checkpoint
    zero_to_fp32 cannot read); each must export loadable fp32 weights. bf16 is ~30x slower on this CPU: 4 steps."""
    from safetensors.torch import load_file

    # 4 steps: with 2, warmup then cosine leave the learning rate 0 on both, and the masters stay bf16 values
    cfg = _config(train={"train_steps": 4, "global_batch_size": 8, "micro_batch_size": 8, "zero_stage": stage,
                         "precision": "bf16", "checkpoint_every": 4, "eval_every": 4, "eval_samples": 8})  # fmt: skip
    out = launch.run(corpus["shards"].path, corpus["vocab"].path, cfg, tmp_path)
    weights = load_file(Path(out["path"]) / HF_DIR / "model.safetensors")
    assert weights and all(w.dtype == torch.float32 and torch.isfinite(w).all() for w in weights.values())
    emb = weights["bert.embeddings.word_embeddings.weight"]
    assert not torch.equal(emb, emb.bfloat16().float()), "fp32 masters, not bf16 weights widened"
