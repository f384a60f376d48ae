"""Imported by the forkserver in ``test_parallel``: records which process imported it."""

import os

IMPORTED_IN = os.getpid()
