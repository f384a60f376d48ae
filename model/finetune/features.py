"""Examples -> model inputs for NER, relation extraction and sentence pairs (QA windows live in ``qa.py``).

A feature is a dict of plain lists (``input_ids``, ``token_type_ids``, plus the task's targets and the
bookkeeping needed to map predictions back to examples); :func:`collate` pads a batch of them into tensors.
Nothing here depends on the checkpoint's architecture, only on a fast tokenizer with BERT's special tokens.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from model.finetune.readers import NerSentence, PairExample, RelationExample

IGNORE = -100
"""Label of sub-tokens that are not scored: continuation pieces, special tokens, padding."""

MARKERS = ("[S1]", "[E1]", "[S2]", "[E2]")

Feature = dict[str, Any]


def ensure_markers(tokenizer) -> int:  # noqa: ANN001 - any transformers fast tokenizer
    """Make each entity marker one unsplittable token; returns how many had to be added to the vocabulary.

    Our own vocabulary already has them (ids 24-27, ``pipeline.vocab``); a general checkpoint does not, and
    its embedding matrix must then grow by the returned number (new rows are trained from scratch).
    """
    unk = tokenizer.unk_token_id
    missing = [m for m in MARKERS if tokenizer.convert_tokens_to_ids(m) in (None, unk)]
    added = tokenizer.add_tokens(missing, special_tokens=True) if missing else 0
    for m in MARKERS:
        if tokenizer(m, add_special_tokens=False)["input_ids"] != [tokenizer.convert_tokens_to_ids(m)]:
            raise ValueError(f"the tokenizer splits the entity marker {m}")
    return added


# --- NER -----------------------------------------------------------------------------------------------


def _word_chunks(n_pieces: Sequence[int], budget: int) -> list[tuple[int, int]]:
    """Consecutive word ranges whose sub-token counts fit ``budget`` (a longer single word is cut later)."""
    chunks, start, used = [], 0, 0
    for i, n in enumerate(n_pieces):
        if used + n > budget and i > start:
            chunks.append((start, i))
            start, used = i, 0
        used += n
    chunks.append((start, len(n_pieces)))
    return chunks


def ner_features(
    sentences: Sequence[NerSentence], tokenizer, label2id: dict[str, int], max_length: int, case_types: bool = False  # noqa: ANN001
) -> list[Feature]:
    """One feature per sentence, or per word window when a sentence does not fit ``max_length``.

    The label sits on each word's first sub-token (the paper's "BIO tag per word"); long sentences are cut
    between words rather than truncated, so every word gets a prediction and the scores are not inflated
    by silently dropped words. ``case_types``: the sub-tokens of a word that starts with a capital letter get
    token type 1 -- an uncased tokenizer folds "Bill" into "bill", and the segment embedding BERT already has
    is a way to give case back without a new input.
    """
    whole = tokenizer([list(s.words) for s in sentences], is_split_into_words=True, add_special_tokens=False)
    chunks: list[tuple[int, int, int]] = []
    for si, sent in enumerate(sentences):
        n_pieces = [0] * len(sent.words)
        for w in whole.word_ids(si):
            n_pieces[w] += 1
        chunks.extend((si, w0, w1) for w0, w1 in _word_chunks(n_pieces, max_length - 2))
    enc = tokenizer(
        [list(sentences[si].words[w0:w1]) for si, w0, w1 in chunks], is_split_into_words=True, truncation=True, max_length=max_length
    )
    features: list[Feature] = []
    for k, (si, w0, _) in enumerate(chunks):
        tags = sentences[si].tags
        words = sentences[si].words
        labels, firsts, prev = [], [], None
        types = [int(case_types and w is not None and words[w0 + w][:1].isupper()) for w in enc.word_ids(k)]
        for pos, w in enumerate(enc.word_ids(k)):
            if w is not None and w != prev:
                labels.append(label2id.get(tags[w0 + w], IGNORE) if tags else IGNORE)
                firsts.append((pos, w0 + w))
            else:
                labels.append(IGNORE)
            prev = w
        ids = enc["input_ids"][k]
        features.append({"input_ids": ids, "token_type_ids": types, "labels": labels, "sentence": si, "first_tokens": firsts})
    return features


def ner_decode(sentences: Sequence[NerSentence], features: Sequence[Feature], logits: Sequence[torch.Tensor], id2label: Sequence[str]) -> list[list[str]]:
    """Predicted tag per word; a word with no sub-token (an unknown control character) gets ``O``."""
    pred = [["O"] * len(s.words) for s in sentences]
    for feat, lg in zip(features, logits):
        best = lg.argmax(-1).tolist()
        for pos, w in feat["first_tokens"]:
            pred[feat["sentence"]][w] = id2label[best[pos]]
    return pred


# --- relation extraction and sentence pairs ------------------------------------------------------------


def _mark(text: str, span: tuple[int, int], open_: str, close: str) -> str:
    a, b = span
    return f"{text[:a]} {open_} {text[a:b]} {close} {text[b:]}"


def relation_features(examples: Sequence[RelationExample], tokenizer, label2id: dict[str, int], max_length: int) -> tuple[list[Feature], int]:  # noqa: ANN001
    """``[CLS] sentence-with-[S1]..[E1] [SEP] sentence-with-[S2]..[E2] [SEP]`` and the five positions the
    head reads ([CLS] and the four markers).

    Returns the features and how many examples lost a marker to truncation (that marker's position then
    points at [CLS]); keep it at zero by raising ``max_length``.
    """
    firsts = [_mark(e.text_a, e.span_a, "[S1]", "[E1]") for e in examples]
    seconds = [_mark(e.text_b, e.span_b, "[S2]", "[E2]") for e in examples]
    enc = tokenizer(firsts, seconds, truncation="longest_first", max_length=max_length)
    marker_ids = [tokenizer.convert_tokens_to_ids(m) for m in MARKERS]
    features, truncated = [], 0
    for i, ex in enumerate(examples):
        ids = enc["input_ids"][i]
        positions = [0]
        for mid in marker_ids:
            positions.append(ids.index(mid) if mid in ids else 0)
        truncated += 0 in positions[1:]
        features.append(
            {"input_ids": ids, "token_type_ids": enc["token_type_ids"][i], "markers": positions, "label": label2id.get(ex.label, IGNORE)}
        )
    return features, truncated


def pair_features(examples: Sequence[PairExample], tokenizer, max_length: int, label2id: dict[str, int] | None) -> list[Feature]:  # noqa: ANN001
    """``[CLS] a [SEP] b [SEP]``; the label is a class id (NLI) or the score itself (STS, ``label2id=None``)."""
    enc = tokenizer([e.text_a for e in examples], [e.text_b for e in examples], truncation="longest_first", max_length=max_length)
    return [
        {
            "input_ids": enc["input_ids"][i],
            "token_type_ids": enc["token_type_ids"][i],
            "label": float(ex.label) if label2id is None else label2id.get(str(ex.label), IGNORE),
        }
        for i, ex in enumerate(examples)
    ]


# --- batching ------------------------------------------------------------------------------------------


def collate(batch: Sequence[Feature], pad_id: int) -> dict[str, torch.Tensor]:
    """Pad to the longest sequence of the batch; keys other than the model's inputs and targets are dropped."""
    width = max(len(f["input_ids"]) for f in batch)
    out = {
        "input_ids": torch.full((len(batch), width), pad_id, dtype=torch.long),
        "token_type_ids": torch.zeros((len(batch), width), dtype=torch.long),
        "attention_mask": torch.zeros((len(batch), width), dtype=torch.long),
    }
    for i, f in enumerate(batch):
        n = len(f["input_ids"])
        out["input_ids"][i, :n] = torch.tensor(f["input_ids"])
        out["token_type_ids"][i, :n] = torch.tensor(f["token_type_ids"])
        out["attention_mask"][i, :n] = 1
    first = batch[0]
    if "labels" in first:
        labels = torch.full((len(batch), width), IGNORE, dtype=torch.long)
        for i, f in enumerate(batch):
            labels[i, : len(f["labels"])] = torch.tensor(f["labels"])
        out["labels"] = labels
    if "label" in first:
        dtype = torch.float if isinstance(first["label"], float) else torch.long
        out["label"] = torch.tensor([f["label"] for f in batch], dtype=dtype)
    if "markers" in first:
        out["markers"] = torch.tensor([f["markers"] for f in batch], dtype=torch.long)
    if "start" in first:
        out["start"] = torch.tensor([f["start"] for f in batch], dtype=torch.long)
        out["end"] = torch.tensor([f["end"] for f in batch], dtype=torch.long)
    return out
