"""Errors whose message may leave this machine, and the one rule that makes any other error safe to.

Prefect stores and shows exception messages, and a third-party message can quote a piece of a note. So an
exception crossing from a step to a scheduler goes through :func:`sanitise`:

- errors this project writes to be PHI-free (names of files by hash, lines, options, counts; never note
  text) say so with a class attribute ``sanitised = True`` and pass unchanged (``UsageError``,
  ``NotDeidentifiedError``, ``FormatError``, ``AccountingError``, the pretraining ``JobFailed``);
- errors that name a raw file (``IngestError``: file names can be identifiers) pass as their ``redacted()``
  text;
- anything else becomes :class:`StepFailed` naming the step and the exception's type only.

The full message and traceback go to ``<data_root>/_errors/``, next to the raw notes and under their
protection. No Prefect here: ``tasks/step.py`` applies it.
"""

from __future__ import annotations

import traceback
import uuid
from pathlib import Path

DETERMINISTIC_OS_ERRORS = (FileNotFoundError, PermissionError, IsADirectoryError, NotADirectoryError)


class UsageError(ValueError):
    """A wrong argument or option; the message says which and what is accepted."""

    sanitised = True


class FormatError(ValueError):
    """A data file does not follow its format; the message names file and line, never content."""

    sanitised = True


class StepFailed(RuntimeError):
    """A step failed; the message names the step, the error type and where the full traceback is."""

    sanitised = True  # the command line may print the message (flows.errors)

    def __init__(self, message: str, retryable: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable


def error_log(data_root: Path, step: str, text: str) -> Path:
    """Write what must not reach a scheduler (a traceback, a file name) under the data root; return its path."""
    log = Path(data_root) / "_errors" / f"{step}-{uuid.uuid4().hex[:12]}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(text)
    return log


def sanitise(exc: BaseException, data_root: Path, step: str) -> BaseException:
    """The exception a scheduler may see for ``exc`` raised by step ``step`` (call inside ``except``)."""
    if getattr(exc, "sanitised", False):
        return exc
    redacted = getattr(exc, "redacted", None)
    if callable(redacted):
        log = error_log(data_root, step, str(exc))
        return StepFailed(f"stage {step!r}: {redacted()}; the file's name is in {log}")
    log = error_log(data_root, step, traceback.format_exc())
    return StepFailed(
        f"stage {step!r} failed with {type(exc).__name__}; full traceback (may quote note text) in {log}",
        retryable=isinstance(exc, OSError) and not isinstance(exc, DETERMINISTIC_OS_ERRORS),
    )
