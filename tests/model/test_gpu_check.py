"""bench/gpu_check.py on a machine without CUDA: it must say so plainly and exit 2, never pretend to pass."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "gpu_check.py"


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA: the script would run the real checks")
def test_without_cuda_it_exits_2_and_says_it_needs_cuda():
    done = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "needs CUDA" in done.stdout and "NOTHING was checked" in done.stdout
    assert "PASS" not in done.stdout and "FAIL" not in done.stdout


def test_checks_are_the_documented_ones():
    import importlib.util

    spec = importlib.util.spec_from_file_location("gpu_check", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.CHECKS == ("sdpa", "bf16", "mfu", "e2e", "zero3", "varlen") and module.MFU_GOAL == 0.40
    assert module.H100_BF16_DENSE_TFLOPS == 989.0
    if not torch.cuda.is_available():
        assert module.main(["--only", "sdpa"]) == 2
