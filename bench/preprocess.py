"""Speed of every preprocessing stage but ``deid`` against what a user would pick instead, in one run, one table.

    python bench/preprocess.py [--quick [--prefect]] [--aci DIR] [--physionet DIR] [--synthetic-mb 50]
                               [--real-mb 20] [--dag-mb 3] [--rounds 1] [--workdir DIR] [--skip-prefect]
                               [--scaling-only] [--json out.json]

Results, method and what they mean: docs/benchmarks.md.

Why it is built this way:

- **One process per side.** Every measured side (our stage, the alternative, the pyarrow floor) runs in a fresh
  ``spawn`` child that imports only what it needs, reads its input, and reports CPU time and its own peak
  resident memory (``ru_maxrss``), so one side's memory never inflates another's. The sides of a stage run one
  after the other (and ``--rounds N`` repeats the whole sequence in turns, keeping each side's best pass): this
  2-core host is shared and drifts, so compare the ratios of one run, not absolute figures across runs.
- **Work, I/O and Prefect apart.** "stage work" is the stage's in-memory function on rows already read;
  "run()" is the stage module's ``run`` (Arrow read + work + Arrow write, no Prefect); the "floor" is a plain
  ``pyarrow`` read + write of the stage's input file; and the whole DAG runs once without Prefect
  (``pipeline.core.dag.run_preprocess``), once as the Prefect flow and once on a local 2-process Dask
  cluster, so the difference is Prefect's (server start-up and per-task) overhead.
- **MB** is 10**6 bytes of the stage's input text (UTF-8), **MB/s/core** is MB per CPU-second of the process
  (threads included), so a stage that uses two threads is not flattered.
- **Scaling** (1 vs 2 workers of clean, deid and sentences; ``--scaling-only`` runs nothing else): wall time,
  which on this loaded host says little, and the CPU of the whole process tree (workers and forkserver
  included), whose half is what two free cores would take; each stage's fixed cost (pool start-up) apart, and a
  control: the same chunks in one and in two plain forked processes, the host's own price for running two.
- **Corpora.** Synthetic notes (``pipeline.synth.generator``, ``ehrlm synth``) of at least ``--synthetic-mb``, and real
  text (aci_bench visit notes and the PhysioNet nursing notes, whatever of the two is given) repeated to
  ``--real-mb``. Repetition makes ``dedup`` on the real corpus mostly the exact-duplicate path (the table
  shows how many it removed); the stages after ``dedup`` get the ``deid`` output of the unique notes repeated
  again, as new notes. On synthetic notes the generator's answer key stands in for ``deid`` (every planted
  PHI span replaced by its tag, as ``deid`` writes it): ``deid`` is measured by ``bench/deid.py``, and running
  it over 50 MB only to make the next stages' input would take minutes.
- **Quality beside speed.** Near-duplicate pairs each engine finds (and, on synthetic notes, how many of the
  planted near-duplicates it removed); sentence-boundary precision/recall/F1 of every splitter on the
  hand-labelled aci_bench sample in ``bench/data/`` (see its README).

Nothing prints or stores note text: the table holds rates, counts and ids only. Needs the ``bench`` extra
(``pip install -e ".[bench]"``: datasketch, pysbd).
"""

from __future__ import annotations

import argparse
import csv
import json
import multiprocessing as mp
import multiprocessing.forkserver as mp_forkserver
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

HERE = Path(__file__).resolve().parent
LABELS = HERE / "data" / "sentence_boundaries.jsonl"
KB_PER_SYNTH_NOTE = 1.6  # a little under the mean, so the synthetic corpus reaches its size
PYSBD_MB = {"full": 1.0, "quick": 0.1}
"""pysbd runs at ~0.15 MB/s; it is timed on the first notes up to this size (the rate, not the total, matters)."""
VOCAB_PREP_ROWS = 100_000
DEID_SCALING_MB = 10.0
"""``deid`` (~1.5 MB/s/core) is scaled on the first cleaned notes up to this size, not on the whole corpus."""
ACI_FILES = ("train.csv", "valid.csv")


# ==========================================================================================================
# Sides: each runs in its own process and returns numbers (never text)
# ==========================================================================================================
def _text_bytes(texts) -> int:
    return sum(len(t.encode()) if isinstance(t, str) else len(t or b"") for t in texts)


def _cpu(fn, *a, **k):
    c0, w0 = time.process_time(), time.perf_counter()
    out = fn(*a, **k)
    return out, time.process_time() - c0, time.perf_counter() - w0


def _read_column(path: str, column: str = "text") -> list:
    import pyarrow.parquet as pq

    return pq.read_table(path, columns=[column]).column(column).to_pylist()


def _stage_run(module_name: str, inputs: dict[str, str], params, workers: int = 1) -> tuple[float, float]:
    """CPU and wall seconds of ``module.run`` (Arrow read + work + Arrow write) into a throwaway folder."""
    import importlib

    from pipeline.core.dataset import Dataset

    module = importlib.import_module(module_name)
    ins = {k: Dataset(k, "bench", Path(v)) for k, v in inputs.items()}
    with tempfile.TemporaryDirectory() as out:
        _, cpu, wall = _cpu(module.run, ins, Path(out), params, None, workers)
    return cpu, wall


def _tree_cpu() -> float:
    """CPU seconds of this process and of every descendant reaped so far (a pool's workers are reaped by the
    forkserver, and the forkserver by us once it is stopped)."""
    import resource

    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def _stage_run_tree(module_name: str, inputs: dict[str, str], params, workers: int) -> tuple[float, float, float]:
    """``_stage_run`` plus the CPU of the whole process tree (workers included): with 2 workers, half of it is
    the wall time two free cores would need, whatever the load of this shared host."""
    import multiprocessing.forkserver as fs

    t0 = _tree_cpu()
    cpu, wall = _stage_run(module_name, inputs, params, workers)
    if workers > 1 and hasattr(fs._forkserver, "_stop"):
        fs._forkserver._stop()  # private but stable since 3.8: reap the forkserver so its workers' CPU counts
    return cpu, wall, _tree_cpu() - t0


def side_clean_ours(job: dict) -> dict:
    from pipeline.clean import _clean_chunk
    from pipeline.config import CleanParams

    raws = _read_column(job["ingest"])
    _, cpu, wall = _cpu(_clean_chunk, raws, CleanParams())
    return {"cpu": cpu, "wall": wall, "bytes": _text_bytes(raws), "notes": len(raws)}


def side_clean_run(job: dict) -> dict:
    from pipeline.config import CleanParams

    raws = _read_column(job["ingest"])
    cpu, wall, tree = _stage_run_tree("pipeline.clean", {"ingest": job["ingest_dir"]}, CleanParams(),
                                      job.get("workers", 1))
    return {"cpu": cpu, "wall": wall, "tree_cpu": tree, "bytes": _text_bytes(raws), "notes": len(raws)}


def side_clean_ftfy(job: dict) -> dict:
    import ftfy

    raws = _read_column(job["ingest"])

    def work():
        for raw in raws:
            ftfy.fix_text((raw or b"").decode("utf-8", errors="replace"))

    _, cpu, wall = _cpu(work)
    return {"cpu": cpu, "wall": wall, "bytes": _text_bytes(raws), "notes": len(raws)}


def side_floor(job: dict) -> dict:
    """A plain pyarrow read + write of the stage's input file: what any stage pays just to move the bytes."""
    import pyarrow.parquet as pq

    def work():
        table = pq.read_table(job["input"])
        with tempfile.TemporaryDirectory() as out:
            pq.write_table(table, Path(out) / "copy.parquet")
        return table

    table, cpu, wall = _cpu(work)
    texts = table.column("text").to_pylist()
    return {"cpu": cpu, "wall": wall, "bytes": _text_bytes(texts), "notes": table.num_rows}


def _ids_texts(path: str) -> tuple[list[str], list[str]]:
    import pyarrow.parquet as pq

    t = pq.read_table(path, columns=["note_id", "text"])
    return t.column("note_id").to_pylist(), t.column("text").to_pylist()


def side_dedup_exact(job: dict) -> dict:
    from pipeline.config import DedupParams
    from pipeline.dedup import find_duplicates

    ids, texts = _ids_texts(job["clean"])
    clusters, cpu, wall = _cpu(find_duplicates, ids, texts, DedupParams(near=False))
    return {"cpu": cpu, "wall": wall, "bytes": _text_bytes(texts), "notes": len(texts), "removed": len(clusters)}


def side_dedup_polars(job: dict) -> dict:
    """What a user would write: polars ``unique`` on lower-cased, whitespace-collapsed text, first kept."""
    import polars as pl

    ids, texts = _ids_texts(job["clean"])
    df = pl.DataFrame({"note_id": ids, "text": texts})

    def work():
        norm = df.with_columns(norm=pl.col("text").str.to_lowercase().str.replace_all(r"\s+", " ").str.strip_chars())
        return norm.unique(subset="norm", keep="first", maintain_order=True)

    kept, cpu, wall = _cpu(work)
    return {"cpu": cpu, "wall": wall, "bytes": _text_bytes(texts), "notes": len(texts), "removed": len(texts) - kept.height}


def side_dedup_near(job: dict) -> dict:
    """Our near-duplicate pass: ``find_duplicates`` with ``near`` minus the exact-only pass, same process."""
    from pipeline.config import DedupParams
    from pipeline.dedup import find_duplicates

    ids, texts = _ids_texts(job["clean"])
    _, cpu_exact, wall_exact = _cpu(find_duplicates, ids, texts, DedupParams(near=False))
    clusters, cpu, wall = _cpu(find_duplicates, ids, texts, DedupParams())
    pairs = sorted((c["note_id"], c["representative_id"]) for c in clusters if c["kind"] == "near")
    exact = {c["note_id"] for c in clusters if c["kind"] == "exact"}
    survivors = [t for i, t in zip(ids, texts) if i not in exact]  # what the near pass works on
    return {"cpu": cpu - cpu_exact, "wall": wall - wall_exact, "bytes": _text_bytes(survivors),
            "notes": len(survivors), "pairs": pairs, "removed": len(clusters)}


def side_dedup_datasketch(job: dict) -> dict:
    """datasketch MinHash + MinHashLSH at our threshold and permutations, on the same shingles and the same
    exact-dedup survivors, with the same true-Jaccard check (``pipeline.dedup.closest``) before a pair counts
    (LSH alone over-reports)."""
    from datasketch import MinHash, MinHashLSH

    from pipeline.config import DedupParams
    from pipeline.dedup import closest, content_hash, shingles

    p = DedupParams()
    ids, texts = _ids_texts(job["clean"])
    seen: set[str] = set()
    survivors = []
    for i, t in enumerate(texts):  # the exact pass is not timed here: it is the same for both engines
        h = content_hash(t)
        if h not in seen:
            seen.add(h)
            survivors.append(i)

    def work():
        sets = {i: shingles(texts[i], p.shingle_size) for i in survivors}
        lsh = MinHashLSH(threshold=p.threshold, num_perm=p.num_perm)
        pairs = []
        for i in survivors:
            mh = MinHash(num_perm=p.num_perm, seed=p.seed)
            mh.update_batch([s.encode() for s in sets[i]])
            best, best_j = closest(sets[i], lsh.query(mh), sets)
            if best is not None and best_j >= p.threshold:
                pairs.append((ids[i], ids[best]))
            else:
                lsh.insert(i, mh)
        return pairs

    pairs, cpu, wall = _cpu(work)
    surv_bytes = _text_bytes(texts[i] for i in survivors)
    return {"cpu": cpu, "wall": wall, "bytes": surv_bytes, "notes": len(survivors), "pairs": sorted(pairs)}


def side_dedup_run(job: dict) -> dict:
    from pipeline.config import DedupParams

    _, texts = _ids_texts(job["clean"])
    cpu, wall = _stage_run("pipeline.dedup", {"clean": job["clean_dir"]}, DedupParams())
    return {"cpu": cpu, "wall": wall, "bytes": _text_bytes(texts), "notes": len(texts)}


def side_sentences_ours(job: dict) -> dict:
    from pipeline.config import SentenceParams
    from pipeline.sentences import split

    texts = _read_column(job["deid"])[: job.get("limit_notes")]
    params = SentenceParams()

    def work():
        return sum(len(split(t or "", params)) for t in texts)

    n, cpu, wall = _cpu(work)
    return {"cpu": cpu, "wall": wall, "bytes": _text_bytes(texts), "notes": len(texts), "sentences": n}


def side_sentences_run(job: dict) -> dict:
    from pipeline.config import SentenceParams

    texts = _read_column(job["deid"])
    cpu, wall, tree = _stage_run_tree("pipeline.sentences", {"deid": job["deid_dir"]}, SentenceParams(),
                                      job.get("workers", 1))
    return {"cpu": cpu, "wall": wall, "tree_cpu": tree, "bytes": _text_bytes(texts), "notes": len(texts)}


def side_sentences_blingfire(job: dict) -> dict:
    """blingfire's public API on the whole note (what a user calls): layout ignored."""
    import blingfire

    texts = _read_column(job["deid"])

    def work():
        return sum(blingfire.text_to_sentences(t).count("\n") + 1 for t in texts if t and t.strip())

    n, cpu, wall = _cpu(work)
    return {"cpu": cpu, "wall": wall, "bytes": _text_bytes(texts), "notes": len(texts), "sentences": n}


def side_sentences_pysbd(job: dict) -> dict:
    import pysbd

    texts = _first_mb(_read_column(job["deid"]), job["pysbd_mb"])
    seg = pysbd.Segmenter(language="en", clean=False)

    def work():
        return sum(len(seg.segment(t)) for t in texts if t and t.strip())

    n, cpu, wall = _cpu(work)
    return {"cpu": cpu, "wall": wall, "bytes": _text_bytes(texts), "notes": len(texts), "sentences": n}


def _first_mb(texts: list, mb: float) -> list:
    out, total = [], 0
    for t in texts:
        if total >= mb * 1e6:
            break
        out.append(t)
        total += len((t or "").encode())
    return out


def side_vocab_ours(job: dict) -> dict:
    """``pipeline.vocab.train`` (streams the sentences Parquet itself; its I/O is that read and a small JSON)."""
    from pipeline.config import VocabParams
    from pipeline.vocab import train

    texts = _read_column(job["sentences"])
    tok, cpu, wall = _cpu(train, Path(job["sentences"]), VocabParams())
    return {"cpu": cpu, "wall": wall, "bytes": _text_bytes(texts), "notes": len(texts), "vocab": tok.get_vocab_size()}


def side_vocab_tokenizers(job: dict) -> dict:
    """Raw ``tokenizers`` training of the same model shape (BERT normaliser and pre-tokeniser, BPE with ``##``
    pieces, same size, minimum frequency and special tokens) on the same sentences: our overhead is the rest."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers

    from pipeline.config import VocabParams
    from pipeline.vocab import PREFIX, SPECIAL_TOKENS, UNK

    p = VocabParams()
    texts = _read_column(job["sentences"])

    def work():
        tok = Tokenizer(models.BPE(unk_token=UNK, continuing_subword_prefix=PREFIX))
        tok.normalizer = normalizers.BertNormalizer(strip_accents=False, lowercase=p.lowercase)
        tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
        trainer = trainers.BpeTrainer(vocab_size=p.vocab_size, min_frequency=p.min_frequency,
                                      special_tokens=SPECIAL_TOKENS, continuing_subword_prefix=PREFIX,
                                      show_progress=False)
        tok.train_from_iterator(texts, trainer=trainer, length=len(texts))
        return tok

    tok, cpu, wall = _cpu(work)
    return {"cpu": cpu, "wall": wall, "bytes": _text_bytes(texts), "notes": len(texts), "vocab": tok.get_vocab_size()}


def side_shards_run(job: dict) -> dict:
    """``pipeline.shards.run``: read sentences, tokenise, cut shards at document boundaries, write IPC + index."""
    from pipeline.config import ShardParams

    texts = _read_column(job["sentences"])
    cpu, wall = _stage_run("pipeline.shards", {"sentences": job["sentences_dir"], "vocab": job["vocab_dir"]},
                           ShardParams())
    return {"cpu": cpu, "wall": wall, "bytes": _text_bytes(texts), "notes": len(texts)}


def _encode_all(tok, path: str):
    import itertools

    import numpy as np
    import pyarrow.parquet as pq

    from pipeline.shards import ENCODE_ROWS

    parts = []
    for batch in pq.ParquetFile(path).iter_batches(batch_size=ENCODE_ROWS, columns=["doc_index", "sent_index", "text"]):
        ids = [e.ids for e in tok.encode_batch_fast(batch.column("text").to_pylist(), add_special_tokens=False)]
        lengths = np.fromiter(map(len, ids), dtype=np.int64, count=len(ids))
        values = np.fromiter(itertools.chain.from_iterable(ids), dtype=np.int32, count=int(lengths.sum()))
        parts.append((batch.column("doc_index"), batch.column("sent_index"), lengths, values))
    return parts


def side_shards_pyarrow(job: dict) -> dict:
    """The same read and tokenisation, then one plain uncompressed Arrow IPC file: no shard cutting, no order
    check, no index (what our writer adds)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.feather as feather

    from pipeline.vocab import load_tokenizer

    texts = _read_column(job["sentences"])
    tok = load_tokenizer(Path(job["vocab_dir"]) / "tokenizer.json")

    def work():
        parts = _encode_all(tok, job["sentences"])
        lengths = np.concatenate([p[2] for p in parts])
        offsets = np.concatenate(([0], np.cumsum(lengths))).astype(np.int32)
        ids = pa.ListArray.from_arrays(pa.array(offsets), pa.array(np.concatenate([p[3] for p in parts]), pa.int32()))
        table = pa.table({"doc_index": pa.concat_arrays([p[0] for p in parts]),
                          "sent_index": pa.concat_arrays([p[1] for p in parts]), "input_ids": ids})
        with tempfile.TemporaryDirectory() as out:
            feather.write_feather(table, Path(out) / "tokens.arrow", compression="uncompressed")

    _, cpu, wall = _cpu(work)
    return {"cpu": cpu, "wall": wall, "bytes": _text_bytes(texts), "notes": len(texts)}


def side_shards_encode(job: dict) -> dict:
    """Only the read and ``encode_batch_fast``: the part of the shard stage that is the tokenizer's."""
    from pipeline.vocab import load_tokenizer

    texts = _read_column(job["sentences"])
    tok = load_tokenizer(Path(job["vocab_dir"]) / "tokenizer.json")
    _, cpu, wall = _cpu(_encode_all, tok, job["sentences"])
    return {"cpu": cpu, "wall": wall, "bytes": _text_bytes(texts), "notes": len(texts)}


def side_deid_run(job: dict) -> dict:
    """``pipeline.deid.stage.run`` (rules) on the scaling input, the pool used whatever the input's size: the
    stage keeps inputs under ``POOL_MIN_CHARS`` in one process, and this side measures what the pool does."""
    from pipeline.config import DeidParams
    from pipeline.deid import stage

    stage.POOL_MIN_CHARS = 0
    texts = _read_column(job["deid_scaling"])
    cpu, wall, tree = _stage_run_tree("pipeline.deid.stage", {"dedup": job["deid_scaling_dir"]},
                                      DeidParams(residual_max_rate=1.0), job.get("workers", 1))
    return {"cpu": cpu, "wall": wall, "tree_cpu": tree, "bytes": _text_bytes(texts), "notes": len(texts)}


def _stage_work(stage: str, path: str, chunk_notes: int | None = None) -> tuple:
    """What a row-parallel stage's ``run()`` hands its workers for the notes in ``path``: its chunk function, the
    chunks (``chunk_notes`` notes each, default the stage's own) and, for ``deid``, its worker initializer's
    arguments (``warm_worker``; None for the others, whose chunks are Arrow batches for ``imap_batches``)."""
    import pyarrow.parquet as pq

    from pipeline.config import CleanParams, DeidParams, SentenceParams

    if stage == "clean":
        from pipeline.clean import CHUNK_NOTES, _clean_batch

        table = pq.read_table(path, columns=["text"])
        return partial(_clean_batch, params=CleanParams()), table.to_batches(chunk_notes or CHUNK_NOTES), None
    if stage == "sentences":
        from pipeline.sentences import CHUNK_NOTES, _split_batch

        table = pq.read_table(path, columns=["note_id", "text"])
        return partial(_split_batch, params=SentenceParams()), table.to_batches(chunk_notes or CHUNK_NOTES), None
    from pipeline.deid.stage import CHUNK_NOTES, deid_texts, engine_spec

    p = DeidParams()
    spec = engine_spec(p)
    table = pq.read_table(path, columns=["note_id", "text"])
    rows = list(zip(table.column("note_id").to_pylist(), table.column("text").to_pylist()))
    n = chunk_notes or CHUNK_NOTES
    fn = partial(deid_texts, keep_year=p.keep_year, score_threshold=p.score_threshold, engine_spec=spec)
    return fn, [rows[i : i + n] for i in range(0, len(rows), n)], spec


def side_pool_startup(job: dict) -> dict:
    """A stage's fixed cost with ``job["workers"]``: its chunk function on its first two notes, one per chunk
    (with 2 workers, the pool's start-up: forkserver, its preloads, the workers, their imports and initializer;
    with 1, the initializer in this process), the stage's module imported first as ``run()``'s side has it.
    CPU of the whole process tree, as for the runs."""
    import pyarrow.parquet as pq

    from pipeline.core.parallel import imap_batches, imap_chunks

    first_two = Path(tempfile.mkdtemp()) / "first_two.parquet"
    pq.write_table(pq.read_table(job[job["input"]]).slice(0, 2), first_two)
    fn, chunks, spec = _stage_work(job["stage"], str(first_two), chunk_notes=1)
    if spec is None:
        work = partial(imap_batches, fn, chunks)
    else:
        from pipeline.deid.stage import warm_worker

        work = partial(imap_chunks, fn, chunks, initializer=warm_worker, initargs=spec)
    t0 = _tree_cpu()
    _, cpu, wall = _cpu(lambda: list(work(workers=job["workers"])))
    if hasattr(mp_forkserver._forkserver, "_stop"):
        mp_forkserver._forkserver._stop()  # reap it, as _stage_run_tree does
    shutil.rmtree(first_two.parent)
    return {"cpu": cpu, "wall": wall, "tree_cpu": _tree_cpu() - t0, "bytes": 0, "notes": 0}


def _forked_cpu(work, parts: list) -> list[float]:
    """``work(part)`` for every part at once, each in a child forked from this process (which holds the data and
    whatever ``work`` needs: no pool, no transport, no imports); the CPU seconds each child spent."""
    children = []
    for part in parts:
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            status = 1
            try:
                os.close(r)
                c0 = time.process_time()
                work(part)
                os.write(w, repr(time.process_time() - c0).encode())
                status = 0
            finally:
                os._exit(status)
        os.close(w)
        children.append((pid, r))
    out = []
    for pid, r in children:
        with os.fdopen(r, "rb") as f:
            data = f.read()
        if os.waitpid(pid, 0)[1] or not data:
            raise RuntimeError("side contention: a forked child failed")
        out.append(float(data))
    return out


def side_contention(job: dict) -> dict:
    """The host's own cost of running two processes at once: a stage's chunk function over all its chunks in one
    forked child, then over the even and the odd chunks in two children at once. With 2 workers the same work
    costs this much more CPU before any pool, transport or import does; on a shared host it moves with the load."""
    fn, chunks, spec = _stage_work(job["stage"], job[job["input"]])
    if spec is not None:
        from pipeline.deid.stage import warm_worker

        warm_worker(*spec)  # built here, inherited by the children

    def work(part):
        for chunk in part:
            fn(chunk)

    one = _forked_cpu(work, [chunks])[0]
    two = sum(_forked_cpu(work, [chunks[0::2], chunks[1::2]]))
    return {"cpu": one, "wall": 0.0, "tree_cpu": two, "bytes": 0, "notes": 0}


SIDES = {name[len("side_"):]: fn for name, fn in list(globals().items()) if name.startswith("side_")}


def _peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM): unlike ``ru_maxrss`` it is not inherited from the parent
    across fork/exec, so each side reports its own."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # not Linux: an upper bound


def _child(name: str, job: dict, conn) -> None:
    try:
        start = _peak_rss_mb()
        out = SIDES[name](job)
        out["peak_rss_mb"] = _peak_rss_mb()
        out["start_rss_mb"] = start
        conn.send(out)
    except BaseException as exc:  # the type only: a message could quote a note
        conn.send({"error": f"{type(exc).__name__} in side {name}"})
        raise


def run_side(name: str, job: dict) -> dict:
    """Run one side in a fresh process forked from a server that has imported only pyarrow and numpy (a side
    imports the rest itself), so it starts fast and its peak RSS is its own."""
    ctx = mp.get_context("forkserver")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(name, job, child))
    t0 = time.perf_counter()
    proc.start()
    child.close()
    try:
        out = parent.recv()
    except EOFError:
        out = {"error": f"side {name} died"}
    finally:
        if proc.is_alive() and sys.exc_info()[0] is not None:  # interrupted: do not leave the side running
            proc.terminate()
    proc.join()
    out["process_wall"] = time.perf_counter() - t0
    if "error" in out:
        raise RuntimeError(out["error"])
    return out


# ==========================================================================================================
# Corpora
# ==========================================================================================================
def _note_table(ids, raws, source: str):
    import pyarrow as pa

    from pipeline.ingest import NOTE_SCHEMA

    n = len(ids)
    return pa.table({"note_id": pa.array(ids, pa.string()), "text": pa.array(raws, pa.large_binary()),
                     "patient_id": pa.nulls(n, pa.string()), "note_type": pa.nulls(n, pa.string()),
                     "note_date": pa.nulls(n, pa.string()), "source_file": pa.array([source] * n, pa.string()),
                     "source_row": pa.array(range(n), pa.int64())}, schema=NOTE_SCHEMA)


def synthetic_raw(mb: float, seed: int = 18):
    """Raw synthetic notes (dirty bytes, duplicates, empties included), the planted near-duplicate ids, and
    the de-identified text of every note that dedup should keep, made from the generator's answer key.

    The answer key replaces each planted PHI span by its tag, exactly the surface form the ``deid`` stage
    writes; that spares running ``deid`` (the slowest stage, ~1 MB/s/core, measured by ``bench/deid.py``)
    over 50 MB just to make the next stages' input."""
    import pyarrow as pa

    from pipeline.deid.tags import tag_for
    from pipeline.synth.generator import generate

    n = int(mb * 1e3 / KB_PER_SYNTH_NOTE) + 1
    corpus = generate(n, seed=seed)
    ids = [x.note_id for x in corpus.notes]
    raws = [x.raw for x in corpus.notes]
    planted = [x.note_id for x in corpus.notes if x.kind == "near_dup"]
    labels = corpus.labels_by_note()
    kept_ids, kept_texts = [], []
    for x in corpus.notes:
        if x.kind in ("original", "dirty") and x.text.strip():
            text, end = [], 0
            for span in sorted(labels[x.note_id], key=lambda s: s.start):
                if span.start >= end:
                    text += [x.text[end : span.start], tag_for(span.category)]
                    end = span.end
            kept_ids.append(x.note_id)
            kept_texts.append("".join(text) + x.text[end:])
    deid = pa.table({"note_id": pa.array(kept_ids, pa.string()), "text": pa.array(kept_texts, pa.large_string())})
    return _note_table(ids, raws, "synthetic"), planted, deid


def real_notes(aci: Path | None, physionet: Path | None) -> list[tuple[str, bytes]]:
    """(id, raw bytes) of the aci_bench notes (``note`` column of train.csv and valid.csv) and of the PhysioNet
    notes' ``.txt`` files, in a fixed order."""
    notes: list[tuple[str, bytes]] = []
    if aci:
        csv.field_size_limit(sys.maxsize)
        for name in ACI_FILES:
            path = Path(aci) / name
            if not path.is_file():
                raise SystemExit(f"--aci {aci}: no {name}; pass the aci_bench folder holding {' and '.join(ACI_FILES)}")
            with path.open(newline="", encoding="utf-8") as f:
                for i, row in enumerate(csv.DictReader(f)):
                    notes.append((f"aci:{name}:{row.get('encounter_id') or i}", (row.get("note") or "").encode()))
    if physionet:
        files = sorted(Path(physionet).glob("*.txt"))
        if not files:
            raise SystemExit(f"--physionet {physionet}: no .txt notes in that folder")
        notes.extend((f"pn:{p.stem}", p.read_bytes()) for p in files)
    return notes


def _repeat(table, mb: float, text_bytes: int):
    """``table`` repeated (new note ids ``id#k``) until its text reaches ``mb``; at least once."""
    import math

    import pyarrow as pa
    import pyarrow.compute as pc

    k = max(1, math.ceil(mb * 1e6 / max(text_bytes, 1)))
    if k == 1:
        return table, 1
    parts = []
    for r in range(k):
        ids = pc.binary_join_element_wise(table.column("note_id"), pa.scalar(f"#{r}"), "")
        parts.append(table.set_column(table.schema.get_field_index("note_id"), "note_id", ids))
    return pa.concat_tables(parts), k


def _text_mb(path: Path) -> int:
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    col = pq.read_table(path, columns=["text"]).column("text")
    return int(pc.sum(pc.binary_length(col.cast("large_binary"))).as_py() or 0)


def _first_rows_of_mb(table, mb: float):
    """The first rows of ``table`` whose text reaches ``mb`` (all of it when it is smaller)."""
    import itertools

    import pyarrow.compute as pc

    sizes = pc.binary_length(table.column("text").cast("large_binary")).fill_null(0).to_pylist()
    n = next((i + 1 for i, total in enumerate(itertools.accumulate(sizes)) if total >= mb * 1e6), len(sizes))
    return table.slice(0, n)


def prepare(name: str, root: Path, raw_table, repeat_mb: float | None, deid_table=None, workers: int = 2) -> dict:
    """Every stage's input for one corpus, made by the stages themselves (no Prefect), with ``workers``.

    ``deid_table``: the de-identified notes, when known already (synthetic: from the answer key); otherwise
    ``clean``, ``dedup`` and ``deid`` run. ``repeat_mb``: the raw notes and, after ``deid``, the de-identified
    unique notes are repeated to this size (a small real corpus). The tokenizer that ``shards`` needs is
    trained on at most ``VOCAB_PREP_ROWS`` sentences (the vocab side measures training on all of them).
    Returns the job paths and the seconds each preparation step took."""
    import pyarrow.parquet as pq

    from pipeline import clean, dedup, sentences, vocab

    from pipeline.deid import stage as deid
    from pipeline.config import CleanParams, DedupParams, DeidParams, SentenceParams, VocabParams
    from pipeline.core.dataset import Dataset

    d = root / name
    shutil.rmtree(d, ignore_errors=True)
    (d / "ingest").mkdir(parents=True)
    repeats = 1
    if repeat_mb:
        raw_table, repeats = _repeat(raw_table, repeat_mb, _text_bytes(raw_table.column("text").to_pylist()))
    pq.write_table(raw_table, d / "ingest" / "notes.parquet")
    ds = {"ingest": Dataset("ingest", "bench", d / "ingest")}
    seconds = {}

    # Not the executor: this times each stage's own run() alone (no fingerprint, manifest or lineage) on inputs
    # swapped in here (the answer key as deid's output, a cut vocab input) that have no manifest to check.
    def step(stage: str, module, params) -> None:
        (d / stage).mkdir()
        t0 = time.perf_counter()
        module.run(ds, d / stage, params, None, workers)
        seconds[stage] = time.perf_counter() - t0
        ds[stage] = Dataset(stage, "bench", d / stage)

    step("clean", clean, CleanParams())
    if deid_table is None:
        step("dedup", dedup, DedupParams())
        step("deid", deid, DeidParams(residual_max_rate=1.0))  # making input, not gating PHI
        deid_table = pq.read_table(d / "deid" / "notes.parquet", columns=["note_id", "text"])
    if repeat_mb:
        deid_table, _ = _repeat(deid_table, repeat_mb, _text_bytes(deid_table.column("text").to_pylist()))
    (d / "deid_input").mkdir()
    pq.write_table(deid_table, d / "deid_input" / "notes.parquet")
    ds["deid"] = Dataset("deid", "bench", d / "deid_input")
    step("sentences", sentences, SentenceParams())
    sample = pq.ParquetFile(ds["sentences"].part("sentences.parquet"))
    (d / "vocab_input").mkdir()
    with pq.ParquetWriter(d / "vocab_input" / "sentences.parquet", sample.schema_arrow) as w:
        for i, batch in enumerate(sample.iter_batches(batch_size=VOCAB_PREP_ROWS)):
            if i == 0:
                w.write_batch(batch)
    ds_sent = ds["sentences"]
    ds["sentences"] = Dataset("sentences", "bench", d / "vocab_input")
    step("vocab", vocab, VocabParams())
    ds["sentences"] = ds_sent
    (d / "deid_scaling").mkdir()
    pq.write_table(_first_rows_of_mb(pq.read_table(ds["clean"].part("notes.parquet")), DEID_SCALING_MB),
                   d / "deid_scaling" / "notes.parquet")
    return {
        "ingest": str(ds["ingest"].part("notes.parquet")), "ingest_dir": str(ds["ingest"].path),
        "clean": str(ds["clean"].part("notes.parquet")), "clean_dir": str(ds["clean"].path),
        "deid": str(ds["deid"].part("notes.parquet")), "deid_dir": str(ds["deid"].path),
        "sentences": str(ds["sentences"].part("sentences.parquet")), "sentences_dir": str(ds["sentences"].path),
        "vocab_dir": str(ds["vocab"].path), "prep_seconds": seconds, "repeats": repeats,
        "deid_scaling": str(d / "deid_scaling" / "notes.parquet"), "deid_scaling_dir": str(d / "deid_scaling"),
    }


# ==========================================================================================================
# The plan: which sides, in which order
# ==========================================================================================================
# (stage, side, label, job keys for the floor's input); the first side of a stage is what the others compare to
PLAN = [
    ("clean", "clean_ours", "ours: stage work (`_clean_chunk`)", None),
    ("clean", "clean_run", "ours: `run()` with Arrow I/O", None),
    ("clean", "clean_ftfy", "ftfy `fix_text` on every note", None),
    ("clean", "floor", "floor: pyarrow read + write", "ingest"),
    ("dedup exact", "dedup_exact", "ours: exact (xxh3 of normalised text)", None),
    ("dedup exact", "dedup_polars", "polars `unique` on normalised text", None),
    ("dedup near", "dedup_near", "ours: near (rensa MinHash LSH + Jaccard check)", None),
    ("dedup near", "dedup_datasketch", "datasketch MinHashLSH, same threshold", None),
    ("dedup", "dedup_run", "ours: `run()` exact + near with Arrow I/O", None),
    ("dedup", "floor", "floor: pyarrow read + write", "clean"),
    ("sentences", "sentences_ours", "ours: stage work (`split`, clinical)", None),
    ("sentences", "sentences_run", "ours: `run()` with Arrow I/O", None),
    ("sentences", "sentences_blingfire", "blingfire `text_to_sentences`", None),
    ("sentences", "sentences_pysbd", "pysbd (first notes only, see MB)", None),
    ("sentences", "floor", "floor: pyarrow read + write", "deid"),
    ("vocab", "vocab_ours", "ours: `train` (reads Parquet itself)", None),
    ("vocab", "vocab_tokenizers", "raw `tokenizers` BPE training", None),
    ("vocab", "floor", "floor: pyarrow read + write", "sentences"),
    ("shards", "shards_run", "ours: `run()` (tokenise + shard + write)", None),
    ("shards", "shards_pyarrow", "tokenise + plain pyarrow IPC write", None),
    ("shards", "shards_encode", "tokenise only (`encode_batch_fast`)", None),
    ("shards", "floor", "floor: pyarrow read + write", "sentences"),
]


def measure(jobs: dict[str, dict], rounds: int, pysbd_mb: float, log) -> dict:
    """Every side of PLAN on every corpus, ``rounds`` times in turns; the best (least CPU) pass is kept."""
    best: dict[tuple[str, str, str], dict] = {}
    for r in range(rounds):
        for corpus, job in jobs.items():
            for stage, side, label, floor_of in PLAN:
                j = dict(job, pysbd_mb=pysbd_mb)
                if floor_of:
                    j["input"] = job[floor_of]
                out = run_side(side, j)
                key = (corpus, stage, side)
                if key not in best or out["cpu"] < best[key]["cpu"]:
                    best[key] = out | {"label": label}
                log(f"round {r + 1}/{rounds} {corpus:9s} {stage:11s} {side:20s} {out['cpu']:7.2f} s CPU")
    return best


SCALED = (("clean", "clean_run", "ingest"), ("deid", "deid_run", "deid_scaling"), ("sentences", "sentences_run", "deid"))
"""The row-parallel stages (``pipeline.core.parallel``), the side that runs each one's ``run()``, its input."""


def scaling(job: dict, rounds: int, log) -> dict:
    """``run()`` of each row-parallel stage with 1 and then 2 worker processes, back to back (this host's load
    moves within minutes, so the two must be adjacent); each one's fixed cost (the same call on two one-note
    chunks; with 2 workers, the pool's start-up, which a small corpus cannot amortise); and the contention
    control (``side_contention``). ``rounds`` passes; of each measurement the least wall and, apart, the least
    CPU of the whole process tree are kept (on a shared host, the least is the pass other jobs disturbed least)."""
    out: dict[str, dict] = {}
    for _ in range(rounds):
        for stage, side, source in SCALED:
            for kind, w in (("run", 1), ("run", 2), ("startup", 1), ("startup", 2), ("contention", 2)):
                name = {"run": side, "startup": "pool_startup", "contention": "contention"}[kind]
                r = run_side(name, dict(job, workers=w, stage=stage, input=source))
                best = out.setdefault(stage, {}).setdefault((kind, w), {"wall": r, "tree_cpu": r})
                for key in best:
                    if r[key] < best[key][key]:
                        best[key] = r
                log(f"scaling {stage} {kind} workers={w}: {r['wall']:.2f} s wall, {r['tree_cpu']:.2f} s CPU (tree)")
    return out


def scaling_rows(scale: dict) -> list[str]:
    """Table rows: wall and process-tree CPU of 1 and 2 workers per stage. "On 2 free cores" is 1 worker's CPU
    against half of 2 workers' (what two idle cores would take, whatever the load here); "per MB" leaves out
    each side's fixed cost (imports, initializer, pool start-up), i.e. the speed-up on a corpus large enough;
    "contention" is what two processes cost over one for the same chunks with no pool at all."""
    rows = []
    for stage, _, _ in SCALED:
        if stage not in scale:
            continue
        s = scale[stage]
        cpu = {k: s[k]["tree_cpu"]["tree_cpu"] for k in s}
        ctl = s[("contention", 2)]["tree_cpu"]
        for w in (1, 2):
            r = s[("run", w)]["wall"]
            if w == 1:
                speed = f"CPU of all processes {cpu['run', 1]:.1f} s, fixed {cpu['startup', 1]:.1f} s"
            else:
                free = 2 * cpu["run", 1] / cpu["run", 2]
                per_mb = 2 * (cpu["run", 1] - cpu["startup", 1]) / (cpu["run", 2] - cpu["startup", 2])
                speed = (f"speed-up (wall) {s[('run', 1)]['wall']['wall'] / r['wall']:.2f}x; on 2 free cores "
                         f"**{free:.2f}x** (CPU of all processes {cpu['run', 1]:.1f} s -> {cpu['run', 2]:.1f} s); "
                         f"per MB {per_mb:.2f}x (fixed {cpu['startup', 1]:.1f} s -> {cpu['startup', 2]:.1f} s); "
                         f"contention: the chunk work alone in 1 vs 2 forked processes {ctl['cpu']:.1f} s -> "
                         f"{ctl['tree_cpu']:.1f} s ({ctl['tree_cpu'] / ctl['cpu']:.2f}x)")
            rows.append(f"| {stage} scaling | synthetic | `run()`, {w} worker{'s' if w > 1 else ''} | "
                        f"{r['bytes'] / 1e6:.1f} | {r['bytes'] / 1e6 / r['wall']:.2f} (wall) | {r['notes'] / r['wall']:,.0f} | "
                        f"{r['peak_rss_mb']:.0f} (main process) | {speed} | |")
    return rows


# ==========================================================================================================
# Prefect overhead: the whole DAG without Prefect, as the Prefect flow, and on a local Dask cluster
# ==========================================================================================================
_DAG_CHILD = r"""
import json, os, sys, time
t_start = time.perf_counter()
from pathlib import Path
from pipeline.config import PreprocessConfig
mode, input_path, data_root = sys.argv[1], sys.argv[2], sys.argv[3]
cfg = PreprocessConfig(data_root=Path(data_root), workers=2)
if mode == "plain":
    from pipeline.core.dag import run_preprocess
    t0 = time.perf_counter()
    done = run_preprocess(cfg, Path(input_path))
    stages = {name: out.dataset.manifest["wall_seconds"] for name, out in done.items()}
else:
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "ERROR")
    from flows.preprocess import on_dask, preprocess
    flow = preprocess if mode == "prefect" else on_dask(None, n_workers=2)
    t0 = time.perf_counter()
    res = flow(input_path=input_path, config=cfg)
    stages = {k: v["wall_seconds"] for k, v in res.items()}
flow_wall = time.perf_counter() - t0
print("BENCH-RESULT " + json.dumps({"flow_wall": flow_wall, "stages": stages, "import_s": t0 - t_start}))
"""


def dag_runs(raw_table, root: Path, log) -> dict:
    """The full DAG (deid included) on a small corpus: plain ``run_preprocess``, Prefect flow, Prefect + Dask."""
    import pyarrow.parquet as pq

    src = root / "dag_input"
    src.mkdir(parents=True, exist_ok=True)
    pq.write_table(raw_table.select(["note_id", "text"]), src / "notes.parquet")
    env = dict(os.environ, PREFECT_HOME=str(root / "prefect_home"))
    env.pop("PREFECT_API_URL", None)  # a temporary server of our own: the same start-up a new user pays
    out = {}
    for mode in ("plain", "prefect", "dask"):
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-c", _DAG_CHILD, mode, str(src), str(root / f"dag_{mode}")],
                              capture_output=True, text=True, env=env, cwd=HERE.parent)
        wall = time.perf_counter() - t0
        line = [ln for ln in proc.stdout.splitlines() if ln.startswith("BENCH-RESULT ")]
        if proc.returncode or not line:
            # stderr could quote a note only through a third-party message; print the exception type line only
            last = [ln for ln in proc.stderr.splitlines() if ln and not ln.startswith(" ")][-1:]
            log(f"DAG run {mode} failed (exit {proc.returncode}): {last[0].split(':')[0] if last else '?'}")
            continue
        res = json.loads(line[0].split(" ", 1)[1])
        res["process_wall"] = wall
        out[mode] = res
        log(f"DAG {mode}: flow {res['flow_wall']:.1f} s, stages {sum(res['stages'].values()):.1f} s, process {wall:.1f} s")
    return out


# ==========================================================================================================
# Sentence boundaries on the hand-labelled sample
# ==========================================================================================================
def _starts(text: str, sentences: list[str]) -> set[int]:
    """Character offsets in ``text`` where each sentence but the first begins (its first non-space character).

    Splitters normalise whitespace, so sentences are aligned by counting non-space characters, which every
    splitter here keeps in order; a splitter that changed them would fail loudly."""
    pos = [i for i, c in enumerate(text) if not c.isspace()]
    starts, k = set(), 0
    for n, s in enumerate(sentences):
        chars = [c for c in s if not c.isspace()]
        if not chars:
            continue
        if k + len(chars) > len(pos) or any(text[pos[k + m]] != c for m, c in enumerate(chars)):
            raise ValueError("a splitter changed the non-space characters; cannot align its sentences")
        if n and k:
            starts.add(pos[k])
        k += len(chars)
    return starts


def boundary_agreement(path: Path = LABELS) -> dict[str, dict[str, float]]:
    """Boundary precision / recall / F1 of each splitter against the hand labels (sentence starts, note
    start excluded)."""
    import blingfire
    import pysbd

    from pipeline.config import SentenceParams
    from pipeline.sentences import split

    seg = pysbd.Segmenter(language="en", clean=False)
    splitters = {
        "ours (clinical)": lambda t: split(t, SentenceParams()),
        "blingfire": lambda t: blingfire.text_to_sentences(t).split("\n"),
        "pysbd": lambda t: seg.segment(t),
    }
    docs = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    out = {}
    for name, fn in splitters.items():
        tp = fp = fn_ = 0
        for d in docs:
            gold = set(d["boundaries"])
            pred = _starts(d["text"], fn(d["text"]))
            tp += len(gold & pred)
            fp += len(pred - gold)
            fn_ += len(gold - pred)
        p = tp / (tp + fp) if tp + fp else 0.0
        r = tp / (tp + fn_) if tp + fn_ else 0.0
        out[name] = {"precision": p, "recall": r, "f1": 2 * p * r / (p + r) if p + r else 0.0,
                     "gold": tp + fn_, "docs": len(docs)}
    return out


# ==========================================================================================================
# Report
# ==========================================================================================================
def _rate(r: dict) -> float:
    return r["bytes"] / 1e6 / r["cpu"] if r["cpu"] > 0 else float("inf")


def table(best: dict, corpora: dict, dedup_quality: dict, agreement: dict, scale: dict, dag: dict) -> list[str]:
    rows = ["| stage | corpus | side | MB | MB/s/core | rows/s | peak RSS MB | ours ÷ side | quality |",
            "|---|---|---|---|---|---|---|---|---|"]
    for corpus in corpora:
        first: dict[str, float] = {}
        for stage, side, _, _ in PLAN:
            r = best.get((corpus, stage, side))
            if r is None:
                continue
            rate = _rate(r)
            ref = first.setdefault(stage, rate)
            ratio = "—" if rate == ref and side == next(s for st, s, *_ in PLAN if st == stage) else f"{ref / rate:.2f}x"
            quality = ""
            if stage == "dedup near":
                q = dedup_quality[corpus]
                key = "ours" if side == "dedup_near" else "datasketch"
                quality = f"pairs {q[key]}, both {q['both']}"
                if q.get("planted"):
                    quality += f"; planted near-dups removed {q[key + '_planted']}/{q['planted']}"
            elif stage == "dedup exact" or side == "dedup_run":
                quality = f"removed {r.get('removed', '')}" if "removed" in r else ""
            elif stage == "sentences" and side in ("sentences_ours", "sentences_blingfire", "sentences_pysbd"):
                name = {"sentences_ours": "ours (clinical)", "sentences_blingfire": "blingfire",
                        "sentences_pysbd": "pysbd"}[side]
                a = agreement.get(name)
                if a and corpus == list(corpora)[-1]:
                    quality = f"labelled aci sample: boundary P {a['precision']:.3f} R {a['recall']:.3f} F1 {a['f1']:.3f}"
            rows.append(f"| {stage} | {corpus} | {r['label']} | {r['bytes'] / 1e6:.1f} | {rate:.2f} | "
                        f"{r['notes'] / r['cpu'] if r['cpu'] > 0 else float('inf'):,.0f} | {r['peak_rss_mb']:.0f} | "
                        f"{ratio} | {quality} |")
    rows += scaling_rows(scale)
    if dag:
        plain = dag.get("plain")
        for mode, label in (("plain", "`run_preprocess`, no Prefect"), ("prefect", "Prefect flow (temporary server)"),
                            ("dask", "Prefect flow, Dask runner, local 2-process cluster")):
            r = dag.get(mode)
            if not r:
                continue
            stages = sum(r["stages"].values())
            over = r["flow_wall"] - stages
            vs = f"{plain['process_wall'] / r['process_wall']:.2f}x" if plain and mode != "plain" else "—"
            per_task = f" ({over / len(r['stages']):.1f} s per stage)" if mode != "plain" else ""
            rows.append(f"| whole DAG (deid incl.) | dag | {label} | {dag['mb']:.1f} | | | | {vs} | "
                        f"process {r['process_wall']:.1f} s = imports {r['import_s']:.1f} s + flow "
                        f"{r['flow_wall']:.1f} s, of which stages {stages:.1f} s, overhead {over:.1f} s{per_task} |")
    return rows


def dedup_pairs(best: dict, corpora: dict, planted: dict[str, list[str]]) -> dict:
    out = {}
    for corpus in corpora:
        ours = {tuple(p) for p in best[(corpus, "dedup near", "dedup_near")]["pairs"]}
        ds = {tuple(p) for p in best[(corpus, "dedup near", "dedup_datasketch")]["pairs"]}
        q = {"ours": len(ours), "datasketch": len(ds), "both": len(ours & ds)}
        if planted.get(corpus):
            plant = set(planted[corpus])
            q["planted"] = len(plant)
            q["ours_planted"] = len(plant & {a for a, _ in ours})
            q["datasketch_planted"] = len(plant & {a for a, _ in ds})
        out[corpus] = q
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="small corpora, pysbd on 0.1 MB, no Prefect runs (< 2 minutes)")
    ap.add_argument("--aci", type=Path, help="aci_bench folder (train.csv, valid.csv): real visit notes")
    ap.add_argument("--physionet", type=Path, help="folder of PhysioNet note .txt files: real nursing notes")
    ap.add_argument("--synthetic-mb", type=float, help="synthetic corpus size (default 50, --quick 2)")
    ap.add_argument("--real-mb", type=float, help="real text repeated to this size (default 20, --quick 1)")
    ap.add_argument("--dag-mb", type=float, help="synthetic corpus for the whole-DAG / Prefect runs (default 3, --quick 1)")
    ap.add_argument("--rounds", type=int, default=1, help="passes of every side, in turns; the best is kept")
    ap.add_argument("--workdir", type=Path, help="build the stage inputs here and leave them (default: a temporary folder, removed)")
    ap.add_argument("--skip-prefect", action="store_true", help="no whole-DAG / Prefect / Dask runs")
    ap.add_argument("--prefect", action="store_true", help="with --quick: do the whole-DAG / Prefect / Dask runs "
                    "(about 2 minutes more: each Prefect run starts a temporary server)")
    ap.add_argument("--scaling-only", action="store_true", help="only the 1 vs 2 worker runs of the row-parallel "
                    "stages (clean, deid, sentences) on the synthetic corpus; --rounds 3 or more on a shared host")
    ap.add_argument("--json", type=Path, help="also write every measurement here (numbers and ids only)")
    args = ap.parse_args(argv)
    size = "quick" if args.quick else "full"
    syn_mb = args.synthetic_mb or (2.0 if args.quick else 50.0)
    real_mb = args.real_mb or (1.0 if args.quick else 20.0)
    dag_mb = args.dag_mb or (1.0 if args.quick else 3.0)
    # deid (run once to make the later stages' input) hashes note ids with a key; a throwaway one will do here
    os.environ.setdefault("EHRLM_ID_KEY", secrets.token_hex(32))
    os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")
    mp.set_forkserver_preload(["pyarrow", "pyarrow.parquet", "numpy"])
    mp_forkserver.ensure_running()  # now: the stages' pools in prepare() would start it with their own preloads
    t_start = time.perf_counter()

    def log(msg: str) -> None:
        print(f"[{time.perf_counter() - t_start:6.1f} s] {msg}", file=sys.stderr, flush=True)

    tmp = None
    if args.workdir:
        root = args.workdir
        root.mkdir(parents=True, exist_ok=True)
    else:
        tmp = tempfile.TemporaryDirectory(prefix="ehrlm-bench-")
        root = Path(tmp.name)
    try:
        raw, planted_syn, deid_syn = synthetic_raw(syn_mb)
        log(f"synthetic: {raw.num_rows} notes")
        jobs = {"synthetic": prepare("synthetic", root, raw, None, deid_syn)}
        planted = {"synthetic": planted_syn}
        real = [] if args.scaling_only else real_notes(args.aci, args.physionet)
        if real:
            ids, raws = zip(*real)
            jobs["real"] = prepare("real", root, _note_table(list(ids), list(raws), "real"), real_mb)
        log("prepared: " + ", ".join(f"{c} {json.dumps({k: round(v, 1) for k, v in j['prep_seconds'].items()})}"
                                      for c, j in jobs.items()))
        best = {} if args.scaling_only else measure(jobs, args.rounds, PYSBD_MB[size], log)
        scale = scaling(jobs["synthetic"], args.rounds, log)
        agreement = boundary_agreement() if LABELS.is_file() and not args.scaling_only else {}
        dag = {}
        if not args.skip_prefect and not args.scaling_only and (args.prefect or not args.quick):
            dag_raw, _, _ = synthetic_raw(dag_mb, seed=19)
            dag = dag_runs(dag_raw, root, log)
            dag["mb"] = _text_bytes(dag_raw.column("text").to_pylist()) / 1e6
    finally:
        if tmp is not None:
            tmp.cleanup()
    quality = dedup_pairs(best, jobs, planted) if best else {}
    load = os.getloadavg()
    print(f"\nehrlm preprocessing benchmark ({size}): `python bench/preprocess.py {' '.join(argv or sys.argv[1:])}`")
    print(f"{time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores shared with other jobs (load average "
          f"{load[0]:.1f}): compare rows of this run, not runs. synthetic = {syn_mb:g} MB asked"
          + (f"; real = {len(real)} unique notes repeated {jobs['real']['repeats']}x (raw) to ≥ {real_mb:g} MB"
             if real else "; scaling only" if args.scaling_only else "; no real text given (--aci / --physionet)"))
    print()
    print("\n".join(table(best, jobs, quality, agreement, scale, dag)))
    print("rows/s: notes for clean, dedup and sentences; sentences for vocab and shards. MB/s/core: MB of "
          "the stage's input text per CPU-second (all threads of the process).")
    if agreement:
        a = next(iter(agreement.values()))
        print(f"\nboundary P/R/F1: {a['gold']} hand-labelled sentence starts in {a['docs']} aci_bench notes "
              f"(bench/data/README.md); shown on the last corpus's rows")
    print(f"total {time.perf_counter() - t_start:.0f} s")
    if args.json:
        args.json.write_text(json.dumps({"sides": {"|".join(k): {kk: vv for kk, vv in v.items() if kk != "pairs"}
                                                   for k, v in best.items()},
                                         "dedup_pairs": quality, "boundaries": agreement,
                                         "scaling": {s: {f"{k} {w}": r for (k, w), r in v.items()}
                                                     for s, v in scale.items()},
                                         "dag": dag}, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
