"""Train the learned PHI tagger (``pipeline.deid.tagger``) with the project's NER fine-tuning flow.

``ehrlm deid-train --gold DIR [--gold DIR ...] --out MODEL_DIR [--folds K]``:

1. Gold notes (brat ``.txt`` + ``.ann`` or i2b2-2014 XML, read by ``pipeline.deid.eval.read_gold``; synthetic
   notes from ``pipeline.synth.generator`` with ``synthetic=N``) become word-level BIO sentences in *our* categories
   (``GOLD_CATEGORIES``: PATIENT/DOCTOR -> NAME, HOSPITAL/CITY/... -> LOCATION). Gold that safe harbor does
   not require (a year alone, ages <= 89, professions) is ``O``: tagging it would cost pretraining text for
   nothing. Sentences and words are cut as ``model.finetune.readers`` cuts brat notes, which is also how the
   tagger cuts notes at run time.
2. Sentences without PHI are most of a corpus and teach little after the first few thousand: a seeded
   ``negative_fraction`` of them is kept (all sentences with PHI are kept).
3. The sentences are written as CoNLL (``train.tsv``) and fine-tuned by ``model.finetune.run.finetune`` --
   the same fingerprinted, lineage-recorded step as any NER fine-tuning -- and the fine-tuned model is copied
   to ``out`` with ``tagger.json``: base checkpoint, parameters, counts, the fine-tuning dataset's
   fingerprint, and the sha256 of every training note's text (never ids or text: ids can be file names,
   which hospitals name after patients).
4. ``folds=K``: K more taggers, each trained without one group of patients, in ``out/folds/<k>/``. Every gold
   note is in exactly one held-out group; synthetic notes train every fold. ``ehrlm deid-eval --tagger out``
   scores each note with the fold model that never saw it, so the figures it prints for the training corpus are out of fold. Patients are taken
   from the note file name with ``group_pattern`` (default: the part before the first ``_`` or ``-``,
   ``p012_n0003`` -> ``p012``; i2b2-2014 ``110-01`` -> ``110``).
"""

from __future__ import annotations

import json
import random
import re
import shutil
import tempfile
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.deid.eval import GOLD_CATEGORIES, TAGGER_FILE, GoldNote, GoldSpan, read_gold, text_digest

from model.finetune.deid_augment import surrogate_copy
from model.finetune.params import FinetuneParams
from model.finetune.readers import WORD, sentence_spans

FOLDS_DIR = "folds"
DEFAULT_GROUP_PATTERN = r"^(.+?)[_-]"

# What suits a 1-2k note corpus on CPU (measured on real nursing notes, docs/deid.md): a few epochs at a
# higher rate than BERT's 5e-5, which MiniLM-sized encoders need to move in so few steps.
DEFAULT_PARAMS = FinetuneParams(epochs=4, learning_rate=1e-4, batch_size=16, max_length=128, seed=13)


def tagger_params(config: Path | None) -> FinetuneParams:
    """``DEFAULT_PARAMS`` with the settings of the fine-tuning YAML ``config`` on top: a YAML that sets only
    ``epochs`` keeps the tagger's rate and length, not the generic fine-tuning defaults."""
    if config is None:
        return DEFAULT_PARAMS
    return FinetuneParams.model_validate({**DEFAULT_PARAMS.model_dump(exclude_unset=True),
                                          **FinetuneParams.from_yaml(config).model_dump(exclude_unset=True)})


@dataclass(frozen=True)
class TrainConfig:
    negative_fraction: float = 0.2
    surrogate_copies: int = 0  # see ``model.finetune.deid_augment``
    seed: int = 13
    group_pattern: str = DEFAULT_GROUP_PATTERN


def patient_of(note_id: str, pattern: str = DEFAULT_GROUP_PATTERN) -> str:
    m = re.match(pattern, note_id)
    return m.group(1) if m else note_id


def bio_sentences(note: GoldNote) -> list[tuple[list[str], list[str]]]:
    """(words, BIO tags) per sentence; only safe-harbor gold spans with a category of ours are entities."""
    ents = sorted((g for g in note.spans if g.safe_harbor and g.category), key=lambda g: (g.start, -(g.end - g.start)))
    out = []
    for s0, s1 in sentence_spans(note.text, ents):
        words = [(m.start(), m.end(), m.group()) for m in WORD.finditer(note.text, s0, s1)]
        if not words:
            continue
        tags = ["O"] * len(words)
        for g in ents:
            if g.end <= s0 or g.start >= s1:
                continue
            idx = [i for i, (a, b, _) in enumerate(words) if a < g.end and b > g.start]
            if not idx or any(tags[i] != "O" for i in idx):
                continue  # overlapping gold: the earlier, longer span keeps the words
            tags[idx[0]] = f"B-{g.category}"
            for i in idx[1:]:
                tags[i] = f"I-{g.category}"
        out.append(([w for _, _, w in words], tags))
    return out


def write_conll(
    notes: Sequence[GoldNote], path: Path, negative_fraction: float, seed: int, surrogate_copies: int = 0
) -> Counter:
    """CoNLL ``word<TAB>tag`` of ``notes``, PHI-free sentences sampled, and the PHI sentences of
    ``surrogate_copies`` copies of each note with other PHI values (``deid_augment``); returns counts (no text)."""
    rng = random.Random(seed)
    copy_rng = random.Random(seed + 1)  # its own stream: copies do not change which negatives are sampled
    counts: Counter = Counter()
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:

        def write(words: list[str], tags: list[str]) -> None:
            counts.update(t[2:] for t in tags if t.startswith("B-"))
            fh.writelines(f"{w}\t{t}\n" for w, t in zip(words, tags, strict=True))
            fh.write("\n")

        for note in notes:
            for words, tags in bio_sentences(note):
                has_phi = any(t != "O" for t in tags)
                if not has_phi and rng.random() >= negative_fraction:
                    counts["sentences_without_phi_skipped"] += 1
                    continue
                counts["sentences_with_phi" if has_phi else "sentences_without_phi"] += 1
                write(words, tags)
            if not any(g.safe_harbor and g.category for g in note.spans):
                continue
            for _ in range(surrogate_copies):
                for words, tags in bio_sentences(surrogate_copy(note, copy_rng)):
                    if any(t != "O" for t in tags):
                        counts["surrogate_sentences"] += 1
                        write(words, tags)
    return counts


def synthetic_notes(n: int, seed: int) -> list[GoldNote]:
    """``n`` notes of the synthetic generator's dev profile, with their labels, as gold."""
    from pipeline.synth.generator import generate

    corpus = generate(n, seed=seed, profile="dev")
    labels = corpus.labels_by_note()
    out = []
    for note in corpus.notes:
        if not note.text.strip():
            continue
        spans = [GoldSpan(s.start, s.end, s.category, *GOLD_CATEGORIES[s.category]) for s in labels[note.note_id]]
        out.append(GoldNote(f"synth_{note.note_id}", note.text, spans))
    return out


def read_corpus(gold: Sequence[Path], synthetic: int = 0, seed: int = 13) -> tuple[list[GoldNote], list[GoldNote]]:
    """The gold notes and the synthetic ones, apart: only gold notes are split into folds."""
    notes = [n for g in gold for n in read_gold(Path(g))]
    extra = synthetic_notes(synthetic, seed) if synthetic else []
    if not notes and not extra:
        raise ValueError("deid-train: no training notes (give --gold folders or --synthetic N)")
    return notes, extra


def _train_one(
    notes: Sequence[GoldNote], out: Path, base: Path, work: Path, data_root: Path, params: FinetuneParams,
    config: TrainConfig, progress: Callable[[int, int], None] | None,
) -> dict[str, Any]:
    from model.finetune.run import finetune

    counts = write_conll(notes, work / "train.tsv", config.negative_fraction, config.seed, config.surrogate_copies)
    ds, computed = finetune("ner", base, {"train": work / "train.tsv"}, data_root, params, progress=progress)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    for name in ("task.json", "head.pt"):
        shutil.copy2(ds.path / name, out / name)
    shutil.copytree(ds.path / "model", out / "model")
    report = json.loads((ds.path / "metrics.json").read_text())
    info = {
        "base_checkpoint": str(base),
        "finetune_dataset": {"stage": ds.stage, "fingerprint": ds.fingerprint},
        "trained_now": computed,
        "params": params.model_dump(mode="json"),
        "negative_fraction": config.negative_fraction,
        "surrogate_copies": config.surrogate_copies,
        "notes": len(notes),
        "counts": dict(counts),
        "dev_scores": report.get("metrics", {}),
        "train_note_sha256": sorted(text_digest(n.text) for n in notes),
    }
    (out / TAGGER_FILE).write_text(json.dumps(info, indent=1, sort_keys=True))
    return info


def train_tagger(
    gold: Sequence[Path], out: Path, base: Path, data_root: Path, *, synthetic: int = 0, folds: int = 0,
    params: FinetuneParams | None = None, config: TrainConfig | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> dict[str, Any]:
    """Train the tagger on every note (``out``) and, with ``folds`` >= 2, one per held-out patient group."""
    params = params or DEFAULT_PARAMS
    config = config or TrainConfig()
    notes, extra = read_corpus(gold, synthetic, config.seed)
    out = Path(out)
    Path(data_root).mkdir(parents=True, exist_ok=True)
    # the CoNLL files hold note words: a private temporary folder, removed however training ends
    work = Path(tempfile.mkdtemp(prefix=".deid-train-", dir=data_root))
    try:
        return _train_all(notes, extra, out, Path(base), work, Path(data_root), folds, params, config, progress)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _train_all(
    notes: Sequence[GoldNote], extra: Sequence[GoldNote], out: Path, base: Path, work: Path, data_root: Path,
    folds: int, params: FinetuneParams, config: TrainConfig, progress: Callable[[str, int, int], None] | None,
) -> dict[str, Any]:
    """``extra`` (synthetic) notes train every model and are never held out: a fold holds out patients, and
    the generator's notes are nobody's (as one group they would leave one fold without any of them)."""
    summary: dict[str, Any] = {"notes": len(notes) + len(extra), "synthetic_notes": len(extra)}
    if folds:
        if folds < 2:
            raise ValueError("--folds must be 0 (none) or at least 2")
        groups = sorted({patient_of(n.note_id, config.group_pattern) for n in notes})
        if len(groups) < folds:
            raise ValueError(f"{len(groups)} patient groups cannot make {folds} folds (see --group-pattern)")
        order = groups[:]
        random.Random(config.seed).shuffle(order)
        fold_of = {g: i % folds for i, g in enumerate(order)}
        summary["folds"] = []
        for k in range(folds):
            train = [n for n in notes if fold_of[patient_of(n.note_id, config.group_pattern)] != k] + list(extra)
            fold_dir = out / FOLDS_DIR / str(k)
            info = _train_one(train, fold_dir, base, work / f"fold{k}", data_root, params, config,
                              (lambda s, t, k=k: progress(f"fold {k + 1}/{folds}", s, t)) if progress else None)
            summary["folds"].append({"fold": k, "train_notes": len(train), "dev_scores": info["dev_scores"]})
    folds_kept = out / FOLDS_DIR
    keep = None
    if folds_kept.exists():  # _train_one replaces ``out``: keep the fold models beside the full one
        keep = out.parent / f".{out.name}.folds"
        if keep.exists():
            shutil.rmtree(keep)
        shutil.move(str(folds_kept), keep)
    info = _train_one([*notes, *extra], out, base, work / "all", data_root, params, config,
                      (lambda s, t: progress("all notes", s, t)) if progress else None)
    if keep is not None:
        shutil.move(str(keep), out / FOLDS_DIR)
    summary["dev_scores"] = info["dev_scores"]
    return summary
