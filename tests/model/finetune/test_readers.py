"""Readers of the benchmark formats, on small hand-written files with known contents."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from model.finetune import readers
from model.finetune.readers import NerSentence, ReadStats, RelationExample
from pipeline.core.errors import FormatError


def test_find_splits_by_name_word(tmp_path: Path) -> None:
    for name in ("mli_train_v1.jsonl", "mli_dev_v1.jsonl", "mli_test_v1.jsonl", "README.md", "_manifest.json"):
        (tmp_path / name).write_text("")
    assert {k: p.name for k, p in readers.find_splits(tmp_path).items()} == {
        "train": "mli_train_v1.jsonl", "dev": "mli_dev_v1.jsonl", "test": "mli_test_v1.jsonl"}
    (tmp_path / "devel.tsv").write_text("")
    with pytest.raises(FormatError, match="dev split"):
        readers.find_splits(tmp_path)


def test_find_splits_needs_train(tmp_path: Path) -> None:
    (tmp_path / "devel.tsv").write_text("")
    with pytest.raises(FormatError, match="no train split"):
        readers.find_splits(tmp_path)


def test_read_conll(tmp_path: Path) -> None:
    f = tmp_path / "train.tsv"
    f.write_text("-DOCSTART-\tO\n\nAspirin\tNN\tB-Drug\ngiven\tVB\tO\n\n\nchest\tB-Problem\npain\tI-Problem\n")
    assert readers.read_conll(f) == [
        NerSentence(("Aspirin", "given"), ("B-Drug", "O")), NerSentence(("chest", "pain"), ("B-Problem", "I-Problem"))]


def test_read_conll_error_names_line_not_content(tmp_path: Path) -> None:
    f = tmp_path / "train.tsv"
    f.write_text("Aspirin\tB-Drug\nSecretword\tDrug\n")
    with pytest.raises(FormatError) as err:
        readers.read_conll(f)
    assert ":2:" in str(err.value) and "Secretword" not in str(err.value)


def test_read_i2b2(tmp_path: Path) -> None:
    (tmp_path / "rec1.txt").write_text("He has chest pain .\nStarted aspirin 81 mg daily\n")
    (tmp_path / "rec1.con").write_text(
        'c="chest pain" 1:2 1:3||t="problem"\n'
        'c="aspirin" 2:1 2:1||t="treatment"\n'
        'c="pain" 1:3 1:3||t="problem"\n'  # overlaps the first: skipped
        'c="pain . started" 1:3 2:0||t="problem"\n'  # spans two lines: skipped
    )
    stats = ReadStats()
    sents = readers.read_i2b2(tmp_path, stats=stats)
    assert sents == [
        NerSentence(("He", "has", "chest", "pain", "."), ("O", "O", "B-problem", "I-problem", "O")),
        NerSentence(("Started", "aspirin", "81", "mg", "daily"), ("O", "B-treatment", "O", "O", "O")),
    ]
    assert stats.skipped == {"concept_overlaps": 1, "concept_spans_lines": 1}
    only = readers.read_i2b2(tmp_path, types=["treatment"])
    assert only[0].tags == ("O",) * 5 and only[1].tags[1] == "B-treatment"


BRAT_TEXT = "Pt given amoxicillin 500mg.\nDeveloped a\nrash after it. Stopped.\n"


def _brat(tmp_path: Path) -> Path:
    folder = tmp_path / "train"
    folder.mkdir()
    (folder / "100.txt").write_text(BRAT_TEXT)
    i = BRAT_TEXT.index
    rash = i("rash")
    ann = [
        f"T1\tDrug {i('amoxicillin')} {i('amoxicillin') + 11}\tamoxicillin",
        f"T2\tStrength {i('500')} {i('500') + 3}\t500",  # a digit run inside '500mg' is its own word
        f"T3\tADE {rash} {rash + 4}\trash",
        f"T4\tADE {i('Developed')} {i('Developed') + 9};{rash} {rash + 4}\tDeveloped rash",  # discontinuous, overlaps T3
        "R1\tStrength-Drug Arg1:T2 Arg2:T1",
        "R2\tADE-Drug Arg1:T3 Arg2:T1",
        "A1\tNegated T3",
        "#1\tAnnotatorNotes T1\tignored",
    ]
    (folder / "100.ann").write_text("\n".join(ann) + "\n")
    return folder


def test_read_brat_ner_words_sentences_and_overlaps(tmp_path: Path) -> None:
    stats = ReadStats()
    sents = readers.read_brat_ner(_brat(tmp_path), stats=stats)
    # the discontinuous T4 covers 'Developed a\nrash': the newline inside it is not a sentence break
    assert [s.words for s in sents] == [
        ("Pt", "given", "amoxicillin", "500", "mg", "."), ("Developed", "a", "rash", "after", "it", "."), ("Stopped", ".")]
    assert sents[0].tags == ("O", "O", "B-Drug", "B-Strength", "O", "O")
    # T4 starts first and is longer, so it wins; T3 (inside it) is skipped and counted
    assert sents[1].tags == ("B-ADE", "I-ADE", "I-ADE", "O", "O", "O")
    assert stats.skipped == {"entity_overlaps": 1}


def test_read_brat_relations_candidates(tmp_path: Path) -> None:
    folder = _brat(tmp_path)
    pairs = readers.relation_type_pairs(folder)
    assert pairs == {("Strength", "Drug"), ("ADE", "Drug")}
    stats = ReadStats()
    ex = readers.read_brat_relations(folder, pairs, "NONE", max_sentence_distance=1, stats=stats)
    # candidates: T2->T1 (same sentence), T3->T1 and T4->T1 (next sentence)
    by_label = sorted((e.label, e.text_a[e.span_a[0]:e.span_a[1]], e.text_b[e.span_b[0]:e.span_b[1]]) for e in ex)
    assert by_label == [("ADE-Drug", "rash", "amoxicillin"), ("NONE", "Developed a\nrash", "amoxicillin"),
                        ("Strength-Drug", "500", "amoxicillin")]
    assert stats.missed_relations == 0
    stats = ReadStats()
    ex = readers.read_brat_relations(folder, pairs, "NONE", max_sentence_distance=0, stats=stats)
    assert [e.label for e in ex] == ["Strength-Drug"] and stats.missed_relations == 1


def test_read_relation_jsonl_inline_and_offsets_agree(tmp_path: Path) -> None:
    f = tmp_path / "train.jsonl"
    lines = [
        {"text": "rash after [S2] amoxicillin [E2] , [S1]hives[E1] too", "label": "ADE"},
        {"text": "rash after amoxicillin , hives too", "span1": [25, 30], "span2": [11, 22], "label": "ADE"},
        {"text": "[S1] rash [E1] noted", "text2": "on [S2] amoxicillin [E2]", "label": "ADE"},
    ]
    f.write_text("".join(json.dumps(x) + "\n" for x in lines))
    a, b, c = readers.read_relation_jsonl(f)
    for e in (a, b):
        assert e.text_a[e.span_a[0]:e.span_a[1]] == "hives" and e.text_b[e.span_b[0]:e.span_b[1]] == "amoxicillin"
    assert b == RelationExample("rash after amoxicillin , hives too", (25, 30), "rash after amoxicillin , hives too", (11, 22), "ADE")
    assert c.text_a[c.span_a[0]:c.span_a[1]] == "rash" and c.text_b[c.span_b[0]:c.span_b[1]] == "amoxicillin"


def test_read_relation_jsonl_errors(tmp_path: Path) -> None:
    f = tmp_path / "train.jsonl"
    f.write_text(json.dumps({"text": "no markers here", "label": "x"}) + "\n")
    with pytest.raises(FormatError, match=r":1: needs \[S1\]"):
        readers.read_relation_jsonl(f)
    f.write_text(json.dumps({"text": "short", "span1": [0, 2], "span2": [3, 99], "label": "x"}) + "\n")
    with pytest.raises(FormatError, match="outside"):
        readers.read_relation_jsonl(f)


def test_read_sts(tmp_path: Path) -> None:
    f = tmp_path / "train.txt"
    f.write_text("sentence1\tsentence2\tscore\na b\tc d\t3.5\n\ne\tf\t0\n")
    ex = readers.read_sts_tsv(f)
    assert [(e.text_a, e.text_b, e.label) for e in ex] == [("a b", "c d", 3.5), ("e", "f", 0.0)]
    f.write_text("a\tb\t1\nc\td\n")
    with pytest.raises(FormatError, match=":2: expected 3"):
        readers.read_sts_tsv(f)


def test_read_nli_skips_unlabelled(tmp_path: Path) -> None:
    f = tmp_path / "train.jsonl"
    rows = [{"sentence1": "p", "sentence2": "h", "gold_label": "entailment", "pairID": "1"},
            {"sentence1": "p", "sentence2": "h", "gold_label": "-"}]
    f.write_text("".join(json.dumps(r) + "\n" for r in rows))
    stats = ReadStats()
    ex = readers.read_nli_jsonl(f, stats)
    assert [(e.text_a, e.text_b, e.label) for e in ex] == [("p", "h", "entailment")]
    assert stats.skipped == {"no_gold_label": 1}


def test_read_squad_v1_and_v2(tmp_path: Path) -> None:
    f = tmp_path / "train.json"
    ctx = "Takes aspirin daily."
    doc = {"data": [{"title": "t", "paragraphs": [{"context": ctx, "qas": [
        {"id": "1", "question": "What drug?", "answers": [{"text": "aspirin", "answer_start": 6}]},
        {"id": "2", "question": "Allergies?", "answers": [], "is_impossible": True},
    ]}]}]}
    f.write_text(json.dumps(doc))
    a, b = readers.read_squad(f)
    assert a.answers == (("aspirin", 6),) and a.context == ctx and b.answers == ()
    doc["data"][0]["paragraphs"][0]["qas"][0]["answers"][0]["answer_start"] = 5
    f.write_text(json.dumps(doc))
    with pytest.raises(FormatError, match="question 1"):
        readers.read_squad(f)
