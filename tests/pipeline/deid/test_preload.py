"""The pools' forkserver builds the rules engine once: deid workers start with it built."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from pipeline.config import DeidParams
from pipeline.deid import stage

ROOT = Path(__file__).resolve().parents[3]


def _engine_cache_hits(chunk: list[int]) -> int:
    """In a worker, after ``warm_worker``: how often ``build_analyzer`` found its engine already built."""
    return stage.build_analyzer.cache_info().hits


_POOL = """
import json
from pipeline.config import DeidParams
from pipeline.core.parallel import imap_chunks
from pipeline.deid.stage import engine_spec, warm_worker
from tests.pipeline.deid.test_preload import _engine_cache_hits
spec = engine_spec(DeidParams())
print(json.dumps(list(imap_chunks(_engine_cache_hits, [[i] for i in range(4)], workers=2, initializer=warm_worker,
                                  initargs=spec))))
"""


def test_workers_fork_with_the_default_engine_built():
    # a fresh process, so its forkserver starts with the registry that importing the deid stage filled
    done = subprocess.run([sys.executable, "-c", _POOL], capture_output=True, text=True, timeout=300, cwd=ROOT,
                          check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    hits = json.loads(done.stdout)
    assert len(hits) == 4 and all(h >= 1 for h in hits)  # warm_worker's build was a cache hit in every worker


def test_the_preload_builds_what_the_default_stage_config_asks_for():
    import pipeline.deid.preload  # noqa: F401 - builds on import

    before = stage.build_analyzer.cache_info().hits
    stage.build_analyzer(*stage.engine_spec(DeidParams()))
    assert stage.build_analyzer.cache_info().hits == before + 1
