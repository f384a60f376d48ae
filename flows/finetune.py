"""The fine-tuning flow: one initial checkpoint + one task's data -> a fine-tuned model and its test scores.

Wiring only: the fine-tuning step (:class:`model.finetune.run.FinetuneStep`) run by the one generic task
(``tasks.step``), which the executor records as a lineage step; this flow publishes the
results table (this run, the trivial baseline and, for a named benchmark, the paper's models) as a Prefect
table artifact. ``run_finetune`` is the entry point the command line calls.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow
from prefect.artifacts import create_table_artifact

from flows.artifacts import link_manifest
from model.finetune.paper import BENCHMARKS, comparison
from model.finetune.params import TASKS, FinetuneParams
from pipeline.core.errors import UsageError


@flow(name="ehrlm-finetune", log_prints=False)
def finetune(
    task: str,
    checkpoint: str,
    data: str | dict[str, str],
    data_root: str = "data",
    params: FinetuneParams | None = None,
    tokenizer: str | None = None,
    benchmark: str | None = None,
    force: bool = False,
) -> dict[str, Any]:
    """Fine-tune ``checkpoint`` (any BERT-family Hugging Face folder) for ``task`` (ner, re, sts, nli, qa).

    ``data`` is a folder with train/dev/test files or folders (dev and test optional), or a mapping
    ``{"train": ..., "dev": ..., "test": ...}``. The model lands in ``<data_root>/finetune_<task>/<fp>/``.
    ``benchmark`` (e.g. ``i2b2-2010``, ``mednli``) adds the paper's scores on it to the results table.
    """
    from model.finetune.run import FinetuneStep, read_report
    from tasks.step import task_for

    if task not in TASKS:
        raise UsageError(f"unknown task {task!r}; choose from {', '.join(TASKS)}")
    if benchmark is not None and benchmark not in BENCHMARKS:
        raise UsageError(f"unknown benchmark {benchmark!r}; known: {', '.join(BENCHMARKS)}")
    if benchmark is not None and BENCHMARKS[benchmark][0] != task:
        raise UsageError(f"benchmark {benchmark!r} is a {BENCHMARKS[benchmark][0]} benchmark, not {task}")
    params = params or FinetuneParams()
    data_arg = {k: Path(v).resolve() for k, v in data.items()} if isinstance(data, dict) else Path(data).resolve()
    step = FinetuneStep(task, Path(checkpoint).resolve(), data_arg, params, Path(tokenizer) if tokenizer else None)
    upstream = {k: d.as_ref() for k, d in step.checkpoint_datasets().items()}
    result = task_for(step)(step, upstream, str(Path(data_root).resolve()), force)
    result = {**result, "report": read_report(Path(result["path"])), "examples": result["counts"]["examples"],
              "timings": result["counts"]["timings"]}  # fmt: skip
    report = result["report"]
    rows = comparison(task, report["metrics"], report["baseline"], benchmark, label=f"this run ({report['eval_split']})")
    create_table_artifact(
        key=f"finetune-{task}",
        table=rows,
        description=f"ehrlm fine-tuning, {task}: {report['eval_split']} scores of run {result['fingerprint']} "
        f"(best dev epoch {report['best_epoch']}) next to the trivial baseline"
        + (f" and the paper's models on {benchmark}" if benchmark else ""),
    )
    link_manifest(f"finetune-{task}", result["path"], result["fingerprint"])
    return {**result, "comparison": rows}


def run_finetune(
    task: str,
    checkpoint: Path,
    data: Path,
    data_root: Path = Path("data"),
    config: Path | None = None,
    benchmark: str | None = None,
    tokenizer: Path | None = None,
    force: bool = False,
    **overrides: Any,
) -> dict[str, Any]:
    """Command-line entry: settings from an optional YAML file plus keyword overrides, then the flow.

    Returns the flow's result: ``path`` (the output folder), ``fingerprint``, ``status`` (ran / reused),
    ``report`` (metrics, baseline, best dev, history), ``timings`` and ``comparison`` (table rows).
    """
    params = FinetuneParams.from_yaml(config, **overrides) if config else FinetuneParams(**overrides)
    return finetune(
        task=task, checkpoint=str(checkpoint), data=str(data), data_root=str(data_root), params=params,
        tokenizer=str(tokenizer) if tokenizer else None, benchmark=benchmark, force=force,
    )  # fmt: skip
