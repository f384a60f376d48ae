"""Progress of long stages: throttled log lines in Prefect, plus an optional in-process sink (the CLI's bar).

Only stage names and counts pass through here -- never note text.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from prefect.logging import get_run_logger

Sink = Callable[[str, int, int], None]
_sink: Sink | None = None


def set_sink(sink: Sink | None) -> None:
    """Register a callable(stage, done, total), e.g. a rich progress bar in the CLI process."""
    global _sink
    _sink = sink


def notify(stage: str, done: int, total: int) -> None:
    """Pass progress to the in-process sink only (for steps that log their own progress lines)."""
    if _sink is not None:
        _sink(stage, done, total)


def reporter(stage: str, every_seconds: float = 5.0) -> Callable[[int, int], None]:
    """A ``progress(done, total)`` callback for one stage run."""
    logger = get_run_logger()
    last = [0.0]

    def report(done: int, total: int) -> None:
        now = time.monotonic()
        if done >= total or now - last[0] >= every_seconds:
            last[0] = now
            logger.info("%s: %d/%d (%.0f%%)", stage, done, total, 100.0 * done / max(total, 1))
        notify(stage, done, total)

    return report
