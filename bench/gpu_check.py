"""GPU acceptance check for pretraining: run it once on a CUDA machine before renting a cluster.

Everything else in this repository is verified on CPU (gloo). This script checks, on one GPU (an H100
is the reference; about 5 minutes including DeepSpeed's one-off CUDA op builds), what only a GPU can
show. One line per check, ``PASS`` / ``FAIL`` with the figure; the exit code is 1 if any check failed,
2 if there is no GPU (nothing was checked).

1. ``sdpa``: the attention kernel actually chosen in training (bf16, dropout on) is FlashAttention or
   memory-efficient attention, never the math fallback, with and without padding (a key mask).
2. ``bf16``: bf16 weights (as DeepSpeed's bf16 mode trains) give the fp32 loss and gradients within
   tolerance (relative loss difference, cosine similarity of the flattened gradients).
3. ``mfu``: tokens/s and model FLOPs utilisation of ``gatortron-base`` at seq 512, micro-batches 8 and
   32, through the real DeepSpeed engine and config (ZeRO-1, bf16); peak 989 TFLOP/s (H100 SXM bf16
   dense; pass ``--peak-tflops`` for another GPU). Goal: >= 40% MFU.
4. ``e2e``: ``ehrlm pretrain`` on a small synthetic corpus, tiny preset, one rank with NCCL through the
   deepspeed launcher; the Hugging Face export loads in ``transformers`` and gives finite logits.
5. ``zero3``: ZeRO-3 (``zero.Init``): initialisation std, weight-decay groups equal to an unpartitioned
   build, save -> train on -> load restores the weights bit for bit, and the consolidated fp32 export
   matches the live weights.
6. ``varlen``: a padded batch on CUDA takes the variable-length attention path by default
   (``attention_impl: auto``; flash_attn's varlen kernel if that package is installed, else SDPA on nested
   jagged tensors, whose kernel must not be math), gives the padded path's loss, logits and gradients
   (fp32: tight; bf16: against the fp32 reference), and its training step time against the padded path
   (bf16, dropout 0.1, gatortron-base width, 4 layers, seq 512, micro-batch 16 with ~25% padding). Fails if
   varlen is more than 10% slower: then ``auto`` should not pick it on GPU.

    python bench/gpu_check.py                  # all checks
    python bench/gpu_check.py --only sdpa mfu  # some
    python bench/gpu_check.py --only varlen    # the attention path alone (~1 minute)
"""

from __future__ import annotations

import argparse
import json
import math
import os
import secrets
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import torch

H100_BF16_DENSE_TFLOPS = 989.0
MFU_GOAL = 0.40
CHECKS = ("sdpa", "bf16", "mfu", "e2e", "zero3", "varlen")
VARLEN_MAX_SLOWDOWN = 1.10
NEEDS_CUDA = 2


class CheckFailed(Exception):
    """A check ran and its figure missed the bar; the message is the figure."""


def _line(name: str, ok: bool, detail: str) -> None:
    print(f"{'PASS' if ok else 'FAIL'}  {name:<6} {detail}", flush=True)


# --- 1. SDPA backend ---------------------------------------------------------------------------------


def _attention_inputs(batch: int, seq: int, heads: int, dim: int, padded: bool):
    g = torch.Generator(device="cuda").manual_seed(0)
    q, k, v = (torch.randn(batch, heads, seq, dim, device="cuda", dtype=torch.bfloat16, generator=g, requires_grad=True)
               for _ in range(3))  # fmt: skip
    mask = None
    if padded:
        lengths = torch.randint(seq // 4, seq + 1, (batch,), device="cuda", generator=g)
        lengths[0] = seq
        mask = (torch.arange(seq, device="cuda")[None, :] < lengths[:, None])[:, None, None, :]
    return q, k, v, mask


def check_sdpa() -> str:
    """The model's attention call under a kernel restriction that excludes the math backend: if only math
    could run it, ``sdpa_kernel`` raises. The backend torch would pick is reported too."""
    import torch.nn.functional as F
    from torch.nn.attention import SDPBackend, sdpa_kernel

    from model.bert import BertConfig, Padding, SelfAttention

    figures = []
    for padded in (False, True):
        q, k, v, mask = _attention_inputs(8, 512, 16, 64, padded)
        chosen = "?"
        try:  # private API, for the report only
            choice = int(torch._fused_sdp_choice(q, k, v, mask, 0.1, False))
            chosen = next((b.name for b in (SDPBackend.MATH, SDPBackend.FLASH_ATTENTION, SDPBackend.EFFICIENT_ATTENTION,
                                            SDPBackend.CUDNN_ATTENTION) if int(b.value) == choice), str(choice))  # fmt: skip
        except Exception:
            pass
        if chosen == "MATH":
            raise CheckFailed(f"{'padded' if padded else 'unpadded'} batch: torch picks the MATH backend")
        with sdpa_kernel([SDPBackend.FLASH_ATTENTION, SDPBackend.EFFICIENT_ATTENTION]):
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=0.1)
            out.float().sum().backward()
            # and through the model's own attention module, in training mode (dropout on)
            cfg = BertConfig(vocab_size=128, hidden_size=1024, num_layers=1, num_heads=16, intermediate_size=4096)
            attn = SelfAttention(cfg).cuda().to(torch.bfloat16).train()
            am = torch.ones(8, 512, dtype=torch.long, device="cuda")
            if padded:
                am[1:, 400:] = 0
            pad = Padding.of(am)
            x = torch.randn(int(am.sum()), 1024, device="cuda", dtype=torch.bfloat16, requires_grad=True)
            attn(x, pad).float().sum().backward()
        torch.cuda.synchronize()
        figures.append(f"{'padded' if padded else 'unpadded'}: {chosen} (model path {attn.path(pad, x)})")
    return "; ".join(figures) + " (math excluded and not needed)"


# --- 2. bf16 vs fp32 ----------------------------------------------------------------------------------


def _synthetic_batch(cfg, batch: int, seq: int, seed: int = 0, padded: bool = False) -> dict[str, torch.Tensor]:
    """A Megatron-shaped MLM + SOP batch of random tokens (15% of positions are targets)."""
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(30, cfg.vocab_size - 1, (batch, seq), generator=g)
    ids[:, 0] = 2
    types = torch.zeros_like(ids)
    types[:, seq // 2 :] = 1
    mask = torch.ones_like(ids)
    if padded:
        lengths = torch.randint(seq // 2, seq + 1, (batch,), generator=g)
        mask = (torch.arange(seq)[None, :] < lengths[:, None]).long()
    positions = []
    for b in range(batch):
        n = int(mask[b].sum())
        k = max(1, int(0.15 * n))
        positions.append(torch.randperm(n - 1, generator=g)[:k].sort().values + 1 + b * seq)
    pos = torch.cat(positions)
    labels = ids.view(-1)[pos].clone()
    return {"input_ids": ids, "token_type_ids": types, "attention_mask": mask, "mlm_positions": pos, "mlm_labels": labels,
            "sop_labels": torch.randint(0, 2, (batch,), generator=g)}  # fmt: skip


def check_bf16() -> str:
    from model.bert import build, preset

    cfg = preset("gatortron-base", 50176, num_layers=4, hidden_dropout=0.0, attention_dropout=0.0)
    torch.manual_seed(0)
    ref = build(cfg, "cuda")
    low = build(cfg, "cuda")
    low.load_state_dict(ref.state_dict())
    low = low.to(torch.bfloat16)
    batch = {k: v.cuda() for k, v in _synthetic_batch(cfg, 8, 512, padded=True).items()}
    out_ref, out_low = ref(**batch), low(**batch)
    out_ref.loss.backward()
    out_low.loss.backward()
    rel = abs(float(out_low.loss) - float(out_ref.loss)) / abs(float(out_ref.loss))
    g_ref = torch.cat([p.grad.float().flatten() for p in ref.parameters()])
    g_low = torch.cat([p.grad.float().flatten() for p in low.parameters()])
    cos = float(torch.nn.functional.cosine_similarity(g_ref, g_low, dim=0))
    detail = f"loss fp32 {float(out_ref.loss):.4f} bf16 {float(out_low.loss):.4f} (rel diff {rel:.2e}, goal < 1e-2); " \
             f"gradient cosine {cos:.4f} (goal > 0.99)"  # fmt: skip
    if not (rel < 1e-2 and cos > 0.99):
        raise CheckFailed(detail)
    return detail


# --- 3. throughput and MFU ----------------------------------------------------------------------------


def _engine(cfg_dict: dict, bert_cfg, zero3: bool = False):
    import deepspeed

    from model.bert import BertForPretraining, build
    from model.config import PretrainConfig
    from model.train import deepspeed_config, param_groups

    pcfg = PretrainConfig.load(cfg_dict)
    ds = deepspeed_config(pcfg, 1, on_gpu=True)
    torch.manual_seed(pcfg.train.seed)
    if zero3:
        with deepspeed.zero.Init(config_dict_or_path=ds):
            model = BertForPretraining(bert_cfg)
        deepspeed.zero.register_external_parameter(model.cls.predictions, model.bert.embeddings.word_embeddings.weight)
    else:
        model = build(bert_cfg, "cuda")
    engine, _, _, _ = deepspeed.initialize(model=model, model_parameters=param_groups(model, pcfg.optim.weight_decay), config=ds)
    return engine, model, ds


def check_mfu(peak_tflops: float) -> str:
    from model.bert import flops_per_token, preset

    cfg = preset("gatortron-base", 50176)
    fpt = flops_per_token(cfg, 512)
    figures, ok = [], True
    for micro in (8, 32):
        settings = {"model": {"preset": "gatortron-base"}, "data": {"seq_len": 512},
                    "train": {"global_batch_size": micro, "micro_batch_size": micro, "zero_stage": 1, "precision": "bf16",
                              "train_steps": 1000}}  # fmt: skip
        engine, _, _ = _engine(settings, cfg)
        batches = [{k: v.cuda(non_blocking=True) for k, v in _synthetic_batch(cfg, micro, 512, seed=s).items()} for s in range(4)]
        tokens = sum(int(b["attention_mask"].sum()) for b in batches) / len(batches)

        def step(b):
            out = engine(**b)
            engine.backward(out.loss)
            engine.step()

        for b in batches[:3]:  # warm-up: kernels, allocator
            step(b)
        torch.cuda.synchronize()
        n = 10 if micro == 32 else 20
        t0 = time.perf_counter()
        for i in range(n):
            step(batches[i % len(batches)])
        torch.cuda.synchronize()
        tps = n * tokens / (time.perf_counter() - t0)
        mfu = tps * fpt / (peak_tflops * 1e12)
        ok &= mfu >= MFU_GOAL
        figures.append(f"micro-batch {micro}: {tps:,.0f} tokens/s, MFU {100 * mfu:.1f}%")
        if hasattr(engine, "destroy"):
            engine.destroy()
        del engine
        torch.cuda.empty_cache()
    detail = f"gatortron-base seq 512, 1 GPU, ZeRO-1 bf16: {'; '.join(figures)} (goal >= {100 * MFU_GOAL:.0f}%, peak " \
             f"{peak_tflops:.0f} TFLOP/s, {fpt / 1e9:.2f} GFLOP/token)"  # fmt: skip
    if not ok:
        raise CheckFailed(detail)
    return detail


# --- 4. end to end through `ehrlm pretrain` ------------------------------------------------------------


def _synthetic_corpus(root: Path, notes: int) -> tuple[Path, Path]:
    from pipeline.synth import generator as synth
    from pipeline.config import PreprocessConfig
    from pipeline.core.dag import run_preprocess

    os.environ.setdefault("EHRLM_ID_KEY", secrets.token_hex(32))  # deid's keyed ids; synthetic notes only
    raw = synth.write(synth.generate(notes, seed=0), root / "raw", fmt="parquet")
    config = PreprocessConfig(data_root=root / "data", workers=2)
    done = run_preprocess(config, raw)
    return done["shards"].dataset.path, done["vocab"].dataset.path


def check_e2e(work: Path) -> str:
    import yaml

    shards, vocab = _synthetic_corpus(work / "corpus", 300)
    config = {"pretrain": {
        "model": {"preset": "tiny"}, "data": {"seq_len": 128},
        "train": {"train_steps": 20, "global_batch_size": 16, "micro_batch_size": 16, "zero_stage": 1, "precision": "bf16",
                  "checkpoint_every": 10, "eval_every": 10, "eval_samples": 32, "log_every": 5},
        "launch": {"launcher": "deepspeed", "nproc_per_node": 1},
    }}  # fmt: skip
    cfg_file = work / "e2e.yaml"
    cfg_file.write_text(yaml.safe_dump(config))
    ehrlm = str(Path(sys.executable).parent / "ehrlm")
    cmd = [ehrlm, "pretrain", "--shards", str(shards), "--vocab", str(vocab), "--config", str(cfg_file), "--out-root", str(work / "runs")]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=900, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    if done.returncode != 0:
        raise CheckFailed(f"`ehrlm pretrain` exited {done.returncode}: {(done.stdout + done.stderr).strip().splitlines()[-1:]}")
    (run,) = [p.parent for p in (work / "runs" / "pretrain").glob("*/_manifest.json")]  # the finished run
    result = json.loads((run / "result.json").read_text())
    start = next(json.loads(ln) for ln in (run / "metrics.jsonl").read_text().splitlines() if '"start"' in ln)
    if start.get("backend") != "nccl":
        raise CheckFailed(f"the job ran on process-group backend {start.get('backend')!r}, not nccl")
    import transformers

    hf = transformers.AutoModelForMaskedLM.from_pretrained(run / "hf").cuda().eval()
    tok = transformers.AutoTokenizer.from_pretrained(run / "hf")
    enc = tok(["pt seen for chest pain, started aspirin"], return_tensors="pt").to("cuda")
    with torch.no_grad():
        logits = hf(**enc).logits
    if not torch.isfinite(logits).all():
        raise CheckFailed("the exported model gives non-finite logits")
    return (f"{result['steps']} steps, world {result['world_size']}, {result['precision']}, val loss "
            f"{result['best_val_loss']:.3f}; HF export loads as {type(hf).__name__}, finite logits")  # fmt: skip


# --- 5. ZeRO-3 round trip ------------------------------------------------------------------------------


def check_zero3(work: Path) -> str:
    import deepspeed
    from deepspeed.utils.zero_to_fp32 import get_fp32_state_dict_from_zero_checkpoint

    from model.bert import build, preset
    from model.train import param_groups

    cfg = preset("mini", 8192, hidden_dropout=0.0, attention_dropout=0.0)
    settings = {"model": {"preset": "mini"}, "data": {"seq_len": 128},
                "train": {"global_batch_size": 8, "micro_batch_size": 8, "zero_stage": 3, "precision": "bf16", "train_steps": 100}}  # fmt: skip
    engine, model, _ = _engine(settings, cfg, zero3=True)
    emb = model.bert.embeddings.word_embeddings.weight
    with deepspeed.zero.GatheredParameters([emb]):
        std = float(emb.float().std())
    if abs(std - cfg.initializer_range) > 0.1 * cfg.initializer_range:
        raise CheckFailed(f"gathered embedding std {std:.4f}, expected {cfg.initializer_range}")
    by_id = {id(p): n for n, p in model.named_parameters()}
    z3 = [sorted(by_id[id(p)] for p in g["params"]) for g in param_groups(model, 0.01)]
    plain = build(cfg, "meta")
    by_id0 = {id(p): n for n, p in plain.named_parameters()}
    z0 = [sorted(by_id0[id(p)] for p in g["params"]) for g in param_groups(plain, 0.01)]
    if z3 != z0:
        raise CheckFailed(f"ZeRO-3 decay groups {len(z3[0])}/{len(z3[1])} != unpartitioned {len(z0[0])}/{len(z0[1])}")

    def step(seed):
        b = {k: v.cuda() for k, v in _synthetic_batch(cfg, 8, 128, seed=seed).items()}
        out = engine(**b)
        engine.backward(out.loss)
        engine.step()

    def gathered() -> dict[str, torch.Tensor]:
        params = list(model.parameters())
        with deepspeed.zero.GatheredParameters(params):
            return {n: p.detach().float().cpu().clone() for n, p in model.named_parameters()}

    for s in range(3):
        step(s)
    ckpt = work / "zero3"
    engine.save_checkpoint(str(ckpt), tag="step3")
    saved = gathered()
    for s in range(3, 5):
        step(s)
    if all(torch.equal(saved[n], w) for n, w in gathered().items()):
        raise CheckFailed("two more steps did not change the weights")
    engine.load_checkpoint(str(ckpt), tag="step3")
    restored = gathered()
    bad = [n for n in saved if not torch.equal(saved[n], restored[n])]
    if bad:
        raise CheckFailed(f"load_checkpoint did not restore {len(bad)} tensors, e.g. {bad[0]}")
    fp32 = get_fp32_state_dict_from_zero_checkpoint(str(ckpt), tag="step3")
    worst = max(float((fp32[n].float() - saved[n]).abs().max()) for n in saved)
    if worst > 1e-2:  # live weights are bf16 copies of the fp32 masters
        raise CheckFailed(f"consolidated fp32 weights differ from the live bf16 weights by {worst:.3g}")
    return (f"init std {std:.4f}; decay groups {len(z3[0])} decay / {len(z3[1])} no-decay (= unpartitioned); "
            f"save/train/load bit-exact; fp32 export within {worst:.1e} of live bf16 weights")  # fmt: skip


# --- 6. variable-length attention ---------------------------------------------------------------------


def _njt_backend(padding, heads: int, dim: int) -> str:
    """The SDPA backend torch picks for nested jagged bf16 inputs with dropout (private API: report only)."""
    try:
        from torch.nested._internal.sdpa import _select_sdp_backend

        q = torch.randn(int(padding.offsets[-1]), heads, dim, device="cuda", dtype=torch.bfloat16)
        nt = torch.nested.nested_tensor_from_jagged(q, padding.offsets, min_seqlen=1, max_seqlen=padding.seq)
        nt = nt.transpose(1, 2)
        return _select_sdp_backend(nt, nt, nt, None, 0.1, False, False).name
    except Exception as exc:  # the private API moved: say so, the kernel restriction below still guards math
        return f"? ({type(exc).__name__})"


def check_varlen() -> str:
    from torch.nn.attention import SDPBackend, sdpa_kernel

    from model.bert import Padding, build, preset

    cfg = preset("gatortron-base", 50176, num_layers=4, hidden_dropout=0.0, attention_dropout=0.0)
    torch.manual_seed(0)
    auto = build(cfg, "cuda")  # attention_impl "auto": what a training run uses
    padded = build(replace(cfg, attention_impl="padded"), "cuda")
    padded.load_state_dict(auto.state_dict())
    batch = {k: v.cuda() for k, v in _synthetic_batch(cfg, 16, 512, seed=1, padded=True).items()}
    pad = Padding.of(batch["attention_mask"])
    share = 1 - int(batch["attention_mask"].sum()) / batch["attention_mask"].numel()
    attn = auto.bert.encoder.layer[0].attention.self
    path = attn.path(pad, torch.empty(0, device="cuda", dtype=torch.bfloat16))
    if not path.startswith("varlen"):
        raise CheckFailed(f"attention_impl auto picks {path!r} for a padded bf16 batch on CUDA, not varlen")
    backend = _njt_backend(pad, cfg.num_heads, cfg.hidden_size // cfg.num_heads) if path == "varlen-sdpa" else "flash_attn"
    if backend == "MATH":
        raise CheckFailed("nested-tensor SDPA picks the MATH backend for bf16 + dropout 0.1")

    def run(model, dtype) -> tuple[float, torch.Tensor, torch.Tensor]:
        model = model.to(dtype).train()
        model.zero_grad(set_to_none=True)
        with sdpa_kernel([SDPBackend.FLASH_ATTENTION, SDPBackend.EFFICIENT_ATTENTION]):  # math would raise
            out = model(**batch)
            out.loss.backward()
        grads = torch.cat([p.grad.float().flatten() for p in model.parameters()])
        return float(out.loss.detach()), out.mlm_logits.detach().float(), grads

    def compare(a, b) -> tuple[float, float, float]:
        rel = abs(a[0] - b[0]) / abs(b[0])
        cos = torch.nn.functional.cosine_similarity(a[2].double(), b[2].double(), dim=0)  # fp64: millions of terms
        return rel, float((a[1] - b[1]).abs().max()), float(cos)

    ref = run(padded, torch.float32)
    rel32, diff32, cos32 = compare(run(auto, torch.float32), ref)
    rel16, _, cos16 = compare(run(auto, torch.bfloat16), ref)
    figures = [f"auto -> {path} (SDPA backend {backend}) for {100 * share:.0f}% padding",
               f"fp32 vs padded: loss rel diff {rel32:.1e}, logits max diff {diff32:.1e}, grad cosine {cos32:.6f}",
               f"bf16 vs fp32 padded: loss rel diff {rel16:.1e}, grad cosine {cos16:.4f}"]  # fmt: skip
    if not (rel32 < 1e-5 and diff32 < 1e-3 and cos32 > 0.99999 and rel16 < 1e-2 and cos16 > 0.99):
        raise CheckFailed("; ".join(figures) + " (goals: fp32 < 1e-5, < 1e-3, > 0.99999; bf16 < 1e-2, > 0.99)")

    # step time in training conditions: bf16, attention dropout 0.1 (torch does not route it to cuDNN attention:
    # not a multiple of 1/16; flash and memory-efficient accept it), forward + backward, alternating turns
    padded = padded.to(torch.bfloat16)  # auto is bf16 already
    for model in (auto, padded):
        for layer in model.bert.encoder.layer:
            layer.attention.self.dropout = 0.1
    times: dict[str, list[float]] = {"varlen": [], "padded": []}
    for i in range(24):
        for name, model in (("varlen", auto), ("padded", padded))[:: 1 if i % 2 else -1]:
            torch.cuda.synchronize()
            t0 = time.perf_counter()
            model(**batch).loss.backward()
            torch.cuda.synchronize()
            if i >= 4:  # warm-up
                times[name].append(time.perf_counter() - t0)
    med = {k: sorted(v)[len(v) // 2] for k, v in times.items()}
    ratio = med["varlen"] / med["padded"]
    figures.append(f"fwd+bwd bf16 dropout 0.1: varlen {1000 * med['varlen']:.1f} ms, padded {1000 * med['padded']:.1f} ms "
                   f"({ratio:.2f}x; goal <= {VARLEN_MAX_SLOWDOWN:.2f}x)")  # fmt: skip
    if ratio > VARLEN_MAX_SLOWDOWN:
        raise CheckFailed("; ".join(figures))
    return "; ".join(figures)


# --- driver --------------------------------------------------------------------------------------------


def _init_single_rank() -> None:
    """One NCCL rank in this process (the e2e check starts its own job)."""
    from model.train import init_distributed

    os.environ.setdefault("LOCAL_RANK", "0")
    init_distributed(on_gpu=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--only", nargs="+", choices=CHECKS, default=list(CHECKS))
    p.add_argument("--peak-tflops", type=float, default=H100_BF16_DENSE_TFLOPS, help="bf16 dense peak of this GPU")
    args = p.parse_args(argv)
    if not torch.cuda.is_available():
        print("gpu_check needs CUDA: torch.cuda.is_available() is False on this machine, so NOTHING was checked. "
              "Run it on a GPU node (see docs/pretraining.md).", flush=True)  # fmt: skip
        return NEEDS_CUDA
    print(f"{torch.cuda.get_device_name(0)}, torch {torch.__version__}, CUDA {torch.version.cuda}", flush=True)
    torch.cuda.set_device(0)
    torch.backends.cuda.matmul.allow_tf32 = False  # the fp32 reference of the bf16 check must be fp32
    work = Path(tempfile.mkdtemp(prefix="ehrlm-gpu-check-"))
    if {"mfu", "zero3"} & set(args.only):
        _init_single_rank()
    runners: dict[str, Callable[[], str]] = {
        "sdpa": check_sdpa,
        "bf16": check_bf16,
        "mfu": lambda: check_mfu(args.peak_tflops),
        "e2e": lambda: check_e2e(work),
        "zero3": lambda: check_zero3(work),
        "varlen": check_varlen,
    }
    failed = 0
    for name in args.only:
        t0 = time.perf_counter()
        try:
            detail = runners[name]()
            _line(name, True, f"{detail} [{time.perf_counter() - t0:.0f} s]")
        except CheckFailed as exc:
            failed += 1
            _line(name, False, f"{exc} [{time.perf_counter() - t0:.0f} s]")
        except Exception as exc:  # a crash is a failed check too, with where it happened
            failed += 1
            where = traceback.extract_tb(exc.__traceback__)[-1]
            _line(name, False, f"{type(exc).__name__}: {str(exc)[:300]} ({Path(where.filename).name}:{where.lineno})")
        torch.cuda.empty_cache()
    print(f"{len(args.only) - failed} of {len(args.only)} checks passed; scratch files in {work}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
