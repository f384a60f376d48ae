"""Synthetic data sets for the five fine-tuning tasks, written in each task's real file format.

Two uses. The tests train on them in seconds (and so exercise the readers too). The demo uses them to show,
in miniature, what pretraining buys: :func:`corpus_lexicons` draws the drug and problem words from the
synthetic notes' own clinical vocabulary (``pipeline.synth.templates``), which the demo's pretrained model
has read in context, and gives the dev/test splits words the training split never shows. A model can only
label those from what it knows about the words -- which a randomly initialised encoder does not.

The labels depend on words of the input (a cue verb, an entity, a question word), so a small encoder can
learn them while the trivial baselines (all ``O``, majority class, mean score, empty answer) cannot.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

FILLER = ["patient", "was", "seen", "today", "in", "clinic", "and", "the", "plan", "is", "to", "follow", "up", "next", "week", "."]
SPLITS = ("train", "dev", "test")


@dataclass(frozen=True)
class Lexicon:
    """The entity words one split's sentences are built from."""

    drugs: tuple[str, ...]
    problems: tuple[str, ...]


FIXTURE = Lexicon(
    drugs=("aspirin", "metoprolol", "lisinopril", "warfarin", "insulin", "heparin", "amoxicillin", "furosemide",
           "digoxin", "prednisone"),
    problems=("chest pain", "atrial fibrillation", "acute kidney injury", "pneumonia", "hypertension", "heart failure",
              "sepsis", "rash", "nausea", "bleeding", "type two diabetes", "cough"),
)  # fmt: skip
"""A small self-contained lexicon, the same for every split (the tests' default)."""

Lexicons = dict[str, Lexicon]


def same_for_all(lexicon: Lexicon = FIXTURE) -> Lexicons:
    return {split: lexicon for split in SPLITS}


def corpus_lexicons(seed: int = 0) -> Lexicons:
    """Drug and problem words of the synthetic notes, split in two disjoint halves: one for training, the
    other for dev and test (unseen-entity evaluation).

    The words keep the notes' casing ("Eliquis", "HTN", "COPD on 2 L home O2"): the demo's vocabulary is
    cased, so a lowercased "eliquis" or "htn" would be cut into letter pieces the pretrained model has hardly
    seen, and the link between the task's words and the notes it pretrained on would be lost.
    """
    from pipeline.synth import templates as T

    drugs = sorted({name for name, _strength, _freq in T.DRUGS})
    problems = sorted({p for p in T.SYMPTOMS + T.PMH if p.isascii() and "(" not in p})
    rng = random.Random(seed)
    rng.shuffle(drugs)
    rng.shuffle(problems)
    train_drugs, held_drugs = drugs[::2], drugs[1::2]

    def without_drugs_of(names: list[str], problems: list[str]) -> tuple[str, ...]:
        """Problems that mention none of ``names`` ("DM2 on insulin" must not show a held-out drug in training)."""
        words = {w for name in names for w in name.split()}
        return tuple(p for p in problems if not words & set(p.split()))

    train = Lexicon(tuple(train_drugs), without_drugs_of(held_drugs, problems[::2]))
    held = Lexicon(tuple(held_drugs), without_drugs_of(train_drugs, problems[1::2]))
    return {"train": train, "dev": held, "test": held}


def split_sizes(n_train: int) -> dict[str, int]:
    return {"train": n_train, "dev": max(20, n_train // 4), "test": max(20, n_train // 4)}


# --- NER: CoNLL TSV ------------------------------------------------------------------------------------

def ner_sentence(rng: random.Random, lex: Lexicon = FIXTURE) -> list[tuple[str, str]]:
    def ent(words: str, typ: str) -> list[tuple[str, str]]:
        ws = words.split()
        return [(ws[0], f"B-{typ}")] + [(w, f"I-{typ}") for w in ws[1:]]

    def plain(s: str) -> list[tuple[str, str]]:
        return [(w, "O") for w in s.split()]

    d, p, p2 = rng.choice(lex.drugs), rng.choice(lex.problems), rng.choice(lex.problems)
    pattern = rng.randrange(4)
    if pattern == 0:
        out = plain("patient was started on") + ent(d, "Drug") + plain("for") + ent(p, "Problem")
    elif pattern == 1:
        out = ent(p, "Problem") + plain("was treated with") + ent(d, "Drug")
    elif pattern == 2:
        out = plain("history of") + ent(p, "Problem") + plain("and") + ent(p2, "Problem")
    else:
        out = plain("continue") + ent(d, "Drug") + plain(" ".join(rng.sample(FILLER[:9], 3)))
    return out + [(".", "O")]


def write_ner(root: Path, n_train: int = 160, seed: int = 0, lexicons: Lexicons | None = None) -> Path:
    lexicons = lexicons or same_for_all()
    rng = random.Random(seed)
    root.mkdir(parents=True, exist_ok=True)
    for split, n in split_sizes(n_train).items():
        lines = []
        for _ in range(n):
            lines += [f"{w}\t{t}" for w, t in ner_sentence(rng, lexicons[split])] + [""]
        (root / f"{split}.tsv").write_text("\n".join(lines) + "\n")
    return root


# --- RE: JSONL, half inline markers, half offsets -------------------------------------------------------

RE_LABELS = ("ADE-Drug", "Reason-Drug", "NO_RELATION")


def relation_line(rng: random.Random, i: int, lex: Lexicon = FIXTURE) -> dict:
    """Odd lines mark the mentions inline, even lines give character offsets."""
    d, p = rng.choice(lex.drugs), rng.choice(lex.problems)
    kind = rng.choices(range(3), weights=[3, 3, 4])[0]
    segments, label = [
        (["patient developed ", (p, 1), " after starting ", (d, 2), " ."], "ADE-Drug"),
        ([(d, 2), " was given for ", (p, 1), " ."], "Reason-Drug"),
        ([(p, 1), " was noted , ", (d, 2), " was continued ."], "NO_RELATION"),
    ][kind]
    if i % 2:
        text = "".join(x if isinstance(x, str) else f"[S{x[1]}] {x[0]} [E{x[1]}]" for x in segments)
        return {"text": text, "label": label}
    text, spans = "", {}
    for x in segments:
        if not isinstance(x, str):
            spans[x[1]] = [len(text), len(text) + len(x[0])]
            x = x[0]
        text += x
    return {"text": text, "span1": spans[1], "span2": spans[2], "label": label}


def write_re(root: Path, n_train: int = 160, seed: int = 0, lexicons: Lexicons | None = None) -> Path:
    lexicons = lexicons or same_for_all()
    rng = random.Random(seed)
    root.mkdir(parents=True, exist_ok=True)
    for split, n in split_sizes(n_train).items():
        lines = (json.dumps(relation_line(rng, i, lexicons[split])) + "\n" for i in range(n))
        (root / f"{split}.jsonl").write_text("".join(lines))
    return root


# --- STS: TSV ------------------------------------------------------------------------------------------

def sts_pair(rng: random.Random, lex: Lexicon = FIXTURE) -> tuple[str, str, float]:
    p = rng.choice(lex.problems)
    kind = rng.randrange(3)
    a = f"patient reports {p} ."
    if kind == 0:
        b, score = f"patient complains of {p} .", 4.5
    elif kind == 1:
        b, score = f"patient denies {p} .", 2.0
    else:
        b, score = f"{rng.choice(lex.drugs)} was refilled today .", 0.0
    return a, b, round(min(5.0, max(0.0, score + rng.uniform(-0.4, 0.4))), 2)


def write_sts(root: Path, n_train: int = 160, seed: int = 0, lexicons: Lexicons | None = None) -> Path:
    lexicons = lexicons or same_for_all()
    rng = random.Random(seed)
    root.mkdir(parents=True, exist_ok=True)
    for split, n in split_sizes(n_train).items():
        lines = ("\t".join(map(str, sts_pair(rng, lexicons[split]))) + "\n" for _ in range(n))
        (root / f"clinicalSTS.{split}.txt").write_text("".join(lines))
    return root


# --- NLI: JSONL ----------------------------------------------------------------------------------------

def nli_pair(rng: random.Random, lex: Lexicon = FIXTURE) -> dict:
    p, q = rng.sample(lex.problems, 2)
    label = rng.choice(["entailment", "contradiction", "neutral"])
    premise = f"the patient was admitted with {p} ."
    hypothesis = {
        "entailment": f"the patient has {p} .",
        "contradiction": f"the patient does not have {p} .",
        "neutral": f"the patient has a family history of {q} .",
    }[label]
    return {"sentence1": premise, "sentence2": hypothesis, "gold_label": label}


def write_nli(root: Path, n_train: int = 160, seed: int = 0, lexicons: Lexicons | None = None) -> Path:
    lexicons = lexicons or same_for_all()
    rng = random.Random(seed)
    root.mkdir(parents=True, exist_ok=True)
    for split, n in split_sizes(n_train).items():
        lines = (json.dumps(nli_pair(rng, lexicons[split])) + "\n" for _ in range(n))
        (root / f"mli_{split}_v1.jsonl").write_text("".join(lines))
    return root


# --- QA: SQuAD v1.1 JSON -------------------------------------------------------------------------------

QUESTIONS = {"drug": "what medication does the patient take ?", "problem": "why was the patient admitted ?"}


def qa_paragraph(rng: random.Random, k: int, lex: Lexicon = FIXTURE) -> dict:
    d, p = rng.choice(lex.drugs), rng.choice(lex.problems)
    filler = " ".join(rng.choice(FILLER[:-1]) for _ in range(rng.randrange(0, 12)))
    sentences = [f"the patient takes {d} daily .", f"the patient was admitted for {p} .", f"{filler} ."]
    rng.shuffle(sentences)
    context = " ".join(sentences)
    qas = []
    for kind, answer in (("drug", d), ("problem", p)):
        anchor = "takes " if kind == "drug" else "admitted for "
        start = context.index(anchor) + len(anchor)
        qas.append({"id": f"q{k}-{kind}", "question": QUESTIONS[kind], "answers": [{"text": answer, "answer_start": start}]})
    return {"context": context, "qas": qas}


def write_qa(root: Path, n_train: int = 120, seed: int = 0, lexicons: Lexicons | None = None) -> Path:
    lexicons = lexicons or same_for_all()
    rng = random.Random(seed)
    root.mkdir(parents=True, exist_ok=True)
    for split, n in split_sizes(n_train).items():
        paragraphs = [qa_paragraph(rng, k, lexicons[split]) for k in range(n)]
        doc = {"version": "1.1", "data": [{"title": split, "paragraphs": paragraphs}]}
        (root / f"{split}-v1.1.json").write_text(json.dumps(doc))
    return root


WRITERS: dict[str, Callable[..., Path]] = {"ner": write_ner, "re": write_re, "sts": write_sts, "nli": write_nli, "qa": write_qa}


def write_all(root: Path, n_train: int = 160, seed: int = 0, lexicons: Lexicons | None = None) -> dict[str, Path]:
    """All five tasks under ``root/<task>/``; returns task -> folder."""
    return {task: write(root / task, n_train, seed, lexicons) for task, write in WRITERS.items()}
