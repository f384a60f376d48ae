"""The Step protocol and the one executor every step of the DAG runs through.

A *step* is anything that turns upstream datasets (and maybe declared files) into one new dataset:
``ingest`` ... ``shards``, ``pretrain`` and each ``finetune_<task>``. They differ in what they compute, not in
how they are run, so the running is written once, here:

- plan once: the step's parameters, its code version (``dataset.code_version`` of its entry module), its
  upstream datasets and the content hashes of its declared assets give one fingerprint;
- skip finished work (the fingerprint's folder is complete on disk) -- the executor decides reuse, never a
  scheduler's result cache, so a reference always points into the run's own data root;
- refuse, for steps that must see only de-identified data, inputs whose lineage skips ``deid``;
- publish atomically, check the row accounting and write the manifest (``dataset.run_stage``);
- record the computed step as OpenLineage START, then COMPLETE or FAIL (``lineage.StepRecorder``), with the
  error's type only.

With or without Prefect: ``tasks/step.py`` wraps :func:`execute` in one Prefect task; tests, benchmarks and
notebooks call it directly and get the same datasets, manifests and lineage events.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel

from pipeline.core.dataset import Dataset, Progress, StageResult, code_version, fingerprint, run_stage
from pipeline.core.lineage import StepRecorder, lineage_chain

Status = Literal["ran", "reused"]
"""What happened to a step: computed now (``ran``) or its finished dataset found on disk (``reused``)."""
RAN: Status = "ran"
REUSED: Status = "reused"


@runtime_checkable
class Step(Protocol):
    """One node of the DAG, bound to its settings.

    ``name`` is the dataset folder (``<data_root>/<name>/<fingerprint>/``) and the lineage job; ``upstream``
    names the steps whose datasets ``run`` reads (keys of its ``inputs``); ``params`` is the pydantic model
    of the settings that shape its output (``fingerprint_params()`` when the model defines it, else all of
    it); ``entry`` is the module whose import closure is its code version.

    Optional attributes the executor reads: ``deidentified_only`` (refuse inputs whose lineage skips
    ``deid``), ``resumable`` (compute in a folder kept between attempts, for long jobs that checkpoint),
    ``lineage_files()`` (input files that are not datasets and may be named in lineage events -- never raw
    notes' files, whose names can be identifiers).
    """

    name: str
    upstream: tuple[str, ...]
    params: BaseModel
    entry: str

    def assets(self) -> dict[str, str]:
        """Content hashes of what the step reads besides its upstream datasets (raw files, a checkpoint,
        a tagger, the id key's public name): they enter the fingerprint, so changing one re-runs the step."""
        ...

    def run(self, inputs: Mapping[str, Dataset], out: Path, progress: Progress | None) -> StageResult:
        """Write the step's parts into ``out`` and report counts (never text)."""
        ...


def fingerprint_params(params: BaseModel) -> dict[str, Any]:
    method = getattr(params, "fingerprint_params", None)
    return method() if callable(method) else params.model_dump(mode="json")


def step_code_version(step: Step) -> str:
    return code_version(importlib.import_module(step.entry))


@dataclass(frozen=True)
class Plan:
    """Everything that determines a step's output, computed once, before it runs."""

    step: Step
    inputs: dict[str, Dataset]
    params: dict[str, Any]
    code: str
    external: dict[str, str]

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.step.name, self.params, self.code,
                           {**{k: d.fingerprint for k, d in self.inputs.items()}, **self.external})  # fmt: skip


def plan(step: Step, upstream: Mapping[str, Dataset]) -> Plan:
    missing = [dep for dep in step.upstream if dep not in upstream]
    if missing:
        raise ValueError(f"step {step.name!r} needs upstream dataset(s) {missing}")
    return Plan(step, {d: upstream[d] for d in step.upstream}, fingerprint_params(step.params), step_code_version(step),
                dict(step.assets()))  # fmt: skip


class NotDeidentifiedError(RuntimeError):
    """Input to a step after ``deid`` whose lineage does not prove de-identification."""

    sanitised = True  # names the step, the input and its folder: no note text


def require_deidentified(step: str, inputs: Mapping[str, Dataset]) -> None:
    """Refuse any input whose recorded lineage does not pass through ``deid``: a model can memorise and emit
    what it was trained on, and a corpus after ``deid`` is shared more widely than the raw notes."""
    for name, ds in inputs.items():
        if not any(m["stage"] == "deid" for m in lineage_chain(ds.path)):
            raise NotDeidentifiedError(
                f"stage {step!r} refuses input {name!r} ({ds.path}): its lineage does not pass through 'deid'"
            )


@dataclass(frozen=True)
class Outcome:
    """A step's dataset and whether it was computed now."""

    dataset: Dataset
    status: Status

    @property
    def computed(self) -> bool:
        return self.status == RAN


def execute(
    step: Step,
    upstream: Mapping[str, Dataset],
    data_root: Path,
    *,
    force: bool = False,
    progress: Progress | None = None,
    parent: tuple[str, str] | None = None,
    job: str | None = None,
) -> Outcome:
    """Run (or reuse) ``step`` into ``<data_root>/<step.name>/<fingerprint>/``.

    ``parent`` is (job name, run id) of an enclosing flow run, for the lineage events; ``job`` is the
    lineage job name (default: the step's name).
    """
    p = plan(step, upstream)
    if getattr(step, "deidentified_only", False):
        require_deidentified(step.name, p.inputs)
    ds, computed = run_stage(
        data_root=Path(data_root),
        stage=step.name,
        params=p.params,
        code=p.code,
        inputs=p.inputs,
        body=step.run,
        force=force,
        external_inputs=p.external,
        progress=progress,
        observer=StepRecorder(job or step.name, Path(data_root), parent, getattr(step, "lineage_files", list)()),
        resumable=bool(getattr(step, "resumable", False)),
    )
    return Outcome(ds, RAN if computed else REUSED)
