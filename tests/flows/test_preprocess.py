"""The preprocessing flow end to end on a synthetic corpus: accounting, caching, reruns, PHI canaries."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from flows.preprocess import preprocess
from pipeline.config import MetadataParams, PreprocessConfig, SentenceParams
from pipeline.core.dag import STAGE_NAMES
from pipeline.deid.metadata import id_key, keyed_hash
from tests.flows.canaries import (
    CANARIES,
    CANARY_NOTES,
    DATE_CANARY,
    METADATA_CANARIES,
    PATIENT_CANARY,
    landing_with_canaries,
    leaks_in_data_root,
    leaks_in_prefect_home,
)
from tests.flows.prefect_records import everything_prefect_holds

N_NOTES = 240


@pytest.fixture(scope="module")
def corpus_dir(tmp_path_factory) -> Path:
    return landing_with_canaries(tmp_path_factory.mktemp("raw"), N_NOTES, seed=7)


@pytest.fixture(scope="module")
def config(tmp_path_factory) -> PreprocessConfig:
    return PreprocessConfig(data_root=tmp_path_factory.mktemp("data"), workers=2)


@pytest.fixture(scope="module")
def first_run(corpus_dir, config):
    return preprocess(input_path=str(corpus_dir), config=config)


def _ran(results: dict) -> set[str]:
    return {name for name, r in results.items() if r["status"] == "ran"}


@pytest.mark.slow
def test_cold_run_computes_every_stage(first_run):
    assert list(first_run) == STAGE_NAMES
    assert _ran(first_run) == set(STAGE_NAMES)
    for name in STAGE_NAMES:
        assert (Path(first_run[name]["path"]) / "_manifest.json").is_file()


@pytest.mark.slow
def test_each_computed_stage_is_an_openlineage_step(first_run, config):
    from openlineage.client.event_v2 import RunState

    events = [json.loads(line) for line in (Path(config.data_root) / "_lineage" / "openlineage.jsonl").read_text().splitlines()]
    jobs = {(e["job"]["name"], e["eventType"]) for e in events}
    for stage in STAGE_NAMES:
        assert (f"preprocess.{stage}", "START") in jobs and (f"preprocess.{stage}", "COMPLETE") in jobs
    assert {e["eventType"] for e in events} <= {s.value for s in RunState}
    shards = next(e for e in events if e["job"]["name"] == "preprocess.shards" and e["eventType"] == "COMPLETE")
    assert [Path(i["name"]).parts[-2] for i in shards["inputs"]] == ["sentences", "vocab"]
    assert shards["outputs"][0]["facets"]["ehrlm"]["fingerprint"] == first_run["shards"]["fingerprint"]
    assert shards["run"]["facets"]["parent"]["job"]["name"] == "ehrlm-preprocess"


@pytest.mark.slow
def test_every_note_is_accounted_for(first_run):
    ingest = first_run["ingest"]
    assert ingest["rows_in"] == N_NOTES + len(CANARY_NOTES)
    chain = ["ingest", "clean", "dedup", "deid"]
    for up, down in zip(chain, chain[1:]):
        assert first_run[down]["rows_in"] == first_run[up]["rows_out"]
    dropped = sum(sum(first_run[s]["dropped"].values()) for s in chain)
    assert first_run["deid"]["rows_out"] + dropped == ingest["rows_in"]
    assert first_run["clean"]["dropped"].get("empty", 0) > 0  # the synthetic corpus plants empty notes
    assert first_run["dedup"]["dropped"]["exact_duplicate"] > 0
    assert first_run["dedup"]["dropped"]["near_duplicate"] > 0


@pytest.mark.slow
def test_rerun_is_all_reused(first_run, corpus_dir, config):
    # no wall-clock bound: on a shared host it measures the neighbours (speed is bench/'s)
    again = preprocess(input_path=str(corpus_dir), config=config)
    assert {r["status"] for r in again.values()} == {"reused"}
    assert {n: r["path"] for n, r in again.items()} == {n: r["path"] for n, r in first_run.items()}


@pytest.mark.slow
def test_sentence_setting_reruns_only_downstream(first_run, corpus_dir, config):
    changed = config.model_copy(update={"sentences": SentenceParams(splitter="lines")})
    results = preprocess(input_path=str(corpus_dir), config=changed)
    assert _ran(results) == {"sentences", "vocab", "shards"}
    assert results["deid"]["fingerprint"] == first_run["deid"]["fingerprint"]
    assert results["sentences"]["fingerprint"] != first_run["sentences"]["fingerprint"]


@pytest.mark.slow
def test_force_reruns_stage_and_descendants(first_run, corpus_dir, config):
    results = preprocess(input_path=str(corpus_dir), config=config, force=["dedup"])
    assert _ran(results) == {"dedup", "deid", "sentences", "vocab", "shards"}
    assert results["shards"]["fingerprint"] == first_run["shards"]["fingerprint"]  # same inputs => same dataset


@pytest.mark.slow
def test_deleted_dataset_is_recomputed(first_run, corpus_dir, config):
    import shutil

    shutil.rmtree(first_run["vocab"]["path"])
    results = preprocess(input_path=str(corpus_dir), config=config)
    assert _ran(results) == {"vocab"}


@pytest.mark.slow
def test_canaries_never_leave_the_pre_deid_stages(first_run, config):
    """Canaries in the text, the patient id, the date and the file name: none after ``deid``, none in any
    manifest, none anywhere Prefect keeps records."""
    assert not leaks_in_data_root(config.data_root)
    deid_notes = pq.read_table(Path(first_run["deid"]["path"]) / "notes.parquet")
    key = id_key(MetadataParams())
    canary = deid_notes.filter(pc.equal(deid_notes["note_id"], keyed_hash(key, "note", "canary-1"))).to_pylist()[0]
    assert "[**NAME**]" in canary["text"] and "[**MRN**]" in canary["text"]
    assert canary["patient_id"] == keyed_hash(key, "patient", PATIENT_CANARY) and canary["note_date"] == DATE_CANARY[:4]

    logs, artifacts = everything_prefect_holds()
    blob = json.dumps([l.message for l in logs]) + json.dumps([a.data for a in artifacts], default=str)
    assert logs and artifacts
    assert not [c for c in CANARIES + METADATA_CANARIES if c in blob]
    assert not leaks_in_prefect_home(Path(os.environ["PREFECT_HOME"]))


@pytest.mark.slow
def test_table_artifact_has_counts(first_run):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    with get_client(sync_client=True) as client:
        arts = client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["preprocess-stages"])))
    latest = max(arts, key=lambda a: a.created)  # the session's server also holds other tests' runs
    rows = latest.data if isinstance(latest.data, list) else json.loads(latest.data)
    assert [r["stage"] for r in rows] == STAGE_NAMES


def test_stage_after_deid_refuses_unproven_input(tmp_path):
    from pipeline.config import PreprocessConfig as Cfg
    from pipeline.core.dag import run_one
    from pipeline.core.step import NotDeidentifiedError
    from pipeline.core.dataset import StageResult, run_stage

    def body(inputs, out, progress):
        pq.write_table(pa.table({"note_id": ["a"], "text": ["Jane Doe"]}), out / "notes.parquet")
        return StageResult(1, 1)

    fake, _ = run_stage(data_root=tmp_path, stage="dedup", params={}, code="x", inputs={}, body=body)
    with pytest.raises(NotDeidentifiedError):
        run_one("sentences", Cfg(data_root=tmp_path), {"deid": fake})
