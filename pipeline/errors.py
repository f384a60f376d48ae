"""Errors of a request that cannot be carried out as asked (an unknown name, a mismatched option).

Their messages name the option and the choices, never data, so the command line prints them as they are
(``flows.errors``) instead of a traceback.
"""

from __future__ import annotations


class UsageError(ValueError):
    """A wrong argument or option; the message says which and what is accepted."""
