"""Public vocabularies that keep de-identification off words safe harbor does not ask to remove.

* States, countries, languages (``pipeline/data/*.txt``; sources and licences in each file's header): safe
  harbor removes geographic units *smaller than a state*, so "moved here from Texas" or "born in Haiti" keep
  their place, and a language is no identifier. ``deid`` drops a LOCATION span whose whole text is one of
  these names, and the name rules treat them as known words (not unknown capitalized words).
* Device, dressing and equipment brands (``pipeline/data/device_brands.txt``, compiled by hand from public
  product and company names): "Dermabond", "Tegaderm", "Impella" are no English words either.
* Drug names, brand names included (``drug-named-entity-recognition`` 2.0.9, MIT: its dictionary of DrugBank,
  MeSH and MedlinePlus names, read as data, never imported): "Brilinta", "Farxiga", "Keytruda" are unknown
  capitalized words to an English list, and the recall-first name rule would take them for surnames.

Only single words of the drug dictionary are used, and only as *safe words*: they stop the "unknown word is a
name" guess, not the dictionary or anchored name rules, so a patient called Camila (also a contraceptive
brand) is still found after "Ms." or as a census first name.
"""

from __future__ import annotations

import bz2
import importlib.util
import pickle
import re
from functools import lru_cache
from pathlib import Path

_DATA = Path(__file__).parents[1] / "data"
STATES, COUNTRIES, LANGUAGES = _DATA / "us_states.txt", _DATA / "countries.txt", _DATA / "languages.txt"
DEVICES = _DATA / "device_brands.txt"
DATA_FILES = (STATES, COUNTRIES, LANGUAGES, DEVICES)
DISTRIBUTIONS = ("drug-named-entity-recognition",)
_DRUG_FILE = "drug_ner_dictionary.pkl.bz2"
_NORMAL = re.compile(r"[^a-z]+")


def normal(text: str) -> str:
    """Lower case, every run of non-letters one space, trimmed: ``"U.S.A."`` -> ``"u s a"``."""
    return _NORMAL.sub(" ", text.lower()).strip()


def _names(path: Path) -> frozenset[str]:
    with open(path, encoding="utf-8") as fh:
        return frozenset(normal(line) for line in fh if line.strip() and not line.startswith("#"))


@lru_cache(maxsize=1)
def kept_places() -> frozenset[str]:
    """Normalised names of US states, DC, territories and countries: places safe harbor keeps."""
    return _names(STATES) | _names(COUNTRIES)


@lru_cache(maxsize=1)
def _kept_place_words() -> frozenset[str]:
    return frozenset(w for name in kept_places() for w in name.split())


@lru_cache(maxsize=1)
def languages() -> frozenset[str]:
    return _names(LANGUAGES)


_WORD_AT = re.compile(r"[A-Za-z][A-Za-z.'-]*")


def is_kept_place(text: str, start: int, end: int) -> bool:
    """``text[start:end]`` lies inside a state or country name: the span itself ("Texas") or part of a longer
    name around it ("West" of "West Virginia", "Dominican" of "Dominican Republic"). Up to three words on
    each side on the same line are tried."""
    names = kept_places()
    own = normal(text[start:end])
    if own in names:
        return True
    # a longer name holding the span holds each of its words: most spans ("Ocala") hold a word of none
    if not own or not all(w in _kept_place_words() for w in own.split()):
        return False
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    line_end = len(text) if line_end < 0 else line_end
    before = [m.start() for m in _WORD_AT.finditer(text, max(line_start, start - 40), start)][-3:]
    after = [m.end() for m in _WORD_AT.finditer(text, end, min(line_end, end + 40))][:3]
    return any(normal(text[a:b]) in names for a in [*before, start] for b in [end, *after])


@lru_cache(maxsize=1)
def device_words() -> frozenset[str]:
    """Words of device, dressing and equipment brand names ("Dermabond", "Tegaderm", "Impella")."""
    return frozenset(w for name in _names(DEVICES) for w in name.split() if len(w) >= 3)


@lru_cache(maxsize=1)
def drug_words() -> frozenset[str]:
    """Single-word drug names (generic and brand), lower case, from the pinned drug dictionary package."""
    spec = importlib.util.find_spec("drug_named_entity_recognition")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the 'drug-named-entity-recognition' package (drug name list) is not installed; "
                           "pip install drug-named-entity-recognition==2.0.9")
    path = Path(next(iter(spec.submodule_search_locations))) / _DRUG_FILE
    with bz2.open(path) as fh:  # a pinned dependency's own data file (a dict of strings)
        variants = pickle.load(fh)["drug_variant_to_canonical"]
    return frozenset(w for w in variants if w.isalpha() and len(w) >= 4)


@lru_cache(maxsize=1)
def place_words() -> frozenset[str]:
    """The words of state, country and language names ("texas", "virginia", "punjabi"): not unknown words."""
    return frozenset(w for name in kept_places() | languages() for w in name.split() if len(w) >= 3)
