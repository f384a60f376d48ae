"""Row-parallel stages over a process pool, with results in input order.

Python threads do not help CPU-bound text work (the GIL), so row-wise stages (clean, deid, sentences)
split their rows into chunks and map a top-level function over them in worker processes. Results come
back in input order, so the output is byte-identical for any worker count. At most ``2 * workers``
chunks are in flight, so a stage can stream a corpus larger than memory.

Besides its share of the work, a pool costs its workers' imports and moving rows across the process boundary.
On the sentences stage (47 MB, 2 workers; docs/benchmarks.md, "Scaling"), pickling every note out and every
sentence back as a Python object kept the main process busy 0.75-1.1 CPU-seconds (writing included) and the
workers 0.35-0.5 more, and each worker's imports took 0.2-0.3. So:

- **Arrow rows cross as Arrow IPC bytes** (:func:`imap_batches`): a few buffer copies per chunk; the worker
  builds its output rows as Arrow and the main process only writes them (0.4-0.55 CPU-seconds there now).
  Pickling an Arrow *slice* is no way out: it copies the whole parent buffer.
- **The forkserver preloads the modules the workers call**, so their imports run once in the server, not once
  per worker; later pools of the same process fork from a server that has them. A stage whose workers need
  slow set-up beyond imports (deid's word lists and compiled rules, about 2 CPU-seconds) names a module that
  does it on import (:func:`preload_in_workers`): the server does it once and every worker forks with it done.

Workers are not handed Parquet row ranges to read themselves: the stages write one row group per file (up to
a million notes), pyarrow reads whole row groups, and each worker would decode the whole file.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from functools import partial
from itertools import chain, islice
from multiprocessing import get_all_start_methods, get_context
from multiprocessing.context import BaseContext
from typing import Any, TypeVar

import pyarrow as pa

from pipeline.core.dataset import Progress

C = TypeVar("C")
R = TypeVar("R")
T = TypeVar("T")

_SERVER_PRELOADS: set[str] = set()


def preload_in_workers(module: str) -> None:
    """Have the pools' forkserver import ``module`` when it starts, besides the modules of the functions the
    workers call. Why a registry and not a pool argument: one server serves every pool of a process and keeps
    the preloads it started with, so a later stage's needs must be known before the first pool starts. Stage
    modules register when they are imported, and a DAG run imports every stage (to fingerprint its code)
    before any runs; a process that imported a stage but never runs it pays that module's import once."""
    _SERVER_PRELOADS.add(module)


def imap_chunks(
    fn: Callable[[C], R],
    chunks: Iterable[C],
    *,
    workers: int = 1,
    initializer: Callable[..., Any] | None = None,
    initargs: tuple[Any, ...] = (),
) -> Iterator[R]:
    """Yield ``fn(chunk)`` for each chunk, in order, in this process or in a bounded window of workers.

    ``fn`` and ``initializer`` must be module-level (picklable). One chunk runs in this process whatever
    ``workers`` says: a pool would cost more than it. forkserver, not fork: under Prefect the parent runs
    event-loop threads, and forking a threaded process can deadlock on a lock some thread held.
    """
    it = iter(chunks)
    head = list(islice(it, 2))
    if workers <= 1 or len(head) < 2:
        if initializer is not None:
            initializer(*initargs)
        for chunk in chain(head, it):
            yield fn(chunk)
        return
    ctx = _context(fn, initializer)
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=initializer, initargs=initargs) as pool:
        window: deque[Future[R]] = deque()
        for chunk in chain(head, it):
            window.append(pool.submit(fn, chunk))
            if len(window) >= 2 * workers:
                yield window.popleft().result()
        while window:
            yield window.popleft().result()


def _context(*callables: Callable[..., Any] | None) -> BaseContext:
    """A forkserver context whose server, when this call starts it, preloads the modules of the functions the
    workers will call (and ``__main__``, as by default), so workers fork with those imports done. A server
    already running keeps its preloads. The modules named by :func:`preload_in_workers` are preloaded too.
    (The preloaded server holds the helper threads of numpy's OpenBLAS and pyarrow's jemalloc; both libraries
    reset them in a forked child.) spawn where there is no forkserver."""
    if "forkserver" not in get_all_start_methods():
        return get_context("spawn")
    ctx = get_context("forkserver")
    ctx.set_forkserver_preload(["__main__", *sorted((_modules(callables) | _SERVER_PRELOADS) - {"__main__"})])
    return ctx


def _modules(callables: Iterable[Callable[..., Any] | None]) -> set[str]:
    """Modules of ``callables``, looking inside ``functools.partial`` (its function and callable arguments)."""
    out: set[str] = set()
    for f in callables:
        if isinstance(f, partial):
            out |= _modules([f.func, *(a for a in f.args if callable(a))])
        elif (module := getattr(f, "__module__", None)) is not None:
            out.add(module)
    return out


def imap_batches(
    fn: Callable[[pa.RecordBatch], pa.RecordBatch],
    batches: Iterable[pa.RecordBatch],
    *,
    workers: int = 1,
    initializer: Callable[..., Any] | None = None,
    initargs: tuple[Any, ...] = (),
) -> Iterator[tuple[pa.RecordBatch, pa.RecordBatch]]:
    """Yield ``(batch, fn(batch))`` for each Arrow batch, in order, like :func:`imap_chunks`; in a pool, both
    cross the process boundary as Arrow IPC bytes. The stage builds its output rows in the worker, as Arrow,
    so the main process only writes them. The input batches of the window are held here until their results
    come back (at most ``2 * workers``)."""
    held: deque[pa.RecordBatch] = deque()
    pooled = workers > 1

    def sent() -> Iterator[pa.RecordBatch | bytes]:
        for batch in batches:
            held.append(batch)
            yield to_ipc(batch) if pooled else batch

    call = partial(_ipc_call, fn) if pooled else fn
    for result in imap_chunks(call, sent(), workers=workers, initializer=initializer, initargs=initargs):
        yield held.popleft(), from_ipc(result) if pooled else result


def _ipc_call(fn: Callable[[pa.RecordBatch], pa.RecordBatch], payload: bytes) -> bytes:
    """In a worker: Arrow IPC bytes in, ``fn``, Arrow IPC bytes out."""
    return to_ipc(fn(from_ipc(payload)))


def to_ipc(batch: pa.RecordBatch) -> bytes:
    """One batch as an Arrow IPC stream (only the rows of a slice are written, unlike pickle)."""
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, batch.schema) as writer:
        writer.write_batch(batch)
    return sink.getvalue().to_pybytes()


def from_ipc(payload: bytes) -> pa.RecordBatch:
    """The batch :func:`to_ipc` wrote (its arrays point into ``payload``: no copy)."""
    return pa.ipc.open_stream(payload).read_next_batch()


def map_chunks(
    fn: Callable[[Sequence[T]], list[R]],
    items: Sequence[T],
    *,
    workers: int = 1,
    chunk_size: int = 256,
    progress: Progress | None = None,
    initializer: Callable[..., Any] | None = None,
    initargs: tuple[Any, ...] = (),
) -> list[R]:
    """Apply ``fn`` to consecutive chunks of an in-memory sequence of Python objects; results concatenated in
    order. For rows that are Arrow already, :func:`imap_batches` moves them more cheaply."""
    total = len(items)
    chunks = (items[i : i + chunk_size] for i in range(0, total, chunk_size))
    out: list[R] = []
    for result in imap_chunks(fn, chunks, workers=workers, initializer=initializer, initargs=initargs):
        out.extend(result)
        if progress:
            progress(len(out), total)
    return out
