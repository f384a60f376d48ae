"""Builds the default rules engine on import, for the worker pool's forkserver to import once.

Why: each deid worker otherwise spends about 2 CPU-seconds before its first note (importing presidio,
reading the drug dictionary and name lists, compiling the prefilter), which kept 2 workers at about 1.6x one
on a 10 MB input. The forkserver imports this module when it starts (``pipeline.deid.stage`` registers it
with ``pipeline.core.parallel.preload_in_workers``); every worker is forked from it with the engine built,
so ``warm_worker`` finds it in ``build_analyzer``'s cache. Other modes reuse the cached word lists and build
only what differs. Nothing else should import this module.

A failure here must not take the forkserver down (it would surface as a broken pool, far from its cause),
so it is set aside: the worker's initializer builds the engine again and raises the error where it belongs.
"""

from pipeline.config import DeidParams
from pipeline.deid.stage import _residual_gate, build_analyzer, engine_spec

try:
    build_analyzer(*engine_spec(DeidParams()))
    _residual_gate()
except Exception:  # noqa: BLE001 - re-raised by the worker's own build, see above
    pass
