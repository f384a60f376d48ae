"""The preprocessing flow: raw notes -> clean -> dedup -> deid -> sentences -> vocab -> shards.

Wiring only. Each stage is ``tasks.stage.stage_task`` (cache key = fingerprint). ``force`` names stages to
recompute; their descendants are recomputed too. ``from_stage`` recomputes a stage and everything after it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from pipeline.config import PreprocessConfig
from pipeline.dag import STAGES, check_stage_names, descendants, from_stage as stages_from
from pipeline.lineage import lineage_chain, render


@flow(name="ehrlm-preprocess", log_prints=False)
def preprocess(
    input_path: str,
    config: PreprocessConfig | None = None,
    force: list[str] | None = None,
    from_stage: str | None = None,
) -> dict[str, dict[str, Any]]:
    """Run the DAG; returns, per stage, its dataset reference, whether it ran, and its counts."""
    from tasks.stage import stage_task

    config = config or PreprocessConfig()
    forced = descendants(check_stage_names(force or []))
    if from_stage:
        forced |= stages_from(from_stage)
    results: dict[str, dict[str, Any]] = {}
    for stage in STAGES:
        task = stage_task.with_options(name=f"stage-{stage.name}", refresh_cache=stage.name in forced or None)
        state = task(
            name=stage.name,
            config=config,
            upstream={dep: {k: results[dep][k] for k in ("stage", "fingerprint", "path")} for dep in stage.inputs},
            input_path=str(Path(input_path).resolve()) if stage.name == "ingest" else None,
            force=stage.name in forced,
            return_state=True,
        )
        result = state.result()
        cached = state.name == "Cached"
        results[stage.name] = {**result, "status": "ran" if result["computed"] and not cached else "cached"}
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
    last = results[STAGES[-1].name]["path"]
    manifests = "\n".join(f"- `{name}`: `{r['path']}/_manifest.json`" for name, r in results.items())
    create_markdown_artifact(
        key="preprocess-lineage",
        markdown=f"## Lineage of `{last}`\n\n```mermaid\n{render(lineage_chain(Path(last)), 'mermaid')}```\n\n"
        f"### Manifests\n{manifests}\n",
        description="ehrlm preprocessing: lineage graph and manifest locations",
    )
    return results
