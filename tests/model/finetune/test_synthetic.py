"""The synthetic fine-tuning data: unseen-entity evaluation really is unseen, and every split is readable."""

from __future__ import annotations

from model.finetune.params import FinetuneParams
from model.finetune.readers import read_conll
from model.finetune.synthetic import FIXTURE, SPLITS, corpus_lexicons, same_for_all, write_all
from pipeline.synth import templates as T


def test_corpus_lexicons_hold_out_the_evaluation_entities():
    lex = corpus_lexicons(0)
    train, held = lex["train"], lex["dev"]
    assert lex["test"] == held and train.drugs and train.problems and held.drugs and held.problems
    assert not set(train.drugs) & set(held.drugs) and not set(train.problems) & set(held.problems)
    corpus_drugs = {name for name, _s, _f in T.DRUGS}
    assert set(train.drugs) | set(held.drugs) == corpus_drugs  # every drug of the notes, nothing invented
    # spelled as in the notes (the demo vocabulary is cased): "Eliquis", "HTN", not "eliquis", "htn"
    assert any(w != w.lower() for w in train.drugs + held.drugs) and any(w.isupper() for w in train.problems + held.problems)
    assert corpus_lexicons(0) == lex and corpus_lexicons(1) != lex


def test_unseen_entities_do_not_occur_in_training_sentences(tmp_path):
    lex = corpus_lexicons(0)
    paths = write_all(tmp_path, n_train=60, seed=0, lexicons=lex)
    assert set(paths) == {"ner", "re", "sts", "nli", "qa"}
    words = {split: {w for s in read_conll(paths["ner"] / f"{split}.tsv") for w in s.words} for split in SPLITS}
    held_words = {w for d in lex["dev"].drugs for w in d.split()} - {w for d in lex["train"].drugs for w in d.split()}
    assert held_words & words["dev"] and not held_words & words["train"]


def test_fixture_lexicon_is_shared_by_all_splits():
    assert same_for_all() == {s: FIXTURE for s in SPLITS}
    assert FinetuneParams().init == "pretrained"
