"""The end-to-end flow: preprocess -> pretrain (a DeepSpeed job) -> fine-tune on each task, as subflows.

Wiring only; every step is the flow a user can also run alone (``flows.preprocess``, ``flows.pretrain``,
``flows.finetune``), so a step's output is the same dataset whichever way it ran, and an unchanged step is
reused from its fingerprinted folder. Parameters are pydantic models, so the Prefect UI renders them as a
form and a bad value is refused before anything runs.

Fine-tuning jobs run one after another (a 2-core machine gains nothing from running them at once); one that
fails does not stop the others: the results table lists every job, and the flow fails at the end, naming
the failed jobs.

(Why not ``flows/pipeline.py``: Prefect loads a deployment's flow script with the script's folder first on
``sys.path``, so a module named ``pipeline`` in ``flows/`` would shadow the ``pipeline`` package for every
flow deployed from this folder.)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from pydantic import BaseModel, ConfigDict, Field

from model.config import PretrainConfig
from model.finetune.params import FinetuneParams, Task
from pipeline.config import PreprocessConfig
from pipeline.core.dag import FINETUNE as FINETUNE_NODE, PIPELINE, PRETRAIN as PRETRAIN_NODE, STAGES, STEP_NAMES, descendants
from pipeline.core.lineage import lineage_chain, render

PRETRAIN, FINETUNE = PRETRAIN_NODE.name, FINETUNE_NODE.name
STEPS: tuple[str, ...] = tuple(STEP_NAMES)
"""Every step in DAG order (``pipeline.core.dag.PIPELINE``)."""


class FinetuneJob(BaseModel):
    """One fine-tuning run of the pipeline's pretrained model."""

    model_config = ConfigDict(extra="forbid")

    task: Task
    data: str = Field(description="folder with the task's train/dev/test files")
    name: str | None = Field(None, description="label in the results table (default: task, plus '-random' for init=random)")
    benchmark: str | None = Field(None, description="official data set name, to list the paper's scores (e.g. mednli)")
    params: FinetuneParams = Field(default_factory=FinetuneParams)

    @property
    def label(self) -> str:
        return self.name or (self.task if self.params.init == "pretrained" else f"{self.task}-{self.params.init}")


class PipelineFailed(RuntimeError):
    """Some fine-tuning jobs failed (their names and error types are listed; the others' results stand)."""


def forced_steps(force: list[str], from_step: str | None) -> set[str]:
    """Steps to recompute: each named step and every step downstream of it in the DAG (``from_step`` likewise)."""
    named = [*force, *([from_step] if from_step else [])]
    unknown = [s for s in named if s not in STEPS]
    if unknown:
        raise ValueError(f"unknown step(s) {unknown}; steps are {', '.join(STEPS)}")
    return descendants(named, PIPELINE)


@flow(name="ehrlm-pipeline", log_prints=False)
def pipeline(
    input_path: str,
    preprocess: PreprocessConfig | None = None,
    pretrain: PretrainConfig | None = None,
    finetune: list[FinetuneJob] | None = None,
    force: list[str] | None = None,
    from_step: str | None = None,
) -> dict[str, Any]:
    """Raw notes at ``input_path`` -> de-identified shards -> a pretrained model -> one fine-tuned model per job.

    ``preprocess.data_root`` holds every dataset and model. ``pretrain`` None = ``configs/pretrain-tiny.yaml``.
    ``force`` names steps to recompute with everything after them (``ingest`` ... ``shards``, ``pretrain``,
    ``finetune``); ``from_step`` does the same for one step.
    """
    from flows.finetune import finetune as finetune_flow
    from flows.preprocess import preprocess as preprocess_flow
    from flows.pretrain import run_pretrain

    logger = get_run_logger()
    config = preprocess or PreprocessConfig()
    data_root = Path(config.data_root).resolve()
    config = config.model_copy(update={"data_root": data_root})
    jobs = finetune or []
    forced = forced_steps(force or [], from_step)
    labels = [job.label for job in jobs]
    if len(set(labels)) != len(labels):
        raise ValueError(f"fine-tuning job names must be unique: {labels}")

    pre_forced = [s.name for s in STAGES if s.name in forced]
    pre = preprocess_flow(input_path=input_path, config=config, force=pre_forced)
    run = run_pretrain(
        pre["shards"]["path"], pre["vocab"]["path"], pretrain.model_dump(mode="json") if pretrain else None,
        str(data_root), PRETRAIN in forced,
    )  # fmt: skip

    results: dict[str, dict[str, Any]] = {}
    failed: dict[str, str] = {}
    for job in jobs:
        # the value, not return_state=True: a returned state's result may be "missing" (MissingResult) when
        # Prefect hands back the state as read from its API without the in-memory data
        try:
            results[job.label] = finetune_flow.with_options(flow_run_name=f"finetune-{job.label}")(
                task=job.task, checkpoint=run["hf_path"], data=job.data, data_root=str(data_root), params=job.params,
                benchmark=job.benchmark, force=FINETUNE in forced,
            )  # fmt: skip
        except Exception as exc:  # noqa: BLE001 -- one job's failure must not stop the others; the step task
            failed[job.label] = str(exc) or type(exc).__name__  # has already sanitised the exception
            logger.error("fine-tuning job %s failed: %s", job.label, failed[job.label])

    _publish(pre, run, jobs, results, failed)
    if failed:
        raise PipelineFailed(f"{len(failed)} of {len(jobs)} fine-tuning jobs failed: {', '.join(failed)}")
    return {"preprocess": pre, "pretrain": run, "finetune": results}


def _publish(pre: dict, run: dict, jobs: list[FinetuneJob], results: dict, failed: dict[str, str]) -> None:
    """One table row per step and job (counts, fingerprints, metrics; no text) and the lineage graph."""
    rows = [{"step": name, "status": r["status"], "fingerprint": r["fingerprint"], "result": f"{r['rows_out']} rows",
             "seconds": r["wall_seconds"]} for name, r in pre.items()]  # fmt: skip
    val = run.get("best_val_loss")
    rows.append({"step": PRETRAIN, "status": run["status"], "fingerprint": run["fingerprint"],
                 "result": f"{run['steps']} steps, val loss {'n/a' if val is None else round(val, 4)}",
                 "seconds": run["wall_seconds"]})  # fmt: skip
    for job in jobs:
        r = results.get(job.label)
        if r is None:
            rows.append({"step": f"finetune {job.label}", "status": "failed", "fingerprint": "-",
                         "result": failed[job.label], "seconds": None})  # fmt: skip
            continue
        report = r["report"]
        metric = report["primary_metric"]
        rows.append({"step": f"finetune {job.label}", "status": r["status"], "fingerprint": r["fingerprint"],
                     "result": f"{report['eval_split']} {metric} {report['metrics'][metric]:.4f} "
                               f"(baseline {report['baseline'][metric]:.4f})",
                     "seconds": r["wall_seconds"]})  # fmt: skip
    create_table_artifact(key="pipeline-steps", table=rows, description="ehrlm end-to-end run: every step (no note text)")
    tip = next((Path(results[j.label]["path"]) for j in jobs if j.label in results), Path(run["path"]))
    create_markdown_artifact(
        key="pipeline-lineage",
        markdown=f"## Lineage of `{tip}`\n\n```mermaid\n{render(lineage_chain(tip), 'mermaid')}```\n",
        description="ehrlm end-to-end run: lineage from the first fine-tuned model back to the raw notes",
    )
