"""Job command lines, hostfile, per-process threads, and failure reporting (no training here)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from model.config import PretrainConfig
from model.launch import JobFailed, build_command, hostfile_text, job_env, run_job

PATHS = (Path("/r/config.yaml"), Path("/d/shards"), Path("/d/vocab"), Path("/r"))


def _cfg(**launch) -> PretrainConfig:
    return PretrainConfig.load({"launch": launch})


def test_deepspeed_single_node():
    cmd = build_command(_cfg(launcher="deepspeed", nproc_per_node=2), *PATHS, master_port=29511, python="py")
    assert cmd[:3] == ["py", "-m", "deepspeed.launcher.runner"]
    assert cmd[cmd.index("--num_gpus") + 1] == "2" and cmd[cmd.index("--master_port") + 1] == "29511"
    assert cmd[cmd.index("--module") + 1] == "model.train"
    assert cmd[-8:] == ["--config", "/r/config.yaml", "--shards", "/d/shards", "--vocab", "/d/vocab", "--run-dir", "/r"]


def test_deepspeed_multi_node_uses_a_hostfile(tmp_path):
    cfg = _cfg(launcher="deepspeed", hosts={"node-001": 8, "node-002": 8}, master_addr="node-001")
    assert cfg.world_size() == 16
    assert hostfile_text(cfg.launch.hosts) == "node-001 slots=8\nnode-002 slots=8\n"
    cmd = build_command(cfg, *PATHS, master_port=29500, hostfile=tmp_path / "hostfile")
    assert cmd[cmd.index("--hostfile") + 1] == str(tmp_path / "hostfile") and "--num_gpus" not in cmd
    assert cmd[cmd.index("--master_addr") + 1] == "node-001"
    with pytest.raises(ValueError, match="hostfile"):
        build_command(cfg, *PATHS, master_port=29500)
    with pytest.raises(ValueError, match="one node"):
        build_command(_cfg(launcher="torchrun", hosts={"a": 1}), *PATHS, master_port=1)


def test_multi_node_leaves_master_discovery_to_deepspeed(tmp_path):
    """A default 127.0.0.1 would make every remote rank wait for a master on its own loopback."""
    cfg = _cfg(launcher="deepspeed", hosts={"node-001": 8, "node-002": 8})
    assert cfg.launch.master_addr is None
    cmd = build_command(cfg, *PATHS, master_port=29500, hostfile=tmp_path / "hostfile")
    assert "--master_addr" not in cmd and "127.0.0.1" not in cmd
    assert "--master_addr" not in build_command(_cfg(launcher="deepspeed", nproc_per_node=8), *PATHS, master_port=1)
    assert "--master_addr" not in build_command(_cfg(launcher="torchrun", nproc_per_node=8), *PATHS, master_port=1)
    env = job_env(_cfg(launcher="python"), 29501, base={})
    assert env["MASTER_ADDR"] == "127.0.0.1"  # one process on this machine: loopback is right


def test_slurm_srun_command_and_env():
    cfg = _cfg(launcher="slurm", nodes=4, nproc_per_node=8, srun_args=["--gpus-per-node=8", "--cpus-per-task=12"])
    assert cfg.world_size() == 32
    cmd = build_command(cfg, *PATHS, master_port=29513, python="py")
    assert cmd[0] == "srun" and "--nodes=4" in cmd and "--ntasks-per-node=8" in cmd and "--kill-on-bad-exit=1" in cmd
    assert cmd[cmd.index("--cpus-per-task=12") + 1 : cmd.index("--cpus-per-task=12") + 4] == ["py", "-m", "model.train"]
    assert cmd[-8:] == ["--config", "/r/config.yaml", "--shards", "/d/shards", "--vocab", "/d/vocab", "--run-dir", "/r"]
    env = job_env(cfg, 29513, base={"SLURM_JOB_ID": "7"})
    assert env["EHRLM_SLURM"] == "1" and env["MASTER_PORT"] == "29513" and env["MASTER_ADDR"] and "RANK" not in env
    assert job_env(_cfg(launcher="slurm", master_addr="node-001"), 1, base={})["MASTER_ADDR"] == "node-001"
    with pytest.raises(ValueError, match="slurm takes its nodes"):
        build_command(_cfg(launcher="slurm", hosts={"a": 1}), *PATHS, master_port=1)


def test_slurm_task_takes_its_rank_from_slurm(monkeypatch):
    import model.train as train

    captured = {}
    monkeypatch.setattr("deepspeed.init_distributed", lambda dist_backend: captured.update(backend=dist_backend))
    for k in ("RANK", "WORLD_SIZE", "LOCAL_RANK"):  # set-then-delete: monkeypatch restores them after the test
        monkeypatch.setenv(k, "unset")
        monkeypatch.delenv(k)
    monkeypatch.setenv("EHRLM_SLURM", "1")
    monkeypatch.setenv("SLURM_PROCID", "13")
    monkeypatch.setenv("SLURM_NTASKS", "32")
    monkeypatch.setenv("SLURM_LOCALID", "5")
    train.init_distributed(on_gpu=True)
    assert (os.environ["RANK"], os.environ["WORLD_SIZE"], os.environ["LOCAL_RANK"]) == ("13", "32", "5")
    assert captured["backend"] == "nccl"


def test_pdsh_host_prefixes_are_stripped_before_parsing(tmp_path):
    lines: list[str] = []
    script = ("print('node-001: [ehrlm] {\\\"step\\\": 3}'); print('node-002.cluster: ValueError: bad setting 7'); "
              "raise SystemExit(1)")
    with pytest.raises(JobFailed, match=r"\): ValueError: bad setting 7; full log"):
        run_job([sys.executable, "-c", script], {}, tmp_path / "job.log", lines.append,
                hosts={"node-001": 8, "node-002.cluster": 8})  # fmt: skip
    assert lines == ['[ehrlm] {"step": 3}', "ValueError: bad setting 7"]
    assert "node-001: [ehrlm]" in (tmp_path / "job.log").read_text(), "the log keeps what the job printed"
    # without hosts nothing is stripped: an error line's own "ValueError: " is not a host
    lines.clear()
    with pytest.raises(JobFailed, match="ValueError: x"):
        run_job([sys.executable, "-c", "print('ValueError: x'); raise SystemExit(2)"], {}, tmp_path / "b.log", lines.append)
    assert lines == ["ValueError: x"]


def test_torchrun_and_plain_python():
    cmd = build_command(_cfg(launcher="torchrun", nproc_per_node=2), *PATHS, master_port=29512, python="py")
    assert cmd[:3] == ["py", "-m", "torch.distributed.run"] and cmd[cmd.index("--nproc_per_node") + 1] == "2"
    assert cmd[cmd.index("-m", 3) + 1] == "model.train"
    assert build_command(_cfg(launcher="python"), *PATHS, master_port=1, python="py")[:3] == ["py", "-m", "model.train"]
    with pytest.raises(ValueError, match="exactly one"):
        build_command(_cfg(launcher="python", nproc_per_node=2), *PATHS, master_port=1)


def test_job_env_sets_threads_per_process():
    env = job_env(_cfg(launcher="deepspeed", nproc_per_node=2), 29500, base={"PATH": "/bin"})
    assert int(env["OMP_NUM_THREADS"]) >= 1 and env["PYTHONUNBUFFERED"] == "1" and "RANK" not in env
    env = job_env(_cfg(launcher="python", omp_num_threads=3), 29501, base={})
    assert env["OMP_NUM_THREADS"] == "3" and env["WORLD_SIZE"] == "1" and env["MASTER_PORT"] == "29501"


def test_failed_job_reports_its_last_error_line(tmp_path):
    lines: list[str] = []
    script = "print('[ehrlm] {\"step\": 1}'); raise ValueError('bad setting 7')"
    with pytest.raises(JobFailed, match=r"exit code 1\): ValueError: bad setting 7; full log: .*job.log"):
        run_job([sys.executable, "-c", script], {"PYTHONUNBUFFERED": "1"}, tmp_path / "job.log", lines.append)
    assert lines[0] == '[ehrlm] {"step": 1}' and "Traceback" in (tmp_path / "job.log").read_text()
    run_job([sys.executable, "-c", "print('ok')"], {}, tmp_path / "ok.log")


def test_refuses_inputs_that_did_not_pass_deid(tmp_path):
    from model.launch import input_dataset
    from pipeline.core.step import NotDeidentifiedError

    fake = tmp_path / "shards" / "f00"
    fake.mkdir(parents=True)
    (fake / "_manifest.json").write_text(json.dumps({"stage": "shards", "fingerprint": "f00", "inputs": {}}))
    with pytest.raises(NotDeidentifiedError):
        input_dataset(fake, "shards")
    with pytest.raises(ValueError, match="expected 'vocab'"):
        input_dataset(fake, "vocab")
