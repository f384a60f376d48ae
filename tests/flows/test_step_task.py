"""The one generic Prefect task (``tasks.step``) over every kind of step.

- Reuse is decided by the executor under the run's own data root: two data roots sharing one ``PREFECT_HOME``
  each rerun all ``reused`` with every reference inside their own root, also after the other root is deleted
  (a Prefect result cache keyed without the root used to hand one root's references to the other).
- One error path: a canary planted in an exception raised inside a preprocessing stage, the pretraining step
  and a fine-tuning step reaches none of Prefect's records (logs, artifacts, flow/task run states, the files
  under ``PREFECT_HOME``) nor the lineage events; the flow fails with the step and the exception's type, and
  the full traceback stays under the data root.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from flows.finetune import finetune
from flows.preprocess import preprocess
from flows.pretrain import run_pretrain
from model.finetune.params import FinetuneParams
from model.finetune.synthetic import write_all
from pipeline.synth import generator as synth
from pipeline.config import PreprocessConfig
from pipeline.core.dataset import StageResult, run_stage
from pipeline.core.errors import StepFailed
from pipeline.core.lineage import EVENTS_FILE
from tests.flows.prefect_records import everything_prefect_holds

CANARY = "Quillfeatherby-MRN31415926"  # invented; planted only in the exceptions below


@pytest.fixture(scope="module")
def raw(tmp_path_factory) -> Path:
    return synth.write(synth.generate(40, seed=5), tmp_path_factory.mktemp("raw"), fmt="parquet")


def _refs_inside(results: dict[str, dict], root: Path) -> bool:
    return all(Path(r["path"]).is_relative_to(root) and (Path(r["path"]) / "_manifest.json").is_file()
               for r in results.values())  # fmt: skip


@pytest.mark.slow
def test_two_data_roots_sharing_a_prefect_home_each_reuse_their_own(raw, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    runs = {}
    for root in (a, b):
        config = PreprocessConfig(data_root=root, workers=1)
        runs[root] = [preprocess(input_path=str(raw), config=config) for _ in range(2)]
        first, again = runs[root]
        assert {r["status"] for r in first.values()} == {"ran"}
        assert {r["status"] for r in again.values()} == {"reused"}
        assert _refs_inside(first, root) and _refs_inside(again, root)
    assert [r["fingerprint"] for r in runs[a][1].values()] == [r["fingerprint"] for r in runs[b][1].values()]
    shutil.rmtree(a)
    after = preprocess(input_path=str(raw), config=PreprocessConfig(data_root=b, workers=1))
    assert {r["status"] for r in after.values()} == {"reused"} and _refs_inside(after, b)


# --- a canary in an exception raised inside each kind of step ------------------------------------------


def _raise_canary(*_args, **_kwargs):
    raise RuntimeError(f"could not parse 'Patient {CANARY} seen today'")


def _deidentified(root: Path, stage: str) -> dict[str, str]:
    """A tiny dataset of ``stage`` whose lineage passes through ``deid`` (what pretraining accepts)."""

    def body(_inputs, out, _progress):
        (out / "part.txt").write_text("x")
        return StageResult(1, 1)

    deid, _ = run_stage(data_root=root, stage="deid", params={}, code="t", inputs={}, body=body)
    ds, _ = run_stage(data_root=root, stage=stage, params={}, code="t", inputs={"deid": deid}, body=body)
    return str(ds.path)


def _fail_preprocess(root: Path, raw: Path, monkeypatch) -> None:
    import pipeline.clean

    monkeypatch.setattr(pipeline.clean, "run", _raise_canary)
    preprocess(input_path=str(raw), config=PreprocessConfig(data_root=root, workers=1))


def _fail_pretrain(root: Path, _raw: Path, monkeypatch) -> None:
    import model.launch

    monkeypatch.setattr(model.launch, "run_job", _raise_canary)
    run_pretrain(_deidentified(root, "shards"), _deidentified(root, "vocab"), None, str(root))


def _fail_finetune(root: Path, _raw: Path, monkeypatch) -> None:
    import model.finetune.run

    monkeypatch.setattr(model.finetune.run, "_body", _raise_canary)
    data = write_all(root / "tasks", n_train=8)["ner"]
    checkpoint = root / "checkpoint"
    checkpoint.mkdir()
    (checkpoint / "config.json").write_text("{}")
    finetune(task="ner", checkpoint=str(checkpoint), data=str(data), data_root=str(root), params=FinetuneParams())


@pytest.mark.parametrize(("kind", "fail", "step"), [
    ("preprocessing stage", _fail_preprocess, "clean"),
    ("pretraining", _fail_pretrain, "pretrain"),
    ("fine-tuning", _fail_finetune, "finetune_ner"),
])  # fmt: skip
def test_a_canary_in_a_failing_step_reaches_no_prefect_record_nor_lineage(kind, fail, step, raw, tmp_path, monkeypatch):
    with pytest.raises(StepFailed) as info:
        fail(tmp_path, raw, monkeypatch)
    assert str(info.value).startswith(f"stage {step!r} failed with RuntimeError") and CANARY not in str(info.value)
    assert not info.value.retryable  # the same input would fail again
    (log,) = (tmp_path / "_errors").glob(f"{step}-*.log")
    assert CANARY in log.read_text()  # the traceback stays under the data root

    events = [json.loads(line) for line in (tmp_path / EVENTS_FILE).read_text().splitlines()]
    fails = [e for e in events if e["eventType"] == "FAIL"]
    assert [e["run"]["facets"]["errorMessage"]["message"] for e in fails][-1].startswith("RuntimeError in ")
    assert CANARY not in (tmp_path / EVENTS_FILE).read_text()

    logs, artifacts = everything_prefect_holds()
    blob = json.dumps([log.message for log in logs]) + json.dumps([a.data for a in artifacts], default=str)
    assert CANARY not in blob
    assert _states_hold_no_canary()
    home = Path(os.environ["PREFECT_HOME"])
    assert not [p.name for p in home.rglob("*") if p.is_file() and CANARY.encode() in p.read_bytes()]


def _states_hold_no_canary() -> bool:
    """Flow and task run states carry the failure message Prefect shows in its UI."""
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        runs = [*client.read_flow_runs(limit=200), *client.read_task_runs(limit=200)]
    return not [r.id for r in runs if r.state and CANARY in (r.state.message or "")]
