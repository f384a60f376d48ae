"""Two versions of the deid stage side by side: each in its own process, one pass each in turn.

    git worktree add /tmp/old <commit>
    python bench/deid_versions.py /tmp/old . [--rounds 15] [--notes 400] [--seed 90210]

Why turns: this host's speed drifts by up to 20% within minutes, so numbers from two separate runs cannot be
compared; passes taken in turn see the same drift. Prints each version's best and median MB/s (CPU time of
``deid_texts`` over chunks of 32 heldout notes) and the median of the per-round ratios new / old. Counts and
rates only.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path


def _word_cache_clearer():
    """The version's ``clear_word_caches`` (it moved between versions; older ones have none), so that every
    pass meets the notes as a fresh worker does, as in ``bench/deid.py``."""
    import importlib

    for module in ("pipeline.deid.spelling", "pipeline.deid.recognizers"):
        try:
            return importlib.import_module(module).clear_word_caches
        except (ImportError, AttributeError):
            continue
    return lambda: None


def worker(notes: int, seed: int) -> None:
    """Runs inside one checkout: answers each line on stdin with the MB/s of one pass."""
    os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")
    from pipeline.deid import stage as deid
    from pipeline.synth.generator import generate

    rows = [(n.note_id, n.text) for n in generate(notes, seed=seed, profile="heldout").notes if n.text]
    mb = sum(len(t) for _, t in rows) / 1e6
    clear = _word_cache_clearer()

    def one_pass() -> float:
        clear()
        t0 = time.process_time()
        for i in range(0, len(rows), 32):
            deid.deid_texts(rows[i : i + 32], False, 0.3)
        return mb / (time.process_time() - t0)

    one_pass()  # warm up: hyperscan scratch, caches
    print("ready", flush=True)
    for _ in sys.stdin:
        print(one_pass(), flush=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("old", type=Path, help="checkout of the baseline version")
    ap.add_argument("new", type=Path, help="checkout of the version to compare")
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--notes", type=int, default=400)
    ap.add_argument("--seed", type=int, default=90210)
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        worker(args.notes, args.seed)
        return 0

    def start(checkout: Path) -> subprocess.Popen:
        root = str(checkout.resolve())
        proc = subprocess.Popen(
            [sys.executable, __file__, root, root, "--worker", "--notes", str(args.notes), "--seed", str(args.seed)],
            cwd=root, env={**os.environ, "PYTHONPATH": root}, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )
        if proc.stdout.readline().strip() != "ready":
            raise SystemExit(f"the worker in {root} did not start (see its error above)")
        return proc

    old, new = start(args.old), start(args.new)
    rates: dict[str, list[float]] = {"old": [], "new": []}
    for _ in range(args.rounds):
        for name, proc in (("old", old), ("new", new)):
            proc.stdin.write("go\n")
            proc.stdin.flush()
            rates[name].append(float(proc.stdout.readline()))
    for proc in (old, new):
        proc.stdin.close()
        proc.wait()
    ratios = [n / o for o, n in zip(rates["old"], rates["new"], strict=True)]
    for name, r in rates.items():
        print(f"{name}: best {max(r):.3f} MB/s, median {statistics.median(r):.3f} MB/s")
    print(f"new / old: median of per-round ratios {statistics.median(ratios):.3f}, "
          f"best / best {max(rates['new']) / max(rates['old']):.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
