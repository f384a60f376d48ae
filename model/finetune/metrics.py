"""Evaluation metrics of the five fine-tuning tasks, as the paper and the shared tasks score them.

Written out here rather than imported because each one is small, and because the reported numbers must
mean exactly what the literature means by them:

* NER: entity-level micro precision/recall/F1, an entity counting only when span *and* type match exactly.
  Entities are read from BIO tags the way ``seqeval`` does by default (the conlleval rules: an ``I-X``
  after ``O`` or after another type opens an entity) or, with ``mode="strict"``, the way
  ``seqeval``'s strict IOB2 mode does (only ``B-X I-X*`` runs are entities). Tests check both against
  ``seqeval`` on the same predictions.
* Relation extraction: micro P/R/F1 over the positive relation types (the "no relation" label is neither
  a hit nor a prediction), as n2c2-2018 track 2 reports.
* STS: Pearson correlation. NLI: accuracy.
* QA: exact match and token F1 after the official SQuAD normalisation (lower case, drop punctuation and
  the articles a/an/the, collapse whitespace), max over the gold answers, averaged over questions; an
  unanswerable (SQuAD 2.0) question's only gold answer is the empty string, as in the official v2 script.
"""

from __future__ import annotations

import collections
import math
import re
import string
from collections.abc import Sequence
from typing import Literal

NerMode = Literal["conlleval", "strict"]


# --- NER -----------------------------------------------------------------------------------------------


def _split_tag(tag: str) -> tuple[str, str]:
    """``"B-Drug"`` -> ``("B", "Drug")``; ``"O"`` -> ``("O", "_")`` (seqeval's type for untyped tags is ``_``)."""
    prefix, type_ = tag[0], tag[1:].split("-", maxsplit=1)[-1] or "_"
    if prefix not in "BIO":
        raise ValueError(f"not a BIO tag: {tag!r}")
    return prefix, type_


def entities(tags: Sequence[str], mode: NerMode = "conlleval") -> set[tuple[str, int, int]]:
    """Entities of one tag sequence as ``(type, first, last)`` word indices (inclusive)."""
    found: set[tuple[str, int, int]] = set()
    start: int | None = None
    prev_prefix, prev_type = "O", "_"
    for i, tag in enumerate([*tags, "O"]):
        prefix, type_ = _split_tag(tag)
        if mode == "strict":
            continues = prefix == "I" and start is not None and type_ == prev_type
            opens = prefix == "B"
        else:
            continues = prefix == "I" and prev_prefix != "O" and type_ == prev_type
            opens = prefix == "B" or (prefix == "I" and not continues)
        if start is not None and not continues:
            found.add((prev_type, start, i - 1))
            start = None
        if opens:
            start = i
        prev_prefix, prev_type = prefix, type_
    return found


def prf(tp: int, n_pred: int, n_gold: int) -> dict[str, float]:
    """Precision, recall, F1 from counts; 0 where a denominator is 0 (seqeval's ``zero_division=0``)."""
    p = tp / n_pred if n_pred else 0.0
    r = tp / n_gold if n_gold else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": p, "recall": r, "f1": f}


def ner_scores(gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]], mode: NerMode = "conlleval") -> dict[str, float]:
    """Entity-level micro P/R/F1 over sentences of BIO tags (strict span + type match)."""
    if len(gold) != len(pred) or any(len(g) != len(p) for g, p in zip(gold, pred)):
        raise ValueError("gold and predicted tag sequences differ in shape")
    tp = n_pred = n_gold = 0
    for g, p in zip(gold, pred):
        ge, pe = entities(g, mode), entities(p, mode)
        tp += len(ge & pe)
        n_pred += len(pe)
        n_gold += len(ge)
    return {**prf(tp, n_pred, n_gold), "n_gold": n_gold, "n_pred": n_pred}


# --- relation extraction, classification, regression ---------------------------------------------------


def relation_scores(gold: Sequence[str], pred: Sequence[str], negative: str, missed: int = 0) -> dict[str, float]:
    """Micro P/R/F1 over positive relation types: a prediction is a hit if it equals a positive gold label.

    ``missed`` gold relations were never candidates (e.g. too far apart to be paired): they count as false
    negatives, so recall is over all gold relations, not only the classified ones.
    """
    if len(gold) != len(pred):
        raise ValueError("gold and predicted labels differ in length")
    tp = sum(1 for g, p in zip(gold, pred) if g == p and g != negative)
    n_pred = sum(1 for p in pred if p != negative)
    n_gold = sum(1 for g in gold if g != negative) + missed
    return {**prf(tp, n_pred, n_gold), "n_gold": n_gold, "n_pred": n_pred}


def accuracy(gold: Sequence[object], pred: Sequence[object]) -> dict[str, float]:
    if len(gold) != len(pred) or not gold:
        raise ValueError("accuracy needs two non-empty sequences of the same length")
    return {"accuracy": sum(1 for g, p in zip(gold, pred) if g == p) / len(gold)}


def pearson(x: Sequence[float], y: Sequence[float]) -> float:
    """Pearson's r; 0.0 when either side is constant (a constant predictor carries no correlation)."""
    if len(x) != len(y) or len(x) < 2:
        raise ValueError("pearson needs two sequences of the same length >= 2")
    mx, my = math.fsum(x) / len(x), math.fsum(y) / len(y)
    sxy = math.fsum((a - mx) * (b - my) for a, b in zip(x, y))
    sxx = math.fsum((a - mx) ** 2 for a in x)
    syy = math.fsum((b - my) ** 2 for b in y)
    if sxx == 0 or syy == 0:
        return 0.0
    return sxy / math.sqrt(sxx * syy)


def sts_scores(gold: Sequence[float], pred: Sequence[float]) -> dict[str, float]:
    mse = math.fsum((g - p) ** 2 for g, p in zip(gold, pred)) / len(gold)
    return {"pearson": pearson(gold, pred), "mse": mse}


# --- SQuAD ---------------------------------------------------------------------------------------------

_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)
_PUNCT = set(string.punctuation)


def normalize_answer(s: str) -> str:
    """The official SQuAD v1.1/v2.0 normalisation: lower, drop punctuation, drop articles, fix whitespace."""
    s = s.lower()
    s = "".join(ch for ch in s if ch not in _PUNCT)
    s = _ARTICLES.sub(" ", s)
    return " ".join(s.split())


def exact_match(prediction: str, gold: str) -> float:
    return float(normalize_answer(prediction) == normalize_answer(gold))


def token_f1(prediction: str, gold: str) -> float:
    """Bag-of-tokens F1 after normalisation; two empty answers agree (official v2.0 rule)."""
    pred_toks, gold_toks = normalize_answer(prediction).split(), normalize_answer(gold).split()
    if not pred_toks or not gold_toks:
        return float(pred_toks == gold_toks)
    common = collections.Counter(pred_toks) & collections.Counter(gold_toks)
    same = sum(common.values())
    if same == 0:
        return 0.0
    p, r = same / len(pred_toks), same / len(gold_toks)
    return 2 * p * r / (p + r)


def squad_scores(gold_answers: Sequence[Sequence[str]], predictions: Sequence[str]) -> dict[str, float]:
    """Mean EM and F1 (as fractions, not percentages), each the max over a question's gold answers.

    A question with no gold answer is unanswerable: its only gold answer is ``""``.
    """
    if len(gold_answers) != len(predictions) or not predictions:
        raise ValueError("squad_scores needs one prediction per question and at least one question")
    em = f1 = 0.0
    for golds, pred in zip(gold_answers, predictions):
        golds = [g for g in golds if normalize_answer(g)] or [""]
        em += max(exact_match(pred, g) for g in golds)
        f1 += max(token_f1(pred, g) for g in golds)
    n = len(predictions)
    return {"exact_match": em / n, "f1": f1 / n}
