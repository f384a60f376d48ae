"""How pretraining is orchestrated: the deployments' explicit settings, the task's retry and concurrency policy."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from model.config import PretrainConfig
from model.launch import JobFailed

ROOT = Path(__file__).resolve().parents[2]


def _deployments() -> dict[str, dict]:
    return {d["name"]: d for d in yaml.safe_load((ROOT / "prefect.yaml").read_text())["deployments"]}


def test_pretraining_deployments_pass_an_explicit_config():
    """Without one, the flows fall back to the tiny CPU demo preset."""
    deployments = _deployments()
    base = PretrainConfig.load(ROOT / "configs" / "gatortron-base.yaml")
    for name, param in (("pretrain", "config"), ("pipeline-weekly", "pretrain")):
        raw = deployments[name]["parameters"].get(param)
        assert raw, f"deployment {name} passes no {param!r}"
        cfg = PretrainConfig.load(raw)
        assert cfg.model.preset != "tiny" and cfg.launch.launcher != "python"
        assert cfg == base, f"deployment {name}'s settings drifted from configs/gatortron-base.yaml"
        assert deployments[name].get("concurrency_limit") == 1


def test_task_retries_transient_failures_only_and_is_tagged_for_a_concurrency_limit():
    from model.launch import PretrainStep
    from pipeline.core.errors import StepFailed
    from tasks.step import CONCURRENCY_TAG, retryable, run_step, task_for

    pretrain_task = task_for(PretrainStep(PretrainConfig.load(ROOT / "configs" / "pretrain-tiny.yaml")))
    assert pretrain_task.retries >= 1 and pretrain_task.retry_delay_seconds >= 60
    assert CONCURRENCY_TAG in pretrain_task.tags and pretrain_task.retry_condition_fn is retryable
    assert CONCURRENCY_TAG not in run_step.tags  # a preprocessing stage or fine-tuning job does not hold the GPUs
    retry_resumable = retryable

    class State:
        def __init__(self, exc: Exception) -> None:
            self.exc = exc

        def result(self, raise_on_failure: bool = True):
            return self.exc

    killed = JobFailed("pretraining job failed (exit code -9): exit code -9", -9, None)
    nccl = JobFailed("...", 1, "torch.distributed.DistBackendError: NCCL error: remote process exited")
    bad_setting = JobFailed("...", 1, "ValueError: seq_len 1024 exceeds max_position_embeddings 512")
    oom = JobFailed("...", 1, "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB")
    assert retry_resumable(None, None, State(killed)) and retry_resumable(None, None, State(nccl))
    assert not retry_resumable(None, None, State(bad_setting)) and not retry_resumable(None, None, State(oom))
    assert not retry_resumable(None, None, State(FileNotFoundError("no manifest")))
    assert retry_resumable(None, None, State(StepFailed("stage 'clean' failed with OSError", retryable=True)))


def test_job_failed_records_its_error(tmp_path):
    import sys

    from model.launch import run_job

    with pytest.raises(JobFailed) as info:
        run_job([sys.executable, "-c", "raise ValueError('bad setting 7')"], {}, tmp_path / "job.log")
    assert info.value.exit_code == 1 and info.value.error == "ValueError: bad setting 7" and not info.value.retryable
    with pytest.raises(JobFailed) as info:
        run_job([sys.executable, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGKILL)"], {}, tmp_path / "k.log")
    assert info.value.exit_code == -9 and info.value.retryable
