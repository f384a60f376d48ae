"""Row-parallel stages over a process pool, with results in input order.

Python threads do not help CPU-bound text work (the GIL), so row-wise stages (clean, deid, sentences)
split their rows into chunks and map a top-level function over them in worker processes. Results come
back in input order, so the output is byte-identical for any worker count.
"""

from __future__ import annotations

import multiprocessing as mp
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any, TypeVar

from pipeline.dataset import Progress

T = TypeVar("T")
R = TypeVar("R")


def chunked(items: Sequence[T], size: int) -> list[Sequence[T]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


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
    """Apply ``fn`` to consecutive chunks of ``items`` and concatenate the results in order.

    ``fn`` (and ``initializer``) must be module-level functions so they pickle. ``progress(done, total)``
    is called in the parent as chunks complete, counted in items.
    """
    total = len(items)
    chunks = chunked(items, chunk_size)
    out: list[R] = []
    done = 0
    if workers <= 1 or len(chunks) <= 1:
        if initializer is not None:
            initializer(*initargs)
        for chunk in chunks:
            out.extend(fn(chunk))
            done += len(chunk)
            if progress:
                progress(done, total)
        return out
    # forkserver, not fork: under Prefect the parent runs event-loop threads, and forking a threaded process
    # can deadlock on a lock some thread held. Workers import the stage module fresh instead.
    ctx = mp.get_context("forkserver") if "forkserver" in mp.get_all_start_methods() else mp.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=initializer, initargs=initargs) as pool:
        for chunk, result in zip(chunks, pool.map(fn, chunks)):
            out.extend(result)
            done += len(chunk)
            if progress:
                progress(done, total)
    return out
