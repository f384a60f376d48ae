"""What the command line prints when a command fails: one clear line, not hundreds of lines of traceback.

Errors a user can fix (a missing path, a config typo, an unreadable file, a missing secret, a full disk) are
written by this project to name the problem and the fix without quoting notes, so their message is printed
as is. Any other exception may quote a note (a third-party message), so only its type is printed, with the
hint to rerun with ``--debug`` for the traceback.
"""

from __future__ import annotations

import errno

import yaml
from pydantic import ValidationError

from pipeline.core.step import NotDeidentifiedError
from pipeline.core.dataset import AccountingError
from pipeline.deid.stage import ResidualPhiError
from pipeline.deid.metadata import MissingKeyError
from pipeline.core.errors import FormatError, UsageError
from pipeline.ingest import IngestError

USER_ERRORS: tuple[type[BaseException], ...] = (
    IngestError, MissingKeyError, NotDeidentifiedError, ValidationError, yaml.YAMLError, FileNotFoundError,
    FormatError, ResidualPhiError, AccountingError, UsageError,
)


def describe(exc: BaseException) -> str:
    """One line for ``exc``: its message when it is a user error or our own sanitised failure, else its type."""
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return f"no space left on the device of {exc.filename or 'the data root'}; free some space and rerun (finished stages are reused)"
    if isinstance(exc, OSError) and exc.errno == errno.EACCES:
        return f"permission denied: {exc.filename}; make it readable/writable by the user running ehrlm"
    if isinstance(exc, USER_ERRORS) or getattr(exc, "sanitised", False):
        return str(exc).strip()
    return f"{type(exc).__name__} (message withheld: it may quote a note); rerun with --debug for the traceback"
