"""deid stage: HIPAA safe-harbor de-identification with presidio, fully offline.

Every note's PHI spans are found by presidio's ``AnalyzerEngine`` on the ``no_op`` NLP engine (no spaCy
model, nothing downloaded) running one registered recognizer, ``pipeline.deid.recognizers.PhiRecognizer``,
which holds a rule-based recognizer per category of ``pipeline.deid.tags`` and propagates found names and
places to their other mentions in the note. One registered recognizer instead of nineteen: presidio's
per-recognizer bookkeeping cost more than the recognizers. ``docs/deid.md`` has the tag set, the rules,
the evaluation numbers and the benchmark.

Overlapping spans are merged to their union and the union takes the category of its longest member
(ties: higher score, then ``phi_tags`` order), so "Dr. John Smith, MD" cannot be half-redacted by a
shorter competing match. Each span is then replaced by its tag, e.g. ``[**NAME**]``.

``keep_year``: a DATE span is replaced by ``[**DATE**]`` followed by `` YYYY`` for every 4-digit year
(1800-2099, not part of a longer number) inside the span, in order: ``March 14, 2019`` -> ``[**DATE**] 2019``,
``2019-03-14`` -> ``[**DATE**] 2019``, ``3/14/19`` -> ``[**DATE**]`` (two-digit years are not kept),
``March 14`` -> ``[**DATE**]``. Other categories are unaffected.

``surrogates``: instead of tags, consistent per-note fake values (``pipeline.deid.surrogates``), keyed by a
secret from the environment; nothing maps surrogates back to originals.

Residual-PHI audit: the tagged output of every note is scanned for patterns that must never survive
(``RESIDUAL_PATTERNS``: SSN, email, phone, m/d/yyyy and ISO dates, "MRN: digits", URLs, IPv4); counts go to
the manifest, and the stage fails (``ResidualPhiError``, counts only) when the share of notes with a hit
exceeds ``DeidParams.residual_max_rate``.

Offsets in ``phi_spans.parquet`` are Python string (code point) offsets into the *input* text. They are a
PHI map of the input, not PHI themselves, and carry no text.

Presidio logs at INFO/DEBUG through the ``presidio-analyzer`` logger (its context enhancer logs the words
around each match at DEBUG, and the ``decision_process`` tracer logs results); ``make_analyzer`` pins
both loggers to WARNING and disables the tracer so note text cannot reach any log.
"""

from __future__ import annotations

import logging
import os
import re
from bisect import bisect_left
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from functools import lru_cache, partial
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.deid import metadata as deid_metadata
from pipeline.config import DeidParams
from pipeline.core.dataset import Dataset, Progress, StageResult, path_digest
from pipeline.core.parallel import map_chunks, preload_in_workers
from pipeline.deid.prefilter import Gate, may_match
from pipeline.deid.tags import CATEGORY_ORDER, TAGS, tag_for
from pipeline.deid.vocab import is_kept_place

if TYPE_CHECKING:
    from presidio_analyzer import AnalyzerEngine, EntityRecognizer
    from presidio_analyzer.nlp_engine import NlpArtifacts

NOTES = "notes.parquet"
SPANS = "phi_spans.parquet"
INPUT_STAGE = "dedup"
CHUNK_NOTES = 32  # notes per task sent to a worker process (~0.1 s of work at 2 KB/note)
# Below this many characters one process is faster than a pool: a worker's start-up (presidio's import, the
# word lists, the hyperscan database) is ~2.3 s, what one core de-identifies ~4 MB in, so two workers only
# break even at ~8 MB (bench/deid.py: 8 MB, 1 worker 5.4 s, 2 workers 4.9 s). Nightly increments are small.
POOL_MIN_CHARS = 8_000_000

_log = logging.getLogger(__name__)

preload_in_workers("pipeline.deid.preload")  # the pools' forkserver builds the rules engine once, for every worker

SPAN_SCHEMA = pa.schema(
    [
        ("note_id", pa.string()),
        ("start", pa.int64()),
        ("end", pa.int64()),
        ("category", pa.string()),
        ("score", pa.float64()),
    ]
)

_YEAR = re.compile(r"(?<!\d)(?:1[89]\d\d|20\d\d)(?!\d)")


class ResidualPhiError(RuntimeError):
    """Too many output notes still look like they hold PHI: the stage refuses to publish (counts only)."""


class Span(NamedTuple):
    """A PHI span of a text: ``text[start:end]`` is category ``category`` (a ``phi_tags`` key). A named
    tuple, not a frozen dataclass: ~25 are made per note and a frozen dataclass is 4x slower to build."""

    start: int
    end: int
    category: str
    score: float


@lru_cache(maxsize=8)
def build_analyzer(mode: str = "rules", tagger: str | None = None, tagger_threshold: float = 0.5) -> AnalyzerEngine:
    """The offline presidio engine (cached per process): no_op NLP engine + the rule recognizer, the learned
    tagger (``pipeline.deid.tagger``, loaded from the local folder ``tagger``), or both."""
    recognizers: list[EntityRecognizer] = []
    if mode in ("rules", "rules+model"):
        from pipeline.deid.recognizers import PhiRecognizer

        recognizers.append(PhiRecognizer())
    if mode in ("model", "rules+model"):
        if not tagger:
            raise ValueError(f"deid mode {mode!r} needs a tagger folder")
        from pipeline.deid.tagger import PhiTagger, PhiTaggerRecognizer

        recognizers.append(PhiTaggerRecognizer(PhiTagger(tagger, threshold=tagger_threshold)))
    if not recognizers:
        raise ValueError(f"unknown deid mode {mode!r}; expected rules, model or rules+model")
    return make_analyzer(*recognizers)


# The tagger's threshold when the config sets none, per mode. Alone, the tagger is the only guard, so it
# keeps its words from P(not O) 0.5. Beside the rules, its words between 0.5 and 0.75 found no span the
# rules missed on the dev notes (out of fold, with this round's rules and with older ones not written
# against the tagger's misses); every prediction they added was false: docs/deid.md, "The tagger threshold".
TAGGER_THRESHOLD = {"model": 0.5, "rules+model": 0.75}


def engine_spec(params: DeidParams) -> tuple[str, str | None, float]:
    """What ``build_analyzer`` needs, as plain values a worker process can receive."""
    tagger = str(Path(params.tagger).resolve()) if params.mode != "rules" and params.tagger else None
    threshold = params.tagger_threshold if params.tagger_threshold is not None else TAGGER_THRESHOLD.get(params.mode, TAGGER_THRESHOLD["model"])
    return params.mode, tagger, threshold


def external_fingerprints(params: DeidParams) -> dict[str, str]:
    """The tagger's files by content (retraining it re-runs deid, moving it does not) and the id key by a
    public name of it (a new key gives new ids, so it re-runs deid)."""
    out = {"id_key": deid_metadata.key_id(params.metadata)}
    if params.mode != "rules" and params.tagger:
        out["tagger"] = path_digest(Path(params.tagger))
    return out


def make_analyzer(*recognizers: EntityRecognizer) -> AnalyzerEngine:
    """A presidio ``AnalyzerEngine`` on the ``no_op`` NLP engine running only ``recognizers``.

    Normally ``PhiRecognizer()`` and/or the tagger; the benchmark's ablation passes variants.
    """
    from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
    from presidio_analyzer.app_tracer import AppTracer
    from presidio_analyzer.context_aware_enhancers import ContextAwareEnhancer
    from presidio_analyzer.nlp_engine import NlpEngineProvider

    for name in ("presidio-analyzer", "decision_process"):
        logging.getLogger(name).setLevel(logging.WARNING)

    class NoContextEnhancer(ContextAwareEnhancer):
        """No context boosting: no_op yields no tokens, and the default enhancer deep-copies every result
        (~35% of analyze time). Our recognizers put their context into the regexes instead."""

        def __init__(self) -> None:
            super().__init__(0.0, 0.0, 0, 0)

        def enhance_using_context(self, text, raw_results, nlp_artifacts, recognizers, context=None):
            return raw_results

    nlp_engine = NlpEngineProvider(
        nlp_configuration={"nlp_engine_name": "no_op", "models": [{"lang_code": "en", "model_name": "no_op"}]}
    ).create_engine()
    registry = RecognizerRegistry(supported_languages=["en"])
    for recognizer in recognizers:
        registry.add_recognizer(recognizer)
    return AnalyzerEngine(
        registry=registry,
        nlp_engine=nlp_engine,
        supported_languages=["en"],
        app_tracer=AppTracer(enabled=False),
        log_decision_process=False,
        context_aware_enhancer=NoContextEnhancer(),
    )


def merge_spans(spans: Sequence[Span]) -> list[Span]:
    """Union overlapping spans; a union takes the category of its longest member (then score, then tag order)."""
    ordered = sorted(spans, key=lambda s: (s.start, -s.end, CATEGORY_ORDER.get(s.category, len(CATEGORY_ORDER))))
    merged: list[Span] = []
    cluster: list[Span] = []
    end = -1
    for span in ordered:
        if span.end <= span.start:
            continue
        if cluster and span.start < end:
            cluster.append(span)
            end = max(end, span.end)
            continue
        if cluster:
            merged.append(_resolve(cluster, end))
        cluster, end = [span], span.end
    if cluster:
        merged.append(_resolve(cluster, end))
    return merged


def _resolve(cluster: list[Span], end: int) -> Span:
    if len(cluster) == 1:  # the common case: nothing overlaps
        return cluster[0]
    best = min(cluster, key=lambda s: (-(s.end - s.start), -s.score, CATEGORY_ORDER.get(s.category, 99)))
    return Span(cluster[0].start, end, best.category, max(s.score for s in cluster))


@lru_cache(maxsize=8)
def _no_op_artifacts(engine: AnalyzerEngine) -> NlpArtifacts | None:
    """The ``no_op`` engine's artifacts, which hold no tokens and do not depend on the text: built once per
    engine instead of once per note (a spaCy ``Doc`` each time). None for any other NLP engine."""
    from presidio_analyzer.nlp_engine import NoOpNlpEngine

    if not isinstance(engine.nlp_engine, NoOpNlpEngine):
        return None
    return engine.nlp_engine.process_text("", "en")


TAGGER_NAME = "PhiTagger"
WEAK_RULE_SCORE = 0.6
"""Rule NAME/LOCATION spans below this score are the recall-first guesses (a dictionary name, an unknown
capitalized word, a propagated mention, two English words as ``Last, First``); with the tagger on, they stand
only where the tagger agrees. At 0.6 a facility name (``HARBOR HOSP``) or a lower-case census name after a
label stands alone: on the dev notes, out of fold, 0.6 found 4 more spans than 0.7 for 0.8 points of
precision (docs/deid.md)."""


def combine(rule_spans: Sequence[Span], model_spans: Sequence[Span]) -> list[Span]:
    """``rules+model``: every tagger span, every rule span of a pattern category or strongly anchored, and a
    weak rule name/place only where a tagger span or a strongly anchored rule name/place overlaps it (the weak
    span then extends a confirmed one: ``Farr 7`` beside the anchored ``transfer to Farr``).

    Why this policy: on real nursing notes the weak rule families are where the rules' false positives are
    (misspelled ALL-CAPS shorthand taken for names), while the anchored rules (dates, phones, ``Dr. X``) are
    right far more often than the tagger is on forms it saw a few times. A union keeps both kinds of error.
    """
    model = sorted(model_spans)  # the tagger's spans do not overlap: sorted by start, their ends rise too
    starts = [s.start for s in model]
    out = list(model)
    weak = [s.category in ("NAME", "LOCATION") and s.score < WEAK_RULE_SCORE for s in rule_spans]
    strong = [s for s, w in zip(rule_spans, weak) if not w and s.category in ("NAME", "LOCATION")]
    for s, w in zip(rule_spans, weak):
        if w:
            i = bisect_left(starts, s.end)  # model[i - 1]: the last span starting before s ends, the furthest-reaching
            if (i == 0 or model[i - 1].end <= s.start) and not any(a.start < s.end and a.end > s.start for a in strong):
                continue
        out.append(s)
    return out


def find_phi(text: str, analyzer: AnalyzerEngine | None = None, score_threshold: float = 0.3) -> list[Span]:
    """PHI spans of ``text``: merged, sorted by start, non-overlapping. With both the rules and the tagger
    registered, their spans are combined by :func:`combine` before merging."""
    if not text:
        return []
    engine = analyzer if analyzer is not None else build_analyzer()
    results = engine.analyze(
        text=text, language="en", score_threshold=score_threshold, nlp_artifacts=_no_op_artifacts(engine)
    )
    spans = [Span(r.start, r.end, r.entity_type, float(r.score)) for r in results]
    names = [(r.recognition_metadata or {}).get("recognizer_name") for r in results]
    if any(s.category == "LOCATION" for s in spans):  # safe harbor keeps states and countries
        keep = [not (s.category == "LOCATION" and is_kept_place(text, s.start, s.end)) for s in spans]
        spans = [s for s, k in zip(spans, keep) if k]
        names = [n for n, k in zip(names, keep) if k]
    registered = {r.name for r in engine.registry.recognizers}
    if TAGGER_NAME in registered and len(registered) > 1:  # also when the tagger found nothing: it vetoes
        rules = [s for s, n in zip(spans, names) if n != TAGGER_NAME]
        spans = combine(rules, [s for s, n in zip(spans, names) if n == TAGGER_NAME])
    return merge_spans([widen(text, s) for s in spans])


_INITIAL_BEFORE = re.compile(r"(?:^|(?<=[\s(,;]))[A-Za-z]\.[ \t]?\Z")


def widen(text: str, span: Span) -> Span:
    """A span grown over what belongs to it, whichever recognizer found it: a name's initial before it
    (``d. renna``, ``J. Ortiz`` when only the surname was found), a facility noun after a place (``sacred heart
    Memorial`` when the tagger found ``sacred heart``) and the parentheses around a phone number
    (``(617-555-0101)``; removing them loses nothing, leaving them splits the number from its tag)."""
    if span.category == "NAME" and span.start >= 2:
        m = _INITIAL_BEFORE.search(text, max(0, span.start - 4), span.start)
        if m is not None:
            return span._replace(start=m.start())
    if span.category == "LOCATION":
        from pipeline.deid.recognizers import FACILITY_AFTER  # loaded with the rules or the tagger

        m = FACILITY_AFTER.match(text, span.end)
        if m is not None:
            return span._replace(end=m.end())
    if span.category == "PHONE" and 0 < span.start and span.end < len(text):
        if text[span.start - 1] == "(" and text[span.end] == ")":
            return span._replace(start=span.start - 1, end=span.end + 1)
    return span


def _replacement(text: str, span: Span, keep_year: bool) -> str:
    tag = tag_for(span.category)
    if keep_year and span.category == "DATE":
        return tag + "".join(" " + y for y in _YEAR.findall(text, span.start, span.end))
    return tag


def replace_phi(text: str, spans: Sequence[Span], keep_year: bool = False) -> str:
    """``text`` with each span replaced by its tag; spans must be sorted and non-overlapping (``find_phi``)."""
    out: list[str] = []
    pos = 0
    for span in spans:
        if span.start < pos or span.end > len(text) or span.end <= span.start:
            raise ValueError(
                f"spans must be sorted, non-overlapping and inside the text (bad span at {span.start}:{span.end})"
            )
        out.append(text[pos : span.start])
        out.append(_replacement(text, span, keep_year))
        pos = span.end
    out.append(text[pos:])
    return "".join(out)


# Patterns that must never survive de-identification. Scanned on the tagged output (before any surrogates,
# which look like PHI on purpose); a hit means a recognizer missed something it should have caught.
RESIDUAL_PATTERNS: dict[str, re.Pattern[str]] = {
    "ssn": re.compile(r"(?<![\d-])\d{3}-\d{2}-\d{4}(?![\d-])"),
    "email": re.compile(r"[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"),
    "phone": re.compile(r"(?<![\w-])(?:\(\d{3}\)[ ]?|\d{3}[-.])\d{3}[-.]\d{4}(?![\w-])"),
    "date_mdy": re.compile(r"(?<![\d/])(?:0?[1-9]|1[0-2])/(?:0?[1-9]|[12]\d|3[01])/(?:\d{4}|\d{2})(?![\d/])"),
    "date_iso": re.compile(r"(?<!\d)(?:19|20)\d\d-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])(?!\d)"),
    "mrn": re.compile(r"(?i)(?<![a-z])mrn[ \t]*[:#]?[ \t]*\d{4,}"),
    "url": re.compile(r"(?i)(?<![\w])(?:https?://|www\.)[^\s<>\"']+"),
    "ipv4": re.compile(r"(?<![\d.])(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)(?![\d.])"),
}


@lru_cache(maxsize=1)
def _residual_gate() -> Gate:
    """Hyperscan prefilter of the residual patterns: a clean note (the norm) costs one scan instead of eight
    ``re`` scans, some of which backtrack over every word ("email")."""
    return Gate(RESIDUAL_PATTERNS.values())


def residual_phi(text: str) -> dict[str, int]:
    """Counts of residual-PHI pattern hits in de-identified ``text`` (empty dict: clean)."""
    out = {}
    with _residual_gate().note(text):
        for name, rx in RESIDUAL_PATTERNS.items():
            if not may_match(rx):
                continue
            n = sum(1 for _ in rx.finditer(text))
            if n:
                out[name] = n
    return out


def surrogate_text(text: str, spans: Sequence[Span], note_id: str, key: bytes, keep_year: bool) -> str:
    """``text`` with each span replaced by its consistent per-note surrogate (``pipeline.deid.surrogates``)."""
    from pipeline.deid.surrogates import Surrogates

    fake = Surrogates(key, note_id, keep_year)
    out, pos = [], 0
    for span in spans:
        out.append(text[pos : span.start])
        out.append(fake.get(span.category, text[span.start : span.end]))
        pos = span.end
    out.append(text[pos:])
    return "".join(out)


def surrogate_key(params: DeidParams) -> bytes | None:
    """The secret surrogate key from the environment (None when surrogates are off)."""
    if not params.surrogates:
        return None
    key = os.environ.get(params.surrogate_key_env, "")
    if not key:
        raise ValueError(
            f"deid: surrogates=True needs a secret key in the environment variable {params.surrogate_key_env!r}"
        )
    return key.encode()


@contextmanager
def deid_batch(engine: AnalyzerEngine, texts: Sequence[str]) -> Iterator[None]:
    """Let every recognizer that can work on a whole chunk at once do so (``batch``): the rules' hyperscan
    prefilter scans the chunk back to back, the tagger runs its model over all of it in batches."""
    with ExitStack() as stack:
        for recognizer in engine.registry.recognizers:
            if hasattr(recognizer, "batch"):
                stack.enter_context(recognizer.batch(texts))
        yield


NoteResult = tuple[str | None, list[tuple[int, int, str, float]], dict[str, int]]


def deid_texts(
    rows: Sequence[tuple[str, str | None]],
    keep_year: bool,
    score_threshold: float,
    key: bytes | None = None,
    analyzer: AnalyzerEngine | None = None,
    engine_spec: tuple[str, str | None, float] = ("rules", None, 0.5),
) -> list[NoteResult]:
    """De-identify a chunk of (note_id, text) in this process: (new text, spans as tuples, residual-PHI
    counts) per note, same order. ``key``: make surrogates with it instead of tags. ``analyzer``: the
    engine (default ``build_analyzer(*engine_spec)``: mode, tagger folder, tagger threshold; the benchmark
    passes variants).

    Each hyperscan prefilter scans the whole chunk back to back (``PhiRecognizer.batch``): its database
    stays in the CPU cache, which halves the scan time against one scan per note."""
    engine = analyzer if analyzer is not None else build_analyzer(*engine_spec)
    texts = [text for _, text in rows if text]
    found: list[tuple[list[Span], str] | None] = []
    with deid_batch(engine, texts):
        for _, text in rows:
            if text is None:
                found.append(None)
                continue
            spans = find_phi(text, engine, score_threshold)
            found.append((spans, replace_phi(text, spans, keep_year)))
    out: list[NoteResult] = []
    with _residual_gate().batch([f[1] for f in found if f is not None]):
        for (note_id, text), hit in zip(rows, found, strict=True):
            if hit is None:
                out.append((None, [], {}))
                continue
            spans, tagged = hit
            new = tagged if key is None else surrogate_text(text, spans, note_id, key, keep_year)
            out.append((new, [(s.start, s.end, s.category, s.score) for s in spans], residual_phi(tagged)))
    return out


def warm_worker(*engine_spec: object) -> None:
    """Worker initializer: build the engine once per process, before the first chunk arrives. With the tagger,
    one torch thread per worker: the workers already use every core, more threads would fight over them."""
    if engine_spec and engine_spec[0] != "rules":
        import torch

        torch.set_num_threads(1)
    build_analyzer(*engine_spec)


def run(
    inputs: Mapping[str, Dataset],
    out: Path,
    params: DeidParams,
    progress: Progress | None = None,
    workers: int = 1,
) -> StageResult:
    """De-identify ``inputs["dedup"]``'s notes into ``out/notes.parquet`` and record spans in ``out/phi_spans.parquet``.

    Row order is kept; ``text`` is de-identified and the metadata columns follow ``params.metadata``
    (``pipeline.deid.metadata``: ids become keyed hashes, dates years, file names are dropped). Output
    bytes do not depend on
    ``workers``: chunks are cut by row count and reassembled in input order (``pipeline.core.parallel``). Inputs
    under ``POOL_MIN_CHARS`` run in this process whatever ``workers`` says.
    """
    key = surrogate_key(params)
    id_key = deid_metadata.id_key(params.metadata)
    table = pq.read_table(inputs[INPUT_STAGE].part(NOTES))
    ids = table.column("note_id").to_pylist()
    texts = table.column("text").to_pylist()
    chars = sum(len(t) for t in texts if t)
    if workers > 1 and chars < POOL_MIN_CHARS:
        _log.info("deid: %d characters, less than worker start-up pays for: 1 process, not %d", chars, workers)
        workers = 1
    spec = engine_spec(params)
    results = map_chunks(
        partial(deid_texts, keep_year=params.keep_year, score_threshold=params.score_threshold, key=key, engine_spec=spec),
        list(zip(ids, texts)),
        workers=workers,
        chunk_size=CHUNK_NOTES,
        progress=progress,
        initializer=warm_worker,
        initargs=spec,
    )

    by_category = {cat: 0 for cat in TAGS}
    span_cols: dict[str, list] = {name: [] for name in SPAN_SCHEMA.names}
    new_texts: list[str | None] = []
    notes_with_phi = chars_in = chars_out = residual_notes = 0
    residual_by_pattern = {name: 0 for name in RESIDUAL_PATTERNS}
    for raw_id, text, (new_text, spans, residual) in zip(ids, texts, results, strict=True):
        note_id = deid_metadata.keyed_hash(id_key, "note", raw_id)
        new_texts.append(new_text)
        residual_notes += bool(residual)
        for name, n in residual.items():
            residual_by_pattern[name] += n
        chars_in += len(text or "")
        chars_out += len(new_text or "")
        notes_with_phi += bool(spans)
        for start, end, category, score in spans:
            by_category[category] += 1
            for name, value in zip(SPAN_SCHEMA.names, (note_id, start, end, category, score)):
                span_cols[name].append(value)

    residual_rate = residual_notes / len(ids) if ids else 0.0
    if residual_rate > params.residual_max_rate:
        raise ResidualPhiError(
            f"deid: {residual_notes} of {len(ids)} notes ({residual_rate:.2%}) still match residual-PHI patterns "
            f"{ {k: v for k, v in residual_by_pattern.items() if v} }; threshold {params.residual_max_rate:.2%}"
        )
    text_index = table.schema.get_field_index("text")
    text_type = table.schema.field("text").type
    table = table.set_column(text_index, table.schema.field("text"), pa.array(new_texts, type=text_type))
    table, metadata_counts = deid_metadata.apply(table, params.metadata, id_key)
    out = Path(out)
    pq.write_table(table, out / NOTES)
    pq.write_table(pa.table(span_cols, schema=SPAN_SCHEMA), out / SPANS)

    return StageResult(
        rows_in=len(ids),
        rows_out=len(ids),
        dropped={},
        counts={
            "phi_by_category": by_category,
            "notes_with_phi": notes_with_phi,
            "chars_in": chars_in,
            "chars_out": chars_out,
            "residual_phi": {"notes": residual_notes, "by_pattern": residual_by_pattern},
            "surrogates": params.surrogates,
            "metadata": {"columns": table.column_names, **metadata_counts},
        },
    )
