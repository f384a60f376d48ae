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


class Reporter:
    """A ``progress(done, total)`` callback for one step run: a throttled log line in Prefect and the sink.
    ``log(record)`` passes a step's own metric records (numbers only: pretraining's) to Prefect's log."""

    def __init__(self, stage: str, every_seconds: float = 5.0) -> None:
        self.stage, self.every_seconds = stage, every_seconds
        self.logger = get_run_logger()
        self.last = 0.0

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if done >= total or now - self.last >= self.every_seconds:
            self.last = now
            self.logger.info("%s: %d/%d (%.0f%%)", self.stage, done, total, 100.0 * done / max(total, 1))
        notify(self.stage, done, total)

    def log(self, record: str) -> None:
        self.logger.info(record)


def reporter(stage: str, every_seconds: float = 5.0) -> Reporter:
    return Reporter(stage, every_seconds)
