"""deid stage: span merging, replacement, keep_year, the stage body, and that no text leaks to logs."""

from __future__ import annotations

import logging

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.deid import stage as deid
from pipeline.config import DeidParams, MetadataParams
from pipeline.core.dataset import Dataset
from pipeline.deid.stage import Span, build_analyzer, find_phi, merge_spans, replace_phi, widen
from pipeline.deid.metadata import id_key, keyed_hash
from pipeline.deid.tags import ALL_TAGS, TAGS

CANARY = "Zbigniewa Kowalczykowska"  # planted name; must not survive de-identification

NOTES = [
    ("n1", f"Patient: {CANARY}\nMRN: 00482913\nAdmitted March 14, 2019 for CHF. Lasix 40 mg PO BID.", "p1"),
    ("n2", "Cr 1.6, BUN 22. Foley removed. No PHI here at all.", "p1"),
    ("n3", f"Seen by Dr. Okonkwo on 3/14/2019. Call (352) 555-0199. cc: {CANARY}", "p2"),
    ("n4", "A 93 year old from Gainesville, FL 32608. Email jdoe@example.com", "p3"),
    ("n5", None, "p3"),
    ("n6", "Wife Mary at bedside; SSN 123-45-6789; lives at 12 Oak St.", "p4"),
    ("n7", "", "p4"),
]


@pytest.fixture(scope="module")
def analyzer():
    return build_analyzer()


# -- merging ----------------------------------------------------------------------------------------------


def test_merge_takes_union_and_longest_category():
    spans = [Span(0, 5, "NAME", 0.9), Span(3, 12, "LOCATION", 0.5), Span(20, 25, "DATE", 0.6)]
    assert merge_spans(spans) == [Span(0, 12, "LOCATION", 0.9), Span(20, 25, "DATE", 0.6)]


def test_merge_contained_span_goes_to_the_widest():
    spans = [Span(10, 14, "DATE", 0.9), Span(4, 30, "ID", 0.35), Span(12, 13, "AGE", 1.0)]
    assert merge_spans(spans) == [Span(4, 30, "ID", 1.0)]


def test_merge_equal_length_prefers_score_then_tag_order():
    assert merge_spans([Span(0, 12, "PHONE", 0.7), Span(0, 12, "FAX", 0.9)])[0].category == "FAX"
    assert merge_spans([Span(0, 12, "ID", 0.5), Span(0, 12, "SSN", 0.5)])[0].category == "SSN"


def test_merge_keeps_adjacent_spans_apart_and_sorts():
    spans = [Span(5, 9, "DATE", 0.6), Span(0, 5, "NAME", 0.8)]
    assert merge_spans(spans) == [Span(0, 5, "NAME", 0.8), Span(5, 9, "DATE", 0.6)]


def test_find_phi_resolves_overlaps_to_widest(analyzer):
    # "Dr. John Smith" (honorific) and "John Smith" (census pair) overlap; the result is one span.
    text = "Discussed with Dr. John Smith today."
    spans = find_phi(text, analyzer)
    assert [(text[s.start : s.end], s.category) for s in spans] == [("John Smith", "NAME")]
    for a, b in zip(spans, spans[1:]):
        assert a.end <= b.start


# -- replacement ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("date", "keep", "expected"),
    [
        ("March 14, 2019", True, "[**DATE**] 2019"),
        ("March 14, 2019", False, "[**DATE**]"),
        ("2019-03-14", True, "[**DATE**] 2019"),
        ("3/14/19", True, "[**DATE**]"),
        ("March 14", True, "[**DATE**]"),
    ],
)
def test_keep_year(date, keep, expected):
    text = f"Seen {date} in clinic."
    span = Span(5, 5 + len(date), "DATE", 0.9)
    assert replace_phi(text, [span], keep_year=keep) == f"Seen {expected} in clinic."


def test_keep_year_only_for_dates_and_end_to_end(analyzer):
    text = "Admitted March 14, 2019; MRN 20190314; age 95."
    out = replace_phi(text, find_phi(text, analyzer), keep_year=True)
    assert out == "Admitted [**DATE**] 2019; MRN [**MRN**]; age [**AGE>89**]."


def test_replace_rejects_overlapping_spans_without_echoing_text():
    with pytest.raises(ValueError) as err:
        replace_phi("secret words", [Span(0, 6, "NAME", 1.0), Span(3, 9, "NAME", 1.0)])
    assert "secret" not in str(err.value)


def test_chunk_gives_what_each_note_gives_alone(analyzer):
    """``deid_texts`` scans a whole chunk with the prefilter before analysing it (``PhiRecognizer.batch``):
    every note must still get exactly its own spans, tags and residual counts, in order."""
    rows = [(n, t) for n, t, _ in NOTES] + [("n8", "Reached at 352-555-0101 by Dr. Okonkwo; 3/14/2019")]
    alone = []
    for _, text in rows:
        if text is None:
            alone.append((None, [], {}))
            continue
        spans = find_phi(text, analyzer)
        tagged = replace_phi(text, spans, keep_year=True)
        alone.append((tagged, [tuple(s) for s in spans], deid.residual_phi(tagged)))
    assert deid.deid_texts(rows, keep_year=True, score_threshold=0.3) == alone
    assert deid.deid_texts(list(reversed(rows)), keep_year=True, score_threshold=0.3) == alone[::-1]
    assert sum(bool(spans) for _, spans, _ in alone) >= 5  # the chunk is not trivially empty


# -- the stage body -----------------------------------------------------------------------------------------


def _write_input(folder, rows):
    table = pa.table(
        {
            "note_id": [r[0] for r in rows],
            "text": pa.array([r[1] for r in rows], type=pa.large_string()),
            "patient_id": [r[2] for r in rows],
            "note_type": ["progress"] * len(rows),
            "note_date": [None] * len(rows),
            "source_file": ["notes.csv"] * len(rows),
            "source_row": pa.array(range(len(rows)), type=pa.int64()),
        }
    )
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, folder / "notes.parquet")
    return table


@pytest.fixture(scope="module")
def stage_runs(tmp_path_factory):
    """The stage run once with 1 worker and once with 2 (small chunks, so both workers get work)."""
    root = tmp_path_factory.mktemp("deid")
    table = _write_input(root / "in", NOTES * 3)
    ds = Dataset("dedup", "x", root / "in")
    outs, results, calls = {}, {}, {}
    old_chunk, old_min = deid.CHUNK_NOTES, deid.POOL_MIN_CHARS
    deid.CHUNK_NOTES, deid.POOL_MIN_CHARS = 4, 0  # a real pool, even for these few notes
    try:
        for workers in (1, 2):
            out = root / f"out{workers}"
            out.mkdir()
            seen: list[tuple[int, int]] = []
            results[workers] = deid.run(
                {"dedup": ds}, out, DeidParams(keep_year=True), lambda d, t, s=seen: s.append((d, t)), workers
            )
            outs[workers], calls[workers] = out, seen
    finally:
        deid.CHUNK_NOTES, deid.POOL_MIN_CHARS = old_chunk, old_min
    return table, outs, results, calls


def test_run_is_byte_identical_for_any_worker_count(stage_runs):
    _, outs, results, _ = stage_runs
    for part in ("notes.parquet", "phi_spans.parquet"):
        assert (outs[1] / part).read_bytes() == (outs[2] / part).read_bytes(), part
    assert results[1].counts == results[2].counts


def test_run_output_keeps_rows_and_columns_and_removes_canary(stage_runs):
    table, outs, results, _ = stage_runs
    got = pq.read_table(outs[1] / "notes.parquet")
    assert got.column_names == ["note_id", "text", "patient_id", "note_type", "note_date"]  # no source_file/row
    key = id_key(MetadataParams())
    assert got.column("note_id").to_pylist() == [keyed_hash(key, "note", n) for n in table.column("note_id").to_pylist()]
    assert got.column("patient_id").to_pylist() == [
        keyed_hash(key, "patient", p) if p is not None else None for p in table.column("patient_id").to_pylist()
    ]
    assert got.column("note_type").equals(table.column("note_type"))
    assert got.column("note_date").null_count == len(got)
    texts = got.column("text").to_pylist()
    assert texts[4] is None and texts[6] == "" and texts[1] == NOTES[1][1]
    assert "[**NAME**]" in texts[0] and "[**DATE**] 2019" in texts[0] and "[**MRN**]" in texts[0]
    assert "Lasix 40 mg PO BID" in texts[0]
    assert not any(t and tag in t for t in table.column("text").to_pylist() for tag in ALL_TAGS)
    for part in ("notes.parquet", "phi_spans.parquet"):
        raw = (outs[1] / part).read_bytes()
        assert CANARY.encode() not in raw and b"Kowalczykowska" not in raw
    r = results[1]
    assert r.rows_in == r.rows_out == len(NOTES) * 3 and r.dropped == {}
    assert r.counts["notes_with_phi"] == 4 * 3
    assert r.counts["chars_in"] == 3 * sum(len(t or "") for _, t, _ in NOTES)
    assert set(r.counts["phi_by_category"]) == set(TAGS)


def test_run_spans_point_into_the_input_text(stage_runs):
    table, outs, results, _ = stage_runs
    spans = pq.read_table(outs[1] / "phi_spans.parquet")
    assert spans.schema == deid.SPAN_SCHEMA
    key = id_key(MetadataParams())
    hashed = [keyed_hash(key, "note", n) for n in table.column("note_id").to_pylist()]
    texts = dict(zip(hashed, table.column("text").to_pylist()))
    rows = spans.to_pylist()
    assert sum(results[1].counts["phi_by_category"].values()) == len(rows)
    canary_spans = [r for r in rows if texts[r["note_id"]][r["start"] : r["end"]] == CANARY]
    assert len(canary_spans) == 2 * 3 and all(r["category"] == "NAME" for r in canary_spans)


def test_run_reports_progress_up_to_total(stage_runs):
    _, _, _, calls = stage_runs
    for seen in calls.values():
        total = len(NOTES) * 3
        assert seen and seen[-1] == (total, total)
        assert [d for d, _ in seen] == sorted(d for d, _ in seen)


# -- PHI never reaches logs ---------------------------------------------------------------------------------


def test_no_text_in_logs_at_debug(analyzer, caplog):
    caplog.set_level(logging.DEBUG)
    text = f"Patient: {CANARY}, seen by Dr. Okonkwo on 3/14/2019."
    spans = find_phi(text, analyzer)
    assert any(text[s.start : s.end] == CANARY for s in spans)
    logged = caplog.text + "".join(str(r.args) for r in caplog.records)
    assert CANARY not in logged and "Okonkwo" not in logged
    assert logging.getLogger("presidio-analyzer").level == logging.WARNING


# -- residual-PHI audit --------------------------------------------------------------------------------------


def test_residual_patterns_find_what_must_never_survive():
    text = "SSN 123-45-6789, mail a.b@x.org, call (352) 555-0199, seen 3/14/2019 and 2019-03-14, MRN: 4410023"
    assert deid.residual_phi(text) == {"ssn": 1, "email": 1, "phone": 1, "date_mdy": 1, "date_iso": 1, "mrn": 1}
    assert deid.residual_phi("[**NAME**] seen [**DATE**] 2019, BP 120/80, 5/5 strength, Cr 1.6") == {}


def test_clean_run_counts_no_residual_phi(stage_runs):
    _, _, results, _ = stage_runs
    assert results[1].counts["residual_phi"]["notes"] == 0
    assert set(results[1].counts["residual_phi"]["by_pattern"]) == set(deid.RESIDUAL_PATTERNS)


def test_residual_phi_above_threshold_fails_the_stage(tmp_path, monkeypatch):
    """A recognizer that misses everything leaves PHI behind: the audit stops the stage, naming counts only."""
    _write_input(tmp_path / "in", NOTES)
    ds = Dataset("dedup", "x", tmp_path / "in")
    monkeypatch.setattr(deid, "find_phi", lambda text, analyzer=None, score_threshold=0.3: [])
    (tmp_path / "o1").mkdir()
    with pytest.raises(deid.ResidualPhiError) as err:
        deid.run({"dedup": ds}, tmp_path / "o1", DeidParams(), None, 1)
    assert CANARY not in str(err.value) and "123-45-6789" not in str(err.value) and "ssn" in str(err.value)
    (tmp_path / "o2").mkdir()
    result = deid.run({"dedup": ds}, tmp_path / "o2", DeidParams(residual_max_rate=1.0), None, 1)
    assert result.counts["residual_phi"]["notes"] >= 3 and result.counts["residual_phi"]["by_pattern"]["ssn"] == 1


# -- surrogates ---------------------------------------------------------------------------------------------


def test_surrogates_are_consistent_per_note_and_keep_shapes():
    from pipeline.deid.surrogates import Surrogates

    a, b = Surrogates(b"k", "n1", keep_year=True), Surrogates(b"k", "n2", keep_year=True)
    assert a.get("NAME", "Quackenbush") == a.get("NAME", "QUACKENBUSH".title())
    assert a.get("NAME", "Quackenbush") != "Quackenbush"
    assert {b.get("NAME", n) for n in ("Quackenbush", "Okonkwo", "Villegas")} != {a.get("NAME", "Quackenbush")}
    assert a.get("NAME", "SMITH, JOHN").isupper() and ", " in a.get("NAME", "SMITH, JOHN")
    from pipeline.deid.surrogates import _FIRST, _LAST

    last, first = a.get("NAME", "Smith, John").split(", ")  # "Last, First" keeps its order
    assert last in _LAST and first in _FIRST
    first, last = a.get("NAME", "John Smith").split(" ")
    assert first in _FIRST and last in _LAST
    fake_date = a.get("DATE", "03/14/2019")
    m, d, y = fake_date.split("/")
    assert 1 <= int(m) <= 12 and 1 <= int(d) <= 28 and y == "2019"
    assert a.get("DATE", "March 14, 2019").endswith("2019") and "March 14" not in a.get("DATE", "March 14, 2019")
    ssn = a.get("SSN", "123-45-6789")
    assert len(ssn) == 11 and ssn[3] == ssn[6] == "-" and ssn != "123-45-6789"
    assert a.get("AGE", "93") == "90+"
    assert Surrogates(b"other key", "n1", True).get("SSN", "123-45-6789") != ssn


def test_surrogate_run_needs_a_key_and_stores_no_original(tmp_path, monkeypatch):
    _write_input(tmp_path / "in", NOTES)
    ds = Dataset("dedup", "x", tmp_path / "in")
    params = DeidParams(surrogates=True, surrogate_key_env="EHRLM_TEST_SURROGATE_KEY")
    monkeypatch.delenv("EHRLM_TEST_SURROGATE_KEY", raising=False)
    (tmp_path / "o1").mkdir()
    with pytest.raises(ValueError, match="EHRLM_TEST_SURROGATE_KEY"):
        deid.run({"dedup": ds}, tmp_path / "o1", params, None, 1)
    monkeypatch.setenv("EHRLM_TEST_SURROGATE_KEY", "not-a-real-secret")
    (tmp_path / "o2").mkdir()
    result = deid.run({"dedup": ds}, tmp_path / "o2", params, None, 1)
    texts = pq.read_table(tmp_path / "o2" / "notes.parquet").column("text").to_pylist()
    assert not any(tag in (t or "") for t in texts for tag in ALL_TAGS)
    for t in texts:
        assert CANARY not in (t or "") and "Kowalczykowska" not in (t or "") and "123-45-6789" not in (t or "")
    assert "Lasix 40 mg PO BID" in texts[0]  # clinical text untouched
    assert result.counts["surrogates"] is True and result.counts["residual_phi"]["notes"] == 0
    for part in ("notes.parquet", "phi_spans.parquet", "manifest.json"):
        path = tmp_path / "o2" / part
        assert not path.exists() or CANARY.encode() not in path.read_bytes()


def test_small_input_runs_in_one_process(tmp_path, monkeypatch):
    """Under ``POOL_MIN_CHARS`` a pool would only add worker start-up: the stage runs in this process (same
    output), and above it the pool is used."""
    _write_input(tmp_path / "in", NOTES)
    ds = Dataset("dedup", "x", tmp_path / "in")
    used = []
    real = deid.map_chunks
    monkeypatch.setattr(deid, "map_chunks", lambda *a, **k: used.append(k["workers"]) or real(*a, **k))
    for i, min_chars in enumerate((10**9, 0)):
        monkeypatch.setattr(deid, "POOL_MIN_CHARS", min_chars)
        (tmp_path / f"out{i}").mkdir()
        deid.run({"dedup": ds}, tmp_path / f"out{i}", DeidParams(), None, workers=2)
    assert used == [1, 2]
    assert (tmp_path / "out0" / "notes.parquet").read_bytes() == (tmp_path / "out1" / "notes.parquet").read_bytes()


def test_combine_keeps_model_spans_strong_rules_and_only_confirmed_weak_names():
    from pipeline.deid.stage import WEAK_RULE_SCORE, combine

    model = [Span(10, 15, "NAME", 0.9), Span(40, 45, "LOCATION", 0.8)]
    rules = [
        Span(0, 5, "NAME", WEAK_RULE_SCORE - 0.3),  # weak, no model span: vetoed
        Span(12, 20, "NAME", WEAK_RULE_SCORE - 0.3),  # weak, overlaps a model span: kept
        Span(22, 27, "NAME", WEAK_RULE_SCORE),  # strongly anchored: kept
        Span(30, 35, "DATE", 0.5),  # pattern category: kept whatever its score
        Span(44, 50, "LOCATION", 0.4),  # weak place, overlaps the model's place: kept
        Span(60, 66, "LOCATION", 0.4),  # weak place alone: vetoed
        Span(70, 76, "LOCATION", 0.7),  # strongly anchored place ("transfer to Farr")
        Span(70, 78, "LOCATION", 0.5),  # weak, extends the anchored place ("Farr 7"): kept
        Span(29, 31, "NAME", 0.4),  # weak, overlaps only a DATE rule span: vetoed
    ]
    kept = combine(rules, model)
    assert sorted(kept) == sorted([*model, rules[1], rules[2], rules[3], rules[4], rules[6], rules[7]])
    strong_only = [r for r in rules if r.category not in ("NAME", "LOCATION") or r.score >= WEAK_RULE_SCORE]
    assert combine(rules, []) == [r for r in rules if r in strong_only or r == rules[7]]


def test_tagger_threshold_defaults_per_mode_and_a_set_value_wins(tmp_path):
    from pipeline.deid.stage import TAGGER_THRESHOLD, engine_spec

    tagger = str(tmp_path)
    assert engine_spec(DeidParams(mode="rules+model", tagger=tagger))[2] == TAGGER_THRESHOLD["rules+model"] == 0.75
    assert engine_spec(DeidParams(mode="model", tagger=tagger))[2] == TAGGER_THRESHOLD["model"] == 0.5
    assert engine_spec(DeidParams(mode="rules+model", tagger=tagger, tagger_threshold=0.3))[2] == 0.3
    with pytest.raises(ValueError):
        DeidParams(mode="model", tagger=tagger, tagger_threshold=1.0)


def test_states_and_countries_are_kept_whole_and_in_part(analyzer):
    for text in ("She moved here from West Virginia last year.", "Born in the Dominican Republic.",
                 "Lives in Ocala, Florida with her son."):
        spans = find_phi(text, analyzer)
        tagged = " ".join(text[s.start : s.end] for s in spans)
        assert not any(w in tagged for w in ("Virginia", "West", "Dominican", "Republic", "Florida")), tagged
    assert [text[s.start : s.end] for text in ["Lives in Ocala, Florida."] for s in find_phi(text, analyzer)] == ["Ocala"]


def test_widen_takes_a_name_initial_and_a_phone_number_parentheses():
    text = "nsg (r. tolliver and k. amblin); son (555-0140) called; BP 120/80. Mendez aware"
    name = text.index("tolliver")
    assert widen(text, Span(name, name + 8, "NAME", 0.9)).start == name - 3  # "r. tolliver"
    phone = text.index("555-0140")
    got = widen(text, Span(phone, phone + 8, "PHONE", 0.7))
    assert text[got.start : got.end] == "(555-0140)"
    mendez = text.index("Mendez")  # "80." is no initial
    assert widen(text, Span(mendez, mendez + 6, "NAME", 0.75)).start == mendez
    date = text.index("120/80")
    assert widen(text, Span(date, date + 6, "DATE", 0.5)) == Span(date, date + 6, "DATE", 0.5)


def test_widen_takes_a_facility_noun_after_a_place():
    text = "to go to rehab (mercy ridge Memorial) today; from Lakeview hosp; seen at Dunmore, hospital course"
    place = text.index("mercy ridge")
    got = widen(text, Span(place, place + 11, "LOCATION", 0.8))
    assert text[got.start : got.end] == "mercy ridge Memorial"
    place = text.index("Lakeview")
    got = widen(text, Span(place, place + 8, "LOCATION", 0.8))
    assert text[got.start : got.end] == "Lakeview hosp"
    place = text.index("Dunmore")  # a comma between: "hospital course" is not the place's
    assert widen(text, Span(place, place + 7, "LOCATION", 0.8)) == Span(place, place + 7, "LOCATION", 0.8)
    name = text.index("Lakeview")  # a name is not widened over a facility noun
    assert widen(text, Span(name, name + 8, "NAME", 0.8)) == Span(name, name + 8, "NAME", 0.8)
