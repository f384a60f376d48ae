"""Data roots for the lineage UI tests, built by the real stages (no Prefect, so they take seconds).

``two_runs`` is the issue's scenario: a first run of preprocessing, a tiny pretraining and a NER
fine-tuning; then a second run that forces ``sentences`` with a changed parameter, so ``sentences`` has
two fingerprints, everything after it exists twice and the first copies are stale. Each step is
recorded the way ``tasks/`` records it (OpenLineage START and COMPLETE, parent = the run), so the
runs view has a real event log. Canary notes are in the raw input: the UI must never serve them.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any, Callable

from model import launch
from model.finetune.params import FinetuneParams
from model.finetune.run import finetune
from model.finetune.synthetic import write_ner
from model.train import HF_DIR
from pipeline.core import lineage
from pipeline.config import PreprocessConfig, SentenceParams, VocabParams
from pipeline.core.dag import STAGES, descendants, run_one
from pipeline.core.dataset import Dataset
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
RUN_ONE_RECORDS = "parent" in inspect.signature(run_one).parameters
"""Whether the executor records its own lineage events (then this module must not record them again)."""


def _step(root: Path, job: str, parent: tuple[str, str], inputs: list[Dataset], work: Callable[[], tuple[Dataset, bool]]) -> Dataset:
    """Run one step as tasks/ does: START, the work, COMPLETE with the output (nothing when reused)."""
    run_id = lineage.new_run_id()
    ds, computed = work()
    if computed:
        lineage.emit(lineage.run_event("START", job, run_id, inputs, [], parent), root)
        lineage.emit(lineage.run_event("COMPLETE", job, run_id, inputs, [ds], parent), root)
    return ds


def _run(root: Path, raw: Path, tasks: Path, min_chars: int, force: set[str]) -> dict[str, Dataset]:
    config = PreprocessConfig(data_root=root, workers=1, vocab=VocabParams(vocab_size=400),
                              sentences=SentenceParams(min_chars=min_chars))  # fmt: skip
    done: dict[str, Dataset] = {}
    parent = ("ehrlm-preprocess", lineage.new_run_id())
    for stage in STAGES:
        ins = {d: done[d] for d in stage.inputs}
        kw = {"input_path": raw if stage.name == "ingest" else None, "force": stage.name in force}
        if RUN_ONE_RECORDS:
            done[stage.name], _ = run_one(stage.name, config, ins, parent=parent, **kw)
        else:
            done[stage.name] = _step(root, f"preprocess.{stage.name}", parent, list(ins.values()),
                                     lambda s=stage, i=ins, k=kw: run_one(s.name, config, i, **k))  # fmt: skip

    def pretrain() -> tuple[Dataset, bool]:
        out = launch.run(done["shards"].path, done["vocab"].path, PRETRAIN, root)
        return Dataset("pretrain", Path(out["path"]).name, Path(out["path"])), out["computed"]

    done["pretrain"] = _step(root, "pretrain", ("ehrlm-pretrain", lineage.new_run_id()), [done["shards"], done["vocab"]], pretrain)
    done["finetune_ner"] = _step(root, "finetune_ner", ("ehrlm-finetune", lineage.new_run_id()), [done["pretrain"]],
                                 lambda: finetune("ner", done["pretrain"].path / HF_DIR, tasks, root, FINETUNE))  # fmt: skip
    return done


def two_runs(base: Path, n_notes: int = 40) -> dict[str, Any]:
    """The data root after two runs; returns it with both runs' datasets by stage."""
    raw = landing_with_canaries(base / "in", n_notes, seed=5)
    tasks = write_ner(base / "tasks" / "ner", n_train=40)
    root = base / "data"
    first = _run(root, raw, tasks, FIRST_MIN_CHARS, set())
    second = _run(root, raw, tasks, SECOND_MIN_CHARS, descendants(["sentences"]))
    return {"root": root, "first": first, "second": second, "raw": raw}
