"""bench/ is a folder of scripts, not a package: tests import a script by path, under a name its worker
processes (forkserver children, which get the parent's ``sys.path``) can import too."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType

BENCH = Path(__file__).resolve().parents[2] / "bench"


def load(name: str) -> ModuleType:
    """The script ``bench/<name>.py`` as module ``name``."""
    if str(BENCH) not in sys.path:
        sys.path.append(str(BENCH))  # appended: never shadows an installed module
    return importlib.import_module(name)
