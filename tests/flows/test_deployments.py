"""prefect.yaml works the way the README says: real server, `prefect deploy --all`, a process worker, a run.

Slow (a server, a worker and a flow-run subprocess start), but it is the only proof that the deployment
file, the pull step and the work pool fit together, so it runs in CI.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from pipeline import synth

ROOT = Path(__file__).resolve().parents[2]
PREFECT = str(Path(sys.executable).parent / "prefect")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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


@pytest.mark.slow
def test_deploy_worker_run(tmp_path):
    corpus = synth.generate(60, seed=3)
    landing = synth.write(corpus, tmp_path / "landing", fmt="parquet")
    data_root = tmp_path / "data"
    port = _free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = {
        **os.environ,
        "PREFECT_HOME": str(tmp_path / "prefect-home"),
        "PREFECT_API_URL": api,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PWD": str(ROOT),
        "EHRLM_LANDING": str(landing),
        "EHRLM_DATA_ROOT": str(data_root),
    }
    logs = tmp_path / "logs"
    logs.mkdir()
    server = subprocess.Popen(
        [PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env, stdout=open(logs / "server.log", "w"), stderr=subprocess.STDOUT,
    )
    worker = None
    try:
        _wait_healthy(api, server)

        def cli(*args: str, timeout: float = 300) -> str:
            done = subprocess.run([PREFECT, *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
            assert done.returncode == 0, f"prefect {' '.join(args)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
            return done.stdout

        cli("work-pool", "create", "ehrlm-process", "--type", "process")
        cli("--no-prompt", "deploy", "--all")
        worker = subprocess.Popen(
            [PREFECT, "worker", "start", "--pool", "ehrlm-process"],
            env=env, cwd=ROOT, stdout=open(logs / "worker.log", "w"), stderr=subprocess.STDOUT,
        )
        out = cli("deployment", "run", "ehrlm-preprocess/preprocess-nightly", "--watch", "--watch-timeout", "400",
                  "--param", f"force={json.dumps(['sentences'])}", timeout=450)
        assert "Completed" in out or "COMPLETED" in out, out[-2000:]

        # the run really happened where the deployment said: all seven stage datasets exist
        for stage in ("ingest", "clean", "dedup", "deid", "sentences", "vocab", "shards"):
            assert any((d / "_manifest.json").is_file() for d in (data_root / stage).iterdir()), stage
        # and the cron schedule is registered on the server
        req = urllib.request.Request(f"{api}/deployments/filter", data=b"{}", headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as r:
            deployments = json.loads(r.read())
        nightly = next(d for d in deployments if d["name"] == "preprocess-nightly")
        assert nightly["schedules"][0]["schedule"]["cron"] == "0 2 * * *"
        assert nightly["pull_steps"][0]["prefect.deployments.steps.set_working_directory"]["directory"] == str(ROOT)
    finally:
        if worker is not None:
            _stop(worker)
        _stop(server)
