"""Score the deid stage against annotated notes: brat standoff or i2b2-2014 de-id XML, span- and token-level.

``evaluate(gold_path)`` runs ``pipeline.deid.stage.find_phi`` on every gold note's *original* text, maps the gold
categories onto ours (``GOLD_CATEGORIES``) and prints per-category and overall precision / recall / F1.

Matching rules (why): a gold span is *found* when a predicted span of the same category overlaps it --
partial overlap counts, because redaction granularity differs between annotators and rules ("Dr. Smith"
vs "Smith"); ``redacted`` (any category overlapping) is the privacy number, category match the quality
number. A prediction is a true positive when it overlaps a gold span of its category; a prediction that
overlaps only a *non*-safe-harbor gold span (PROFESSION, STATE, COUNTRY, an age <= 89) is neither right
nor wrong and is left out of precision, since annotators marked it but safe harbor does not require it.
Token level: every ``\\w+`` run is one token carrying the gold and the predicted category (or none).

Overall numbers are over the safe-harbor gold spans only; non-safe-harbor categories are listed (marked
``-``) for information. Misses are listed by note id, offsets and category; their text only with
``show_text=True`` (the gold may be real PHI). ``predictions_out`` writes every predicted span as JSONL
(note_id = file stem, start, end, category, score) with offsets into the original file text.

Formats:

* brat: ``NAME.txt`` + ``NAME.ann`` with lines ``T1<TAB>TYPE START END[;START END...]<TAB>text``
  (discontinuous spans become one span per fragment); ``.txt`` is read without newline translation, since
  brat offsets count a ``\\r\\n`` as two characters.
* i2b2-2014: ``NAME.xml`` = ``<deIdi2b2><TEXT><![CDATA[...]]></TEXT><TAGS><DATE id= start= end= text=
  TYPE=/>...``. The text is cut out of the CDATA section verbatim (an XML parser would fold ``\\r\\n`` and
  shift the offsets); the tags are read with ElementTree.

``export_synth`` writes a ``pipeline.synth.generator`` corpus in either format, so the synthetic heldout corpus is
scored by the same command as real gold.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
import xml.etree.ElementTree as ET
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TextIO
from xml.sax.saxutils import quoteattr

from pipeline.brat import read_ann, read_text
from pipeline.config import DeidParams
from pipeline.core.dataset import Progress
from pipeline.core.parallel import map_chunks
from pipeline.deid.tags import TAGS

# Gold category -> (our category or None, safe-harbor?). Keys are upper case; our own categories map to
# themselves, so exported synthetic corpora and other tools' output in our tag set score directly.
GOLD_CATEGORIES: dict[str, tuple[str | None, bool]] = {
    "PATIENT": ("NAME", True),
    "DOCTOR": ("NAME", True),
    "USERNAME": ("ID", True),
    "PROFESSION": (None, False),
    "ROOM": ("LOCATION", True),
    "DEPARTMENT": ("LOCATION", True),
    "HOSPITAL": ("LOCATION", True),
    "ORGANIZATION": ("LOCATION", True),
    "STREET": ("LOCATION", True),
    "CITY": ("LOCATION", True),
    "STATE": ("LOCATION", False),
    "COUNTRY": ("LOCATION", False),
    "ZIP": ("LOCATION", True),
    "LOCATION-OTHER": ("LOCATION", True),
    "AGE": ("AGE", True),  # safe harbor only above 89: decided per span by ``_age_is_phi``
    "DATE": ("DATE", True),
    "PHONE": ("PHONE", True),
    "FAX": ("FAX", True),
    "EMAIL": ("EMAIL", True),
    "URL": ("URL", True),
    "IPADDR": ("IP", True),
    "SSN": ("SSN", True),
    "MEDICALRECORD": ("MRN", True),
    "HEALTHPLAN": ("HEALTHPLAN", True),
    "ACCOUNT": ("ACCOUNT", True),
    "LICENSE": ("LICENSE", True),
    "DEVICE": ("DEVICE", True),
    "BIOID": ("BIOMETRIC", True),
    "IDNUM": ("ID", True),
    "VEHICLE": ("VEHICLE", True),
} | {cat: (cat, True) for cat in TAGS}

_TOKEN = re.compile(r"\w+")
_NUMBER = re.compile(r"\d+")
_CDATA = re.compile(r"<TEXT>\s*<!\[CDATA\[(.*?)\]\]>\s*</TEXT>", re.DOTALL)
_PLAIN_TEXT = re.compile(r"<TEXT>(.*?)</TEXT>", re.DOTALL)
_XML_ENTITY = re.compile(r"&(?:#(\d+)|#x([0-9A-Fa-f]+)|(amp|lt|gt|quot|apos));")
_NAMED_ENTITIES = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'"}
_TAGS = re.compile(r"<TAGS>.*?</TAGS>|<TAGS\s*/>", re.DOTALL)


@dataclass(frozen=True)
class GoldSpan:
    start: int
    end: int
    label: str  # the gold file's own category (i2b2 TYPE or brat type), upper case
    category: str | None  # ours, or None when we have no such tag (PROFESSION)
    safe_harbor: bool


@dataclass
class GoldNote:
    note_id: str
    text: str
    spans: list[GoldSpan]
    text_mismatches: int = 0  # gold spans whose recorded text differs from text[start:end]


@dataclass
class Scores:
    """Recall counts gold spans (``found`` / ``missed``), precision counts predictions (``correct`` / ``wrong``):
    with overlap matching one prediction may cover two gold spans or the reverse, so the two sides differ."""

    found: int = 0
    missed: int = 0
    correct: int = 0
    wrong: int = 0

    @property
    def precision(self) -> float:
        n = self.correct + self.wrong
        return self.correct / n if n else float("nan")

    @property
    def recall(self) -> float:
        n = self.found + self.missed
        return self.found / n if n else float("nan")

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r > 0 else float("nan")


@dataclass
class Miss:
    note_id: str
    start: int
    end: int
    label: str
    found_as: str | None  # the category it was redacted as, if another one


@dataclass
class TaggerUse:
    """Which tagger scored which notes: out of fold (a fold model that held the note out), unseen (the full
    model, which never trained on it) or in sample (the full model trained on it: optimistic figures)."""

    out_of_fold: int = 0
    unseen: int = 0
    in_sample: int = 0
    folds: int = 0


@dataclass
class EvalReport:
    notes: int
    span: dict[str, Scores]  # per our category + "ALL" (safe-harbor gold only)
    token: dict[str, Scores]
    by_label: dict[str, tuple[int, int, int]]  # gold label -> (spans, found, redacted any category)
    redacted: tuple[int, int]  # safe-harbor gold spans overlapped by any prediction / total
    misses: list[Miss] = field(default_factory=list)
    text_mismatches: int = 0
    strict: dict[str, Scores] = field(default_factory=dict)
    """Per category + "ALL": a gold span is found when predicted spans (any category) cover every non-space
    character of it; a prediction is correct when it overlaps any gold span (a tagged year alone or an
    annotated non-PHI item is no over-redaction of clinical text)."""
    miss_kinds: Counter = field(default_factory=Counter)
    """(category, how, shape) of strict misses: how = "untouched" or "partly covered"; shape = the span's
    character classes (``Aa 9/9``), which show the kind of miss without its text."""
    words: int = 0
    predicted: int = 0
    tagger: TaggerUse | None = None

    @property
    def tags_per_1000_words(self) -> float:
        return 1000 * self.predicted / self.words if self.words else float("nan")

    def as_dict(self) -> dict:
        """Numbers only (no text), e.g. for a manifest or a JSON report."""

        def s(x: Scores) -> dict:
            return {"found": x.found, "missed": x.missed, "correct": x.correct, "wrong": x.wrong,
                    "precision": x.precision, "recall": x.recall, "f1": x.f1}

        return {
            "notes": self.notes,
            "span": {k: s(v) for k, v in self.span.items()},
            "token": {k: s(v) for k, v in self.token.items()},
            "by_label": {k: {"spans": a, "found": b, "redacted": c} for k, (a, b, c) in self.by_label.items()},
            "redacted": {"found": self.redacted[0], "total": self.redacted[1]},
            "misses": len(self.misses),
            "text_mismatches": self.text_mismatches,
            "strict": {k: s(v) for k, v in self.strict.items()},
            "tags_per_1000_words": self.tags_per_1000_words,
            "tagger": None if self.tagger is None else vars(self.tagger),
        }


# ---------------------------------------------------------------------------------------------------------
# Reading gold
# ---------------------------------------------------------------------------------------------------------


def _age_is_phi(text: str) -> bool:
    """An AGE gold span is safe-harbor PHI only above 89 (spelled-out ages count as unknown -> PHI)."""
    nums = [int(n) for n in _NUMBER.findall(text)]
    return not nums or max(nums) > 89


def _gold_span(start: int, end: int, label: str, covered: str) -> GoldSpan:
    label = label.upper()
    category, sh = GOLD_CATEGORIES.get(label, (None, False))
    if category == "AGE":
        sh = sh and _age_is_phi(covered)
    return GoldSpan(start, end, label, category, sh)


def read_brat(txt_path: Path) -> GoldNote:
    """One brat note: ``txt_path`` and the ``.ann`` beside it (no ``.ann`` = no PHI)."""
    text = read_text(txt_path)
    spans: list[GoldSpan] = []
    mismatches = 0
    ann = txt_path.with_suffix(".ann")
    entities = read_ann(ann)[0].values() if ann.exists() else ()
    for e in entities:
        if e.text is not None and " ".join(text[a:b] for a, b in e.fragments) != e.text:
            mismatches += 1
        spans.extend(_gold_span(a, b, e.type, text[a:b]) for a, b in e.fragments)
    return GoldNote(txt_path.stem, text, spans, mismatches)


def _unescape(m: re.Match[str]) -> str:
    dec, hexa, name = m.groups()
    return chr(int(dec)) if dec else chr(int(hexa, 16)) if hexa else _NAMED_ENTITIES[name]


def read_i2b2(xml_path: Path) -> GoldNote:
    """One i2b2-2014 de-id XML note (``<deIdi2b2>``): text from ``<TEXT>`` (CDATA or escaped), spans from ``<TAGS>``."""
    with open(xml_path, encoding="utf-8", newline="") as fh:
        raw = fh.read()
    m = _CDATA.search(raw)
    if m is not None:
        text = m.group(1)
    elif (m := _PLAIN_TEXT.search(raw)) is not None:  # <TEXT> without CDATA: XML-escaped characters
        text = _XML_ENTITY.sub(_unescape, m.group(1))
    else:
        raise ValueError(f"{xml_path.name}: no <TEXT>...</TEXT> section")
    tags = _TAGS.search(raw, m.end())
    spans: list[GoldSpan] = []
    mismatches = 0
    if tags is not None:
        for el in ET.fromstring(tags.group()):
            start, end = int(el.get("start", -1)), int(el.get("end", -1))
            if not 0 <= start < end <= len(text):
                raise ValueError(f"{xml_path.name}: tag id={el.get('id')} has offsets outside the text")
            label = el.get("TYPE") or el.tag
            recorded = el.get("text")
            if recorded is not None and recorded != text[start:end]:
                mismatches += 1
            spans.append(_gold_span(start, end, label, text[start:end]))
    return GoldNote(xml_path.stem, text, spans, mismatches)


def read_gold(path: Path) -> list[GoldNote]:
    """Every note under ``path`` (a folder, searched recursively, or one .txt/.xml file), sorted by id."""
    path = Path(path)
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.suffix in (".txt", ".xml"))
    notes = []
    for f in files:
        if f.suffix == ".xml":
            notes.append(read_i2b2(f))
        elif f.suffix == ".txt":
            notes.append(read_brat(f))
    if not notes:
        raise FileNotFoundError(f"no .txt (brat) or .xml (i2b2) notes under {path}")
    ids = Counter(n.note_id for n in notes)
    dup = [k for k, v in ids.items() if v > 1]
    if dup:
        raise ValueError(f"{len(dup)} note ids occur more than once under {path} (e.g. {dup[0]})")
    return sorted(notes, key=lambda n: n.note_id)


# ---------------------------------------------------------------------------------------------------------
# Scoring
# ---------------------------------------------------------------------------------------------------------

Pred = tuple[int, int, str, float]


def _predict_chunk(texts: Sequence[str], score_threshold: float, spec: tuple[str, str | None, float]) -> list[list[Pred]]:
    from pipeline.deid.stage import build_analyzer, deid_batch, find_phi

    analyzer = build_analyzer(*spec)
    with deid_batch(analyzer, texts):
        return [[(s.start, s.end, s.category, s.score) for s in find_phi(t, analyzer, score_threshold)] for t in texts]


TAGGER_FILE = "tagger.json"
"""Beside a tagger's weights (``model.finetune.deid_train``): how it was trained, and the sha256 of every
training note's text under ``train_note_sha256`` -- what tells ``assign_taggers`` which notes it saw."""


def text_digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def trained_on(folder: Path) -> set[str]:
    """The text digests of the notes the tagger in ``folder`` trained on (empty if it records none)."""
    info = folder / TAGGER_FILE
    return set(json.loads(info.read_text()).get("train_note_sha256", [])) if info.is_file() else set()


def assign_taggers(notes: Sequence[GoldNote], tagger: Path) -> tuple[list[Path], TaggerUse]:
    """Per note, the tagger folder to score it with: never one that trained on the note's text, if avoidable."""
    full = trained_on(tagger)
    folds = sorted((p for p in (tagger / "folds").glob("*") if p.is_dir()), key=lambda p: p.name)
    fold_seen = [(f, trained_on(f)) for f in folds]
    use = TaggerUse(folds=len(folds))
    out: list[Path] = []
    for note in notes:
        digest = text_digest(note.text)
        if digest not in full:
            use.unseen += 1
            out.append(tagger)
            continue
        held_out = next((f for f, seen in fold_seen if digest not in seen), None)
        if held_out is not None:
            use.out_of_fold += 1
            out.append(held_out)
        else:
            use.in_sample += 1
            out.append(tagger)
    return out, use


def predict(
    notes: Sequence[GoldNote], params: DeidParams, workers: int = 1, progress: Progress | None = None
) -> tuple[list[list[Pred]], TaggerUse | None]:
    """Predicted spans per note; with a tagger, each note is scored by a tagger that did not train on it
    where the tagger folder has one (``assign_taggers``). ``progress(done, total)`` counts notes over all
    the taggers used."""
    from pipeline.deid.stage import engine_spec, warm_worker

    mode, tagger, threshold = engine_spec(params)
    if tagger is None:
        texts = [n.text for n in notes]
        return map_chunks(partial(_predict_chunk, score_threshold=params.score_threshold, spec=(mode, None, threshold)),
                          texts, workers=workers, chunk_size=16, progress=progress), None
    folders, use = assign_taggers(notes, Path(tagger))
    out: list[list[Pred] | None] = [None] * len(notes)
    done = 0
    for folder in sorted(set(folders)):
        idx = [i for i, f in enumerate(folders) if f == folder]
        spec = (mode, str(folder), threshold)
        got = map_chunks(partial(_predict_chunk, score_threshold=params.score_threshold, spec=spec),
                         [notes[i].text for i in idx], workers=workers, chunk_size=64,
                         initializer=warm_worker, initargs=spec,
                         progress=(lambda n, _total, base=done: progress(base + n, len(notes))) if progress else None)
        for i, p in zip(idx, got, strict=True):
            out[i] = p
        done += len(idx)
    return out, use  # type: ignore[return-value]


def _overlaps(a0: int, a1: int, b0: int, b1: int) -> bool:
    return a0 < b1 and b0 < a1


def score(notes: Sequence[GoldNote], predictions: Sequence[Sequence[Pred]]) -> EvalReport:
    """Span- and token-level scores of ``predictions`` (one list per note) against the gold."""
    span: dict[str, Scores] = defaultdict(Scores)
    token: dict[str, Scores] = defaultdict(Scores)
    by_label: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    misses: list[Miss] = []
    redacted = total = mismatches = 0
    for note, preds in zip(notes, predictions, strict=True):
        mismatches += note.text_mismatches
        for g in note.spans:
            hits = [p for p in preds if _overlaps(g.start, g.end, p[0], p[1])]
            found = g.category is not None and any(p[2] == g.category for p in hits)
            row = by_label[g.label if g.safe_harbor or g.label != "AGE" else "AGE<=89"]
            row[0] += 1
            row[1] += found
            row[2] += bool(hits)
            if not g.safe_harbor or g.category is None:
                continue
            total += 1
            redacted += bool(hits)
            for key in (g.category, "ALL"):
                if found:
                    span[key].found += 1
                else:
                    span[key].missed += 1
            if not found:
                misses.append(Miss(note.note_id, g.start, g.end, g.label, hits[0][2] if hits else None))
        for p in preds:
            gold_hits = [g for g in note.spans if _overlaps(g.start, g.end, p[0], p[1])]
            if any(g.category == p[2] and g.safe_harbor for g in gold_hits):
                span[p[2]].correct += 1
                span["ALL"].correct += 1
            elif gold_hits and all(not g.safe_harbor or g.category is None for g in gold_hits):
                continue  # only non-safe-harbor gold here: neutral
            else:
                span[p[2]].wrong += 1
                span["ALL"].wrong += 1
        _score_tokens(note, preds, token)
    by_label_t = {k: (v[0], v[1], v[2]) for k, v in sorted(by_label.items())}
    report = EvalReport(len(notes), dict(span), dict(token), by_label_t, (redacted, total), misses, mismatches)
    _score_strict(notes, predictions, report)
    return report


_SHAPE_RUNS = re.compile(r"(.)\1+")


def shape(text: str) -> str:
    """Character classes of ``text`` with runs collapsed: ``Smith`` -> ``Aa``, ``10/13`` -> ``9/9``."""
    mapped = "".join("A" if c.isupper() else "a" if c.islower() else "9" if c.isdigit() else " " if c.isspace() else c
                     for c in text)
    return _SHAPE_RUNS.sub(r"\1", mapped)


def _score_strict(notes: Sequence[GoldNote], predictions: Sequence[Sequence[Pred]], report: EvalReport) -> None:
    strict: dict[str, Scores] = defaultdict(Scores)
    for note, preds in zip(notes, predictions, strict=True):
        covered = bytearray(len(note.text))
        for p in preds:
            covered[p[0] : p[1]] = b"\x01" * (p[1] - p[0])
        for g in note.spans:
            if not g.safe_harbor or g.category is None:
                continue
            need = [i for i in range(g.start, g.end) if not note.text[i].isspace()]
            got = sum(covered[i] for i in need)
            for key in (g.category, "ALL"):
                if got == len(need):
                    strict[key].found += 1
                else:
                    strict[key].missed += 1
            if got < len(need):
                how = "partly covered" if got else "untouched"
                report.miss_kinds[(g.category, how, shape(note.text[g.start : g.end]))] += 1
        for p in preds:
            hit = any(_overlaps(g.start, g.end, p[0], p[1]) for g in note.spans)
            for key in (p[2], "ALL"):
                if hit:
                    strict[key].correct += 1
                else:
                    strict[key].wrong += 1
        report.words += len(_TOKEN.findall(note.text))
        report.predicted += len(preds)
    report.strict = dict(strict)


def _score_tokens(note: GoldNote, preds: Sequence[Pred], token: dict[str, Scores]) -> None:
    """Per-token categories; tokens under non-safe-harbor gold are skipped (neither right nor wrong)."""
    gold = sorted(note.spans, key=lambda g: g.start)
    pred = sorted(preds)
    gi = pi = 0
    for m in _TOKEN.finditer(note.text):
        s, e = m.span()
        while gi < len(gold) and gold[gi].end <= s:
            gi += 1
        while pi < len(pred) and pred[pi][1] <= s:
            pi += 1
        g = next((x for x in gold[gi : gi + 4] if _overlaps(s, e, x.start, x.end)), None)
        p = next((x for x in pred[pi : pi + 4] if _overlaps(s, e, x[0], x[1])), None)
        if g is not None and (not g.safe_harbor or g.category is None):
            continue
        gcat, pcat = (g.category if g else None), (p[2] if p else None)
        if gcat is not None and gcat == pcat:
            for key in (gcat, "ALL"):
                token[key].found += 1
                token[key].correct += 1
            continue
        if gcat is not None:
            token[gcat].missed += 1
            token["ALL"].missed += 1
        if pcat is not None:
            token[pcat].wrong += 1
            token["ALL"].wrong += 1


# ---------------------------------------------------------------------------------------------------------
# The command
# ---------------------------------------------------------------------------------------------------------


def evaluate(
    gold_path: str | Path,
    show_text: bool = False,
    predictions_out: str | Path | None = None,
    *,
    params: DeidParams | None = None,
    workers: int = 1,
    max_misses: int = 200,
    out: TextIO | None = None,
    progress: Progress | None = None,
) -> EvalReport:
    """Run deid on the gold notes under ``gold_path``, print the scores and return them.

    ``show_text`` adds each missed span's text to the miss list (off by default: gold may be real PHI).
    ``predictions_out``: write every predicted span as JSONL (note_id, start, end, category, score).
    ``params``: the deid settings to evaluate (``score_threshold`` matters here; default ``DeidParams()``).
    ``max_misses``: how many misses to list (all are counted). ``progress(done, total)``: notes scored.
    """
    out = out or sys.stdout
    params = params or DeidParams()
    notes = read_gold(Path(gold_path))
    preds, tagger_use = predict(notes, params, workers, progress)
    if predictions_out is not None:
        write_predictions(Path(predictions_out), notes, preds)
    report = score(notes, preds)
    report.tagger = tagger_use
    print_report(report, notes, out, show_text=show_text, max_misses=max_misses)
    return report


def write_predictions(path: Path, notes: Sequence[GoldNote], preds: Sequence[Sequence[Pred]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        for note, spans in zip(notes, preds, strict=True):
            for start, end, cat, sc in spans:
                rec = {"note_id": note.note_id, "start": start, "end": end, "category": cat, "score": round(sc, 4)}
                fh.write(json.dumps(rec) + "\n")


def _fmt(x: float) -> str:
    return "   -  " if x != x else f"{x:6.3f}"


def print_report(
    report: EvalReport, notes: Sequence[GoldNote], out: TextIO, show_text: bool = False, max_misses: int = 200
) -> None:
    w = out.write
    total_spans = sum(len(n.spans) for n in notes)
    w(f"deid-eval: {report.notes} notes, {total_spans} gold spans")
    if report.text_mismatches:
        w(f" ({report.text_mismatches} gold spans whose recorded text differs from the note text)")
    w("\n")
    if report.tagger is not None:
        t = report.tagger
        w(f"tagger: {t.out_of_fold} notes scored out of fold ({t.folds} folds), {t.unseen} by a tagger that never saw them, "
          f"{t.in_sample} IN SAMPLE (a tagger trained on them: optimistic)\n")
    w("\nStrict (the privacy figure): a gold span is found when predictions of any category cover all its "
      "non-space characters;\na prediction is correct when it overlaps any gold span.\n")
    w(f"{'category':11} {'gold':>6} {'found':>6} {'recall':>7} | {'pred':>6} {'prec':>6}\n")
    for cat in [*TAGS, "ALL"]:
        x = report.strict.get(cat)
        if x is None:
            continue
        w(f"{'*' if cat != 'ALL' else '='}{cat:10} {x.found + x.missed:6} {x.found:6} {_fmt(x.recall)} | "
          f"{x.correct + x.wrong:6} {_fmt(x.precision)}\n")
    w(f"tags per 1,000 words: {report.tags_per_1000_words:.2f} ({report.predicted} spans, {report.words} words)\n")
    if report.miss_kinds:
        w("\nKinds of strict misses (category, how, shape of the span -- A upper, a lower, 9 digit runs; no text):\n")
        for (cat, how, shp), n in report.miss_kinds.most_common(40):
            w(f"  {n:4}  {cat:9} {how:15} {shp}\n")
        if len(report.miss_kinds) > 40:
            w(f"  ... {len(report.miss_kinds) - 40} more kinds\n")
    w("\nSafe-harbor categories (overall = these only); span match = same category, any overlap.\n")
    w(f"{'category':11} {'gold':>6} {'pred':>6} | {'span P':>6} {'span R':>6} {'span F1':>7} | "
      f"{'tok P':>6} {'tok R':>6} {'tok F1':>6}\n")
    for cat in [*TAGS, "ALL"]:
        s, t = report.span.get(cat), report.token.get(cat)
        if s is None and t is None:
            continue
        s, t = s or Scores(), t or Scores()
        gold_n, pred_n = s.found + s.missed, s.correct + s.wrong
        mark = "*" if cat != "ALL" else "="
        w(f"{mark}{cat:10} {gold_n:6} {pred_n:6} | {_fmt(s.precision)} {_fmt(s.recall)} {_fmt(s.f1)}  | "
          f"{_fmt(t.precision)} {_fmt(t.recall)} {_fmt(t.f1)}\n")
    red, tot = report.redacted
    w(f"redacted (any category) {red}/{tot} = {_fmt(red / tot if tot else float('nan')).strip()} "
      f"of safe-harbor gold spans\n")
    w("\nBy gold label (* = safe harbor): spans, found (same category), redacted (any category)\n")
    for label, (n, found, red_n) in report.by_label.items():
        cat, sh = GOLD_CATEGORIES.get(label, (None, False))
        sh = sh and label != "AGE<=89"
        w(f"{'*' if sh else '-'}{label:15} -> {cat or '(none)':10} {n:6} {found:6} {red_n:6}\n")
    w(f"\nMisses (safe harbor, same category not found): {len(report.misses)}\n")
    texts = {n.note_id: n.text for n in notes}
    for miss in report.misses[:max_misses]:
        line = f"  {miss.note_id}  {miss.start}-{miss.end}  {miss.label}"
        if miss.found_as:
            line += f"  (redacted as {miss.found_as})"
        if show_text:
            line += f"  {texts[miss.note_id][miss.start:miss.end]!r}"
        w(line + "\n")
    if len(report.misses) > max_misses:
        w(f"  ... {len(report.misses) - max_misses} more\n")


# ---------------------------------------------------------------------------------------------------------
# Exporting synthetic corpora as gold
# ---------------------------------------------------------------------------------------------------------


def export_synth(
    out_dir: str | Path, n_notes: int, seed: int, profile: str = "heldout", fmt: str = "brat"
) -> int:
    """Write ``pipeline.synth.generator.generate(n_notes, seed, profile)`` as gold in ``fmt`` ("brat" or "i2b2").

    Only notes with text are written (empty notes carry no PHI); labels use our category names.
    Returns the number of notes written.
    """
    from pipeline.synth.generator import generate

    corpus = generate(n_notes, seed=seed, profile=profile)
    labels = corpus.labels_by_note()
    notes = [(n.note_id, n.text, [(s.start, s.end, s.category) for s in labels[n.note_id]])
             for n in corpus.notes if n.text.strip()]
    write_gold(Path(out_dir), notes, fmt)
    return len(notes)


def write_gold(out_dir: Path, notes: Iterable[tuple[str, str, list[tuple[int, int, str]]]], fmt: str) -> None:
    """Write (note_id, text, spans) triples as brat (.txt + .ann) or i2b2 (.xml) files."""
    if fmt not in ("brat", "i2b2"):
        raise ValueError(f"unknown gold format {fmt!r}; expected 'brat' or 'i2b2'")
    out_dir.mkdir(parents=True, exist_ok=True)
    for note_id, text, spans in notes:
        if fmt == "brat":
            with open(out_dir / f"{note_id}.txt", "w", encoding="utf-8", newline="") as fh:
                fh.write(text)
            with open(out_dir / f"{note_id}.ann", "w", encoding="utf-8", newline="") as fh:
                for i, (s, e, cat) in enumerate(spans, 1):
                    fh.write(f"T{i}\t{cat} {s} {e}\t{text[s:e]}\n")
            continue
        if "]]>" in text:
            raise ValueError(f"note {note_id}: text contains ']]>', which cannot sit in a CDATA section")
        tags = "".join(
            f'<{cat} id="P{i}" start="{s}" end="{e}" text={quoteattr(text[s:e])} TYPE="{cat}" comment="" />\n'
            for i, (s, e, cat) in enumerate(spans)
        )
        xml = f'<?xml version="1.0" encoding="UTF-8" ?>\n<deIdi2b2>\n<TEXT><![CDATA[{text}]]></TEXT>\n<TAGS>\n{tags}</TAGS>\n</deIdi2b2>\n'
        with open(out_dir / f"{note_id}.xml", "w", encoding="utf-8", newline="") as fh:
            fh.write(xml)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m pipeline.deid.eval eval GOLD [--mode M --tagger DIR] [--show-text] [--predictions-out F] [--workers N]``
    or ``python -m pipeline.deid.eval export OUT --n N --seed S [--profile heldout] [--format brat|i2b2]``."""
    import argparse

    ap = argparse.ArgumentParser(prog="python -m pipeline.deid.eval")
    sub = ap.add_subparsers(dest="cmd", required=True)
    ev = sub.add_parser("eval", help="score deid against gold notes")
    ev.add_argument("gold")
    ev.add_argument("--show-text", action="store_true")
    ev.add_argument("--predictions-out")
    ev.add_argument("--workers", type=int, default=1)
    ev.add_argument("--max-misses", type=int, default=200)
    ev.add_argument("--mode", default="rules", choices=["rules", "model", "rules+model"])
    ev.add_argument("--tagger")
    ev.add_argument("--tagger-threshold", type=float, default=None, help="default: the mode's (0.75 rules+model, 0.5 model)")
    ex = sub.add_parser("export", help="write a synthetic corpus as gold")
    ex.add_argument("out")
    ex.add_argument("--n", type=int, default=500)
    ex.add_argument("--seed", type=int, required=True)
    ex.add_argument("--profile", default="heldout")
    ex.add_argument("--format", default="brat", choices=["brat", "i2b2"])
    args = ap.parse_args(argv)
    if args.cmd == "export":
        n = export_synth(args.out, args.n, args.seed, args.profile, args.format)
        print(f"wrote {n} notes ({args.profile}, seed {args.seed}, {args.format}) to {args.out}")
        return 0
    params = DeidParams(mode=args.mode, tagger=args.tagger, tagger_threshold=args.tagger_threshold)
    evaluate(args.gold, args.show_text, args.predictions_out, params=params, workers=args.workers, max_misses=args.max_misses)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
