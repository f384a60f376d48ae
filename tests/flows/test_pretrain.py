"""The pretraining flow: a DeepSpeed job as a lineage step, progress in Prefect logs, skip, failure."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flows.pretrain import DEMO_CONFIG, run_pretrain
from model.config import PretrainConfig
from model.launch import JobFailed
from pipeline.core.lineage import EVENTS_FILE, lineage_chain
from tests.flows.prefect_records import flow_run_logs
from tests.model.data import shared_corpus

CONFIG = {
    "model": {"preset": "tiny"},
    "data": {"seq_len": 64},
    "optim": {"lr": 2e-3},
    "train": {"train_steps": 12, "global_batch_size": 16, "micro_batch_size": 8, "checkpoint_every": 12,
              "eval_every": 6, "eval_samples": 32, "log_every": 3},
    "launch": {"launcher": "python", "omp_num_threads": 1},
}  # fmt: skip


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return shared_corpus(tmp_path_factory)


@pytest.fixture(scope="module")
def out_root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("runs")


@pytest.fixture(scope="module")
def first(corpus, out_root):
    state = run_pretrain(str(corpus["shards"].path), str(corpus["vocab"].path), CONFIG, str(out_root), return_state=True)
    return {**state.result(), "flow_run_id": state.state_details.flow_run_id}


@pytest.mark.slow
def test_run_is_a_lineage_step_with_a_manifest(first, corpus, out_root):
    assert first["status"] == "ran" and first["steps"] == 12
    run = Path(first["path"])
    assert run == out_root / "pretrain" / first["fingerprint"]
    manifest = json.loads((run / "_manifest.json").read_text())
    assert manifest["inputs"]["shards"]["fingerprint"] == corpus["shards"].fingerprint
    assert manifest["inputs"]["vocab"]["fingerprint"] == corpus["vocab"].fingerprint
    assert manifest["params"]["train"]["train_steps"] == 12 and "launch" not in manifest["params"]
    assert manifest["code_version"] and manifest["counts"]["samples"] == 12 * 16
    assert {"checkpoints", "hf", "metrics.jsonl", "job.log"} <= set(manifest["parts"])
    stages = [m["stage"] for m in lineage_chain(run)]
    assert stages[0] == "pretrain" and {"shards", "vocab", "deid", "ingest"} <= set(stages)
    events = [json.loads(line) for line in (out_root / EVENTS_FILE).read_text().splitlines()]
    mine = [e for e in events if e["job"]["name"] == "pretrain"]
    assert [e["eventType"] for e in mine] == ["START", "COMPLETE"]
    assert mine[-1]["outputs"][0]["name"] == str(run)


@pytest.mark.slow
def test_progress_is_streamed_into_prefect_logs(first):
    logs = flow_run_logs(first["flow_run_id"])  # this run's (the session's server holds other tests' too)
    records = [json.loads(log.message) for log in logs if log.message.startswith("{")]
    assert {r["step"] for r in records if r.get("event") == "train"} >= {3, 6, 9, 12}
    assert {r["step"] for r in records if r.get("event") == "valid"} >= {6, 12}


@pytest.mark.slow
def test_identical_rerun_is_skipped(first, corpus, out_root):
    again = run_pretrain(str(corpus["shards"].path), str(corpus["vocab"].path), CONFIG, str(out_root))
    assert again["status"] == "reused" and again["fingerprint"] == first["fingerprint"]
    # an execution knob does not change the fingerprint; a training setting does
    knob = {**CONFIG, "train": {**CONFIG["train"], "log_every": 4}}
    assert run_pretrain(str(corpus["shards"].path), str(corpus["vocab"].path), knob, str(out_root))["status"] == "reused"


@pytest.mark.slow
def test_failed_job_fails_the_flow_with_its_error(corpus, out_root):
    bad = {**CONFIG, "data": {"seq_len": 1024}}  # longer than the tiny preset's 512 positions
    with pytest.raises(JobFailed, match="ValueError: seq_len 1024 exceeds max_position_embeddings 512"):
        run_pretrain(str(corpus["shards"].path), str(corpus["vocab"].path), bad, str(out_root))
    events = [json.loads(line) for line in (out_root / EVENTS_FILE).read_text().splitlines()]
    assert events[-1]["eventType"] == "FAIL" and events[-1]["job"]["name"] == "pretrain"


def test_demo_config_is_valid_and_small():
    cfg = PretrainConfig.load(DEMO_CONFIG)
    assert cfg.model.preset == "tiny" and cfg.train.train_steps <= 300 and cfg.launch.nproc_per_node == 1
