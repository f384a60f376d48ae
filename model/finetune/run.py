"""Fine-tune one task end to end into one fingerprinted output folder (the lineage step of fine-tuning).

The output is a dataset in the sense of ``pipeline/core/dataset.py``: ``<data_root>/finetune_<task>/<fp>/``
with the fine-tuned model, ``metrics.json`` and ``_manifest.json``; :class:`FinetuneStep` is the step,
run by the one executor (:func:`pipeline.core.step.execute`). Its fingerprint covers the task (the step's
name), every parameter (seed included), the code this module reaches and the content of every input: the
data files and the initial checkpoint. When
the checkpoint is one of ours (it has a ``_manifest.json``) it is recorded as an input dataset, so the
lineage chain runs from the fine-tuned model back to the raw notes; any other checkpoint is recorded by
content hash. Same checkpoint + data + settings => same folder => nothing is retrained.

Manifest counts: test (or, without a test split, dev) scores, the best dev scores and epoch, the trivial
baseline, per-epoch history, example counts, reader skips by reason, timings, device and precision.
No text from the data ever goes into it.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from pipeline.core.dataset import MANIFEST, Dataset, Progress, StageResult, path_digest
from pipeline.core.step import execute

from model.finetune import checkpoint as ckpt
from model.finetune import features, heads, trainer
from model.finetune.params import FinetuneParams
from model.finetune.readers import ReadStats, find_splits
from pipeline.core.errors import FormatError
from model.finetune.tasks import SPECS, Context, TaskSpec

METRICS_FILE = "metrics.json"


def stage_name(task: str) -> str:
    return f"finetune_{task}"


def resolve_splits(data: Path | Mapping[str, Path]) -> dict[str, Path]:
    """A folder with train/dev/test entries, or an explicit ``{"train": ..., "dev": ..., "test": ...}``."""
    if isinstance(data, Mapping):
        splits = {k: Path(v) for k, v in data.items() if v is not None}
        unknown = set(splits) - {"train", "dev", "test"}
        if unknown or "train" not in splits:
            raise FormatError(f"splits must be train (required), dev, test; got {sorted(splits)}")
    else:
        splits = find_splits(Path(data))
    for name, p in splits.items():
        if not p.exists():
            raise FileNotFoundError(f"{name} split {p} does not exist")
    return {k: p.resolve() for k, p in splits.items()}


def checkpoint_inputs(checkpoint: Path) -> tuple[dict[str, Dataset], dict[str, str]]:
    """Our own checkpoints are lineage inputs (stage + fingerprint); others are hashed like raw files.

    Ours is a folder with a ``_manifest.json``, or a part of one (pretraining exports ``<run>/hf/``).
    """
    checkpoint = Path(checkpoint).resolve()
    for folder in (checkpoint, checkpoint.parent):
        manifest = folder / MANIFEST
        if manifest.is_file():
            m = json.loads(manifest.read_text())
            if folder == checkpoint or checkpoint.name in m.get("parts", []):
                return {"checkpoint": Dataset(m["stage"], m["fingerprint"], folder)}, {}
    return {}, {"checkpoint": path_digest(checkpoint)}


@dataclass(frozen=True)
class FinetuneStep:
    """Fine-tuning one task as a :class:`pipeline.core.step.Step`: an initial checkpoint and the task's data
    files -> the fine-tuned model and its scores. Our own checkpoint is its upstream dataset
    (``checkpoint``); anything else, the tokenizer and the data splits are assets hashed by content."""

    task: str
    checkpoint: Path
    data: Path | Mapping[str, Path]
    params: FinetuneParams = FinetuneParams()
    tokenizer: Path | None = None
    entry: ClassVar[str] = __name__

    def __post_init__(self) -> None:
        if self.task not in SPECS:
            raise ValueError(f"unknown task {self.task!r}; choose from {', '.join(SPECS)}")

    @property
    def name(self) -> str:
        return stage_name(self.task)

    @property
    def upstream(self) -> tuple[str, ...]:
        return tuple(self.checkpoint_datasets())

    def checkpoint_datasets(self) -> dict[str, Dataset]:
        return checkpoint_inputs(self.checkpoint)[0]

    @property
    def splits(self) -> dict[str, Path]:
        return resolve_splits(self.data)

    def lineage_files(self) -> list[Path]:
        return list(self.splits.values())

    def assets(self) -> dict[str, str]:
        external = dict(checkpoint_inputs(self.checkpoint)[1])
        if self.tokenizer is not None:
            external["tokenizer"] = path_digest(Path(self.tokenizer))
        external.update({f"data_{k}": path_digest(p) for k, p in self.splits.items()})
        return external

    def run(self, inputs: Mapping[str, Dataset], out: Path, progress: Progress | None) -> StageResult:
        return _body(SPECS[self.task], Path(self.checkpoint).resolve(), Path(self.tokenizer) if self.tokenizer else None,
                     self.splits, self.params, out, progress)  # fmt: skip


def finetune(
    task: str,
    checkpoint: Path,
    data: Path | Mapping[str, Path],
    data_root: Path,
    params: FinetuneParams | None = None,
    tokenizer: Path | None = None,
    force: bool = False,
    progress: Progress | None = None,
) -> tuple[Dataset, bool]:
    """Fine-tune ``checkpoint`` on ``data`` for ``task`` without Prefect; returns the output dataset and
    whether it ran."""
    step = FinetuneStep(task, Path(checkpoint).resolve(), data, params or FinetuneParams(), tokenizer)
    out = execute(step, step.checkpoint_datasets(), Path(data_root), force=force, progress=progress)
    return out.dataset, out.computed


def _split_dev(train: list[Any], fraction: float, seed: int) -> tuple[list[Any], list[Any]]:
    idx = list(range(len(train)))
    random.Random(seed).shuffle(idx)
    dev = set(idx[: max(1, round(len(train) * fraction))])
    return [e for i, e in enumerate(train) if i not in dev], [e for i, e in enumerate(train) if i in dev]


def _body(
    spec: TaskSpec, checkpoint: Path, tokenizer_path: Path | None, splits: dict[str, Path], params: FinetuneParams,
    out: Path, progress: Progress | None,
) -> StageResult:
    timings: dict[str, float] = {}
    t = time.perf_counter()
    stats = {k: ReadStats() for k in ("train", "dev", "test")}
    data = {k: spec.read(p, splits["train"], params, stats[k]) for k, p in splits.items()}
    n_read = sum(len(v) for v in data.values())
    dev_from_train = "dev" not in data
    if dev_from_train:
        data["train"], data["dev"] = _split_dev(data["train"], params.dev_fraction, params.seed)
    beyond = 0
    if params.max_train_examples is not None and len(data["train"]) > params.max_train_examples:
        beyond = len(data["train"]) - params.max_train_examples
        data["train"] = data["train"][: params.max_train_examples]
    for k in ("train", "dev"):
        if not data[k]:
            raise FormatError(f"the {k} split has no examples")
    timings["read_s"] = time.perf_counter() - t

    t = time.perf_counter()
    trainer.set_seed(params.seed)
    tok = ckpt.load_tokenizer(tokenizer_path or checkpoint)
    encoder = ckpt.load_encoder(checkpoint, random_init=params.init == "random")
    markers_added = features.ensure_markers(tok) if spec.head == "markers" else 0
    if markers_added:
        encoder.resize_token_embeddings(len(tok))
    labels = spec.labels(data["train"], params)
    allow_empty = spec.name == "qa" and any(not e.answers for e in data["train"])
    max_pos = int(encoder.config.max_position_embeddings)
    ctx = {k: Context(params, labels, stats[k], max_pos, allow_empty) for k in data}
    feats = {k: spec.features(v, tok, ctx[k]) for k, v in data.items()}
    timings["load_and_featurize_s"] = time.perf_counter() - t

    device = trainer.pick_device()
    trainer.set_seed(params.seed)
    model = heads.TaskModel(encoder, spec.head, spec.n_outputs(ctx["train"]), params.dropout).to(device)
    if spec.name == "ner" and params.ner_case_types and not model.use_token_types:
        raise ValueError(
            f"{checkpoint}: ner_case_types puts case in the token types, and this model has only one; set ner_case_types: false"
        )

    def evaluate(split: str) -> dict[str, float]:
        logits = trainer.predict(model, feats[split], tok.pad_token_id, params.eval_batch_size, params.precision)
        return spec.score(data[split], feats[split], logits, ctx[split])

    result = trainer.train(model, feats["train"], lambda _m: evaluate("dev"), spec.primary, params, tok.pad_token_id, progress)
    timings["train_s"] = result.train_seconds

    t = time.perf_counter()
    eval_split = "test" if "test" in data else "dev"
    final = evaluate(eval_split)
    baseline = spec.baseline(data["train"], data[eval_split], ctx[eval_split])
    timings["final_eval_s"] = time.perf_counter() - t
    info = {"task": spec.name, "labels": labels, "allow_empty_answer": allow_empty}
    if spec.name == "ner":
        info["case_types"] = params.ner_case_types  # how inputs were built: the tagger must build them the same way
    ckpt.save_finetuned(model, tok, out, info)

    report = {
        "task": spec.name,
        "primary_metric": spec.primary,
        "eval_split": eval_split,
        "metrics": final,
        "baseline": baseline,
        "best_dev": result.best_dev,
        "best_epoch": result.best_epoch,
        "stopped_early": result.stopped_early,
        "history": [{"epoch": h.epoch, "train_loss": h.train_loss, "dev": h.dev, "seconds": h.seconds} for h in result.history],
    }
    (out / METRICS_FILE).write_text(json.dumps(report, indent=2, sort_keys=True))
    counts = {
        **report,
        "examples": {k: len(v) for k, v in data.items()},
        "features": {k: len(v) for k, v in feats.items()},
        "dev_from_train": dev_from_train,
        "labels": labels,
        "reader_skipped": {k: dict(s.skipped) for k, s in stats.items() if s.skipped},
        "missed_relations": {k: s.missed_relations for k, s in stats.items() if s.missed_relations},
        "markers_added": markers_added,
        "optimizer_steps": result.optimizer_steps,
        "timings": {k: round(v, 3) for k, v in timings.items()},
        "device": device.type,
        "autocast": str(trainer.autocast_dtype(params.precision, device)),
        "encoder": {"model_type": encoder.config.model_type, "layers": encoder.config.num_hidden_layers,
                    "hidden": encoder.config.hidden_size, "parameters": sum(p.numel() for p in model.parameters())},
    }
    dropped = {"beyond_max_train_examples": beyond} if beyond else {}
    return StageResult(rows_in=n_read, rows_out=n_read - beyond, dropped=dropped, counts=counts)


def read_report(folder: Path) -> dict[str, Any]:
    """``metrics.json`` of a fine-tuning output folder."""
    return json.loads((Path(folder) / METRICS_FILE).read_text())
