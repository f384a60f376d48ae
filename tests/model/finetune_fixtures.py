"""Tiny synthetic data sets for the five fine-tuning tasks, and a tiny randomly initialised BERT to train.

Each data set is generated from templates with a seed, in the task's real file format, so that the tests
exercise the readers too. The labels depend on words of the input (a cue verb, an entity list, a
question word), so a small encoder can learn them in a few epochs while the trivial baselines (all ``O``,
majority class, mean score, empty answer) cannot.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

DRUGS = ["aspirin", "metoprolol", "lisinopril", "warfarin", "insulin", "heparin", "amoxicillin", "furosemide", "digoxin", "prednisone"]
PROBLEMS = ["chest pain", "atrial fibrillation", "acute kidney injury", "pneumonia", "hypertension", "heart failure",
            "sepsis", "rash", "nausea", "bleeding", "type two diabetes", "cough"]
FILLER = ["patient", "was", "seen", "today", "in", "clinic", "and", "the", "plan", "is", "to", "follow", "up", "next", "week", "."]
SPLITS = {"train": 0, "dev": 1, "test": 2}


def _split_sizes(n_train: int) -> dict[str, int]:
    return {"train": n_train, "dev": max(20, n_train // 4), "test": max(20, n_train // 4)}


# --- NER: CoNLL TSV ------------------------------------------------------------------------------------

def ner_sentence(rng: random.Random) -> list[tuple[str, str]]:
    def ent(words: str, typ: str) -> list[tuple[str, str]]:
        ws = words.split()
        return [(ws[0], f"B-{typ}")] + [(w, f"I-{typ}") for w in ws[1:]]

    def plain(s: str) -> list[tuple[str, str]]:
        return [(w, "O") for w in s.split()]

    d, p, p2 = rng.choice(DRUGS), rng.choice(PROBLEMS), rng.choice(PROBLEMS)
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


def write_ner(root: Path, n_train: int = 160, seed: int = 0) -> Path:
    rng = random.Random(seed)
    root.mkdir(parents=True, exist_ok=True)
    for split, n in _split_sizes(n_train).items():
        lines = []
        for _ in range(n):
            lines += [f"{w}\t{t}" for w, t in ner_sentence(rng)] + [""]
        (root / f"{split}.tsv").write_text("\n".join(lines) + "\n")
    return root


# --- RE: JSONL, half inline markers, half offsets -------------------------------------------------------

RE_LABELS = ("ADE-Drug", "Reason-Drug", "NO_RELATION")


def relation_line(rng: random.Random, i: int) -> dict:
    """Odd lines mark the mentions inline, even lines give character offsets."""
    d, p = rng.choice(DRUGS), rng.choice(PROBLEMS)
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


def write_re(root: Path, n_train: int = 160, seed: int = 0) -> Path:
    rng = random.Random(seed)
    root.mkdir(parents=True, exist_ok=True)
    for split, n in _split_sizes(n_train).items():
        (root / f"{split}.jsonl").write_text("".join(json.dumps(relation_line(rng, i)) + "\n" for i in range(n)))
    return root


# --- STS: TSV ------------------------------------------------------------------------------------------

def sts_pair(rng: random.Random) -> tuple[str, str, float]:
    p = rng.choice(PROBLEMS)
    kind = rng.randrange(3)
    a = f"patient reports {p} ."
    if kind == 0:
        b, score = f"patient complains of {p} .", 4.5
    elif kind == 1:
        b, score = f"patient denies {p} .", 2.0
    else:
        b, score = f"{rng.choice(DRUGS)} was refilled today .", 0.0
    return a, b, round(min(5.0, max(0.0, score + rng.uniform(-0.4, 0.4))), 2)


def write_sts(root: Path, n_train: int = 160, seed: int = 0) -> Path:
    rng = random.Random(seed)
    root.mkdir(parents=True, exist_ok=True)
    for split, n in _split_sizes(n_train).items():
        (root / f"clinicalSTS.{split}.txt").write_text("".join("\t".join(map(str, sts_pair(rng))) + "\n" for _ in range(n)))
    return root


# --- NLI: JSONL ----------------------------------------------------------------------------------------

def nli_pair(rng: random.Random) -> dict:
    p, q = rng.sample(PROBLEMS, 2)
    label = rng.choice(["entailment", "contradiction", "neutral"])
    premise = f"the patient was admitted with {p} ."
    hypothesis = {
        "entailment": f"the patient has {p} .",
        "contradiction": f"the patient does not have {p} .",
        "neutral": f"the patient has a family history of {q} .",
    }[label]
    return {"sentence1": premise, "sentence2": hypothesis, "gold_label": label}


def write_nli(root: Path, n_train: int = 160, seed: int = 0) -> Path:
    rng = random.Random(seed)
    root.mkdir(parents=True, exist_ok=True)
    for split, n in _split_sizes(n_train).items():
        (root / f"mli_{split}_v1.jsonl").write_text("".join(json.dumps(nli_pair(rng)) + "\n" for _ in range(n)))
    return root


# --- QA: SQuAD v1.1 JSON -------------------------------------------------------------------------------

QUESTIONS = {"drug": "what medication does the patient take ?", "problem": "why was the patient admitted ?"}


def qa_paragraph(rng: random.Random, k: int) -> dict:
    d, p = rng.choice(DRUGS), rng.choice(PROBLEMS)
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


def write_qa(root: Path, n_train: int = 120, seed: int = 0) -> Path:
    rng = random.Random(seed)
    root.mkdir(parents=True, exist_ok=True)
    for split, n in _split_sizes(n_train).items():
        doc = {"version": "1.1", "data": [{"title": split, "paragraphs": [qa_paragraph(rng, k) for k in range(n)]}]}
        (root / f"{split}-v1.1.json").write_text(json.dumps(doc))
    return root


WRITERS = {"ner": write_ner, "re": write_re, "sts": write_sts, "nli": write_nli, "qa": write_qa}


# --- a tiny BERT ---------------------------------------------------------------------------------------

def tiny_checkpoint(root: Path, hidden: int = 64, layers: int = 2, seed: int = 0) -> Path:
    """A randomly initialised BERT (``hidden`` wide, ``layers`` deep) with a WordPiece vocabulary of the
    fixtures' words, saved like any Hugging Face checkpoint. The entity markers are *not* in it, so the
    relation task exercises adding them."""
    import torch
    from transformers import BertConfig, BertModel, BertTokenizer

    words = {w for s in DRUGS + PROBLEMS + FILLER for w in s.split()}
    words.update((
        "patient was started on for was treated with history of and continue developed after starting given "
        "noted , continued reports complains denies refilled today admitted with has does not have a family "
        "the takes daily what medication why ? . 0 1 2 3 4 5 6 7 8 9"
    ).split())
    letters = "abcdefghijklmnopqrstuvwxyz"
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *sorted(words), *letters, *(f"##{c}" for c in letters)]
    root.mkdir(parents=True, exist_ok=True)
    (root / "vocab.txt").write_text("\n".join(dict.fromkeys(vocab)) + "\n")
    tokenizer = BertTokenizer(str(root / "vocab.txt"), do_lower_case=True)
    tokenizer.save_pretrained(root)
    torch.manual_seed(seed)
    config = BertConfig(vocab_size=len(tokenizer), hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=2,
                        intermediate_size=hidden * 4, max_position_embeddings=128)
    BertModel(config).save_pretrained(root)
    return root
