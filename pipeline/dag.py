"""The preprocessing DAG as data: which stage reads which, and how one stage is run.

Prefect flows wire these stages together, but the graph itself lives here (no Prefect), so the CLI, the
flows and the tests share one definition of the order, the dependencies and what "downstream" means.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from pipeline.config import PreprocessConfig
from pipeline.dataset import Dataset, Progress, code_dependencies, code_version, fingerprint, run_stage
from pipeline import lineage
from pipeline.lineage import lineage_chain


@dataclass(frozen=True)
class Stage:
    name: str
    inputs: tuple[str, ...]
    entry: str
    """The module with the stage's ``run``; its code version follows its imports (``code_version``)."""


STAGES: tuple[Stage, ...] = (
    Stage("ingest", (), "pipeline.ingest"),
    Stage("clean", ("ingest",), "pipeline.clean"),
    Stage("dedup", ("clean",), "pipeline.dedup"),
    Stage("deid", ("dedup",), "pipeline.deid"),
    Stage("sentences", ("deid",), "pipeline.sentences"),
    Stage("vocab", ("sentences",), "pipeline.vocab"),
    Stage("shards", ("sentences", "vocab"), "pipeline.shards"),
)
BY_NAME: dict[str, Stage] = {s.name: s for s in STAGES}
STAGE_NAMES: list[str] = [s.name for s in STAGES]
AFTER_DEID = {"sentences", "vocab", "shards"}


def check_stage_names(names: Iterable[str]) -> list[str]:
    names = list(names)
    unknown = [n for n in names if n not in BY_NAME]
    if unknown:
        raise ValueError(f"unknown stage(s) {unknown}; stages are: {', '.join(STAGE_NAMES)}")
    return names


def descendants(names: Iterable[str]) -> set[str]:
    """The named stages and everything downstream of them (what a forced rerun must recompute)."""
    out = set(check_stage_names(names))
    for stage in STAGES:  # STAGES is topologically ordered
        if any(dep in out for dep in stage.inputs):
            out.add(stage.name)
    return out


def from_stage(name: str) -> set[str]:
    """``--from STAGE``: the stage and everything after it."""
    return descendants([name])


def stage_code_version(stage: Stage) -> str:
    return code_version(importlib.import_module(stage.entry))


def stage_dependencies(stage: Stage) -> dict[str, str]:
    """The third-party distributions (and versions) the stage's code imports or declares."""
    return code_dependencies(importlib.import_module(stage.entry))


class NotDeidentifiedError(RuntimeError):
    """Input to a post-deid stage whose lineage does not prove de-identification."""


def require_deidentified(stage: str, inputs: Mapping[str, Dataset]) -> None:
    """Stages after ``deid`` refuse any input whose recorded lineage does not pass through ``deid``."""
    if stage not in AFTER_DEID:
        return
    for name, ds in inputs.items():
        if not any(m["stage"] == "deid" for m in lineage_chain(ds.path)):
            raise NotDeidentifiedError(
                f"stage {stage!r} refuses input {name!r} ({ds.path}): its lineage does not pass through 'deid'"
            )


@dataclass(frozen=True)
class Plan:
    """Everything that determines a stage's output, known before it runs."""

    stage: Stage
    params: dict
    code: str
    inputs: dict[str, Dataset]
    external: dict[str, str] | None

    @property
    def fingerprint(self) -> str:
        ext = dict(self.external or {})
        return fingerprint(self.stage.name, self.params, self.code, {**{k: v.fingerprint for k, v in self.inputs.items()}, **ext})


def plan(name: str, config: PreprocessConfig, upstream: Mapping[str, Dataset], input_path: Path | None = None) -> Plan:
    stage = BY_NAME[name]
    missing = [dep for dep in stage.inputs if dep not in upstream]
    if missing:
        raise ValueError(f"stage {name!r} needs upstream dataset(s) {missing}")
    params = config.stage_params(name)
    external = None
    module = importlib.import_module(stage.entry)
    if name == "ingest":
        if input_path is None:
            raise ValueError("stage 'ingest' needs an input path")
        external = module.input_fingerprints(Path(input_path), params)
    elif hasattr(module, "external_fingerprints"):  # files a stage reads besides its upstream (deid's tagger)
        external = module.external_fingerprints(params) or None
    return Plan(stage, params.fingerprint_params(), stage_code_version(stage), {d: upstream[d] for d in stage.inputs}, external)


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
    """Run (or reuse) one stage; returns its dataset and whether it was computed now.

    A computed stage is one lineage step (OpenLineage START, then COMPLETE or FAIL, under the data root and
    at ``OPENLINEAGE_URL``), with or without Prefect; ``parent`` is the enclosing flow run, if any."""
    p = plan(name, config, upstream, input_path)
    require_deidentified(name, p.inputs)
    module = importlib.import_module(p.stage.entry)
    params = config.stage_params(name)
    extra = {"input_path": Path(input_path)} if name == "ingest" else {}

    def body(ins: Mapping[str, Dataset], out: Path, prog: Progress | None):
        return module.run(ins, out, params, prog, config.workers, **extra)

    return run_stage(
        data_root=config.data_root,
        stage=name,
        params=p.params,
        code=p.code,
        inputs=p.inputs,
        body=body,
        force=force,
        external_inputs=p.external,
        progress=progress,
        observer=lineage.StepRecorder(f"preprocess.{name}", config.data_root, parent),
    )
