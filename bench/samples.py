"""Start-up cost of the pretraining sample index at corpus scale: vectorised build vs the old Python loop.

Rank 0 builds the index while every other rank waits at a barrier (DeepSpeed's default timeout is 10
minutes), so the build must take well under that at GatorTron's ~10^9 sentences. This builds it for
synthetic sentence lengths and documents (no shards needed: the index depends only on lengths and
document boundaries) and prints the time. Goal: 10^8 sentences in < 60 s on one core.

The old per-sentence Python loop is timed on a smaller corpus (``--compare``) and both are run on that
same corpus, to give the speed ratio; on that corpus with ``short_seq_prob=0`` (no randomness) the two
indices must be identical, which is checked too.

    python bench/samples.py                          # 10^8 sentences, seq_len 128; loop compared at 10^6
    python bench/samples.py --sentences 1e7 --compare 2e5 --seq-len 512
"""

from __future__ import annotations

import argparse
import os
import resource
import time
from collections.abc import Callable

import numpy as np

from model.samples import SPLITS, SampleSettings, build_index


def synthetic_corpus(n_sentences: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Sentence lengths (1..60 tokens, mean ~18 like clinical sentences) and documents of ~1..200 sentences."""
    rng = np.random.default_rng(seed)
    lengths = np.minimum(rng.geometric(1 / 18, size=n_sentences), 60).astype(np.int32)
    sizes = np.minimum(rng.geometric(1 / 30, size=n_sentences // 10 + 10), 200)
    stops = np.cumsum(sizes)
    stops = stops[stops < n_sentences]
    stops = np.append(stops, n_sentences)
    starts = np.concatenate(([0], stops[:-1]))
    return lengths, np.stack([starts, stops], axis=1).astype(np.int64)


def greedy_index(doc_bounds: np.ndarray, lengths: np.ndarray, next_target: Callable[[int, int], int]) -> np.ndarray:
    """Megatron's greedy packing one sentence at a time, the rule ``build_index`` vectorises: the reference
    both the baseline here and ``tests/model/test_samples.py`` run. ``next_target(start, j)`` is the target
    length of sample ``j`` of the document starting at row ``start``; it is asked in document order, at
    each sample's start and once after a document's last sample (the old build drew a target there too)."""
    out: list[tuple[int, int, int]] = []
    for start, stop in doc_bounds.tolist():
        if stop - start < 2:
            continue
        j = 0
        first, acc, n_sent, target = start, 0, 0, next_target(start, j)
        for row in range(start, stop):
            acc += int(lengths[row])
            n_sent += 1
            remaining = stop - row - 1
            if (acc >= target and remaining > 1 and n_sent >= 2) or remaining == 0:
                out.append((first, row + 1, target))
                j += 1
                first, acc, n_sent, target = row + 1, 0, 0, next_target(start, j)
    return np.asarray(out, dtype=np.int64).reshape(-1, 3)


def old_build_index(doc_bounds: np.ndarray, lengths: np.ndarray, settings: SampleSettings, split: str) -> np.ndarray:
    """The index build as it was before vectorisation (the baseline): the greedy loop, its targets drawn from
    one sequential RNG stream."""
    rng = np.random.default_rng([settings.seed, SPLITS[split], 11])

    def target_len(_start: int, _j: int) -> int:
        if settings.short_seq_prob > 0 and rng.random() < settings.short_seq_prob:
            return int(rng.integers(2, settings.max_tokens + 1))
        return settings.max_tokens

    return greedy_index(doc_bounds, lengths, target_len)


def _timed(fn, *args):
    t0 = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - t0


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sentences", type=float, default=1e8)
    p.add_argument("--compare", type=float, default=1e6, help="corpus size for the old-loop comparison (0 = skip)")
    p.add_argument("--seq-len", type=int, default=128)
    p.add_argument("--short-seq-prob", type=float, default=0.1)
    args = p.parse_args()
    settings = SampleSettings(seq_len=args.seq_len, short_seq_prob=args.short_seq_prob)
    cores = len(os.sched_getaffinity(0))
    print(f"seq_len {args.seq_len}, short_seq_prob {args.short_seq_prob}; numpy runs these steps on one core "
          f"({cores} visible)")  # fmt: skip

    if args.compare:
        n = int(args.compare)
        lengths, docs = synthetic_corpus(n, seed=1)
        fixed = SampleSettings(seq_len=args.seq_len, short_seq_prob=0.0)
        old, t_old = _timed(old_build_index, docs, lengths, settings, "train")
        new, t_new = _timed(build_index, docs, lengths, settings, "train")
        same = np.array_equal(old_build_index(docs, lengths, fixed, "train"), build_index(docs, lengths, fixed, "train"))
        print(f"\n{n:,} sentences, {len(docs):,} documents:")
        print(f"  old Python loop   {t_old:8.2f} s  ({len(old):,} samples)")
        print(f"  vectorised        {t_new:8.2f} s  ({len(new):,} samples)")
        print(f"  speed-up          {t_old / t_new:8.1f}x;  identical indices with short_seq_prob=0: {same}")

    n = int(args.sentences)
    (lengths, docs), t_gen = _timed(synthetic_corpus, n)
    index, t_build = _timed(build_index, docs, lengths, settings, "train")
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(f"\n{n:,} sentences, {len(docs):,} documents (synthetic lengths generated in {t_gen:.1f} s):")
    print(f"  vectorised build  {t_build:8.2f} s  -> {len(index):,} samples ({index.nbytes / 2**30:.2f} GiB index), "
          f"goal < 60 s: {'met' if t_build < 60 else 'NOT met'}")  # fmt: skip
    print(f"  peak RSS of this process: {peak_gb:.1f} GiB")


if __name__ == "__main__":
    main()
