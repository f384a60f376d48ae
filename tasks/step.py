"""The one Prefect task: run any :class:`pipeline.core.step.Step` through the executor.

Preprocessing stages, pretraining and every fine-tuning job are the same task with different options
(:func:`task_for`); what differs is only what they compute, which the step knows.

* Reuse is the executor's (``pipeline.core.step.execute``: the fingerprint's folder under *this* data root is
  complete), never Prefect's result cache: a cached reference could point into another data root, or into
  a folder since deleted.
* Lineage (START / COMPLETE / FAIL) is the executor's too, so it is the same with or without Prefect.
* Exceptions pass through ``pipeline.core.errors.sanitise`` before Prefect sees them (Prefect stores and shows
  exception messages): one rule for every step.
* Retries: only failures that may pass on a second attempt (an I/O error; a training job killed or cut off
  from a node, which resumes from its checkpoint). Long resumable jobs wait longer between attempts and
  carry the ``ehrlm-pretrain`` tag, so a Prefect concurrency limit keeps a second one off the same GPUs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import Task, task
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run

from pipeline.core.dataset import Dataset
from pipeline.core.errors import sanitise
from pipeline.core.step import Step, execute
from tasks.progress import reporter

CONCURRENCY_TAG = "ehrlm-pretrain"
"""Tag-based task concurrency: ``prefect concurrency-limit create ehrlm-pretrain 1`` allows one resumable
training job at a time across all flows and deployments (the GPUs are one resource)."""
RETRIES = 2
RETRY_DELAY_S = 2
RESUMABLE_RETRY_DELAY_S = 300


def retryable(task, task_run, state) -> bool:  # noqa: ANN001 - Prefect's retry_condition_fn signature
    """Whether the failure may pass on another attempt: the exception says so (``retryable``)."""
    exc = state.result(raise_on_failure=False)
    return bool(getattr(exc, "retryable", False))


@task(cache_policy=NO_CACHE, persist_result=False, retries=RETRIES, retry_delay_seconds=RETRY_DELAY_S,
      retry_condition_fn=retryable)  # fmt: skip
def run_step(
    step: Step, upstream: dict[str, dict[str, str]], data_root: str, force: bool = False, job: str | None = None
) -> dict[str, Any]:
    """Run or reuse ``step`` on ``upstream`` (dataset references); returns its dataset reference, ``status``
    (``ran`` / ``reused``), its counts and its manifest's ``counts``."""
    parent = (flow_run.flow_name, flow_run.id) if flow_run.id else None
    inputs = {k: Dataset(r["stage"], r["fingerprint"], Path(r["path"])) for k, r in upstream.items()}
    try:
        out = execute(step, inputs, Path(data_root), force=force, progress=reporter(step.name), parent=parent, job=job)
    except Exception as exc:
        raise sanitise(exc, Path(data_root), step.name) from None
    m = out.dataset.manifest
    return {
        **out.dataset.as_ref(),
        "status": out.status,
        "rows_in": m["rows_in"],
        "rows_out": m["rows_out"],
        "dropped": m["dropped"],
        "wall_seconds": m["wall_seconds"],
        "counts": m["counts"],
    }


def task_for(step: Step) -> Task:
    """``run_step`` with the options of this kind of step (its name in the UI, retry delay, tags)."""
    if getattr(step, "resumable", False):
        return run_step.with_options(name=step.name, retry_delay_seconds=RESUMABLE_RETRY_DELAY_S, tags=[CONCURRENCY_TAG])
    return run_step.with_options(name=step.name)


def ref(result: dict[str, Any]) -> dict[str, str]:
    """The dataset reference in a ``run_step`` result, as the ``upstream`` of the next step."""
    return {k: result[k] for k in ("stage", "fingerprint", "path")}
