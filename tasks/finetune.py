"""One fine-tuning run as one Prefect task and one lineage step (OpenLineage START / COMPLETE / FAIL).

Inputs of the step: the initial checkpoint (as a dataset when it is one of ours, so the lineage walks back
to the raw notes) and the task's data files; output: the fine-tuned model folder with its metrics. The
run itself is skipped when its fingerprint's folder already exists (``model.finetune.run``), so the task
needs no Prefect cache of its own.

Exceptions are sanitised as in ``tasks/stage.py``: our own format errors (file and line, no content) pass
through; anything else is logged in full under ``<data_root>/_errors/`` and Prefect sees only its type.
"""

from __future__ import annotations

import socket
import traceback
import uuid
from pathlib import Path
from typing import Any

from openlineage.client.event_v2 import InputDataset
from prefect import task
from prefect.logging import get_run_logger
from prefect.runtime import flow_run

from model.finetune.params import FinetuneParams
from model.finetune.readers import FormatError
from model.finetune.run import completed, plan, read_report, run_plan
from pipeline import lineage
from tasks.progress import reporter


class FinetuneFailed(RuntimeError):
    """Fine-tuning failed; the message names the task, the error type and where the traceback is."""

    sanitised = True  # the command line may print the message (flows.errors)


def _file_inputs(paths: dict[str, Path]) -> list[InputDataset]:
    return [InputDataset(namespace=f"file://{socket.gethostname()}", name=str(p)) for p in paths.values()]


@task(name="finetune")
def finetune_task(
    task_name: str,
    checkpoint: str,
    data: str | dict[str, str],
    data_root: str,
    params: FinetuneParams,
    tokenizer: str | None = None,
    force: bool = False,
) -> dict[str, Any]:
    """Fine-tune and evaluate; returns the output folder's reference, status, metrics and timings."""
    logger = get_run_logger()
    root = Path(data_root)
    p = plan(task_name, Path(checkpoint), Path(data) if isinstance(data, str) else data, params,
             Path(tokenizer) if tokenizer else None)  # fmt: skip
    will_run = force or completed(p, root) is None
    job, run_id = p.stage, lineage.new_run_id()
    parent = (flow_run.flow_name, flow_run.id) if flow_run.id else None

    def event(state: str, outputs: list, error: str | None = None):  # noqa: ANN202 - an OpenLineage RunEvent
        e = lineage.run_event(state, job, run_id, list(p.inputs.values()), outputs, parent, error=error)
        e.inputs.extend(_file_inputs(p.splits))
        return e

    if will_run:
        logger.info("%s %s: training (%d epochs max)", job, p.fingerprint, params.epochs)
        lineage.emit(event("START", []), root)
    try:
        ds, computed = run_plan(p, root, force, progress=reporter(job))
    except (FormatError, FileNotFoundError) as exc:
        lineage.emit(event("FAIL", [], f"{type(exc).__name__} in {job}"), root)
        raise
    except Exception as exc:
        lineage.emit(event("FAIL", [], f"{type(exc).__name__} in {job}"), root)
        log = root / "_errors" / f"{job}-{uuid.uuid4().hex[:12]}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text(traceback.format_exc())
        raise FinetuneFailed(f"{job} failed with {type(exc).__name__}; full traceback in {log}") from None
    if computed:
        lineage.emit(event("COMPLETE", [ds]), root)
    else:
        logger.info("%s %s already complete: reused", job, ds.fingerprint)
    m = ds.manifest
    return {
        **ds.as_ref(),
        "status": "ran" if computed else "reused",
        "report": read_report(ds.path),
        "examples": m["counts"]["examples"],
        "timings": m["counts"]["timings"],
        "wall_seconds": m["wall_seconds"],
    }
