"""Surrogate copies for the tagger's training: other PHI values in the same places, the rest of the note kept."""

from __future__ import annotations

import random
import re

from model.finetune.deid_augment import surrogate_copy
from model.finetune.deid_train import write_conll
from pipeline.deid.eval import GoldNote, GoldSpan

TEXT = (
    "Dtr Marisol Quintanar called, updated by this RN.\n"
    "PT TRANSFERRED FROM SHADYBROOK NURSING AND REHAB 3/14/2009 FOR SOB.\n"
    "Seen by Dr. B. Kettleworth; per dr kettleworth, hold heparin.\n"
    "Pt is 93, a year 1999. Call 617-555-0142.\n"
    "No events overnight."
)


def _span(text: str, needle: str, label: str, category: str | None, required: bool = True, nth: int = 0) -> GoldSpan:
    start = [m.start() for m in re.finditer(re.escape(needle), text)][nth]
    return GoldSpan(start, start + len(needle), label, category, required)


def _note() -> GoldNote:
    return GoldNote("p001_n0001", TEXT, [
        _span(TEXT, "Marisol Quintanar", "RELATIVEPROXYNAME", "NAME"),
        _span(TEXT, "SHADYBROOK NURSING AND REHAB", "LOCATION", "LOCATION"),
        _span(TEXT, "3/14/2009", "DATE", "DATE"),
        _span(TEXT, "B. Kettleworth", "HCPNAME", "NAME"),
        _span(TEXT, "kettleworth", "HCPNAME", "NAME"),
        _span(TEXT, "93", "AGE", "AGE"),
        _span(TEXT, "1999", "DATEYEAR", None, required=False),
        _span(TEXT, "617-555-0142", "PHONE", "PHONE"),
    ])


def _required(note: GoldNote) -> list[GoldSpan]:
    return [g for g in note.spans if g.safe_harbor and g.category]


def _pairs(note: GoldNote, copy: GoldNote) -> list[tuple[str, str]]:
    """(original, replacement) of each required span: a copy carries only those."""
    return [(note.text[a.start : a.end], copy.text[b.start : b.end]) for a, b in zip(_required(note), copy.spans, strict=True)]


def test_spans_get_new_values_of_the_same_shape_and_the_rest_stays() -> None:
    note = _note()
    copy = surrogate_copy(note, random.Random(3))
    pairs = dict(_pairs(note, copy))
    assert [(g.label, g.category) for g in copy.spans] == [(g.label, g.category) for g in _required(note)]
    name = pairs["Marisol Quintanar"]
    assert name != "Marisol Quintanar" and re.fullmatch(r"[A-Z][a-z'-]+ [A-Z][a-z'-]+", name)
    place = pairs["SHADYBROOK NURSING AND REHAB"]
    assert place.endswith(" NURSING AND REHAB") and place != "SHADYBROOK NURSING AND REHAB" and place.isupper()
    month, day, year = map(int, pairs["3/14/2009"].split("/"))
    assert 1 <= month <= 12 and 1 <= day <= 31 and year == 2009  # a valid date; safe harbor keeps the year
    assert re.fullmatch(r"[A-Z]\. [A-Z][a-z'-]+", pairs["B. Kettleworth"])  # an initial stays an initial
    assert 90 <= int(pairs["93"]) <= 104
    assert "a year 1999." in copy.text  # not required: keeps its text
    assert re.fullmatch(r"\d{3}-\d{3}-\d{4}", pairs["617-555-0142"]) and pairs["617-555-0142"] != "617-555-0142"
    # outside the spans, the copy is the note
    def outside(n: GoldNote) -> str:
        keep, at = [], 0
        for g in _required(n):
            keep.append(n.text[at : g.start])
            at = g.end
        return "|".join(keep + [n.text[at:]])

    assert outside(copy) == outside(note)


def test_one_value_is_replaced_alike_through_a_copy() -> None:
    copy = surrogate_copy(_note(), random.Random(5))
    surname = dict(_pairs(_note(), copy))["B. Kettleworth"].split()[-1]
    assert dict(_pairs(_note(), copy))["kettleworth"] == surname.lower()


def test_copies_differ_and_a_seed_repeats_them() -> None:
    a, b = surrogate_copy(_note(), random.Random(1)), surrogate_copy(_note(), random.Random(2))
    assert a.text != b.text
    assert surrogate_copy(_note(), random.Random(1)).text == a.text


def test_last_first_and_places_keep_their_layout() -> None:
    text = "Pt: Smith, John in room 4B at Whitfield Hospital."
    note = GoldNote("p002_n0001", text, [
        _span(text, "Smith, John", "PATIENT", "NAME"),
        _span(text, "4B", "ROOM", "LOCATION"),
        _span(text, "Whitfield Hospital", "HOSPITAL", "LOCATION"),
    ])
    for seed in range(20):
        copy = surrogate_copy(note, random.Random(seed))
        pairs = dict(_pairs(note, copy))
        last, first = pairs["Smith, John"].split(", ")
        assert last.lower() != "smith" and first.lower() != "john"
        assert re.fullmatch(r"\d[A-Z]", pairs["4B"]) and pairs["4B"] != "4B"
        assert pairs["Whitfield Hospital"].endswith(" Hospital") and "Whitfield" not in pairs["Whitfield Hospital"]


def test_no_gold_string_survives_under_another_label() -> None:
    """A required span inside a non-required one, and a value first seen under a label safe harbor keeps."""
    text = "Works as nurse at Shadybrook. Lives in Fairhaven; visits Fairhaven often."
    note = GoldNote("p003_n0001", text, [
        _span(text, "nurse at Shadybrook", "PROFESSION", None, required=False),
        _span(text, "Shadybrook", "HOSPITAL", "LOCATION"),
        _span(text, "Fairhaven", "STATE", "LOCATION", required=False),
        _span(text, "Fairhaven", "CITY", "LOCATION", nth=1),
    ])
    copy = surrogate_copy(note, random.Random(0))
    assert [g.label for g in copy.spans] == ["HOSPITAL", "CITY"]  # only required spans are carried over
    for g in copy.spans:
        assert copy.text[g.start : g.end] not in ("Shadybrook", "Fairhaven")
    assert "Shadybrook" not in copy.text


def test_write_conll_adds_only_the_copies_phi_sentences(tmp_path) -> None:
    plain = write_conll([_note()], tmp_path / "a.tsv", negative_fraction=1.0, seed=13)
    copied = write_conll([_note()], tmp_path / "b.tsv", negative_fraction=1.0, seed=13, surrogate_copies=2)
    assert copied["surrogate_sentences"] == 2 * plain["sentences_with_phi"] > 0
    assert copied["sentences_without_phi"] == plain["sentences_without_phi"]  # copies add no PHI-free sentence
    assert copied["NAME"] == 3 * plain["NAME"]
    words = (tmp_path / "b.tsv").read_text().split()
    assert words.count("Marisol") == 1  # the original once; the copies carry other names
