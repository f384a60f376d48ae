"""The process pool the row-parallel stages share: same results for any worker count, input order, a bounded
window, Arrow batches that cross as compact IPC bytes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

import pyarrow as pa

from pipeline.core import parallel
from pipeline.core.parallel import from_ipc, imap_batches, imap_chunks, map_chunks, to_ipc

ROOT = Path(__file__).resolve().parents[3]


def _upper(batch: pa.RecordBatch, tag: str) -> pa.RecordBatch:
    """A stage-like chunk function: one output row per sentence-like piece, built as Arrow in the worker."""
    ids, texts = batch.column("id").to_pylist(), batch.column("text").to_pylist()
    pieces = [(i, p.upper()) for i, t in zip(ids, texts) for p in (t or "").split()]
    return pa.record_batch({"id": [i for i, _ in pieces], "piece": [f"{tag}{p}" for _, p in pieces]},
                           schema=pa.schema([("id", pa.int64()), ("piece", pa.string())]))


def _slow_first(chunk: list[int]) -> list[int]:
    """Even chunks take longer, so a later chunk finishes first in a pool."""
    if chunk[0] % 2 == 0:
        time.sleep(0.05)
    return [x * 10 for x in chunk]


def _pid(chunk: list[int]) -> int:
    return os.getpid()


def _notes(n: int, per_batch: int) -> list[pa.RecordBatch]:
    texts = [None if i % 7 == 3 else "" if i % 11 == 5 else f"note {i} has wörds é {i % 5}" for i in range(n)]
    table = pa.table({"id": pa.array(range(n), pa.int64()), "text": pa.array(texts, pa.large_string())})
    return table.to_batches(max_chunksize=per_batch)


def test_imap_batches_same_bytes_for_one_and_two_workers():
    batches = _notes(50, per_batch=6)
    fn = partial(_upper, tag="x:")
    runs = {w: list(imap_batches(fn, batches, workers=w)) for w in (1, 2)}
    for w, pairs in runs.items():
        assert [b.to_pydict() for b, _ in pairs] == [b.to_pydict() for b in batches], f"inputs, {w} worker(s)"
    assert [to_ipc(r) for _, r in runs[1]] == [to_ipc(r) for _, r in runs[2]]
    assert [r.to_pydict() for _, r in runs[2]] == [fn(b).to_pydict() for b in batches]


def test_results_come_in_input_order_even_when_later_chunks_finish_first():
    chunks = [[i] for i in range(12)]
    assert list(imap_chunks(_slow_first, chunks, workers=2)) == [[i * 10] for i in range(12)]


def test_at_most_two_chunks_per_worker_are_in_flight():
    pulled = 0

    def source():
        nonlocal pulled
        for i in range(20):
            pulled += 1
            yield [i]

    for workers in (1, 2):
        pulled = 0
        ahead = []
        for k, _ in enumerate(imap_chunks(_slow_first, source(), workers=workers)):
            ahead.append(pulled - k)  # chunks taken from the source but not yet yielded, this one included
        assert max(ahead) <= 2 * workers, (workers, ahead)


def test_one_chunk_runs_in_this_process_and_more_in_workers():
    assert list(imap_chunks(_pid, [[1]], workers=2)) == [os.getpid()]
    pids = set(imap_chunks(_pid, [[i] for i in range(6)], workers=2))
    assert os.getpid() not in pids


def test_map_chunks_concatenates_in_order_with_progress():
    items = list(range(23))
    for workers in (1, 2):
        seen: list[tuple[int, int]] = []
        out = map_chunks(_slow_first, items, workers=workers, chunk_size=4, progress=lambda d, t: seen.append((d, t)))
        assert out == [x * 10 for x in items]
        assert seen == [(min(k, 23), 23) for k in range(4, 28, 4)]


def test_ipc_writes_only_the_rows_of_a_slice():
    big = _notes(2000, per_batch=2000)[0]
    part = big.slice(100, 10)
    assert from_ipc(to_ipc(part)).equals(part)
    assert len(to_ipc(part)) * 20 < len(to_ipc(big))


def test_the_forkserver_preloads_the_modules_the_workers_call():
    fn = partial(parallel._ipc_call, partial(_upper, tag="x"))
    assert parallel._modules([fn, None]) == {"pipeline.core.parallel", __name__}


def _probe_pids(chunk: list[int]) -> tuple[int, int]:
    """In a worker: the process that imported the probe module, and this worker's own."""
    from tests.pipeline.core import preload_probe

    return preload_probe.IMPORTED_IN, os.getpid()


_REGISTERED_PRELOAD = """
import json
from pipeline.core import parallel
from tests.pipeline.core.test_parallel import _probe_pids
parallel.preload_in_workers("tests.pipeline.core.preload_probe")
print(json.dumps(list(parallel.imap_chunks(_probe_pids, [[i] for i in range(6)], workers=2))))
"""


def test_a_registered_module_is_imported_once_by_the_server_not_by_each_worker():
    # a fresh process, so the forkserver starts here with this registry (a running one keeps its preloads)
    done = subprocess.run([sys.executable, "-c", _REGISTERED_PRELOAD], capture_output=True, text=True, timeout=120,
                          cwd=ROOT, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    pairs = json.loads(done.stdout)
    imported_in = {imp for imp, _ in pairs}
    workers = {pid for _, pid in pairs}
    assert len(imported_in) == 1 and not imported_in & workers  # one import, in the server, none in a worker
