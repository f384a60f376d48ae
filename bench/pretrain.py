"""Pretraining throughput: our encoder vs Hugging Face ``BertForPreTraining`` of the same size.

Same process, same batches (Megatron-style MLM + SOP samples from real shards), same optimizer (AdamW),
timed step by step, alternating, so that load from other processes hits both sides alike. Reports training
tokens/s (real tokens, padding excluded), the ratio, the model FLOPs per token and the implied MFU.

Where the difference comes from: we run token-wise layers on unpadded tokens only, project Q/K/V with one
fused GEMM and compute MLM logits at the ~15% masked positions; ``BertForPreTraining`` projects every
position (padding included) onto the vocabulary and then ignores 85% of it in the loss. Both use
``scaled_dot_product_attention``.

A third side times our model with variable-length attention (``attention_impl: varlen``, nested jagged
tensors) against the padded path the CPU default uses: same weights, same batches. On CPU nested-tensor
SDPA has only the math kernel, which it runs sequence by sequence, so this row shows what the CPU
default costs or saves; on GPU the varlen path is the default (see ``bench/gpu_check.py``).

    python bench/pretrain.py                      # builds a small synthetic corpus first (~30 s)
    python bench/pretrain.py --shards DIR --vocab DIR --preset mini --seq-len 128 --batch 16
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import torch

from model.bert import build, count_parameters, flops_per_token, padded_vocab, preset
from model.samples import PretrainingSamples, SampleSettings, collate
from pipeline.vocab import load_tokenizer

AVX2_FP32_FLOPS_PER_CYCLE = 32  # 2 FMA units x 8 fp32 lanes x 2 FLOPs per FMA


def synthetic_corpus(root: Path, notes: int) -> tuple[Path, Path]:
    """Shards and vocabulary from the real preprocessing stages on synthetic notes."""
    from pipeline.synth import generator as synth
    from pipeline.config import PreprocessConfig
    from pipeline.core.dag import run_preprocess

    os.environ.setdefault("EHRLM_ID_KEY", secrets.token_hex(32))  # deid's keyed note/patient ids (synthetic notes)
    raw = synth.write(synth.generate(notes, seed=0), root / "raw", fmt="parquet")
    config = PreprocessConfig(data_root=root / "data", workers=2)
    done = run_preprocess(config, raw)
    return done["shards"].dataset.path, done["vocab"].dataset.part("tokenizer.json")


def hf_model(cfg, dropout: float):
    from transformers import BertConfig, BertForPreTraining

    hf_cfg = BertConfig(
        vocab_size=cfg.vocab_size, hidden_size=cfg.hidden_size, num_hidden_layers=cfg.num_layers,
        num_attention_heads=cfg.num_heads, intermediate_size=cfg.intermediate_size,
        max_position_embeddings=cfg.max_position_embeddings, type_vocab_size=cfg.type_vocab_size,
        hidden_dropout_prob=dropout, attention_probs_dropout_prob=dropout, attn_implementation="sdpa",
    )  # fmt: skip
    return BertForPreTraining(hf_cfg)


def hf_inputs(batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    labels = torch.full_like(batch["input_ids"], -100).view(-1)
    labels[batch["mlm_positions"]] = batch["mlm_labels"]
    return {"input_ids": batch["input_ids"], "token_type_ids": batch["token_type_ids"],
            "attention_mask": batch["attention_mask"], "labels": labels.view_as(batch["input_ids"]),
            "next_sentence_label": batch["sop_labels"]}  # fmt: skip


def peak_flops() -> tuple[float, str]:
    """fp32 peak of the cores this benchmark uses (torch threads x clock x AVX2 FMA rate), from /proc/cpuinfo."""
    cores = min(torch.get_num_threads(), len(os.sched_getaffinity(0)))
    mhz = 0.0
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("cpu MHz"):
                mhz = max(mhz, float(line.split(":")[1]))
    except OSError:
        pass
    mhz = mhz or 2000.0
    return cores * mhz * 1e6 * AVX2_FP32_FLOPS_PER_CYCLE, f"{cores} cores x {mhz / 1000:.2f} GHz x {AVX2_FP32_FLOPS_PER_CYCLE} FLOP/cycle"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--shards", type=Path)
    p.add_argument("--vocab", type=Path, help="vocab dataset folder or tokenizer.json")
    p.add_argument("--notes", type=int, default=400, help="synthetic notes when no shards are given")
    p.add_argument("--preset", default="mini")
    p.add_argument("--seq-len", type=int, default=128)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--steps", type=int, default=16, help="timed steps per model")
    p.add_argument("--dropout", type=float, default=0.1)
    p.add_argument("--threads", type=int, default=1,
                   help="torch threads; 1 by default because on a shared 2-core machine two threads mostly measure "
                        "the contention between OpenMP spin-waits and other processes")  # fmt: skip
    args = p.parse_args()
    torch.set_num_threads(args.threads)

    tmp = None
    if args.shards is None:
        tmp = tempfile.TemporaryDirectory(prefix="ehrlm-bench-")
        print(f"building a synthetic corpus ({args.notes} notes) ...", flush=True)
        shards, tok_json = synthetic_corpus(Path(tmp.name), args.notes)
    else:
        shards = args.shards
        tok_json = args.vocab / "tokenizer.json" if args.vocab.is_dir() else args.vocab
    n_tokens = load_tokenizer(tok_json).get_vocab_size()
    cfg = preset(args.preset, padded_vocab(n_tokens), hidden_dropout=args.dropout, attention_dropout=args.dropout)
    cache = Path(tempfile.mkdtemp(prefix="ehrlm-bench-index-"))
    samples = PretrainingSamples(shards, tok_json, SampleSettings(seq_len=args.seq_len), "train", cache)
    n_batches = args.steps + 2
    batches = [{k: torch.from_numpy(v) for k, v in collate([samples[i] for i in range(b * args.batch, (b + 1) * args.batch)]).items()}
               for b in range(n_batches)]  # fmt: skip

    torch.manual_seed(0)
    ours = build(replace(cfg, attention_impl="padded")).train()  # what "auto" picks on CPU
    varlen = build(replace(cfg, attention_impl="varlen")).train()
    varlen.load_state_dict(ours.state_dict())
    theirs = hf_model(cfg, args.dropout).train()
    opt_ours = torch.optim.AdamW(ours.parameters(), lr=1e-4)
    opt_varlen = torch.optim.AdamW(varlen.parameters(), lr=1e-4)
    opt_theirs = torch.optim.AdamW(theirs.parameters(), lr=1e-4)

    def step_ours(b):
        out = ours(**b)
        out.loss.backward()
        opt_ours.step()
        opt_ours.zero_grad(set_to_none=True)

    def step_varlen(b):
        out = varlen(**b)
        out.loss.backward()
        opt_varlen.step()
        opt_varlen.zero_grad(set_to_none=True)

    def step_theirs(b):
        out = theirs(**hf_inputs(b))
        out.loss.backward()
        opt_theirs.step()
        opt_theirs.zero_grad(set_to_none=True)

    for b in batches[:2]:  # warm-up: allocator, kernels
        step_ours(b)
        step_varlen(b)
        step_theirs(b)
    # interleaved step by step (rotating who goes first) so that load from other processes hits all alike
    times: dict[str, list[float]] = {"ours": [], "varlen": [], "hf": []}
    sides = (("ours", step_ours), ("varlen", step_varlen), ("hf", step_theirs))
    for k, b in enumerate(batches[2:]):
        for name, fn in sides[k % 3 :] + sides[: k % 3]:
            t0 = time.perf_counter()
            fn(b)
            times[name].append(time.perf_counter() - t0)
    tokens_per_step = statistics.mean(int(b["attention_mask"].sum()) for b in batches[2:])
    tps = {k: tokens_per_step / statistics.median(v) for k, v in times.items()}
    best = {k: tokens_per_step / min(v) for k, v in times.items()}
    width = statistics.mean(int(b["input_ids"].shape[1]) for b in batches)
    fpt = flops_per_token(cfg, args.seq_len)
    peak, peak_desc = peak_flops()

    print(f"\nmodel: {args.preset} ({count_parameters(cfg) / 1e6:.2f} M parameters, vocab {cfg.vocab_size}), "
          f"seq_len {args.seq_len}, batch {args.batch}, threads {torch.get_num_threads()}, dropout {args.dropout}")  # fmt: skip
    print(f"batches: {tokens_per_step:.0f} real tokens/step, padded width {width:.0f} "
          f"({100 * (1 - tokens_per_step / (args.batch * width)):.1f}% padding)")  # fmt: skip
    print(f"{'':<28}{'median step':>14}{'tokens/s':>12}{'best step':>12}{'tokens/s':>12}")
    for name, label in (("ours", "ehrlm (padded attention)"), ("varlen", "ehrlm (varlen attention)"),
                        ("hf", "HF BertForPreTraining")):  # fmt: skip
        print(f"{label:<28}{1000 * statistics.median(times[name]):>11.1f} ms{tps[name]:>12.0f}"
              f"{1000 * min(times[name]):>9.1f} ms{best[name]:>12.0f}")  # fmt: skip
    print(f"speed-up vs HF (padded attention, the CPU default): {tps['ours'] / tps['hf']:.2f}x on median steps, "
          f"{best['ours'] / best['hf']:.2f}x on best steps (goal >= 1.5x)")  # fmt: skip
    print(f"varlen vs padded attention step time on this CPU: {statistics.median(times['varlen']) / statistics.median(times['ours']):.2f}x "
          f"on median steps, {min(times['varlen']) / min(times['ours']):.2f}x on best steps (> 1 = varlen slower)")  # fmt: skip
    print(f"\nmodel FLOPs per token (training, fwd+bwd = 3x fwd): {fpt / 1e6:.2f} MFLOP")
    print("  = 3 x [L x (2 x (4h^2 + 2hf) + 4 x seq x h) + 0.15 x 2 x (h^2 + h x V)]"
          f"  with L={cfg.num_layers} h={cfg.hidden_size} f={cfg.intermediate_size} seq={args.seq_len} V={cfg.vocab_size}")  # fmt: skip
    print(f"MFU = tokens/s x FLOPs/token / peak FLOP/s;  peak = {peak_desc} = {peak / 1e9:.0f} GFLOP/s (fp32, AVX2)")
    print(f"  ours: {tps['ours']:.0f} x {fpt / 1e6:.2f}e6 / {peak / 1e9:.0f}e9 = {100 * tps['ours'] * fpt / peak:.1f}% MFU")
    print(f"  HF (same model FLOPs credited): {100 * tps['hf'] * fpt / peak:.1f}% MFU")
    if tmp is not None:
        tmp.cleanup()


if __name__ == "__main__":
    main()
