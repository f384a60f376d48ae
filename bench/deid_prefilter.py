"""How well the hyperscan prefilter of the deid stage works (counts and timings only, no note text).

    python bench/deid_prefilter.py [--notes 1200] [--seed 90210]

1. Precision: candidate match starts per note the gate proposes, and how many of them are real match starts
   (``rx.match`` succeeds there). Every real start must be among the candidates (the tests check that; this
   counts how many wasted tries are left).
2. Cache effect: CPU time of the gate's scans made back to back over all notes (``Gate.batch``, what a stage
   worker does per chunk) against one scan between each note's analysis (the database is ~10 MB).
"""

from __future__ import annotations

import argparse
import os
import re
import time

os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")  # presidio's EmailRecognizer: no network fetch

from pipeline.deid import stage as deid
from pipeline.deid.prefilter import Gate
from pipeline.deid.recognizers import PhiRecognizer
from pipeline.synth.generator import generate


def _gate_and_patterns() -> tuple[Gate, dict[int, re.Pattern[str]]]:
    recognizer = next(r for r in deid.build_analyzer().registry.recognizers if isinstance(r, PhiRecognizer))
    gate = recognizer._gate
    patterns = {id(rx): rx for rx in recognizer.prefilter_patterns()}
    return gate, patterns


def precision(texts: list[str]) -> tuple[int, int]:
    gate, patterns = _gate_and_patterns()
    candidates = real = 0
    for text in texts:
        for key, starts in (gate.starts(text) or {}).items():
            candidates += len(starts)
            real += sum(patterns[key].match(text, s) is not None for s in starts)
    return candidates, real


def scan_times(texts: list[str]) -> tuple[float, float]:
    """(seconds back to back, seconds interleaved with the analysis of each note), scans only."""
    gate, _ = _gate_and_patterns()
    analyzer = deid.build_analyzer()
    t0 = time.process_time()
    for text in texts:
        gate.starts(text)
    batched = time.process_time() - t0
    interleaved = 0.0
    for text in texts:
        t0 = time.process_time()
        gate.starts(text)
        interleaved += time.process_time() - t0
        deid.find_phi(text, analyzer)  # what runs between two scans when notes are scanned one by one
    return batched, interleaved


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--notes", type=int, default=1200)
    ap.add_argument("--seed", type=int, default=90210)
    args = ap.parse_args(argv)
    texts = [n.text for n in generate(args.notes, seed=args.seed, profile="heldout").notes if n.text.strip()]
    candidates, real = precision(texts)
    print(f"{len(texts)} heldout notes (seed {args.seed}): {candidates / len(texts):.1f} candidate starts per note, "
          f"{real} of {candidates} real match starts ({real / candidates:.0%})")
    scan_times(texts[:50])  # warm up
    batched, interleaved = scan_times(texts)
    print(f"gate scans, CPU: back to back {batched * 1e3:.0f} ms, one between each note's analysis "
          f"{interleaved * 1e3:.0f} ms ({interleaved / batched:.2f}x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
