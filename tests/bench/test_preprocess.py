"""bench/preprocess.py: the hand-labelled boundary sample is well-formed, splitters are aligned to it correctly,
and one measured side runs in its own process and reports numbers (no timing is asserted)."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.bench.scripts import load

bench = load("preprocess")


def test_labelled_sample_is_well_formed():
    docs = [json.loads(line) for line in bench.LABELS.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert sum(len(d["boundaries"]) for d in docs) >= 200
    for d in docs:
        text, bounds = d["text"], d["boundaries"]
        assert bounds == sorted(set(bounds)), d["source"]
        for b in bounds:  # every label is a sentence start: after whitespace, on a non-space character
            assert 0 < b < len(text) and text[b - 1].isspace() and not text[b].isspace(), (d["source"], b)


def test_starts_aligns_normalised_sentences_and_refuses_changed_text():
    text = "HEADER\n\nFirst  one.\nSecond\n  wrapped. Third."
    sentences = ["HEADER", "First one.", "Second wrapped.", "Third."]
    assert bench._starts(text, sentences) == {text.index("First"), text.index("Second"), text.index("Third")}
    with pytest.raises(ValueError):
        bench._starts(text, ["HEADER", "First one!", "Second wrapped.", "Third."])


def test_boundary_agreement_scores_every_splitter():
    pytest.importorskip("pysbd")  # the bench extra
    scores = bench.boundary_agreement()
    assert set(scores) == {"ours (clinical)", "blingfire", "pysbd"}
    for s in scores.values():
        assert s["gold"] >= 200 and 0.0 <= s["f1"] <= 1.0
    # the clinical splitter's reason to exist: layout-aware, it must beat blingfire on whole-note text
    assert scores["ours (clinical)"]["f1"] > scores["blingfire"]["f1"]


def test_a_side_runs_in_its_own_process_and_reports_numbers(tmp_path):
    texts = ["Pt seen today.  Doing well.", "pt seen today. doing well.", "Another note entirely here."]
    pq.write_table(pa.table({"note_id": ["a", "b", "c"], "text": texts}), tmp_path / "notes.parquet")
    out = bench.run_side("dedup_exact", {"clean": str(tmp_path / "notes.parquet")})
    assert out["notes"] == 3 and out["removed"] == 1  # case and spacing collapse
    assert out["bytes"] == sum(len(t.encode()) for t in texts)
    assert out["cpu"] >= 0 and out["peak_rss_mb"] > 0
