"""The pretraining job as one Prefect task: a lineage step (START / COMPLETE / FAIL) with streamed progress.

The job's ``[ehrlm]`` metric lines (numbers only) become Prefect log lines; everything else the job prints
(DeepSpeed's own chatter, tracebacks) stays in the run's ``job.log``. A failed job fails the task with the
job's last error line -- training handles token ids, never note text, so that line is PHI-free.

A job that dies of something transient is retried (it resumes from its newest complete checkpoint); the
``ehrlm-pretrain`` tag lets a Prefect concurrency limit keep a second job off the same GPUs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from prefect import task
from prefect.logging import get_run_logger
from prefect.runtime import flow_run

from model import launch
from model.train import HF_DIR, LOG_PREFIX
from pipeline import lineage
from pipeline.dataset import Dataset
from tasks.progress import notify


CONCURRENCY_TAG = "ehrlm-pretrain"
"""Tag-based task concurrency: ``prefect concurrency-limit create ehrlm-pretrain 1`` allows one pretraining
job at a time across all flows and deployments (the GPUs are one resource)."""
RETRIES, RETRY_DELAY_S = 2, 300


def retry_resumable(task, task_run, state) -> bool:
    """Retry a job that died of something transient (killed, lost node, NCCL timeout): the work folder is
    kept, so the next attempt resumes from the newest complete checkpoint. Settings/data errors
    (``ValueError``, out of memory, ...) would only fail again, after the retry delay."""
    try:
        state.result()
    except launch.JobFailed as exc:
        return exc.retryable
    except Exception:
        return False
    return False


@task(name="pretrain", retries=RETRIES, retry_delay_seconds=RETRY_DELAY_S, retry_condition_fn=retry_resumable,
      tags=[CONCURRENCY_TAG])  # fmt: skip
def pretrain_task(shards_path: str, vocab_path: str, config: dict[str, Any], out_root: str, force: bool = False) -> dict[str, Any]:
    logger = get_run_logger()
    p = launch.plan(Path(shards_path), Path(vocab_path), config, Path(out_root))
    inputs = list(p.inputs.values())
    will_run = force or launch.completed(p) is None
    job, run_id = "pretrain", lineage.new_run_id()
    parent = (flow_run.flow_name, flow_run.id) if flow_run.id else None
    if will_run:
        logger.info("pretraining run %s: launching (%s, %d process(es))", p.fingerprint, p.config.launch.launcher,
                    p.config.world_size())  # fmt: skip
        lineage.emit(lineage.run_event("START", job, run_id, inputs, [], parent), p.out_root)

    total_steps = p.config.train.train_steps

    def forward(line: str) -> None:
        if line.startswith(LOG_PREFIX):
            record = line[len(LOG_PREFIX) :]
            logger.info(record)
            step = json.loads(record).get("step") if record.startswith("{") else None
            if isinstance(step, int):
                notify(job, step, total_steps)

    try:
        out = launch.run_plan(p, force=force, on_line=forward)
    except Exception as exc:
        lineage.emit(lineage.run_event("FAIL", job, run_id, inputs, [], parent, error=f"{type(exc).__name__} in pretrain"), p.out_root)
        raise
    if out["computed"]:
        result = Dataset(launch.STAGE, p.fingerprint, Path(out["path"]))
        lineage.emit(lineage.run_event("COMPLETE", job, run_id, inputs, [result], parent), p.out_root)
    else:
        logger.info("pretraining run %s already complete: skipped", p.fingerprint)
    counts = out["counts"]
    return {
        "stage": launch.STAGE,
        "fingerprint": p.fingerprint,
        "path": out["path"],
        "hf_path": str(Path(out["path"]) / HF_DIR),
        "status": "ran" if out["computed"] else "cached",
        "steps": counts["steps"],
        "best_val_loss": counts["best_val_loss"],
        "final_val": counts["final_val"],
        "parameters": counts["parameters"],
        "wall_seconds": out["wall_seconds"],
    }
