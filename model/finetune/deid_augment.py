"""Surrogate copies of gold notes for the PHI tagger's training: the same sentences, other PHI values.

Why: a hospital's annotated corpus of ~1,000 notes holds a few hundred distinct names and places, and a
tagger trained on it can learn those strings instead of the contexts that make a word PHI ("dtr ___ called",
"___ RN", "transferred from ___"). A copy with every gold span replaced by another value of its kind keeps
the contexts and changes the strings, so a name or place the tagger has never seen is found by its context.
Only sentences with PHI are worth copying (the others would repeat word for word).

Replacements keep the span's shape, so the copy reads like a note: names come from the census lists with
the original's case and layout (initials stay initials, "Last, First" stays so); in a place, words of
``place_frame_words`` stay ("Hospital", "St.", "Nursing and Rehab") and the others become words of US city
names; dates, phones and other numbers go through ``pipeline.deid.surrogates`` with a random key (valid
dates in the same layout, digits for digits; years are kept, as safe harbor keeps them); an age over 89
becomes another one. No value is replaced by itself, and the same value is replaced the same way
throughout a copy ("Mr. Ashby ... Ashby's wife"). Text under gold spans that safe harbor does not require
stays (it is ``O`` in training either way).
"""

from __future__ import annotations

import random
import re
import string
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from pipeline.deid.eval import GoldNote, GoldSpan
from pipeline.deid.gazetteer import US_CITIES
from pipeline.deid.recognizers import census_names, place_frame_words
from pipeline.deid.surrogates import Surrogates

_WORD = re.compile(r"[^\W\d_]+")
_DIGITS = re.compile(r"\d+")


@dataclass(frozen=True)
class Pools:
    """What replacements are drawn from (sorted tuples: the same seed gives the same copies)."""

    first: tuple[str, ...]
    last: tuple[str, ...]
    place_words: tuple[str, ...]
    keep: frozenset[str]  # place words that stay: ``place_frame_words``


@lru_cache(maxsize=1)
def default_pools() -> Pools:
    first, last = census_names()
    keep = place_frame_words()
    words = {w.lower() for city in US_CITIES for w in _WORD.findall(city)}
    return Pools(tuple(sorted(first)), tuple(sorted(last)), tuple(sorted(w for w in words if w not in keep)), keep)


def _case_like(word: str, original: str) -> str:
    """``word`` in the case of the one it replaces: "SMITH", "smith", or "Smith" for anything else."""
    if original.isupper() and len(original) > 1:
        return word.upper()
    if original.islower():
        return word.lower()
    return word[:1].upper() + word[1:].lower()


def _case_like_text(text: str, original: str) -> str:
    """A replacement chosen for one mention, in the case of another ("Smith", "SMITH", "smith")."""
    if original.isupper():
        return text.upper()
    if original.islower():
        return text.lower()
    return text.title() if text.islower() or text.isupper() else text


def _draw(original: str, pool: Sequence[str], rng: random.Random) -> str:
    """A value from ``pool`` other than ``original`` (a copy that kept its value would teach nothing)."""
    while (value := rng.choice(pool)).lower() == original.lower() and len(pool) > 1:
        pass
    return value


def _pick(word: str, pool: tuple[str, ...], rng: random.Random, memo: dict[str, str]) -> str:
    """The replacement of ``word`` in this copy: drawn once, then the same ("Dr. Ames ... ames's plan")."""
    key = word.lower()
    if key not in memo:
        memo[key] = _draw(word, pool, rng)
    return memo[key]


def _letter(original: str, rng: random.Random) -> str:
    """An initial, a unit letter: another letter, same case."""
    return _case_like(_draw(original, string.ascii_lowercase, rng), original)


def _name(original: str, rng: random.Random, pools: Pools, memo: dict[str, str]) -> str:
    """Census names in the original's layout: "Last, First", "First Last", initials stay initials. A lone
    word is a first name or a surname by chance ("dtr Ann", "Dr. Ashby")."""
    words = list(_WORD.finditer(original))
    comma = "," in original

    def fake(i: int, m: re.Match[str]) -> str:
        w = m.group()
        if len(w) == 1:
            return _letter(w, rng)
        if len(words) == 1:
            last = rng.random() < 0.5
        else:
            last = i == 0 if comma else i == len(words) - 1
        return _case_like(_pick(w, pools.last if last else pools.first, rng, memo), w)

    return _replace(original, [(m.start(), m.end(), fake(i, m)) for i, m in enumerate(words)])


def _place(original: str, rng: random.Random, pools: Pools, memo: dict[str, str]) -> str:
    """Naming words become city words, single letters other letters, digits other digits; frame words stay."""
    edits = [
        (m.start(), m.end(), _letter(m.group(), rng) if len(m.group()) == 1
         else _case_like(_pick(m.group(), pools.place_words, rng, memo), m.group()))
        for m in _WORD.finditer(original) if m.group().lower() not in pools.keep
    ]
    edits += [(m.start(), m.end(), _digits(m.group(), rng)) for m in _DIGITS.finditer(original)]
    return _replace(original, sorted(edits))


def _digits(original: str, rng: random.Random) -> str:
    """As many digits, not the same number."""
    while (new := "".join(rng.choice(string.digits) for _ in original)) == original:
        pass
    return new


def _age(original: str, rng: random.Random) -> str:
    """Another age over 89 for the first number ("93 yo" -> "101 yo"); an age in words stays (rare)."""
    return _DIGITS.sub(lambda m: _draw(m.group(), [str(a) for a in range(90, 105)], rng), original, count=1)


def _replace(text: str, edits: list[tuple[int, int, str]]) -> str:
    """``text`` with each (start, end) replaced; ``edits`` sorted and disjoint."""
    out, at = [], 0
    for start, end, new in edits:
        out += [text[at:start], new]
        at = end
    return "".join(out) + text[at:]


def surrogate_copy(note: GoldNote, rng: random.Random, pools: Pools | None = None) -> GoldNote:
    """``note`` with every required gold span's text replaced (see the module docstring), spans moved along.

    Only required spans are kept in the copy (they are all ``bio_sentences`` reads); of overlapping ones the
    first, longest is replaced and the others dropped, so no gold string is left in the copy under ``O``.
    ``rng`` is drawn from in note order: a note's copies depend on the notes copied before it."""
    pools = pools or default_pools()
    surrogates = Surrogates(rng.randbytes(16), note.note_id, keep_year=True)
    chosen: dict[tuple[str, str], str] = {}  # (category, value) -> its replacement in this copy
    memo: dict[str, str] = {}  # name or place word -> its replacement in this copy
    required = sorted((g for g in note.spans if g.safe_harbor and g.category), key=lambda g: (g.start, -g.end))
    out: list[str] = []
    new_spans: list[GoldSpan] = []
    at = shift = 0
    for g in required:
        if g.start < at:  # inside or across a span already replaced
            continue
        original = note.text[g.start : g.end]
        key = (g.category, " ".join(original.lower().split()))
        if key in chosen:
            new = _case_like_text(chosen[key], original)
        elif g.category == "NAME":
            new = _name(original, rng, pools, memo)
        elif g.category == "LOCATION":
            new = _place(original, rng, pools, memo)
        elif g.category == "AGE":
            new = _age(original, rng)
        else:
            new = surrogates.get(g.category, original)
        chosen.setdefault(key, new)
        out += [note.text[at : g.start], new]
        start = g.start + shift
        new_spans.append(GoldSpan(start, start + len(new), g.label, g.category, g.safe_harbor))
        shift += len(new) - len(original)
        at = g.end
    out.append(note.text[at:])
    return GoldNote(note.note_id, "".join(out), new_spans)
