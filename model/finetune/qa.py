"""Question answering inputs and answers: the paper's sliding windows over long contexts.

The paper packs ``[CLS] question [SEP] context-window [SEP]`` with the question truncated to 64 tokens,
context windows of 446 tokens started every 396 tokens (so consecutive windows share 50 tokens), and
answers of at most 32 tokens. Its 64 + 446 + 3 special tokens would be 513, one more than a 512-position
model holds, so a window is shortened to ``max_seq_length - 3 - len(question)`` tokens when it must be
(only a question of the full 64 tokens costs the window one token).

The context is tokenised once with character offsets; windows are slices of that token list, so an answer
maps to token positions exactly and back to the original characters of the context.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from model.finetune.features import Feature
from model.finetune.readers import QaExample


@dataclass(frozen=True)
class QaLimits:
    max_question_tokens: int = 64
    window_tokens: int = 446
    stride_tokens: int = 396
    max_answer_tokens: int = 32
    max_seq_length: int = 512


def _window_starts(n_tokens: int, window: int, stride: int) -> list[int]:
    """Starts of windows of ``window`` tokens, ``stride`` apart, until one reaches the end of the context."""
    starts = [0]
    while starts[-1] + window < n_tokens:
        starts.append(starts[-1] + stride)
    return starts


def _answer_tokens(offsets: Sequence[tuple[int, int]], start: int, end: int) -> tuple[int, int] | None:
    """First and last context token overlapping characters ``[start, end)``."""
    hit = [t for t, (a, b) in enumerate(offsets) if a < end and b > start]
    return (hit[0], hit[-1]) if hit else None


def qa_features(examples: Sequence[QaExample], tokenizer, limits: QaLimits) -> list[Feature]:  # noqa: ANN001
    """One feature per (question, window). The target is the first gold answer's token span when the
    window contains all of it, else ``[CLS]`` (position 0): "no answer here"."""
    if not 0 < limits.stride_tokens <= limits.window_tokens:
        raise ValueError("the QA stride must be positive and at most the window")
    questions = tokenizer([e.question for e in examples], add_special_tokens=False)["input_ids"]
    contexts = tokenizer([e.context for e in examples], add_special_tokens=False, return_offsets_mapping=True)
    cls, sep = tokenizer.cls_token_id, tokenizer.sep_token_id
    features: list[Feature] = []
    for i, ex in enumerate(examples):
        q = questions[i][: limits.max_question_tokens]
        ctx, offsets = contexts["input_ids"][i], [tuple(o) for o in contexts["offset_mapping"][i]]
        window = min(limits.window_tokens, limits.max_seq_length - 3 - len(q))
        stride = min(limits.stride_tokens, window)
        answer = None
        if ex.answers:
            text, start = ex.answers[0]
            answer = _answer_tokens(offsets, start, start + len(text))
        first = len(q) + 2  # position of the first context token
        for w0 in _window_starts(len(ctx), window, stride):
            w1 = min(w0 + window, len(ctx))
            ids = [cls, *q, sep, *ctx[w0:w1], sep]
            s = e = 0
            if answer is not None and w0 <= answer[0] and answer[1] < w1:
                s, e = answer[0] - w0 + first, answer[1] - w0 + first
            features.append(
                {"input_ids": ids, "token_type_ids": [0] * first + [1] * (w1 - w0 + 1), "start": s, "end": e,
                 "example": i, "context_start": first, "offsets": offsets[w0:w1]}
            )
    return features


def qa_decode(
    examples: Sequence[QaExample],
    features: Sequence[Feature],
    logits: Sequence[torch.Tensor],
    max_answer_tokens: int,
    allow_empty: bool,
) -> list[str]:
    """The best answer per question over all its windows: the context span (start <= end, at most
    ``max_answer_tokens`` tokens) maximising start + end logit. With ``allow_empty`` (SQuAD 2.0 data) the
    answer is ``""`` when the [CLS] "no answer" score of some window beats every span, as in the reference
    BERT implementation.

    ``logits[k]`` is a ``(seq_len, 2)`` tensor of start and end logits for ``features[k]``.
    """
    best: list[tuple[float, str]] = [(float("-inf"), "")] * len(examples)
    null: list[float] = [float("inf")] * len(examples)
    for feat, lg in zip(features, logits):
        i, c0, n = feat["example"], feat["context_start"], len(feat["offsets"])
        null[i] = min(null[i], float(lg[0, 0] + lg[0, 1]))
        if n == 0:
            continue
        starts, ends = lg[c0 : c0 + n, 0], lg[c0 : c0 + n, 1]
        scores = starts[:, None] + ends[None, :]
        band = torch.ones(n, n, dtype=torch.bool).triu().tril(max_answer_tokens - 1)
        scores = scores.masked_fill(~band, float("-inf"))
        flat = int(scores.argmax())
        a, b = divmod(flat, n)
        score = float(scores[a, b])
        if score > best[i][0]:
            best[i] = (score, examples[i].context[feat["offsets"][a][0] : feat["offsets"][b][1]])
    return ["" if allow_empty and null[i] > best[i][0] else best[i][1] for i in range(len(examples))]
