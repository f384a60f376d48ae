"""The synthetic corpus is a fixture and an answer key for every text stage, so its promises are tested here:
determinism, valid labels, full PHI coverage, planted duplicates and dirt, profile separation, writers."""

from __future__ import annotations

import html
import json
import re
from collections import Counter

import polars as pl
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from pipeline.synth import generator as synth
from pipeline.config import DedupParams
from pipeline.dedup import jaccard, shingles
from pipeline.deid.tags import CATEGORIES


@pytest.fixture(scope="module")
def dev() -> synth.SynthCorpus:
    return synth.generate(500, seed=0, profile="dev")


@pytest.fixture(scope="module")
def heldout() -> synth.SynthCorpus:
    return synth.generate(500, seed=0, profile="heldout")


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text.lower()).strip()


def _label_texts(corpus: synth.SynthCorpus) -> dict[str, list[tuple[str, str]]]:
    texts = {n.note_id: n.text for n in corpus.notes}
    return {nid: [(texts[nid][s.start:s.end], s.category) for s in spans]
            for nid, spans in corpus.labels_by_note().items()}


def _ideal_clean(raw: bytes, dirt: tuple[str, ...]) -> str:
    """Undo every dirt kind (in reverse order of application): what a perfect clean stage would produce."""
    s = raw.decode("utf-8", errors="replace").replace("\ufffd", "")
    s = re.sub("[\x07\x0b\x0c\x1b\u200b\ufeff]", "", s).replace("\xa0", " ")
    if "html_entities" in dirt:
        s = html.unescape(s)
    if "mojibake" in dirt:
        inverse = {ch: b for b, ch in enumerate(synth.SLOPPY_CP1252)}
        s = bytes(inverse[ch] for ch in s).decode("utf-8")
    return s


def test_templates_use_only_known_slots():
    assert synth._unknown_slots() == []


def test_same_seed_same_corpus_other_seed_differs():
    a, b, c = (synth.generate(300, seed=s) for s in (7, 7, 8))
    key = lambda corpus: [(n.note_id, n.raw, n.text, n.kind, n.dup_of, n.dirt, n.note_date) for n in corpus.notes]
    assert key(a) == key(b)
    assert a.labels == b.labels
    assert a.planted() == b.planted()
    assert [n.raw for n in a.notes] != [n.raw for n in c.notes]
    assert a.labels != c.labels


@pytest.mark.parametrize("profile", ["dev", "heldout"])
def test_labels_are_valid_spans(profile, dev, heldout):
    corpus = dev if profile == "dev" else heldout
    texts = {n.note_id: n.text for n in corpus.notes}
    assert corpus.labels
    for nid, spans in corpus.labels_by_note().items():
        text, prev_end = texts[nid], 0
        for s in sorted(spans, key=lambda s: s.start):
            piece = text[s.start:s.end]
            assert 0 <= s.start < s.end <= len(text)
            assert s.category in CATEGORIES
            assert piece.strip() == piece and piece, (nid, s.category)
            assert "\n" not in piece
            assert s.start >= prev_end, "overlapping labels"
            prev_end = s.end


@pytest.mark.parametrize("profile", ["dev", "heldout"])
def test_every_category_planted(profile, dev, heldout):
    corpus = dev if profile == "dev" else heldout
    counts = corpus.planted()
    assert {c for c in CATEGORIES if counts[f"phi.{c}"] == 0} == set()
    assert set(Counter(s.category for s in corpus.labels)) == set(CATEGORIES)
    assert counts["phi"] == len(corpus.labels)


def test_ages_labelled_only_over_89_and_younger_ages_are_traps(dev):
    words = {"ninety": 90} | {f"ninety-{w}": 91 + i for i, w in
                             enumerate(["one", "two", "three", "four", "five", "six", "seven", "eight", "nine"])}
    texts = {n.note_id: n.text for n in dev.notes}
    for s in dev.labels:
        if s.category == "AGE":
            value = texts[s.note_id][s.start:s.end]
            assert (int(value) if value.isdigit() else words[value.lower()]) > 89
    covered = {(s.note_id, s.start) for s in dev.labels}
    young = [(n.note_id, m.start(1)) for n in dev.notes
             for m in re.finditer(r"\b(\d{2})[- ](?:year[- ]old|yo|y/o)\b", n.text) if int(m.group(1)) <= 89]
    assert young and not covered.intersection(young)


def test_surface_forms_vary(dev):
    by_cat: dict[str, list[str]] = {}
    for nid, pairs in _label_texts(dev).items():
        for text, cat in pairs:
            by_cat.setdefault(cat, []).append(text)
    names, dates, phones = by_cat["NAME"], by_cat["DATE"], by_cat["PHONE"]
    assert any(re.fullmatch(r"[A-Z'-]+, [A-Z]+", n) for n in names)  # SMITH, JANE
    assert any(re.fullmatch(r"[A-Z][a-z'-]+,[A-Z][a-z]+", n) for n in names)  # Smith,Jane
    assert any(n.islower() for n in names)  # jane smith
    assert any(re.fullmatch(r"[A-Z]\. [A-Z][\w'-]+", n) for n in names)  # J. Smith
    for pattern in (r"\d\d/\d\d/\d{4}", r"\d{1,2}/\d{1,2}/\d\d", r"\d{4}-\d\d-\d\d", r"[A-Z][a-z]+ \d{1,2}, \d{4}",
                    r"\d{1,2} [A-Z][a-z]{2} \d{4}", r"[A-Z][a-z]{2}-\d\d", r"\d{1,2}/\d\d", r"\d{1,2}(st|nd|rd|th)",
                    r"(January|February|March|April|May|June|July|August|September|October|November|December)"):
        assert any(re.fullmatch(pattern, d) for d in dates), pattern
    for pattern in (r"\(\d{3}\) \d{3}-\d{4}", r"\d{3}-\d{3}-\d{4}", r"\d{3}\.\d{3}\.\d{4} ext \d+"):
        assert any(re.fullmatch(pattern, p) for p in phones), pattern


def test_clinical_traps_present_outside_labels(dev):
    covered = {nid: [(s.start, s.end) for s in spans] for nid, spans in dev.labels_by_note().items()}
    traps = ["atorvastatin", "metoprolol", "Lasix", "Parkinson disease", "Foley catheter", "Babinski", " MD", " PO ",
             " ST ", " RA", "Cr ", "EtOH", "p.o.", "b.i.d.", "q.d.", "approx.", "Dr. ", "5/5", "BP ", "WBC "]
    for trap in traps:
        hits = [(n.note_id, m.start(), m.end()) for n in dev.notes for m in re.finditer(re.escape(trap), n.text)]
        assert any(not any(a < e and s < b for a, b in covered[nid]) for nid, s, e in hits), trap


def test_note_structure(dev):
    originals = [n for n in dev.notes if n.kind == "original"]
    assert Counter(n.note_type for n in originals).keys() == {
        "discharge_summary", "progress_note", "radiology_report", "pathology_report", "nursing_note"}
    text = "\n".join(n.text for n in originals)
    assert "HISTORY OF PRESENT ILLNESS:" in text
    headers = re.findall(r"^([A-Z][A-Z/ -]{2,}):", text, flags=re.M)
    assert len(set(headers)) > 30 and not any("." in h for h in headers)
    lines = text.split("\n")
    assert sum(len(line) > 80 for line in lines) / len(lines) < 0.05  # hard-wrapped
    assert re.search(r"^1\. ", text, flags=re.M) and re.search(r"^- ", text, flags=re.M)
    sizes = sorted(len(n.raw) for n in originals)
    assert 1300 < sizes[len(sizes) // 2] < 3000


def test_duplicates_copy_an_earlier_original(dev):
    pos = {n.note_id: i for i, n in enumerate(dev.notes)}
    by_id = {n.note_id: n for n in dev.notes}
    labels = _label_texts(dev)
    exact = [n for n in dev.notes if n.kind == "exact_dup"]
    near = [n for n in dev.notes if n.kind == "near_dup"]
    assert 15 <= len(exact) <= 25 and 10 <= len(near) <= 20
    assert {n.variant for n in exact} == {"byte", "case", "whitespace"}
    for dup in exact + near:
        src = by_id[dup.dup_of]
        assert src.kind == "original" and pos[src.note_id] < pos[dup.note_id]
        assert dup.raw == dup.text.encode() and dup.patient_id == src.patient_id
        assert [t.lower() for t, _ in labels[dup.note_id]] == [t.lower() for t, _ in labels[src.note_id]]
    for dup in exact:
        src = by_id[dup.dup_of]
        assert _norm(dup.text) == _norm(src.text)
        assert (dup.raw == src.raw) == (dup.variant == "byte")
    for dup in near:
        src = by_id[dup.dup_of]
        assert _norm(dup.text) != _norm(src.text)
        # the guarantee, measured with the dedup stage's own functions, clears its default threshold
        size = DedupParams().shingle_size
        assert jaccard(shingles(dup.text, size), shingles(src.text, size)) >= synth.NEAR_DUP_MIN_JACCARD
    assert synth.NEAR_DUP_MIN_JACCARD > DedupParams().threshold


def test_unrelated_notes_are_not_near_duplicates(dev):
    originals = [n.text for n in dev.notes if n.kind == "original"][:60]
    sims = [synth.shingle_jaccard(a, b) for i, a in enumerate(originals) for b in originals[i + 1:]]
    assert max(sims) < 0.6


def test_dirt_planted_in_raw_bytes(dev):
    counts = dev.planted()
    assert all(counts[f"dirty.{k}"] > 0 for k in synth.DIRT_KINDS)
    dirty = [n for n in dev.notes if n.kind == "dirty"]
    assert 20 <= len(dirty) <= 30
    raws = [n.raw for n in dirty]
    invalid = [r for r in raws if not synth._is_utf8(r)]
    assert invalid and len(invalid) == counts["raw_invalid_utf8"]
    for needle in (b"\xc2\xa0", b"&amp;", "\u200b".encode()):
        assert any(needle in r for r in raws), needle
    mojibake = "Â°|Âµ|â€™|â€“|Ã.".encode()  # UTF-8 read as cp1252, then re-encoded
    assert any(re.search(mojibake, r) for r in raws)
    assert any(re.search(rb"[\x07\x0b\x0c\x1b]", r) for r in raws)
    assert any(b"\xff\xfe" in r for r in raws)
    for n in dev.notes:
        if n.kind != "dirty":
            assert n.raw == n.text.encode("utf-8") and not n.dirt


def test_dirt_is_reversible_so_labels_still_hold(dev):
    for n in dev.notes:
        if n.kind == "dirty":
            assert n.raw != n.text.encode()
            assert _ideal_clean(n.raw, n.dirt) == n.text, (n.note_id, n.dirt)


def test_empty_notes(dev):
    empty = [n for n in dev.notes if n.kind == "empty"]
    assert empty and all(n.text.strip() == "" for n in empty)
    assert not {s.note_id for s in dev.labels} & {n.note_id for n in empty}


def test_planted_counts_add_up(dev):
    c = dev.planted()
    assert c["notes"] == 500 == sum(c[k] for k in synth.NOTE_KINDS)
    assert c["exact_dup"] == c["exact_dup.byte"] + c["exact_dup.case"] + c["exact_dup.whitespace"]
    assert all(isinstance(v, int) for v in c.values())


def test_profiles_differ_in_wording_and_pools(dev, heldout):
    def headers(corpus):
        return set(re.findall(r"^([A-Z][A-Z/ -]{2,}):", "\n".join(n.text for n in corpus.notes), flags=re.M))

    assert "HISTORY OF PRESENT ILLNESS" in headers(dev) - headers(heldout)
    assert "BRIEF HOSPITAL COURSE" in headers(heldout) - headers(dev)
    words = lambda corpus: {w for t, c in sum(_label_texts(corpus).values(), []) if c == "NAME"
                            for w in re.findall(r"[A-Za-z]{3,}", t.lower())}
    shared = words(dev) & words(heldout)
    assert len(shared) < 0.02 * len(words(dev))
    assert any(re.fullmatch(r"\d\d\.\d\d\.\d{4}", t) for t, c in sum(_label_texts(heldout).values(), []) if c == "DATE")


@pytest.mark.parametrize("fmt", synth.FORMATS)
def test_write_roundtrip(tmp_path, dev, fmt):
    path = synth.write(dev, tmp_path, fmt)
    raws = [n.raw for n in dev.notes]
    ids = [n.note_id for n in dev.notes]
    if fmt == "parquet":
        table = pq.read_table(path)
        assert table.column_names == list(synth.COLUMNS) and table.schema.field("text").type == pa.binary()
        assert table.column("text").to_pylist() == raws and table.column("note_id").to_pylist() == ids
    elif fmt == "csv":
        assert pl.read_csv(path, encoding="utf8-lossy").height == len(raws)
        table = pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(
            column_types={"text": pa.binary(), "note_date": pa.string()}, strings_can_be_null=False,
            quoted_strings_can_be_null=False))
        assert table.column("text").to_pylist() == raws
    elif fmt == "jsonl":
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
        assert [r["note_id"] for r in rows] == ids
        assert [r["text"] for r in rows] == [r.decode("utf-8", errors="replace") for r in raws]
    else:
        assert path.is_dir() and sorted(p.name for p in path.iterdir()) == sorted(f"{i}.txt" for i in ids)
        assert [(path / f"{i}.txt").read_bytes() for i in ids] == raws
    labels = [json.loads(line) for line in (tmp_path / "phi_labels.jsonl").read_text().splitlines()]
    assert len(labels) == len(dev.labels) and labels[0].keys() == {"note_id", "start", "end", "category"}
    assert json.loads((tmp_path / "planted.json").read_text()) == dev.planted()
    truth = [json.loads(line) for line in (tmp_path / "notes_truth.jsonl").read_text().splitlines()]
    assert [t["kind"] for t in truth] == [n.kind for n in dev.notes]


def test_bad_arguments():
    with pytest.raises(ValueError):
        synth.generate(10, profile="prod")
    with pytest.raises(ValueError):
        synth.write(synth.generate(5), __import__("pathlib").Path("/tmp"), fmt="xlsx")
