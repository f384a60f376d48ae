"""All five tasks train end to end on tiny fixtures (CPU, seconds) and beat their trivial baselines; the
output folder is a fingerprinted, manifested, reloadable dataset that carries no text of the data."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from model.finetune import features, trainer
from model.finetune.checkpoint import load_finetuned
from model.finetune.params import FinetuneParams
from model.finetune.readers import read_conll
from model.finetune.run import finetune, read_report
from model.finetune.synthetic import FIXTURE, WRITERS
from tests.model.finetune.fixtures import one_torch_thread, tiny_checkpoint

FAST = {"batch_size": 16, "learning_rate": 2e-3, "warmup_ratio": 0.0, "max_length": 64}
SETTINGS = {
    "ner": {"epochs": 4},
    "re": {"epochs": 4},
    "sts": {"epochs": 15},
    "nli": {"epochs": 6},
    # small windows so that contexts (20-35 tokens) need two of them
    "qa": {"epochs": 15, "qa_window_tokens": 24, "qa_stride_tokens": 16, "qa_max_question_tokens": 16, "qa_max_seq_length": 64},
}
# (metric, the model must reach at least, and beat the baseline by at least)
EXPECT = {"ner": ("f1", 0.9, 0.5), "re": ("f1", 0.9, 0.5), "sts": ("pearson", 0.9, 0.5), "nli": ("accuracy", 0.9, 0.4),
          "qa": ("exact_match", 0.7, 0.5)}


@pytest.fixture(autouse=True)
def one_thread():
    with one_torch_thread():
        yield


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory) -> Path:
    return tiny_checkpoint(tmp_path_factory.mktemp("tiny"))


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("data")
    for task, write in WRITERS.items():
        write(root / task)
    return root


def _params(task: str, **kw) -> FinetuneParams:
    return FinetuneParams(**{**FAST, **SETTINGS[task], **kw})


@pytest.mark.parametrize("task", [pytest.param(t, marks=pytest.mark.slow) if t == "qa" else t for t in WRITERS])
def test_task_trains_and_beats_baseline(task: str, ckpt: Path, data: Path, tmp_path: Path) -> None:
    ds, computed = finetune(task, ckpt, data / task, tmp_path, _params(task))
    assert computed and ds.stage == f"finetune_{task}"
    report = read_report(ds.path)
    metric, floor, margin = EXPECT[task]
    ours, base = report["metrics"][metric], report["baseline"][metric]
    assert ours >= floor, report
    assert ours >= base + margin, report
    if task == "sts":
        assert report["metrics"]["mse"] < report["baseline"]["mse"]
    assert report["eval_split"] == "test" and 1 <= report["best_epoch"] <= SETTINGS[task]["epochs"]

    manifest = ds.manifest
    assert manifest["stage"] == f"finetune_{task}" and manifest["params"]["seed"] == 42
    assert set(manifest["external_inputs"]) == {"checkpoint", "data_train", "data_dev", "data_test"}
    assert manifest["counts"]["metrics"] == report["metrics"]
    assert manifest["counts"]["timings"]["train_s"] > 0
    assert {"model", "head.pt", "task.json", "metrics.json"} <= set(manifest["parts"])
    # no text of the data in what is shown to people: entity names never appear, only types and counts
    shown = (ds.path / "_manifest.json").read_text() + (ds.path / "metrics.json").read_text()
    assert not [d for d in FIXTURE.drugs if d in shown]


def test_same_inputs_reuse_and_new_seed_retrains(ckpt: Path, data: Path, tmp_path: Path) -> None:
    params = _params("nli", epochs=1)
    first, ran = finetune("nli", ckpt, data / "nli", tmp_path, params)
    again, ran_again = finetune("nli", ckpt, data / "nli", tmp_path, params)
    assert ran and not ran_again and again.path == first.path
    other, _ = finetune("nli", ckpt, data / "nli", tmp_path, params.model_copy(update={"seed": 1}))
    assert other.fingerprint != first.fingerprint


def test_reloaded_model_reproduces_test_scores(ckpt: Path, data: Path, tmp_path: Path) -> None:
    ds, _ = finetune("ner", ckpt, data / "ner", tmp_path, _params("ner"))
    model, tok, info = load_finetuned(ds.path)
    sentences = read_conll(data / "ner" / "test.tsv")
    label2id = {t: i for i, t in enumerate(info["labels"])}
    feats = features.ner_features(sentences, tok, label2id, 64)
    pred = features.ner_decode(sentences, feats, trainer.predict(model, feats, tok.pad_token_id, 32), info["labels"])
    from model.finetune.metrics import ner_scores

    assert ner_scores([s.tags for s in sentences], pred)["f1"] == pytest.approx(read_report(ds.path)["metrics"]["f1"])


@pytest.mark.parametrize("layout", ["manifest_in_checkpoint", "pretrain_run_with_hf_part"])
def test_our_checkpoint_is_a_lineage_input(layout: str, ckpt: Path, data: Path, tmp_path: Path) -> None:
    run = tmp_path / "pretrain" / "0123456789abcdef"
    checkpoint = run if layout == "manifest_in_checkpoint" else run / "hf"
    shutil.copytree(ckpt, checkpoint)
    manifest = {"stage": "pretrain", "fingerprint": "0123456789abcdef", "inputs": {}, "rows_in": 0, "rows_out": 0, "parts": sorted(p.name for p in run.iterdir())}
    (run / "_manifest.json").write_text(json.dumps(manifest))
    ds, _ = finetune("nli", checkpoint, data / "nli", tmp_path / "root", _params("nli", epochs=1))
    m = ds.manifest
    assert m["inputs"]["checkpoint"] == {"stage": "pretrain", "fingerprint": "0123456789abcdef", "path": str(run)}
    assert "checkpoint" not in m["external_inputs"]


def test_megatron_bert_checkpoint(ckpt: Path, data: Path, tmp_path: Path) -> None:
    """GatorTron's published checkpoints, and our exports, are MegatronBERT: AutoModel must load and train them."""
    from transformers import AutoTokenizer, MegatronBertConfig, MegatronBertModel

    torch.manual_seed(0)
    folder = tmp_path / "megatron"
    tok = AutoTokenizer.from_pretrained(ckpt)
    config = MegatronBertConfig(vocab_size=len(tok), hidden_size=64, num_hidden_layers=2, num_attention_heads=2,
                                intermediate_size=256, max_position_embeddings=128)  # fmt: skip
    MegatronBertModel(config).save_pretrained(folder)
    tok.save_pretrained(folder)
    ds, _ = finetune("ner", folder, data / "ner", tmp_path / "root", _params("ner"))
    assert ds.manifest["counts"]["encoder"]["model_type"] == "megatron-bert"
    assert read_report(ds.path)["metrics"]["f1"] >= 0.9


def test_dev_carved_from_train_and_train_cap(ckpt: Path, data: Path, tmp_path: Path) -> None:
    only = tmp_path / "nli"
    only.mkdir()
    shutil.copy(data / "nli" / "mli_train_v1.jsonl", only / "train.jsonl")
    ds, _ = finetune("nli", ckpt, only, tmp_path / "root", _params("nli", epochs=1, max_train_examples=50))
    m = ds.manifest
    counts = m["counts"]
    assert counts["dev_from_train"] and counts["eval_split"] == "dev"
    assert counts["examples"] == {"train": 50, "dev": 16}  # 160 read, 16 held out, 144 -> 50
    assert m["rows_in"] == 160 and m["dropped"] == {"beyond_max_train_examples": 94}


def test_random_init_keeps_the_architecture_but_not_the_weights(tmp_path):
    from model.finetune.checkpoint import load_encoder

    ckpt = tiny_checkpoint(tmp_path / "ckpt")
    pretrained, fresh = load_encoder(ckpt), load_encoder(ckpt, random_init=True)
    assert pretrained.config.to_dict() == fresh.config.to_dict()
    a, b = pretrained.state_dict(), fresh.state_dict()
    assert a.keys() == b.keys() and all(a[k].shape == b[k].shape for k in a)
    assert not torch.equal(a["embeddings.word_embeddings.weight"], b["embeddings.word_embeddings.weight"])


def test_a_checkpoint_missing_encoder_weights_is_refused(tmp_path):
    from safetensors.torch import load_file, save_file

    from model.finetune.checkpoint import load_encoder

    ckpt = tiny_checkpoint(tmp_path / "ckpt")
    weights = load_file(ckpt / "model.safetensors")
    dropped = next(k for k in weights if "encoder.layer.1." in k)
    save_file({k: v for k, v in weights.items() if k != dropped}, ckpt / "model.safetensors", metadata={"format": "pt"})
    with pytest.raises(ValueError, match="lacks 1 encoder weight"):
        load_encoder(ckpt)
