"""Row-parallel stages over a process pool, with results in input order.

Python threads do not help CPU-bound text work (the GIL), so row-wise stages (clean, deid, sentences)
split their rows into chunks and map a top-level function over them in worker processes. Results come
back in input order, so the output is byte-identical for any worker count. At most ``2 * workers``
chunks are in flight, so a stage can stream a corpus larger than memory.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from multiprocessing import get_all_start_methods, get_context
from typing import Any, TypeVar

from pipeline.core.dataset import Progress

C = TypeVar("C")
R = TypeVar("R")
T = TypeVar("T")


def imap_chunks(
    fn: Callable[[C], R],
    chunks: Iterable[C],
    *,
    workers: int = 1,
    initializer: Callable[..., Any] | None = None,
    initargs: tuple[Any, ...] = (),
) -> Iterator[R]:
    """Yield ``fn(chunk)`` for each chunk, in order, in this process or in a bounded window of workers.

    ``fn`` and ``initializer`` must be module-level (picklable). forkserver, not fork: under Prefect the
    parent runs event-loop threads, and forking a threaded process can deadlock on a lock some thread held.
    """
    if workers <= 1:
        if initializer is not None:
            initializer(*initargs)
        for chunk in chunks:
            yield fn(chunk)
        return
    ctx = get_context("forkserver" if "forkserver" in get_all_start_methods() else "spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=initializer, initargs=initargs) as pool:
        window: deque[Future[R]] = deque()
        for chunk in chunks:
            window.append(pool.submit(fn, chunk))
            if len(window) >= 2 * workers:
                yield window.popleft().result()
        while window:
            yield window.popleft().result()


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
    """Apply ``fn`` to consecutive chunks of an in-memory sequence; results concatenated in order."""
    total = len(items)
    chunks = [items[i : i + chunk_size] for i in range(0, total, chunk_size)]
    if len(chunks) <= 1:
        workers = 1  # a pool costs more than one small chunk
    out: list[R] = []
    for result in imap_chunks(fn, chunks, workers=workers, initializer=initializer, initargs=initargs):
        out.extend(result)
        if progress:
            progress(len(out), total)
    return out
