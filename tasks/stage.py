"""One Prefect task for every preprocessing stage.

* Cache key = the data root and the stage's fingerprint, but only when its dataset really exists on disk
  (Prefect's cache alone would return a stale result for a deleted folder, or one of another data root).
* Lineage is the executor's (``pipeline.dag.run_one``): the same START/COMPLETE/FAIL with or without Prefect.
* Retries only on I/O errors: a bug or bad input will not get better by running again.
* Exceptions are sanitised before Prefect sees them: Prefect logs and stores exception messages, and a
  third-party message can quote a piece of a note. The full traceback goes to a local file under the data
  root (which already holds raw notes and has their protection); Prefect gets the stage, exception type
  and that file's path.
"""

from __future__ import annotations

import hashlib
import traceback
import uuid
from pathlib import Path
from typing import Any

from prefect import task
from prefect.context import TaskRunContext
from prefect.runtime import flow_run

from pipeline.config import PreprocessConfig
from pipeline.dag import NotDeidentifiedError, plan, run_one
from pipeline.dataset import Dataset, existing_dataset
from pipeline.ingest import IngestError
from tasks.progress import reporter

# Our own errors are written to be PHI-free and actionable, so they pass through unchanged (IngestError too,
# but with the file's name replaced by a hash).
SAFE_ERRORS = (NotDeidentifiedError,)


class StageFailed(RuntimeError):
    """A stage failed; the message names the stage, the error type and where the full traceback is."""

    sanitised = True  # the command line may print the message (flows.errors)

    def __init__(self, message: str, io_error: bool) -> None:
        super().__init__(message)
        self.io_error = io_error


def _datasets(refs: dict[str, dict]) -> dict[str, Dataset]:
    return {k: Dataset(r["stage"], r["fingerprint"], Path(r["path"])) for k, r in refs.items()}


def _cache_key(context: TaskRunContext, parameters: dict[str, Any]) -> str | None:
    config = PreprocessConfig.model_validate(parameters["config"])
    p = plan(parameters["name"], config, _datasets(parameters["upstream"]), parameters.get("input_path"))
    if existing_dataset(config.data_root, parameters["name"], p.fingerprint) is None:
        return None
    # The data root is part of the key: the same stage and inputs under another data root is another dataset,
    # and a cached reference must point into the run's own root (two roots sharing one PREFECT_HOME).
    root = hashlib.sha256(str(Path(config.data_root).resolve()).encode()).hexdigest()[:12]
    return f"ehrlm-{parameters['name']}-{root}-{p.fingerprint}"


def _error_log(config: PreprocessConfig, stage: str, text: str) -> Path:
    """Write what must not reach Prefect (a traceback, a file name) under the data root; return its path."""
    log = Path(config.data_root) / "_errors" / f"{stage}-{uuid.uuid4().hex[:12]}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(text)
    return log


def _retry_on_io(task, task_run, state) -> bool:  # noqa: ANN001 - Prefect's callback signature
    exc = state.result(raise_on_failure=False)
    return isinstance(exc, OSError) or bool(getattr(exc, "io_error", False))


@task(cache_key_fn=_cache_key, persist_result=True, retries=2, retry_delay_seconds=2, retry_condition_fn=_retry_on_io)
def stage_task(
    name: str,
    config: PreprocessConfig,
    upstream: dict[str, dict],
    input_path: str | None = None,
    force: bool = False,
) -> dict[str, Any]:
    """Run or reuse one stage; returns a reference to its dataset plus its manifest counts."""
    inputs = _datasets(upstream)
    parent = (flow_run.flow_name, flow_run.id) if flow_run.id else None
    try:  # the executor records the lineage step (START, COMPLETE/FAIL); this wrapper sanitises for Prefect
        ds, computed = run_one(
            name,
            config,
            inputs,
            input_path=Path(input_path) if input_path else None,
            force=force,
            progress=reporter(name),
            parent=parent,
        )
    except IngestError as exc:  # names a file, and file names can be identifiers: Prefect gets it redacted
        log = _error_log(config, name, str(exc))
        raise StageFailed(f"stage {name!r}: {exc.redacted()}; the file's name is in {log}", io_error=False) from None
    except SAFE_ERRORS:
        raise
    except Exception as exc:
        log = _error_log(config, name, traceback.format_exc())
        raise StageFailed(
            f"stage {name!r} failed with {type(exc).__name__}; full traceback (may quote note text) in {log}",
            io_error=isinstance(exc, OSError),
        ) from None
    m = ds.manifest
    return {
        **ds.as_ref(),
        "computed": computed,
        "rows_in": m["rows_in"],
        "rows_out": m["rows_out"],
        "dropped": m["dropped"],
        "wall_seconds": m["wall_seconds"],
    }
