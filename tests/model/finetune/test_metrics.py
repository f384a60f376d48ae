"""Metrics against hand-computed cases, seqeval (NER) and the official SQuAD v1.1 evaluation code (QA)."""

from __future__ import annotations

import collections
import random
import re
import string

import pytest
from scipy.stats import pearsonr
from seqeval import metrics as seqeval
from seqeval.scheme import IOB2

from model.finetune import metrics


# --- NER -----------------------------------------------------------------------------------------------


def test_ner_hand_computed() -> None:
    gold = [["B-Drug", "I-Drug", "O", "B-Problem"], ["O", "B-Problem", "I-Problem"]]
    pred = [["B-Drug", "I-Drug", "O", "B-Drug"], ["O", "B-Problem", "O"]]
    # gold: Drug(0-1), Problem(3), Problem(1-2); pred: Drug(0-1) hit, Drug(3) wrong type, Problem(1) wrong span
    s = metrics.ner_scores(gold, pred)
    assert (s["n_gold"], s["n_pred"]) == (3, 3)
    assert s["precision"] == pytest.approx(1 / 3) and s["recall"] == pytest.approx(1 / 3) and s["f1"] == pytest.approx(1 / 3)


def test_entities_conlleval_vs_strict() -> None:
    tags = ["I-A", "I-A", "O", "B-A", "I-B", "B-B", "I-B"]
    assert metrics.entities(tags) == {("A", 0, 1), ("A", 3, 3), ("B", 4, 4), ("B", 5, 6)}
    assert metrics.entities(tags, "strict") == {("A", 3, 3), ("B", 5, 6)}


def test_ner_empty_predictions_score_zero() -> None:
    s = metrics.ner_scores([["B-A", "O"]], [["O", "O"]])
    assert s == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "n_gold": 1, "n_pred": 0}


def test_ner_rejects_non_bio_tags_and_ragged_input() -> None:
    with pytest.raises(ValueError):
        metrics.ner_scores([["S-A"]], [["O"]])
    with pytest.raises(ValueError):
        metrics.ner_scores([["O", "O"]], [["O"]])


def _random_tags(rng: random.Random, n: int) -> list[str]:
    return [rng.choice(["O", "O", "B-A", "I-A", "B-B", "I-B"]) for _ in range(n)]


@pytest.mark.parametrize("mode", ["conlleval", "strict"])
def test_ner_matches_seqeval_on_random_predictions(mode: str) -> None:
    rng = random.Random(7)
    for _ in range(200):
        gold = [_random_tags(rng, rng.randint(1, 12)) for _ in range(rng.randint(1, 5))]
        pred = [[t if rng.random() < 0.6 else rng.choice(["O", "B-A", "I-A", "B-B", "I-B"]) for t in s] for s in gold]
        ours = metrics.ner_scores(gold, pred, mode)
        kw = {"mode": "strict", "scheme": IOB2} if mode == "strict" else {}
        assert ours["precision"] == pytest.approx(seqeval.precision_score(gold, pred, zero_division=0, **kw))
        assert ours["recall"] == pytest.approx(seqeval.recall_score(gold, pred, zero_division=0, **kw))
        assert ours["f1"] == pytest.approx(seqeval.f1_score(gold, pred, zero_division=0, **kw))


# --- relations, classification, regression -------------------------------------------------------------


def test_relation_scores_ignore_the_negative_label() -> None:
    gold = ["ADE", "Reason", "NONE", "NONE", "ADE"]
    pred = ["ADE", "ADE", "ADE", "NONE", "NONE"]
    # tp=1 (first), predicted positives=3, gold positives=3
    s = metrics.relation_scores(gold, pred, "NONE")
    assert (s["precision"], s["recall"]) == (pytest.approx(1 / 3), pytest.approx(1 / 3))
    # two gold relations that were never candidates are still misses
    s = metrics.relation_scores(gold, pred, "NONE", missed=2)
    assert s["recall"] == pytest.approx(1 / 5) and s["n_gold"] == 5 and s["precision"] == pytest.approx(1 / 3)
    assert s["f1"] == pytest.approx(2 * (1 / 3) * (1 / 5) / (1 / 3 + 1 / 5))


def test_accuracy_and_pearson_hand_computed() -> None:
    assert metrics.accuracy(["a", "b", "c", "a"], ["a", "b", "a", "b"]) == {"accuracy": 0.5}
    assert metrics.pearson([1, 2, 3, 4], [1, 3, 2, 4]) == pytest.approx(0.8)
    assert metrics.pearson([1, 2, 3], [6, 4, 2]) == pytest.approx(-1.0)
    assert metrics.pearson([1, 2, 3], [2, 2, 2]) == 0.0  # a constant predictor carries no correlation
    s = metrics.sts_scores([1.0, 2.0, 3.0], [1.0, 2.0, 5.0])
    assert s["mse"] == pytest.approx(4 / 3)


def test_pearson_matches_scipy() -> None:
    rng = random.Random(3)
    for _ in range(20):
        x = [rng.uniform(0, 5) for _ in range(30)]
        y = [v + rng.gauss(0, 1) for v in x]
        assert metrics.pearson(x, y) == pytest.approx(pearsonr(x, y)[0])


# --- SQuAD ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "normalised"),
    [
        ("The Cat!", "cat"),
        ("an apple, the pear.", "apple pear"),
        ("  Denver   Broncos ", "denver broncos"),
        ("U.S. Army", "us army"),
        ("state-of-the-art", "stateoftheart"),  # punctuation goes first, so 'the' is not a separate word
        ("Theatre A", "theatre"),  # articles only as whole words
        ("", ""),
    ],
)
def test_normalize_answer_known_cases(text: str, normalised: str) -> None:
    assert metrics.normalize_answer(text) == normalised


def test_squad_em_f1_known_cases() -> None:
    assert metrics.exact_match("Steam engine", "the steam engine.") == 1.0
    assert metrics.token_f1("steam engine", "the steam engine of watt") == pytest.approx(2 / 3)
    assert metrics.token_f1("x b b", "b b c") == pytest.approx(2 / 3)  # bag of tokens with counts
    assert metrics.token_f1("a b b", "b b c") == pytest.approx(0.8)  # "a" is an article: dropped
    assert metrics.token_f1("", "") == 1.0 and metrics.token_f1("x", "") == 0.0
    s = metrics.squad_scores([["Denver Broncos", "The Broncos"], ["1990"], []], ["Broncos", "in 1990", ""])
    # q1: EM 1 (matches "The Broncos"), q2: EM 0 / F1 2/3, q3: unanswerable and empty prediction: 1/1
    assert s["exact_match"] == pytest.approx(2 / 3)
    assert s["f1"] == pytest.approx((1 + 2 / 3 + 1) / 3)


# Reference: the official SQuAD v1.1 evaluation functions (evaluate-v1.1.py), verbatim in logic.
def _official_normalize(s: str) -> str:
    def remove_articles(text: str) -> str:
        return re.sub(r"\b(a|an|the)\b", " ", text)

    def white_space_fix(text: str) -> str:
        return " ".join(text.split())

    def remove_punc(text: str) -> str:
        exclude = set(string.punctuation)
        return "".join(ch for ch in text if ch not in exclude)

    return white_space_fix(remove_articles(remove_punc(s.lower())))


def _official_f1(prediction: str, ground_truth: str) -> float:
    prediction_tokens = _official_normalize(prediction).split()
    ground_truth_tokens = _official_normalize(ground_truth).split()
    common = collections.Counter(prediction_tokens) & collections.Counter(ground_truth_tokens)
    num_same = sum(common.values())
    if num_same == 0:
        return 0
    precision = 1.0 * num_same / len(prediction_tokens)
    recall = 1.0 * num_same / len(ground_truth_tokens)
    return (2 * precision * recall) / (precision + recall)


def test_squad_matches_official_v11_logic_on_random_answers() -> None:
    rng = random.Random(11)
    words = ["The", "a", "an", "cat", "Cat,", "dog.", "U.S.", "state-of-the-art", "mg", "10", "the", "b.i.d."]
    for _ in range(500):
        pred = " ".join(rng.choice(words) for _ in range(rng.randint(1, 5)))
        gold = " ".join(rng.choice(words) for _ in range(rng.randint(1, 5)))
        assert metrics.normalize_answer(pred) == _official_normalize(pred)
        if _official_normalize(gold):  # v1.1 has no empty gold answers
            assert metrics.token_f1(pred, gold) == pytest.approx(_official_f1(pred, gold))
            assert metrics.exact_match(pred, gold) == float(_official_normalize(pred) == _official_normalize(gold))
