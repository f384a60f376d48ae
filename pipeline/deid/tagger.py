"""The learned PHI tagger: a BERT token classifier trained by the NER fine-tuning flow, as a presidio recognizer.

Why a learned tagger beside the rules: on real nursing notes the rules' recall-first name families (an unknown
capitalized word is a name) take every misspelled or abbreviated ALL-CAPS word for a name, and the anchored
rules miss names and dates written in ways nobody listed. The GatorTron paper de-identified its corpus with a
learned tagger for the same reason. The tagger is trained by ``ehrlm deid-train`` (``model.finetune.deid_train``):
gold notes -> word-level BIO in our categories -> the project's NER fine-tuning flow. It loads from a local
folder only (``model.finetune.checkpoint.load_finetuned``), nothing is downloaded.

Notes are cut exactly as training cut them (``model.finetune.readers``: sentences at newlines and after
``. ! ?``, words = letter runs, digit runs, single punctuation marks), so the model sees at run time the
word sequences it learned from. A word is PHI when the model's probability of "not O" reaches ``threshold``
(0.5 by default: the argmax for two classes; lower trades precision for recall); its category is the most
likely non-O label. Consecutive PHI words of one category with at most one non-newline character between
them form one span, whose score is its lowest word probability. A DATE span of digits and separators stands
only when it reads as a month and day, not as a measurement (``pipeline.deid.dates``: ``PSV 10/5``, ``8/10
pain`` and ``rales 1/3 up`` are not dates), and a NAME or LOCATION span made only of drug, device and clinical
words (``Colace``, ``Quinton``, ``Passy Muir``) is dropped.

``PhiTaggerRecognizer`` wraps it for presidio. ``batch(texts)`` runs the model once over a whole chunk of
notes (batched inference is ~10x faster than note by note), and ``analyze`` then looks the note up.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from presidio_analyzer import EntityRecognizer, RecognizerResult

from pipeline.deid.dates import calendar_date, is_numeric
from pipeline.deid.recognizers import FACILITY_AFTER, FACILITY_END, clinical_vocabulary, name_lists, safe_words
from pipeline.deid.spelling import inflected
from pipeline.deid.stage import TAGGER_NAME
from pipeline.deid.tags import TAGS

DISTRIBUTIONS = ("torch", "transformers", "tokenizers")
"""The tagger's numbers depend on these (``pipeline.core.dataset.code_version``); its weights enter deid's
fingerprint by content (``pipeline.deid.stage.external_fingerprints``)."""

SpanTuple = tuple[int, int, str, float]
"""(start, end, category, score) with character offsets into the note."""


class PhiTagger:
    """A fine-tuned NER folder (``task.json`` with task ``ner``) whose labels are our PHI categories."""

    def __init__(self, folder: str | Path, threshold: float = 0.5, batch_size: int = 64, max_length: int = 128) -> None:
        from model.finetune.checkpoint import load_finetuned

        folder = Path(folder)
        if not (folder / "task.json").is_file():
            raise FileNotFoundError(
                f"{folder}: not a PHI tagger (no task.json); train one with `ehrlm deid-train --gold DIR --out {folder}`"
            )
        info = json.loads((folder / "task.json").read_text())
        if info.get("task") != "ner":
            raise ValueError(f"{folder}: a {info.get('task')!r} model, not an NER (PHI tagger) model")
        self.labels: list[str] = list(info["labels"])
        unknown = {t[2:] for t in self.labels if t != "O"} - set(TAGS)
        if unknown:
            raise ValueError(f"{folder}: labels {sorted(unknown)} are not PHI categories of pipeline.deid.tags")
        self.case_types = bool(info.get("case_types", False))  # inputs built as training built them
        self.model, self.tokenizer, _ = load_finetuned(folder)
        self.threshold = threshold
        self.batch_size = batch_size
        self.max_length = max_length

    def spans(self, texts: Sequence[str]) -> list[list[SpanTuple]]:
        """PHI spans of each text, one list per text, sorted by start."""
        from model.finetune.features import ner_features
        from model.finetune.readers import WORD, NerSentence, sentence_spans
        from model.finetune.trainer import predict

        sentences: list[NerSentence] = []
        where: list[tuple[int, list[tuple[int, int]]]] = []  # per sentence: text index, word offsets
        for ti, text in enumerate(texts):
            for s0, s1 in sentence_spans(text or ""):
                words = [(m.start(), m.end(), m.group()) for m in WORD.finditer(text, s0, s1)]
                if words:
                    sentences.append(NerSentence(tuple(w for _, _, w in words), ()))
                    where.append((ti, [(a, b) for a, b, _ in words]))
        out: list[list[SpanTuple]] = [[] for _ in texts]
        if not sentences:
            return out
        features = ner_features(sentences, self.tokenizer, {}, self.max_length, self.case_types)
        logits = predict(self.model, features, self.tokenizer.pad_token_id, self.batch_size, "fp32")
        probs: list[list[Any]] = [[None] * len(s.words) for s in sentences]
        for feat, lg in zip(features, logits, strict=True):
            p = lg.softmax(-1)
            for pos, w in feat["first_tokens"]:
                probs[feat["sentence"]][w] = p[pos]
        o = self.labels.index("O")
        for si, (ti, offsets) in enumerate(where):
            words = []
            for (a, b), p in zip(offsets, probs[si], strict=True):
                if p is None:
                    continue
                phi = 1.0 - float(p[o])
                if phi >= self.threshold:
                    q = p.clone()
                    q[o] = -1.0
                    words.append((a, b, self.labels[int(q.argmax())][2:], phi))
            text = texts[ti]
            out[ti].extend(c for s in _join(words, text) if (c := _checked(text, s)) is not None)
        return [_disjoint(sorted(spans)) for spans in out]


_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*")


def _clinical_phrase(span: str) -> bool:
    """Every word of ``span`` is clinical vocabulary: a drug, a device brand or a clinical word (``Colace``,
    ``Quinton cath``, ``Passy Muir``). A tagger trained on a thousand notes takes such words for names when it
    saw few of them; the rules still find a patient called Hickman after a title or label."""
    words = [w.lower() for w in _WORD.findall(span)]
    words = [w[:-2] if w.endswith(("'s", "’s")) else w for w in words]
    vocabulary = clinical_vocabulary()
    return bool(words) and all(w in vocabulary for w in words)


def _english_word(span: str) -> bool:
    """One word of three letters or more that English explains -- a safe word or its inflection (``bilious``,
    ``TOLERATING``) -- and no name list holds. The tagger takes nursing words for names; a real name that is an
    English word is in the census lists (``Frank``, ``Hill``) and stays. Not one-edit misspellings: on the dev
    notes six real names were one edit from an English word."""
    words = _WORD.findall(span)
    if len(words) != 1:
        return False
    key = words[0].lower().rstrip("'’")
    key = key[:-2] if key.endswith(("'s", "’s")) else key
    first, last = name_lists(True)
    if key in first or key in last:
        return False
    safe = safe_words()
    return len(key) >= 3 and (key in safe or inflected(key, safe))


def _checked(text: str, span: SpanTuple) -> SpanTuple | None:
    """The tagger's span if it reads as its category, else None: it must hold a letter or digit, a numeric DATE
    must be a calendar date (``pipeline.deid.dates``; the span then covers the whole date), a NAME or LOCATION
    must not be made of clinical vocabulary alone -- except a LOCATION a facility noun ends or follows."""
    start, end, category, score = span
    if not any(c.isalnum() for c in text[start:end]):
        return None  # a lone hyphen or slash ("COVID-19" with only its "-" tagged) identifies nobody
    if category == "DATE" and is_numeric(text[start:end]):
        extent = calendar_date(text, start, end)
        return None if extent is None else (*extent, category, score)
    if category == "NAME" and _english_word(text[start:end]):
        return None
    if category in ("NAME", "LOCATION") and _clinical_phrase(text[start:end]):
        # but "the general hospital": a place the tagger found, named by generic words and a facility noun
        if not (category == "LOCATION" and (FACILITY_AFTER.match(text, end) or FACILITY_END.search(text, start, end))):
            return None
    return span


def _disjoint(spans: list[SpanTuple]) -> list[SpanTuple]:
    """Sorted spans made non-overlapping (a date widened to its whole token may reach into the next span):
    an overlapping span is cut to start where the previous one ends, or dropped if nothing is left."""
    out: list[SpanTuple] = []
    for start, end, category, score in spans:
        if out and start < out[-1][1]:
            start = out[-1][1]
            if start >= end:
                continue
        out.append((start, end, category, score))
    return out


def _join(words: list[SpanTuple], text: str) -> list[SpanTuple]:
    """Consecutive PHI words of one category, at most one non-newline character apart, as one span."""
    spans: list[SpanTuple] = []
    for a, b, cat, score in words:
        if spans:
            s0, s1, c0, sc0 = spans[-1]
            gap = text[s1:a]
            if c0 == cat and len(gap) <= 1 and "\n" not in gap:
                spans[-1] = (s0, b, cat, min(sc0, score))
                continue
        spans.append((a, b, cat, score))
    return spans


class PhiTaggerRecognizer(EntityRecognizer):
    """presidio recognizer over a :class:`PhiTagger`; ``batch`` precomputes a chunk of notes."""

    def __init__(self, tagger: PhiTagger) -> None:
        self.tagger = tagger
        self._cache: dict[str, list[SpanTuple]] = {}
        super().__init__(supported_entities=list(TAGS), name=TAGGER_NAME, supported_language="en")

    def load(self) -> None:  # the model is loaded by PhiTagger
        pass

    @contextmanager
    def batch(self, texts: Sequence[str]) -> Iterator[None]:
        self._cache = dict(zip(texts, self.tagger.spans(texts), strict=True))
        try:
            yield
        finally:
            self._cache = {}

    def find(self, text: str) -> list[SpanTuple]:
        hit = self._cache.get(text)
        return hit if hit is not None else self.tagger.spans([text])[0]

    def analyze(self, text: str, entities: list[str], nlp_artifacts: Any = None) -> list[RecognizerResult]:
        return [RecognizerResult(cat, s, e, score) for s, e, cat, score in self.find(text)]
