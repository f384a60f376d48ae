"""Readers for the benchmark formats of the five tasks, into a few plain example types.

Errors name the file and line (never the text: these corpora are clinical notes under data use agreements).

| task | formats |
| --- | --- |
| NER | CoNLL/BIO token-per-line TSV (first column word, last column tag, blank line between sentences); i2b2-2010 folders (``.txt`` one sentence per line + ``.con``); brat folders (``.txt`` + ``.ann``) |
| RE | brat folders with relations (n2c2-2018); JSONL with two spans and a label |
| STS | TSV ``s1<TAB>s2<TAB>score`` (ClinicalSTS) |
| NLI | JSONL ``sentence1``, ``sentence2``, ``gold_label`` (MedNLI) |
| QA | SQuAD v1.1 / v2.0 JSON (emrQA is distributed converted to it) |
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.brat import Entity, Relation, read_ann, read_text
from pipeline.core.errors import FormatError


@dataclass(frozen=True)
class NerSentence:
    words: tuple[str, ...]
    tags: tuple[str, ...]


@dataclass(frozen=True)
class RelationExample:
    """Two concept mentions, each in its sentence, and the relation between them (or the negative label).

    ``span_a`` indexes ``text_a`` and ``span_b`` indexes ``text_b``; when both mentions are in one sentence
    the two texts are the same sentence (the paper marks it twice, [S1]/[E1] and [S2]/[E2]).
    """

    text_a: str
    span_a: tuple[int, int]
    text_b: str
    span_b: tuple[int, int]
    label: str


@dataclass(frozen=True)
class PairExample:
    text_a: str
    text_b: str
    label: str | float


@dataclass(frozen=True)
class QaExample:
    qid: str
    question: str
    context: str
    answers: tuple[tuple[str, int], ...]
    """(text, character offset in context); empty for an unanswerable SQuAD 2.0 question."""


@dataclass
class ReadStats:
    """What a reader kept and skipped, by reason (counts only)."""

    skipped: Counter = field(default_factory=Counter)
    missed_relations: int = 0
    """Gold relations that no candidate pair covers (too far apart): scored as false negatives."""


# --- split discovery -----------------------------------------------------------------------------------

_SPLIT_WORDS = {
    "train": ("train", "training"),
    "dev": ("dev", "devel", "valid", "validation", "val"),
    "test": ("test", "testing"),
}


def find_splits(data: Path) -> dict[str, Path]:
    """``train``/``dev``/``test`` files or folders in ``data``, by a name word (``mli_dev_v1.jsonl``, ``devel.tsv``)."""
    data = Path(data)
    if not data.is_dir():
        raise FileNotFoundError(f"{data} is not a folder")
    found: dict[str, Path] = {}
    for entry in sorted(data.iterdir()):
        if entry.name.startswith((".", "_")):
            continue
        words = set(re.split(r"[^a-z0-9]+", entry.name.lower()))
        for split, names in _SPLIT_WORDS.items():
            if words & set(names):
                if split in found:
                    raise FormatError(f"{data}: both {found[split].name} and {entry.name} look like the {split} split")
                found[split] = entry
    if "train" not in found:
        raise FormatError(f"{data}: no train split (a file or folder whose name contains 'train')")
    return found


# --- NER -----------------------------------------------------------------------------------------------


def read_conll(path: Path) -> list[NerSentence]:
    """Token-per-line BIO: first column the word, last column the tag; ``-DOCSTART-`` lines are skipped."""
    sentences: list[NerSentence] = []
    words: list[str] = []
    tags: list[str] = []
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            line = line.rstrip("\r\n")
            if not line.strip():
                if words:
                    sentences.append(NerSentence(tuple(words), tuple(tags)))
                    words, tags = [], []
                continue
            cols = line.split("\t") if "\t" in line else line.split()
            if cols[0] == "-DOCSTART-":
                continue
            if len(cols) < 2 or not (cols[-1] == "O" or cols[-1][:2] in ("B-", "I-")):
                raise FormatError(f"{path}:{lineno}: expected 'word<TAB>BIO-tag'")
            words.append(cols[0])
            tags.append(cols[-1])
    if words:
        sentences.append(NerSentence(tuple(words), tuple(tags)))
    return sentences


_CON_LINE = re.compile(r'^c="(?P<text>.*)" (?P<l1>\d+):(?P<t1>\d+) (?P<l2>\d+):(?P<t2>\d+)\|\|t="(?P<type>[^"]+)"\s*$')


def read_i2b2(folder: Path, types: Iterable[str] | None = None, stats: ReadStats | None = None) -> list[NerSentence]:
    """i2b2-2010 concepts: ``X.txt`` (one sentence per line, space-separated tokens) + ``X.con``.

    A concept is ``c="..." line:token line:token||t="type"`` with 1-based lines and 0-based tokens, both ends
    inclusive. Concepts spanning lines, or overlapping an earlier concept, are skipped and counted.
    """
    stats = stats if stats is not None else ReadStats()
    keep = set(types) if types else None
    sentences: list[NerSentence] = []
    for txt in sorted(Path(folder).glob("*.txt")):
        con = txt.with_suffix(".con")
        lines = [ln.split() for ln in txt.read_text(encoding="utf-8").split("\n")]
        tags = [["O"] * len(tokens) for tokens in lines]
        if con.exists():
            for lineno, raw in enumerate(con.read_text(encoding="utf-8").splitlines(), 1):
                if not raw.strip():
                    continue
                m = _CON_LINE.match(raw)
                if not m:
                    raise FormatError(f"{con}:{lineno}: not an i2b2 concept line")
                if keep is not None and m["type"] not in keep:
                    continue
                l1, t1, l2, t2 = (int(m[k]) for k in ("l1", "t1", "l2", "t2"))
                if l1 != l2:
                    stats.skipped["concept_spans_lines"] += 1
                    continue
                row = tags[l1 - 1] if 0 < l1 <= len(tags) else None
                if row is None or not 0 <= t1 <= t2 < len(row):
                    raise FormatError(f"{con}:{lineno}: concept offsets outside {txt.name}")
                if any(t != "O" for t in row[t1 : t2 + 1]):
                    stats.skipped["concept_overlaps"] += 1
                    continue
                row[t1] = f"B-{m['type']}"
                for i in range(t1 + 1, t2 + 1):
                    row[i] = f"I-{m['type']}"
        sentences.extend(NerSentence(tuple(w), tuple(t)) for w, t in zip(lines, tags) if w)
    if not sentences:
        raise FormatError(f"{folder}: no i2b2 .txt files")
    return sentences


WORD = re.compile(r"[^\W\d_]+|\d+|[^\w\s]|_")
"""What a word is for brat NER (letters, digit runs and punctuation apart); the PHI tagger cuts notes the same way."""
_BOUNDARY = re.compile(r"\n|(?<=[.!?])(?<!\b(?:[Dd][Rr]|[Mm][RrSs]|[Ss][Tt])\.)(?<!\b[Mm][Rr][Ss]\.)[ \t]+")
"""A sentence ends at a newline or after ``. ! ?`` and a space -- not after a title ("Dr. Vex", "St. Jude's"),
which would cut a name from the word that marks it."""


def sentence_spans(text: str, entities: Iterable[Entity] = ()) -> list[tuple[int, int]]:
    """Sentence spans: breaks at newlines and after ``. ! ?`` + space, never inside an entity.

    Clinical notes are hard-wrapped, so a newline is only a candidate break; the guarantee that matters for
    training is that no concept is ever cut in two.
    """
    inside = [False] * (len(text) + 1)
    for e in entities:
        for i in range(e.start + 1, min(e.end, len(text))):
            inside[i] = True
    spans, start = [], 0
    for m in _BOUNDARY.finditer(text):
        if inside[m.start()]:
            continue
        if text[start : m.start()].strip():
            spans.append((start, m.start()))
        start = m.end()
    if text[start:].strip():
        spans.append((start, len(text)))
    return spans


def _brat_docs(folder: Path) -> Iterator[tuple[Path, str, dict[str, Entity], list[Relation]]]:
    files = sorted(Path(folder).glob("*.ann"))
    if not files:
        raise FormatError(f"{folder}: no brat .ann files")
    for ann in files:
        txt = ann.with_suffix(".txt")
        if not txt.exists():
            raise FormatError(f"{ann}: no matching .txt")
        ents, rels = read_ann(ann)
        yield ann, read_text(txt), ents, rels


def read_brat_ner(folder: Path, types: Iterable[str] | None = None, stats: ReadStats | None = None) -> list[NerSentence]:
    """brat entities as BIO over words (letters, digit runs and punctuation are separate words).

    Overlapping entities cannot share a BIO sequence: the earlier (then longer) one is kept and the other
    counted; pass ``types`` to train one model per category, as the paper did for overlapping datasets.
    """
    stats = stats if stats is not None else ReadStats()
    keep = set(types) if types else None
    sentences: list[NerSentence] = []
    for _, text, ents, _ in _brat_docs(folder):
        chosen = [e for e in ents.values() if keep is None or e.type in keep]
        chosen.sort(key=lambda e: (e.start, -(e.end - e.start)))
        for s0, s1 in sentence_spans(text, chosen):
            words = [(m.start() + s0, m.end() + s0, m.group()) for m in WORD.finditer(text[s0:s1])]
            tags = ["O"] * len(words)
            for e in (e for e in chosen if e.start < s1 and e.end > s0):
                idx = [i for i, (a, b, _) in enumerate(words) if a < e.end and b > e.start]
                if not idx or any(tags[i] != "O" for i in idx):
                    stats.skipped["entity_overlaps" if idx else "entity_without_words"] += 1
                    continue
                tags[idx[0]] = f"B-{e.type}"
                for i in idx[1:]:
                    tags[i] = f"I-{e.type}"
            if words:
                sentences.append(NerSentence(tuple(w for _, _, w in words), tuple(tags)))
    return sentences


# --- relation extraction -------------------------------------------------------------------------------


def relation_type_pairs(folder: Path) -> set[tuple[str, str]]:
    """(Arg1 type, Arg2 type) of every gold relation: the candidate pairs worth classifying."""
    return {(ents[r.arg1].type, ents[r.arg2].type) for _, _, ents, rels in _brat_docs(folder) for r in rels}


def read_brat_relations(
    folder: Path,
    type_pairs: set[tuple[str, str]],
    negative: str,
    max_sentence_distance: int = 1,
    stats: ReadStats | None = None,
) -> list[RelationExample]:
    """Candidate pairs from brat annotations, each labelled with its gold relation or ``negative``.

    Candidates follow the rule of the n2c2-2018 systems the paper builds on: every pair of entities whose
    types form a known (Arg1, Arg2) pair and whose sentences are at most ``max_sentence_distance`` apart.
    Gold relations outside that window are counted in ``stats.missed_relations`` so that recall stays honest.
    """
    stats = stats if stats is not None else ReadStats()
    examples: list[RelationExample] = []
    for _, text, ents, rels in _brat_docs(folder):
        spans = sentence_spans(text, ents.values())
        starts = [a for a, _ in spans]

        def sent_of(e: Entity) -> int:
            lo, hi = 0, len(starts) - 1
            while lo < hi:
                mid = (lo + hi + 1) // 2
                lo, hi = (mid, hi) if starts[mid] <= e.start else (lo, mid - 1)
            return lo

        gold = {(r.arg1, r.arg2): r.type for r in rels}
        covered: set[tuple[str, str]] = set()
        sent = {eid: sent_of(e) for eid, e in ents.items()}
        for a in ents.values():
            for b in ents.values():
                if a.id == b.id or (a.type, b.type) not in type_pairs:
                    continue
                if abs(sent[a.id] - sent[b.id]) > max_sentence_distance:
                    continue
                (sa0, sa1), (sb0, sb1) = spans[sent[a.id]], spans[sent[b.id]]
                covered.add((a.id, b.id))
                examples.append(
                    RelationExample(
                        text[sa0:sa1], (a.start - sa0, a.end - sa0), text[sb0:sb1], (b.start - sb0, b.end - sb0),
                        gold.get((a.id, b.id), negative),
                    )
                )
        stats.missed_relations += sum(1 for k in gold if k not in covered)
    return examples


_MARKER = re.compile(r"\[(?:S1|E1|S2|E2)\]")


def _strip_markers(text: str, where: str) -> tuple[str, dict[str, int]]:
    """The text without its entity markers, and where each marker stood in that text."""
    out, pos, last, n = [], {}, 0, 0
    for m in _MARKER.finditer(text):
        out.append(text[last : m.start()])
        n += m.start() - last
        if m.group() in pos:
            raise FormatError(f"{where}: marker {m.group()} appears twice")
        pos[m.group()] = n
        last = m.end()
    out.append(text[last:])
    return "".join(out), pos


def _marked_span(clean: str, pos: dict[str, int], open_: str, close: str, where: str) -> tuple[int, int]:
    if open_ not in pos or close not in pos or pos[close] <= pos[open_]:
        raise FormatError(f"{where}: needs {open_} ... {close} around a mention")
    a, b = pos[open_], pos[close]
    while a < b and clean[a].isspace():
        a += 1
    while b > a and clean[b - 1].isspace():
        b -= 1
    if a == b:
        raise FormatError(f"{where}: empty mention between {open_} and {close}")
    return a, b


def _offsets(obj: dict, key: str, text: str, where: str) -> tuple[int, int]:
    try:
        a, b = int(obj[key][0]), int(obj[key][1])
    except (TypeError, ValueError, IndexError, KeyError):
        raise FormatError(f"{where}: {key} must be [start, end]") from None
    if not 0 <= a < b <= len(text):
        raise FormatError(f"{where}: {key} outside its text")
    return a, b


def read_relation_jsonl(path: Path) -> list[RelationExample]:
    """One JSON object per line with a ``label`` and two mentions, given as offsets or marked inline.

    * offsets: ``{"text": ..., "span1": [start, end], "span2": [start, end], "label": ...}``;
    * inline: ``{"text": "... [S1] aspirin [E1] ... [S2] rash [E2] ...", "label": ...}``.

    Either form takes an optional ``"text2"``: the second mention's own sentence (``span2`` then indexes it,
    or it holds the ``[S2] ... [E2]`` markers).
    """
    examples: list[RelationExample] = []
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            where = f"{path}:{lineno}"
            try:
                obj = json.loads(line)
                text_a, label = str(obj["text"]), str(obj["label"])
            except (json.JSONDecodeError, KeyError, TypeError):
                raise FormatError(f"{where}: expected a JSON object with 'text' and 'label'") from None
            text_b = str(obj.get("text2", text_a))
            if "span1" in obj or "span2" in obj:
                span_a, span_b = _offsets(obj, "span1", text_a, where), _offsets(obj, "span2", text_b, where)
            else:
                text_a, pos_a = _strip_markers(text_a, where)
                text_b, pos_b = _strip_markers(text_b, where) if "text2" in obj else (text_a, pos_a)
                span_a = _marked_span(text_a, pos_a, "[S1]", "[E1]", where)
                span_b = _marked_span(text_b, pos_b, "[S2]", "[E2]", where)
            examples.append(RelationExample(text_a, span_a, text_b, span_b, label))
    return examples


# --- sentence pairs and QA -----------------------------------------------------------------------------


def read_sts_tsv(path: Path) -> list[PairExample]:
    """``s1<TAB>s2<TAB>score`` per line; a first line whose score is not a number is a header."""
    examples: list[PairExample] = []
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            line = line.rstrip("\r\n")
            if not line.strip():
                continue
            cols = line.split("\t")
            if len(cols) != 3:
                raise FormatError(f"{path}:{lineno}: expected 3 tab-separated columns, found {len(cols)}")
            try:
                score = float(cols[2])
            except ValueError:
                if lineno == 1:
                    continue
                raise FormatError(f"{path}:{lineno}: score is not a number") from None
            examples.append(PairExample(cols[0], cols[1], score))
    return examples


def read_nli_jsonl(path: Path, stats: ReadStats | None = None) -> list[PairExample]:
    """MedNLI/SNLI JSONL: ``sentence1`` (premise), ``sentence2`` (hypothesis), ``gold_label``.

    Pairs without annotator agreement (``gold_label == "-"``, an SNLI convention) are skipped and counted.
    """
    stats = stats if stats is not None else ReadStats()
    examples: list[PairExample] = []
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
                s1, s2, label = str(obj["sentence1"]), str(obj["sentence2"]), str(obj["gold_label"])
            except (json.JSONDecodeError, KeyError, TypeError):
                raise FormatError(f"{path}:{lineno}: expected sentence1, sentence2, gold_label") from None
            if label == "-":
                stats.skipped["no_gold_label"] += 1
                continue
            examples.append(PairExample(s1, s2, label))
    return examples


def read_squad(path: Path) -> list[QaExample]:
    """SQuAD v1.1/v2.0 JSON; answers whose text is not at their offset in the context are a format error."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))["data"]
    except (json.JSONDecodeError, KeyError, TypeError):
        raise FormatError(f"{path}: not SQuAD JSON (a top-level 'data' list)") from None
    examples: list[QaExample] = []
    for article in data:
        for paragraph in article["paragraphs"]:
            context = paragraph["context"]
            for qa in paragraph["qas"]:
                answers = () if qa.get("is_impossible") else tuple(
                    (a["text"], int(a["answer_start"])) for a in qa.get("answers", [])
                )
                for text, start in answers:
                    if context[start : start + len(text)] != text:
                        raise FormatError(f"{path}: question {qa['id']}: answer text not found at answer_start")
                examples.append(QaExample(str(qa["id"]), qa["question"], context, answers))
    return examples
