"""The end-to-end flow: preprocess -> pretrain -> five fine-tunes as subflows, on a small synthetic corpus.

One cold run (with a deliberately broken sixth job) is shared by the tests: the failure must not hide the
other results; the fine-tuned model's lineage reaches the raw files; every OpenLineage event is valid; no
canary identifier leaves the pre-deid stages; and an unchanged rerun is all cache hits in seconds.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from flows.cli import app
from flows.end_to_end import STEPS, FinetuneJob, PipelineFailed, forced_steps, pipeline
from model.config import PretrainConfig
from model.finetune.params import FinetuneParams
from model.finetune.synthetic import write_all
from tests.flows.prefect_records import everything_prefect_holds
from pipeline.config import PreprocessConfig
from pipeline.core.lineage import EVENTS_FILE, lineage_chain
from tests.flows.canaries import (
    CANARIES,
    METADATA_CANARIES,
    landing_with_canaries,
    leaks_in_data_root,
    leaks_in_prefect_home,
)

PRETRAIN = PretrainConfig.load({
    "model": {"preset": "tiny"},
    "data": {"seq_len": 64},
    "train": {"train_steps": 8, "global_batch_size": 8, "micro_batch_size": 8, "checkpoint_every": 8,
              "eval_every": 8, "eval_samples": 16, "log_every": 4},
    "launch": {"launcher": "python", "omp_num_threads": 1},
})  # fmt: skip
FAST = FinetuneParams(epochs=1, batch_size=16, max_length=48, qa_window_tokens=32, qa_stride_tokens=24,
                      qa_max_question_tokens=12, qa_max_seq_length=48)  # fmt: skip
TASKS = ("ner", "re", "sts", "nli", "qa")


@pytest.fixture(scope="module")
def landing(tmp_path_factory) -> Path:
    return landing_with_canaries(tmp_path_factory.mktemp("landing"), 80, seed=11)


@pytest.fixture(scope="module")
def jobs(tmp_path_factory) -> list[FinetuneJob]:
    root = tmp_path_factory.mktemp("tasks")
    data = write_all(root, n_train=32)
    broken = root / "broken"
    broken.mkdir()
    (broken / "train.tsv").write_text(f"aspirin\tB-Drug\n{CANARIES[0]}\tNOTATAG\n")
    return [FinetuneJob(task=t, data=str(data[t]), params=FAST) for t in TASKS] + [
        FinetuneJob(task="ner", name="ner-broken", data=str(broken), params=FAST)
    ]


@pytest.fixture(scope="module")
def config(tmp_path_factory) -> PreprocessConfig:
    return PreprocessConfig(data_root=tmp_path_factory.mktemp("data"), workers=1)


@pytest.fixture(scope="module")
def cold(landing, jobs, config):
    state = pipeline(input_path=str(landing), preprocess=config, pretrain=PRETRAIN, finetune=jobs, return_state=True)
    return state


def _artifact(key: str) -> list[dict]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    with get_client(sync_client=True) as client:
        arts = client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])))
    latest = max(arts, key=lambda a: a.created)
    return latest.data if isinstance(latest.data, list) else json.loads(latest.data)


@pytest.mark.slow
def test_a_failed_job_does_not_hide_the_others(cold, config):
    assert cold.is_failed()
    with pytest.raises(PipelineFailed, match="1 of 6 fine-tuning jobs failed: ner-broken"):
        cold.result()
    rows = {r["step"]: r for r in _artifact("pipeline-steps")}
    assert rows["finetune ner-broken"]["status"] == "failed" and "train.tsv:2" in rows["finetune ner-broken"]["result"]
    for task in TASKS:
        row = rows[f"finetune {task}"]
        assert row["status"] == "ran" and "baseline" in row["result"]
        assert (Path(config.data_root) / f"finetune_{task}" / row["fingerprint"] / "_manifest.json").is_file()
    assert rows["pretrain"]["status"] == "ran" and rows["shards"]["status"] == "ran"


@pytest.mark.slow
def test_fine_tuned_model_lineage_reaches_the_raw_files(cold, config):
    (ner,) = (Path(config.data_root) / "finetune_ner").iterdir()
    chain = lineage_chain(ner / "model")
    stages = [m["stage"] for m in chain]
    assert stages[0] == "finetune_ner" and stages[1] == "pretrain"
    assert {"shards", "vocab", "sentences", "deid", "dedup", "clean", "ingest"} <= set(stages)
    ingest = next(m for m in chain if m["stage"] == "ingest")
    assert set(ingest["external_inputs"]) == {"raw"}  # one hash over the raw files: their names stay local
    deid = next(m for m in chain if m["stage"] == "deid")
    assert "keep_year" in deid["params"]  # the deid settings are part of the model's record

    shown = CliRunner().invoke(app, ["lineage", "show", str(ner)])
    assert shown.exit_code == 0, shown.output
    heads = [line.split()[0] for line in shown.output.splitlines() if line[:1].isalpha()]
    assert heads == stages


@pytest.mark.slow
def test_every_lineage_event_is_a_valid_openlineage_run_event(cold, config):
    from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
    from openlineage.client.serde import Serde

    lines = (Path(config.data_root) / EVENTS_FILE).read_text().splitlines()
    jobs = set()
    for line in lines:
        e = json.loads(line)
        # rebuilt with the client's models, whose validators check the run id, event time and state
        event = RunEvent(
            eventType=RunState(e["eventType"]), eventTime=e["eventTime"], run=Run(runId=e["run"]["runId"]),
            job=Job(namespace=e["job"]["namespace"], name=e["job"]["name"]), producer=e["producer"],
            inputs=[InputDataset(namespace=d["namespace"], name=d["name"]) for d in e["inputs"]],
            outputs=[OutputDataset(namespace=d["namespace"], name=d["name"]) for d in e["outputs"]],
        )  # fmt: skip
        again = json.loads(Serde.to_json(event))
        assert {k: again[k] for k in ("eventType", "eventTime", "producer", "schemaURL")} == {
            k: e[k] for k in ("eventType", "eventTime", "producer", "schemaURL")
        }
        facets = [*e["run"].get("facets", {}).values()] + [f for d in e["inputs"] + e["outputs"] for f in d.get("facets", {}).values()]
        assert all(f["_producer"] and f["_schemaURL"].startswith("http") for f in facets)
        jobs.add((e["job"]["name"], e["eventType"]))
    assert {("pretrain", "COMPLETE"), ("finetune_ner", "COMPLETE"), ("finetune_ner", "FAIL"), ("preprocess.deid", "COMPLETE")} <= jobs


@pytest.mark.slow
def test_no_canary_leaves_the_pre_deid_stages(cold, config):
    assert not leaks_in_data_root(config.data_root, frozenset({".pt", ".safetensors", ".npy", ".arrow"}))
    logs, artifacts = everything_prefect_holds()
    assert {"pipeline-steps", "pipeline-lineage", "pretrain-run", "finetune-ner"} <= {a.key for a in artifacts}
    blob = json.dumps([log.message for log in logs]) + json.dumps([a.data for a in artifacts], default=str)
    assert not [c for c in CANARIES + METADATA_CANARIES if c in blob]
    assert not leaks_in_prefect_home(Path(os.environ["PREFECT_HOME"]))


@pytest.mark.slow
def test_runs_link_to_every_manifest(cold, config):
    from urllib.parse import unquote, urlparse

    _logs, artifacts = everything_prefect_holds()
    links = {a.key: a.data for a in sorted(artifacts, key=lambda a: a.created) if (a.key or "").startswith("manifest-")}
    for step in ("ingest", "deid", "shards", "pretrain", "finetune-ner", "finetune-qa"):
        url = re.fullmatch(r"\[.+\]\((file://[^)]+)\)", links[f"manifest-{step}"]).group(1)
        target = Path(unquote(urlparse(url).path))
        assert target.name == "_manifest.json" and target.is_file() and Path(config.data_root) in target.parents


@pytest.mark.slow
def test_unchanged_rerun_is_all_cache_hits(cold, landing, jobs, config):
    # no wall-clock bound here: on a shared 2-core host it measures the neighbours (speed is for bench/)
    good = jobs[:-1]
    result = pipeline(input_path=str(landing), preprocess=config, pretrain=PRETRAIN, finetune=good)
    assert {r["status"] for r in result["preprocess"].values()} == {"reused"}
    assert result["pretrain"]["status"] == "reused"
    assert {r["status"] for r in result["finetune"].values()} == {"reused"}


@pytest.mark.slow
def test_forcing_pretrain_recomputes_it_and_what_follows_only(cold, landing, jobs, config):
    result = pipeline(input_path=str(landing), preprocess=config, pretrain=PRETRAIN, finetune=jobs[:1], force=["pretrain"])
    assert {r["status"] for r in result["preprocess"].values()} == {"reused"}
    assert result["pretrain"]["status"] == "ran" and result["finetune"]["ner"]["status"] == "ran"


def test_forced_steps_follow_the_dag_order():
    assert forced_steps([], None) == set()
    assert forced_steps(["vocab"], None) == {"vocab", "shards", "pretrain", "finetune"}
    assert forced_steps([], "finetune") == {"finetune"}
    assert forced_steps(["pretrain", "deid"], None) == set(STEPS[STEPS.index("deid"):])
    with pytest.raises(ValueError, match="unknown step"):
        forced_steps(["tokenize"], None)


def test_parameters_are_a_typed_form_and_bad_values_are_refused(landing, config):
    from prefect.utilities.callables import parameter_schema

    schema = parameter_schema(pipeline).model_dump()  # what a deployment stores and the UI renders as a form
    assert schema["required"] == ["input_path"]
    assert {"PreprocessConfig", "PretrainConfig", "FinetuneJob", "FinetuneParams"} <= set(schema["definitions"])
    assert schema["definitions"]["FinetuneJob"]["properties"]["task"]["enum"] == list(TASKS)
    state = pipeline(input_path=str(landing), preprocess=config, finetune=[{"task": "summarise", "data": "x"}], return_state=True)
    assert state.is_failed() and "ParameterTypeError" in state.message and "finetune.0.task" in state.message
