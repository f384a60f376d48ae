"""Small de-identified shards + vocabulary for the model tests, built by the real preprocessing stages."""

from __future__ import annotations

from pathlib import Path

from pipeline.synth import generator as synth
from pipeline.config import PreprocessConfig, VocabParams
from pipeline.core.dag import run_preprocess
from pipeline.core.dataset import Dataset

N_NOTES = 200
VOCAB_SIZE = 2000


def build_corpus(root: Path, n_notes: int = N_NOTES) -> dict[str, Dataset]:
    """Run ingest .. shards on a synthetic corpus under ``root``; returns every stage's dataset."""
    corpus = synth.generate(n_notes, seed=3)
    raw = synth.write(corpus, root / "raw", fmt="parquet")
    config = PreprocessConfig(data_root=root / "data", workers=1, vocab=VocabParams(vocab_size=VOCAB_SIZE))
    return {name: out.dataset for name, out in run_preprocess(config, raw).items()}


_CACHE: dict[str, dict[str, Dataset]] = {}


def shared_corpus(tmp_path_factory) -> dict[str, Dataset]:
    """One corpus per test session, shared by tests/model and tests/flows (building it takes ~20 s)."""
    if "corpus" not in _CACHE:
        _CACHE["corpus"] = build_corpus(tmp_path_factory.mktemp("pretrain-corpus"))
    return _CACHE["corpus"]
