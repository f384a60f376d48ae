"""The executor on a toy step, without Prefect: plan once, run then reuse, lineage events, refusals, resuming."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import pytest
from pydantic import BaseModel

from pipeline.core.dataset import Dataset, StageResult, run_stage
from pipeline.core.lineage import EVENTS_FILE
from pipeline.core.step import NotDeidentifiedError, Step, execute, plan


class Params(BaseModel):
    rows: int = 3


@dataclass
class Toy:
    params: Params = field(default_factory=Params)
    upstream: tuple[str, ...] = ()
    fail_once: bool = False
    calls: list[Path] = field(default_factory=list)
    name: ClassVar[str] = "toy"
    entry: ClassVar[str] = "pipeline.core.step"

    def assets(self) -> dict[str, str]:
        return {"source": "ab" * 32}

    def run(self, inputs: Mapping[str, Dataset], out: Path, progress) -> StageResult:
        self.calls.append(out)
        (out / "part.txt").write_text("x" * self.params.rows)
        if self.fail_once and len(self.calls) == 1:
            raise RuntimeError("first attempt dies")
        return StageResult(self.params.rows, self.params.rows)


class ResumableToy(Toy):
    resumable: ClassVar[bool] = True


def _events(root: Path) -> list[tuple[str, str]]:
    return [(e["job"]["name"], e["eventType"]) for e in map(json.loads, (root / EVENTS_FILE).read_text().splitlines())]


def test_a_toy_step_runs_once_then_is_reused_and_is_one_lineage_step(tmp_path):
    step = Toy()
    assert isinstance(step, Step)
    first = execute(step, {}, tmp_path)
    again = execute(step, {}, tmp_path)
    assert (first.status, again.status) == ("ran", "reused") and len(step.calls) == 1
    assert first.dataset.path == tmp_path / "toy" / plan(step, {}).fingerprint
    assert first.dataset.manifest["external_inputs"] == {"source": "ab" * 32}
    assert _events(tmp_path) == [("toy", "START"), ("toy", "COMPLETE")]  # the reuse records nothing
    assert execute(Toy(Params(rows=4)), {}, tmp_path).dataset.path != first.dataset.path  # a setting re-runs


def test_a_failure_is_a_fail_event_and_leaves_no_folder_unless_resumable(tmp_path):
    with pytest.raises(RuntimeError):
        execute(Toy(fail_once=True), {}, tmp_path / "a")
    assert _events(tmp_path / "a")[-1] == ("toy", "FAIL") and not list((tmp_path / "a" / "toy").iterdir())

    step = ResumableToy(fail_once=True)
    with pytest.raises(RuntimeError):
        execute(step, {}, tmp_path / "b")
    assert execute(step, {}, tmp_path / "b").status == "ran"
    assert step.calls[0] == step.calls[1] and step.calls[0].name.startswith(".run-")  # the same work folder


def test_a_deidentified_only_step_refuses_inputs_that_skipped_deid(tmp_path):
    class AfterDeid(Toy):
        deidentified_only: ClassVar[bool] = True

    raw, _ = run_stage(data_root=tmp_path, stage="dedup", params={}, code="c", inputs={}, body=lambda i, o, p: StageResult(0, 0))
    with pytest.raises(NotDeidentifiedError, match="does not pass through 'deid'"):
        execute(AfterDeid(upstream=("dedup",)), {"dedup": raw}, tmp_path)
    with pytest.raises(ValueError, match="needs upstream"):
        execute(Toy(upstream=("dedup",)), {}, tmp_path)
