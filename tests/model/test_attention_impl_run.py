"""The attention path is a config setting that reaches a real run: a DeepSpeed job on CPU with
``model.overrides.attention_impl: varlen`` trains, records the setting and exports nearly the same weights
as the same job on the padded path (equal maths; only the order of floating-point sums differs)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from model import launch
from model.bert import build
from model.config import PretrainConfig
from model.train import HF_DIR, RESULT, model_config

JOB = {
    "model": {"preset": "tiny", "overrides": {"attention_dropout": 0.0}},  # attention dropout draws differ per path
    "data": {"seq_len": 64, "short_seq_prob": 0.5},  # plenty of padded micro-batches
    "optim": {"lr": 2e-3},
    "train": {"train_steps": 8, "global_batch_size": 16, "micro_batch_size": 8, "zero_stage": 1, "checkpoint_every": 8,
              "eval_every": 8, "eval_samples": 16, "log_every": 4},
    "launch": {"launcher": "python", "omp_num_threads": 1},
}  # fmt: skip


def _job(impl: str) -> dict:
    cfg = json.loads(json.dumps(JOB))
    cfg["model"]["overrides"]["attention_impl"] = impl
    return cfg


def test_attention_impl_override_reaches_the_model(tokenizer_json):
    assert model_config(PretrainConfig.load(_job("varlen")), tokenizer_json).attention_impl == "varlen"
    assert model_config(PretrainConfig.load(JOB), tokenizer_json).attention_impl == "auto"
    with pytest.raises(ValueError, match="attention_impl"):
        model_config(PretrainConfig.load(_job("flash")), tokenizer_json)


@pytest.mark.slow
def test_varlen_and_padded_runs_export_the_same_model(corpus, tokenizer_json, tmp_path):
    exports = {}
    for impl in ("padded", "varlen"):
        out = launch.run(corpus["shards"].path, corpus["vocab"].path, _job(impl), tmp_path / impl)
        run = Path(out["path"])
        result = json.loads((run / RESULT).read_text())
        assert result["model"]["attention_impl"] == impl and result["steps"] == 8
        exports[impl] = load_file(str(run / HF_DIR / "model.safetensors"))
    assert exports["padded"].keys() == exports["varlen"].keys()
    for name, w in exports["padded"].items():
        torch.testing.assert_close(exports["varlen"][name], w, atol=1e-4, rtol=1e-4, msg=name)
    # the comparison means something only if training moved the weights well beyond that tolerance
    torch.manual_seed(PretrainConfig.load(JOB).train.seed)  # the job's initial weights
    start = build(model_config(PretrainConfig.load(JOB), tokenizer_json)).state_dict()
    h = start["bert.encoder.layer.0.attention.self.qkv.weight"].shape[1]
    query = exports["padded"]["bert.encoder.layer.0.attention.self.query.weight"]
    assert float((query - start["bert.encoder.layer.0.attention.self.qkv.weight"][:h]).abs().max()) > 1e-3
