"""The DAG as data: every step (preprocessing, pretraining, fine-tuning), what it reads, and how a
preprocessing stage becomes a :class:`pipeline.core.step.Step`.

Prefect flows, the command line, benchmarks and tests all walk this one graph; running a node is always
:func:`pipeline.core.step.execute` (no Prefect here).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from pipeline.config import PreprocessConfig, _Params
from pipeline.core.dataset import Dataset, Progress, StageResult, code_dependencies, code_version
from pipeline.core.step import Outcome, Plan, execute, plan as plan_step


@dataclass(frozen=True)
class Stage:
    name: str
    inputs: tuple[str, ...]
    entry: str
    """The module with the step's code; its code version follows its imports (``code_version``)."""


STAGES: tuple[Stage, ...] = (
    Stage("ingest", (), "pipeline.ingest"),
    Stage("clean", ("ingest",), "pipeline.clean"),
    Stage("dedup", ("clean",), "pipeline.dedup"),
    Stage("deid", ("dedup",), "pipeline.deid.stage"),
    Stage("sentences", ("deid",), "pipeline.sentences"),
    Stage("vocab", ("sentences",), "pipeline.vocab"),
    Stage("shards", ("sentences", "vocab"), "pipeline.shards"),
)
BY_NAME: dict[str, Stage] = {s.name: s for s in STAGES}
STAGE_NAMES: list[str] = [s.name for s in STAGES]
AFTER_DEID = {"sentences", "vocab", "shards"}
"""Stages that must only ever see de-identified data (and so does pretraining)."""

PRETRAIN = Stage("pretrain", ("shards", "vocab"), "model.pretrain_step")
FINETUNE = Stage("finetune", ("pretrain",), "model.finetune.run")
"""One node for every fine-tuning job: each job is its own step, ``finetune_<task>``, reading ``pretrain``."""
PIPELINE: tuple[Stage, ...] = (*STAGES, PRETRAIN, FINETUNE)
"""The whole DAG in topological order: what ``ehrlm demo`` and the end-to-end flow run."""
STEP_NAMES: list[str] = [s.name for s in PIPELINE]


def check_stage_names(names: Iterable[str], graph: tuple[Stage, ...] = STAGES) -> list[str]:
    names = list(names)
    known = [s.name for s in graph]
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ValueError(f"unknown stage(s) {unknown}; stages are: {', '.join(known)}")
    return names


def descendants(names: Iterable[str], graph: tuple[Stage, ...] = STAGES) -> set[str]:
    """The named steps and everything downstream of them (what a forced rerun must recompute)."""
    out = set(check_stage_names(names, graph))
    for stage in graph:  # topologically ordered
        if any(dep in out for dep in stage.inputs):
            out.add(stage.name)
    return out


def from_stage(name: str, graph: tuple[Stage, ...] = STAGES) -> set[str]:
    """``--from STAGE``: the stage and everything after it."""
    return descendants([name], graph)


def stage_code_version(stage: Stage) -> str:
    return code_version(importlib.import_module(stage.entry))


def stage_dependencies(stage: Stage) -> dict[str, str]:
    """The third-party distributions (and versions) the stage's code imports or declares."""
    return code_dependencies(importlib.import_module(stage.entry))


@dataclass(frozen=True)
class PreprocessStep:
    """A preprocessing stage as a :class:`pipeline.core.step.Step`: its module's ``run`` with its settings."""

    stage: Stage
    params: _Params
    workers: int = 1
    input_path: Path | None = None

    @property
    def name(self) -> str:
        return self.stage.name

    @property
    def upstream(self) -> tuple[str, ...]:
        return self.stage.inputs

    @property
    def entry(self) -> str:
        return self.stage.entry

    @property
    def deidentified_only(self) -> bool:
        return self.name in AFTER_DEID

    def assets(self) -> dict[str, str]:
        module = importlib.import_module(self.entry)
        if self.name == "ingest":
            if self.input_path is None:
                raise ValueError("stage 'ingest' needs an input path")
            return module.input_fingerprints(Path(self.input_path), self.params)
        if hasattr(module, "external_fingerprints"):  # files a stage reads besides its upstream (deid's tagger)
            return module.external_fingerprints(self.params)
        return {}

    def run(self, inputs: Mapping[str, Dataset], out: Path, progress: Progress | None) -> StageResult:
        extra = {"input_path": Path(self.input_path)} if self.name == "ingest" else {}
        return importlib.import_module(self.entry).run(inputs, out, self.params, progress, self.workers, **extra)


def step(name: str, config: PreprocessConfig, input_path: Path | None = None) -> PreprocessStep:
    """The preprocessing stage ``name`` with its settings from ``config``."""
    check_stage_names([name])
    return PreprocessStep(BY_NAME[name], config.stage_params(name), config.workers,
                          Path(input_path) if input_path is not None and name == "ingest" else None)  # fmt: skip


def plan(name: str, config: PreprocessConfig, upstream: Mapping[str, Dataset], input_path: Path | None = None) -> Plan:
    return plan_step(step(name, config, input_path), upstream)


def run_one(
    name: str,
    config: PreprocessConfig,
    upstream: Mapping[str, Dataset],
    *,
    input_path: Path | None = None,
    force: bool = False,
    progress: Progress | None = None,
    parent: tuple[str, str] | None = None,
) -> tuple[Dataset, bool]:
    """Run (or reuse) one stage; returns its dataset and whether it was computed now (the executor's
    :func:`pipeline.core.step.execute`, lineage job ``preprocess.<name>``)."""
    out = execute(step(name, config, input_path), upstream, config.data_root, force=force, progress=progress,
                  parent=parent, job=f"preprocess.{name}")  # fmt: skip
    return out.dataset, out.computed


def run_preprocess(
    config: PreprocessConfig,
    input_path: Path,
    force: Iterable[str] = (),
    progress: Progress | None = None,
    parent: tuple[str, str] | None = None,
) -> dict[str, Outcome]:
    """Every preprocessing stage in DAG order, without Prefect (tests, benchmarks, notebooks); ``force``
    names stages to recompute with their descendants; ``parent`` (job name, run id) groups the stages'
    lineage events as one run, as a flow run does."""
    forced = descendants(force)
    done: dict[str, Outcome] = {}
    for stage in STAGES:
        done[stage.name] = execute(
            step(stage.name, config, input_path), {d: done[d].dataset for d in stage.inputs}, config.data_root,
            force=stage.name in forced, progress=progress, parent=parent, job=f"preprocess.{stage.name}",
        )  # fmt: skip
    return done
