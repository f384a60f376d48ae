"""Data roots for the lineage UI tests, built by the real stages (no Prefect, so they take seconds).

``two_runs`` is the issue's scenario: a first run of preprocessing, a tiny pretraining and a NER
fine-tuning; then a second run that forces ``sentences`` with a changed parameter, so ``sentences`` has
two fingerprints, everything after it exists twice and the first copies are stale. Every step runs
through the executor with a parent run, so it is recorded as ``tasks/`` records it (OpenLineage START and
COMPLETE, parent = the run) and the runs view has a real event log. Canary notes are in the raw input:
the UI must never serve them.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from model.config import PretrainConfig
from model.finetune.params import FinetuneParams
from model.finetune.run import FinetuneStep
from model.finetune.synthetic import write_ner
from model.launch import PretrainStep
from model.train import HF_DIR
from pipeline.config import PreprocessConfig, SentenceParams, VocabParams
from pipeline.core import lineage
from pipeline.core.dag import run_preprocess
from pipeline.core.dataset import Dataset
from pipeline.core.step import execute
from tests.flows.canaries import landing_with_canaries

PRETRAIN = {
    "model": {"preset": "tiny"},
    "data": {"seq_len": 64},
    "optim": {"lr": 2e-3},
    "train": {"train_steps": 8, "global_batch_size": 16, "micro_batch_size": 8, "checkpoint_every": 8,
              "eval_every": 4, "eval_samples": 32, "log_every": 2},
    "launch": {"launcher": "python", "omp_num_threads": 1},
}  # fmt: skip
FINETUNE = FinetuneParams(epochs=1, batch_size=16, learning_rate=2e-3, warmup_ratio=0.0, max_length=64)
FIRST_MIN_CHARS, SECOND_MIN_CHARS = 1, 2


def _parent(flow: str) -> tuple[str, str]:
    """A new flow run to group a step's lineage events under, as a Prefect flow run would."""
    return flow, lineage.new_run_id()


def _run(root: Path, raw: Path, tasks: Path, min_chars: int, force: Iterable[str]) -> dict[str, Dataset]:
    config = PreprocessConfig(data_root=root, workers=1, vocab=VocabParams(vocab_size=400),
                              sentences=SentenceParams(min_chars=min_chars))  # fmt: skip
    preprocessed = run_preprocess(config, raw, force, parent=_parent("ehrlm-preprocess"))
    done = {name: out.dataset for name, out in preprocessed.items()}
    pretrain = PretrainStep(PretrainConfig.load(PRETRAIN))
    done["pretrain"] = execute(pretrain, {d: done[d] for d in pretrain.upstream}, root,
                               parent=_parent("ehrlm-pretrain")).dataset  # fmt: skip
    ner = FinetuneStep("ner", (done["pretrain"].path / HF_DIR).resolve(), tasks, FINETUNE)
    done["finetune_ner"] = execute(ner, ner.checkpoint_datasets(), root, parent=_parent("ehrlm-finetune")).dataset
    return done


def two_runs(base: Path, n_notes: int = 40) -> dict[str, Any]:
    """The data root after two runs; returns it with both runs' datasets by stage."""
    raw = landing_with_canaries(base / "in", n_notes, seed=5)
    tasks = write_ner(base / "tasks" / "ner", n_train=40)
    root = base / "data"
    first = _run(root, raw, tasks, FIRST_MIN_CHARS, ())
    second = _run(root, raw, tasks, SECOND_MIN_CHARS, ["sentences"])
    return {"root": root, "first": first, "second": second, "raw": raw}
