"""prefect.yaml works the way the README says: real server, `prefect deploy --all`, a process worker, a run.

Slow (a server, a worker and a flow-run subprocess start), but it is the only proof that the deployment
file, the pull step and the work pool fit together, so it runs in CI.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from model.finetune.synthetic import write_all
from pipeline.synth import generator as synth
from pipeline.core.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
PREFECT = str(Path(sys.executable).parent / "prefect")


def _wait_healthy(url: str, proc: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"prefect server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(1)
    raise TimeoutError("prefect server did not become healthy")


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A real `prefect server` on 127.0.0.1 for this module, stopped by PID at the end."""
    home = tmp_path_factory.mktemp("prefect-home")
    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = {
        **os.environ,
        "PREFECT_HOME": str(home),
        "PREFECT_API_URL": api,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PWD": str(ROOT),
    }
    proc = subprocess.Popen(
        [PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env, stdout=open(home / "server.log", "w"), stderr=subprocess.STDOUT,
    )
    try:
        _wait_healthy(api, proc)
        yield api, env
    finally:
        _stop(proc)


@pytest.fixture(scope="module")
def landing(tmp_path_factory) -> Path:
    return synth.write(synth.generate(60, seed=3), tmp_path_factory.mktemp("landing"), fmt="parquet")


def _run(cmd: list[str], env: dict, timeout: float = 450) -> str:
    done = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{' '.join(cmd)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


DEPLOYMENTS = {"preprocess-nightly", "pretrain", "pipeline-weekly", *(f"finetune-{t}" for t in ("ner", "re", "sts", "nli", "qa"))}
SMALL_PRETRAIN = {
    "model": {"preset": "tiny"},
    "data": {"seq_len": 64},
    "train": {"train_steps": 6, "global_batch_size": 8, "micro_batch_size": 8, "checkpoint_every": 6, "eval_every": 6,
              "eval_samples": 16},
    "launch": {"launcher": "python", "omp_num_threads": 1},
}  # fmt: skip


def _latest_artifact(api: str, key: str) -> list[dict]:
    body = json.dumps({"artifacts": {"key": {"any_": [key]}}, "sort": "CREATED_DESC", "limit": 1}).encode()
    req = urllib.request.Request(f"{api}/artifacts/filter", data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        data = json.loads(r.read())[0]["data"]
    return data if isinstance(data, list) else json.loads(data)


@pytest.mark.slow
def test_deploy_worker_run(server, landing, tmp_path):
    api, base_env = server
    data_root = tmp_path / "data"
    tasks = write_all(tmp_path / "tasks", n_train=24)["ner"].parent
    env = {**base_env, "EHRLM_LANDING": str(landing), "EHRLM_DATA_ROOT": str(data_root), "EHRLM_TASKS": str(tasks)}
    worker = None
    try:
        _run([PREFECT, "work-pool", "create", "ehrlm-process", "--type", "process"], env)
        _run([PREFECT, "--no-prompt", "deploy", "--all"], env)
        worker = subprocess.Popen(
            [PREFECT, "worker", "start", "--pool", "ehrlm-process"],
            env=env, cwd=ROOT, stdout=open(tmp_path / "worker.log", "w"), stderr=subprocess.STDOUT,
        )
        out = _run([PREFECT, "deployment", "run", "ehrlm-preprocess/preprocess-nightly", "--watch", "--watch-timeout", "400"], env)
        assert "Completed" in out or "COMPLETED" in out, out[-2000:]
        # the run really happened where the deployment said: all seven stage datasets exist
        for stage in ("ingest", "clean", "dedup", "deid", "sentences", "vocab", "shards"):
            assert any((d / "_manifest.json").is_file() for d in (data_root / stage).iterdir()), stage

        # the end-to-end deployment with a per-step rerun as a run parameter: vocab and everything after it
        # recompute, the stages before it are reused from the run above
        out = _run([PREFECT, "deployment", "run", "ehrlm-pipeline/pipeline-weekly", "--watch", "--watch-timeout", "400",
                    "--param", f"force={json.dumps(['vocab'])}", "--param", f"pretrain={json.dumps(SMALL_PRETRAIN)}"], env)
        assert "Completed" in out or "COMPLETED" in out, out[-2000:]
        status = {row["step"]: row["status"] for row in _latest_artifact(api, "pipeline-steps")}
        assert {status[s] for s in ("ingest", "clean", "dedup", "deid", "sentences")} == {"reused"}
        assert status["vocab"] == status["shards"] == status["pretrain"] == "ran"
        assert {status[f"finetune {t}"] for t in ("ner", "re", "sts", "nli", "qa")} == {"ran"}

        # every deployment, the cron schedules and the pull step are registered on the server
        req = urllib.request.Request(f"{api}/deployments/filter", data=b"{}", headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as r:
            deployments = {d["name"]: d for d in json.loads(r.read())}
        assert DEPLOYMENTS <= set(deployments)
        assert deployments["preprocess-nightly"]["schedules"][0]["schedule"]["cron"] == "0 2 * * *"
        assert deployments["pipeline-weekly"]["schedules"][0]["schedule"]["cron"] == "0 3 * * 0"
        assert deployments["finetune-qa"]["parameters"]["task"] == "qa"
        assert deployments["preprocess-nightly"]["pull_steps"][0]["prefect.deployments.steps.set_working_directory"]["directory"] == str(ROOT)
    finally:
        if worker is not None:
            _stop(worker)


@pytest.mark.slow
def test_dask_runner_gives_byte_identical_shards(server, landing, tmp_path):
    _, env = server
    ehrlm = str(Path(sys.executable).parent / "ehrlm")
    _run([ehrlm, "preprocess", "--input", str(landing), "--data-root", str(tmp_path / "local")], env)
    dask_run = subprocess.Popen(
        [ehrlm, "preprocess", "--input", str(landing), "--data-root", str(tmp_path / "dask"), "--dask", "local"],
        env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    out, _ = dask_run.communicate(timeout=450)
    assert dask_run.returncode == 0, out[-3000:]
    # the stages really ran in Dask worker processes, not in the process that ran the flow
    pids = {json.loads(m.read_text())["pid"] for m in (tmp_path / "dask").glob("*/*/_manifest.json")}
    assert pids and dask_run.pid not in pids

    def shard_bytes(root: Path) -> dict[str, bytes]:
        (folder,) = (root / "shards").iterdir()
        return {p.name: p.read_bytes() for p in sorted(folder.glob("shard-*.arrow"))}

    local, dask = shard_bytes(tmp_path / "local"), shard_bytes(tmp_path / "dask")
    assert local and local == dask
