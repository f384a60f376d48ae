"""Surrogate copies of gold notes for the PHI tagger's training: the same sentences, other PHI values.

Why: a hospital's annotated corpus of ~1,000 notes holds a few hundred distinct names and places, and a
tagger trained on it can learn those strings instead of the contexts that make a word PHI ("dtr ___ called",
"___ RN", "transferred from ___"). A copy with every gold span replaced by another value of its kind keeps
the contexts and changes the strings, so a name or place the tagger has never seen is found by its context.
Only sentences with PHI are worth copying (the others would repeat word for word).

Replacements keep the span's shape, so the copy reads like a note: names come from the census lists with
the original's case and layout (initials stay initials, "Last, First" stays so); in a place, words of the
``place_frame_words`` stay ("Hospital", "St.", "Nursing and Rehab") and the others become words of US city
names;
dates, phones and other numbers go through ``pipeline.deid.surrogates`` with a random key (valid dates in
the same layout, digits for digits; years are kept, as safe harbor keeps them); an age over 89 becomes
another one. The same value is replaced the same way throughout a copy ("Mr. Ashby ... Ashby's wife"). Gold
spans that safe harbor does not require keep their text (they are ``O`` in training).
"""

from __future__ import annotations

import random
import re
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


def _name(original: str, rng: random.Random, pools: Pools, memo: dict[str, str]) -> str:
    words = list(_WORD.finditer(original))

    def fake(i: int, m: re.Match[str]) -> str:
        w = m.group()
        if len(w) == 1:  # an initial stays an initial
            return _case_like(rng.choice("abcdefghijklmnopqrstuvwxyz"), w)
        last = ("," in original and i == 0) or (i == len(words) - 1 and len(words) > 1)
        return _case_like(_pick(w, pools.last if last else pools.first, rng, memo), w)

    return _replace(original, [(m.start(), m.end(), fake(i, m)) for i, m in enumerate(words)])


def _place(original: str, rng: random.Random, pools: Pools, memo: dict[str, str]) -> str:
    edits = [(m.start(), m.end(), _case_like(_pick(m.group(), pools.place_words, rng, memo), m.group()))
             for m in _WORD.finditer(original) if m.group().lower() not in pools.keep]
    edits += [(m.start(), m.end(), "".join(rng.choice("0123456789") for _ in m.group()))
              for m in _DIGITS.finditer(original)]
    return _replace(original, sorted(edits))


def _pick(word: str, pool: tuple[str, ...], rng: random.Random, memo: dict[str, str]) -> str:
    """The replacement of ``word`` in this copy: drawn once, then the same ("Dr. Ames ... ames's plan")."""
    return memo.setdefault(word.lower(), rng.choice(pool))


def _age(original: str, rng: random.Random) -> str:
    return _DIGITS.sub(lambda m: str(rng.randint(90, 104)), original, count=1)


def _replace(text: str, edits: list[tuple[int, int, str]]) -> str:
    out, at = [], 0
    for start, end, new in edits:
        out += [text[at:start], new]
        at = end
    return "".join(out) + text[at:]


def surrogate_copy(note: GoldNote, rng: random.Random, pools: Pools | None = None) -> GoldNote:
    """``note`` with every required gold span's text replaced (see the module docstring), spans moved along."""
    pools = pools or default_pools()
    surrogates = Surrogates(rng.randbytes(16), note.note_id, keep_year=True)
    chosen: dict[tuple[str, str], str] = {}  # (category, value) -> its replacement in this copy
    memo: dict[str, str] = {}  # name or place word -> its replacement in this copy
    spans = sorted(note.spans, key=lambda g: (g.start, -g.end))
    out: list[str] = []
    new_spans: list[GoldSpan] = []
    at = shift = 0
    for g in spans:
        if g.start < at:  # overlaps a span already copied: the earlier one keeps the text
            continue
        original = note.text[g.start : g.end]
        key = (g.category or "", " ".join(original.lower().split()))
        if not (g.safe_harbor and g.category):
            new = original
        elif key in chosen:
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
