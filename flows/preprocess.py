"""The preprocessing flow: raw notes -> clean -> dedup -> deid -> sentences -> vocab -> shards.

Wiring only: a loop over ``pipeline.core.dag.STAGES``, each stage the one generic task ``tasks.step.run_step``
(the executor reuses a stage whose fingerprint's folder is complete). ``force`` names stages to recompute;
their descendants are recomputed too. ``from_stage`` recomputes a stage and everything after it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from flows.artifacts import link_manifest
from pipeline.config import PreprocessConfig
from pipeline.core.dag import STAGES, check_stage_names, descendants, from_stage as stages_from, step
from pipeline.core.lineage import lineage_chain, render


@flow(name="ehrlm-preprocess", log_prints=False)
def preprocess(
    input_path: str,
    config: PreprocessConfig | None = None,
    force: list[str] | None = None,
    from_stage: str | None = None,
) -> dict[str, dict[str, Any]]:
    """Run the DAG; returns, per stage, its dataset reference, whether it ran, and its counts."""
    from tasks.step import ref, task_for

    config = config or PreprocessConfig()
    forced = descendants(check_stage_names(force or []))
    if from_stage:
        forced |= stages_from(from_stage)
    results: dict[str, dict[str, Any]] = {}
    for stage in STAGES:
        s = step(stage.name, config, Path(input_path).resolve())
        # submit, not call: with a Dask task runner the stage then runs on a cluster worker.
        future = task_for(s).submit(s, {dep: ref(results[dep]) for dep in stage.inputs}, str(Path(config.data_root).resolve()),
                                    stage.name in forced, f"preprocess.{stage.name}")  # fmt: skip
        results[stage.name] = future.result()
    create_table_artifact(
        key="preprocess-stages",
        table=[
            {
                "stage": name,
                "status": r["status"],
                "fingerprint": r["fingerprint"],
                "rows_in": r["rows_in"],
                "rows_out": r["rows_out"],
                "dropped": sum(r["dropped"].values()),
                "seconds": r["wall_seconds"],
            }
            for name, r in results.items()
        ],
        description="ehrlm preprocessing: per-stage counts (no note text)",
    )
    for name, r in results.items():
        link_manifest(name, r["path"], r["fingerprint"])
    last = results[STAGES[-1].name]["path"]
    manifests = "\n".join(f"- `{name}`: `{r['path']}/_manifest.json`" for name, r in results.items())
    create_markdown_artifact(
        key="preprocess-lineage",
        markdown=f"## Lineage of `{last}`\n\n```mermaid\n{render(lineage_chain(Path(last)), 'mermaid')}```\n\n"
        f"### Manifests\n{manifests}\n",
        description="ehrlm preprocessing: lineage graph and manifest locations",
    )
    return results


def on_dask(address: str | None = None, n_workers: int = 2):
    """The same flow with a Dask task runner: a new local cluster, or an existing one at ``address``.

    Point ``address`` at a remote scheduler (``tcp://host:8786``) to run stages on a cluster; every worker
    must see the data root at the same path (shared filesystem) and run against a real Prefect server
    (``PREFECT_API_URL``), or each worker starts its own temporary one.
    """
    import dask
    from prefect_dask import DaskTaskRunner

    # Stage bodies start their own process pools; dask workers are daemonic by default, which forbids that.
    dask.config.set({"distributed.worker.daemon": False})
    runner = (
        DaskTaskRunner(address=address)
        if address
        else DaskTaskRunner(cluster_kwargs={"n_workers": n_workers, "threads_per_worker": 1, "processes": True,
                                            "dashboard_address": None})
    )
    return preprocess.with_options(task_runner=runner)
