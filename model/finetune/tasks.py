"""The five tasks as specs: how each reads its data, which head it uses, how it featurises and scores.

A spec is the only task-specific code the generic runner (``run.py``) calls; each also defines the trivial
baseline its scores must beat (all ``O`` / majority class / mean score / empty answer), reported next to
the model's scores so that a number can always be read against "learnt nothing".
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from model.finetune import metrics
from model.finetune.features import Feature, ner_decode, ner_features, pair_features, relation_features
from model.finetune.params import FinetuneParams
from model.finetune.qa import QaLimits, qa_decode, qa_features
from model.finetune.readers import (
    FormatError,
    ReadStats,
    read_brat_ner,
    read_brat_relations,
    read_conll,
    read_i2b2,
    read_nli_jsonl,
    read_relation_jsonl,
    read_squad,
    read_sts_tsv,
    relation_type_pairs,
)


@dataclass
class Context:
    """What featurising and scoring need beyond the examples: labels, limits, reader counts."""

    params: FinetuneParams
    labels: list[str]
    stats: ReadStats
    max_positions: int
    allow_empty_answer: bool = False


class TaskSpec:
    name: str
    head: str
    primary: str

    def read(self, path: Path, train_path: Path, params: FinetuneParams, stats: ReadStats) -> list[Any]:
        raise NotImplementedError

    def labels(self, train: Sequence[Any], params: FinetuneParams) -> list[str]:
        return []

    def n_outputs(self, ctx: Context) -> int:
        return len(ctx.labels)

    def features(self, examples: Sequence[Any], tokenizer, ctx: Context) -> list[Feature]:  # noqa: ANN001
        raise NotImplementedError

    def score(self, examples: Sequence[Any], features: Sequence[Feature], logits: Sequence[torch.Tensor], ctx: Context) -> dict[str, float]:
        raise NotImplementedError

    def baseline(self, train: Sequence[Any], examples: Sequence[Any], ctx: Context) -> dict[str, float]:
        raise NotImplementedError


def _max_length(ctx: Context) -> int:
    return min(ctx.params.max_length, ctx.max_positions)


def _folder_kind(folder: Path) -> str:
    if any(folder.glob("*.con")):
        return "i2b2"
    if any(folder.glob("*.ann")):
        return "brat"
    raise FormatError(f"{folder}: neither i2b2 (.txt + .con) nor brat (.txt + .ann) files")


class Ner(TaskSpec):
    name, head, primary = "ner", "token", "f1"

    def read(self, path, train_path, params, stats):
        if path.is_file():
            return read_conll(path)
        reader = read_i2b2 if _folder_kind(path) == "i2b2" else read_brat_ner
        return reader(path, types=params.ner_entity_types, stats=stats)

    def labels(self, train, params):
        return ["O", *sorted({t for s in train for t in s.tags} - {"O"})]

    def features(self, examples, tokenizer, ctx):
        return ner_features(
            examples, tokenizer, {t: i for i, t in enumerate(ctx.labels)}, _max_length(ctx), ctx.params.ner_case_types
        )

    def score(self, examples, features, logits, ctx):
        pred = ner_decode(examples, features, logits, ctx.labels)
        return metrics.ner_scores([s.tags for s in examples], pred, ctx.params.ner_mode)

    def baseline(self, train, examples, ctx):
        return metrics.ner_scores([s.tags for s in examples], [["O"] * len(s.tags) for s in examples], ctx.params.ner_mode)


class Relation(TaskSpec):
    name, head, primary = "re", "markers", "f1"

    def read(self, path, train_path, params, stats):
        if path.is_file():
            return read_relation_jsonl(path)
        pairs = relation_type_pairs(train_path)
        return read_brat_relations(path, pairs, params.re_negative_label, params.re_max_sentence_distance, stats)

    def labels(self, train, params):
        neg = params.re_negative_label
        return [neg, *sorted({e.label for e in train} - {neg})]

    def features(self, examples, tokenizer, ctx):
        feats, truncated = relation_features(examples, tokenizer, {t: i for i, t in enumerate(ctx.labels)}, _max_length(ctx))
        ctx.stats.skipped["markers_truncated"] += truncated
        return feats

    def _scores(self, gold: Sequence[str], pred: Sequence[str], ctx: Context) -> dict[str, float]:
        return metrics.relation_scores(gold, pred, ctx.params.re_negative_label, ctx.stats.missed_relations)

    def score(self, examples, features, logits, ctx):
        pred = [ctx.labels[int(lg.argmax())] for lg in logits]
        return self._scores([e.label for e in examples], pred, ctx)

    def baseline(self, train, examples, ctx):
        majority = Counter(e.label for e in train).most_common(1)[0][0]
        return self._scores([e.label for e in examples], [majority] * len(examples), ctx)


class Sts(TaskSpec):
    name, head, primary = "sts", "cls", "pearson"

    def read(self, path, train_path, params, stats):
        return read_sts_tsv(path)

    def n_outputs(self, ctx):
        return 1

    def features(self, examples, tokenizer, ctx):
        return pair_features(examples, tokenizer, _max_length(ctx), None)

    def score(self, examples, features, logits, ctx):
        return metrics.sts_scores([float(e.label) for e in examples], [float(lg[0]) for lg in logits])

    def baseline(self, train, examples, ctx):
        mean = sum(float(e.label) for e in train) / len(train)
        return metrics.sts_scores([float(e.label) for e in examples], [mean] * len(examples))


class Nli(TaskSpec):
    name, head, primary = "nli", "cls", "accuracy"

    def read(self, path, train_path, params, stats):
        return read_nli_jsonl(path, stats)

    def labels(self, train, params):
        return sorted({str(e.label) for e in train})

    def features(self, examples, tokenizer, ctx):
        return pair_features(examples, tokenizer, _max_length(ctx), {t: i for i, t in enumerate(ctx.labels)})

    def score(self, examples, features, logits, ctx):
        return metrics.accuracy([e.label for e in examples], [ctx.labels[int(lg.argmax())] for lg in logits])

    def baseline(self, train, examples, ctx):
        majority = Counter(e.label for e in train).most_common(1)[0][0]
        return metrics.accuracy([e.label for e in examples], [majority] * len(examples))


class Qa(TaskSpec):
    name, head, primary = "qa", "span", "f1"

    def read(self, path, train_path, params, stats):
        return read_squad(path)

    def n_outputs(self, ctx):
        return 2

    def _limits(self, ctx: Context) -> QaLimits:
        p = ctx.params
        return QaLimits(p.qa_max_question_tokens, p.qa_window_tokens, p.qa_stride_tokens, p.qa_max_answer_tokens,
                        min(p.qa_max_seq_length, ctx.max_positions))

    def features(self, examples, tokenizer, ctx):
        return qa_features(examples, tokenizer, self._limits(ctx))

    def score(self, examples, features, logits, ctx):
        pred = qa_decode(examples, features, logits, ctx.params.qa_max_answer_tokens, ctx.allow_empty_answer)
        return metrics.squad_scores([[a for a, _ in e.answers] for e in examples], pred)

    def baseline(self, train, examples, ctx):
        return metrics.squad_scores([[a for a, _ in e.answers] for e in examples], [""] * len(examples))


SPECS: dict[str, TaskSpec] = {s.name: s for s in (Ner(), Relation(), Sts(), Nli(), Qa())}
