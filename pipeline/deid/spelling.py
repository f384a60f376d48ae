"""Is an unknown word an English word in disguise: inflected, or misspelled by one edit?

Why: on real ICU nursing notes the unknown-word name rule found ~20 misspelled or abbreviated clinical words
per real name ("Apetite", "Reveiw", "Labetelol"), and 4 in 5 of them were one edit from the safe-word list,
against about half of the real names it found. These checks run on every unknown capitalized word, so they
are cached per word (the same words recur from note to note) and the one-edit check is an index look-up
rather than a walk over every possible edit.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

_LETTERS = frozenset("abcdefghijklmnopqrstuvwxyz")
MISSPELLING_MIN_LETTERS = 5  # shorter words are one edit from too many others ("Hill" -> "hell", "pill")


@lru_cache(maxsize=1 << 16)
def inflected(key: str, safe: frozenset[str]) -> bool:
    """Is ``key`` an inflection of a safe word ("trisected", "stalks", "trended")? The whitelist has base forms.
    Cached: the same unknown words recur from note to note (a frozenset keeps its hash)."""
    for suffix, repl in (("ed", ""), ("ed", "e"), ("ing", ""), ("ing", "e"), ("es", ""), ("s", ""), ("ly", ""), ("d", "")):
        if key.endswith(suffix) and len(key) - len(suffix) >= 3 and key[: -len(suffix)] + repl in safe:
            return True
    return False


_BASE = np.uint64(0x9E3779B97F4A7C15)  # odd: powers of it stay distinct modulo 2**64
_MAX_LETTERS = 64  # safe words up to this long are indexed; a word this long or longer is never called misspelled
with np.errstate(over="ignore"):
    _POW = np.concatenate(([np.uint64(1)], np.cumprod(np.full(_MAX_LETTERS, _BASE, dtype=np.uint64))))  # _BASE**i
_WILDCARD = np.uint64(ord("?"))  # stands for the one letter two words may differ in (never a letter itself)


def _codes(word: str) -> np.ndarray:
    return np.frombuffer(word.encode("ascii"), dtype=np.uint8).astype(np.uint64)


@lru_cache(maxsize=2)
def one_edit_index(safe: frozenset[str]) -> np.ndarray:
    """Sorted hashes of every safe word with one letter replaced by a wildcard ("ap?etite" ... "appetit?").

    Why a wildcard index: a word ``x`` that is one letter *changed* from a safe word shares one of these keys
    at the same position (``x[:i] + "?" + x[i+1:]``), and a word one letter *short* of a safe word shares
    ``x[:i] + "?" + x[i:]``; so both edits take one array look-up, not 26 set look-ups per letter each.
    The keys are polynomial hashes modulo 2**64 (``sum(code[i] * _BASE**i) + length * _BASE**_MAX_LETTERS``),
    so a key with a wildcard at ``i`` is the word's hash plus ``(wildcard - code[i]) * _BASE**i``, and the
    ~2 million keys of a 200k-word list are computed as whole arrays in a fraction of a second and take 16 MB
    (a set of the strings would take seconds and 150 MB per worker). Only words that a query of
    ``MISSPELLING_MIN_LETTERS`` letters can reach are kept."""
    by_length: dict[int, list[str]] = {}
    for w in safe:
        if MISSPELLING_MIN_LETTERS <= len(w) <= _MAX_LETTERS and w.isascii() and w.isalpha() and w.islower():
            by_length.setdefault(len(w), []).append(w)
    keys = [np.empty(0, dtype=np.uint64)]
    with np.errstate(over="ignore"):  # the hashes wrap modulo 2**64 by design
        for n, words in by_length.items():
            codes = _codes("".join(words)).reshape(-1, n)
            full = (codes * _POW[:n]).sum(axis=1, dtype=np.uint64) + np.uint64(n) * _POW[_MAX_LETTERS]
            keys.append((full[:, None] + (_WILDCARD - codes) * _POW[:n]).ravel())
    return np.sort(np.concatenate(keys))  # repeated keys are harmless to a binary search


def _wildcard_keys(word: str) -> np.ndarray:
    """The index keys ``word`` shares with a safe word one letter changed from it or one letter longer."""
    n, codes = len(word), _codes(word)
    with np.errstate(over="ignore"):  # the hashes wrap modulo 2**64 by design
        terms = codes * _POW[:n]
        changed = terms.sum(dtype=np.uint64) + np.uint64(n) * _POW[_MAX_LETTERS] + (_WILDCARD - codes) * _POW[:n]
        before = np.concatenate(([np.uint64(0)], np.cumsum(terms, dtype=np.uint64)))  # letters before a gap at i
        shifted = codes * _POW[1 : n + 1]  # the letters after the gap, one place on
        after = np.concatenate((np.cumsum(shifted[::-1], dtype=np.uint64)[::-1], [np.uint64(0)]))
        left_out = before + _WILDCARD * _POW[: n + 1] + after + np.uint64(n + 1) * _POW[_MAX_LETTERS]
    return np.concatenate((changed, left_out))


@lru_cache(maxsize=1 << 16)
def misspelled(key: str, safe: frozenset[str]) -> bool:
    """Is the lower-case ``key`` (its letters a-z) one edit from a safe word: a letter left out, added, changed,
    or two swapped? Then it is far more likely a misspelling than a name (see the module docstring). The same
    answers as trying every edit (tested), but for 64-bit hash collisions (~1e-12 per word) and words of
    ``_MAX_LETTERS`` letters or more (no English word is that long). Cached like ``inflected``."""
    word = "".join(c for c in key if c in _LETTERS)
    if not MISSPELLING_MIN_LETTERS <= len(word) < _MAX_LETTERS:
        return False
    n = len(word)
    if any(word[:i] + word[i + 1 :] in safe for i in range(n)):  # a letter added
        return True
    if any(word[:i] + word[i + 1] + word[i] + word[i + 2 :] in safe for i in range(n - 1)):  # two swapped
        return True
    index = one_edit_index(safe)  # a letter changed (or none: ``word`` itself safe), or one left out
    if not len(index):
        return False
    queries = _wildcard_keys(word)
    at = np.minimum(np.searchsorted(index, queries), len(index) - 1)
    return bool((index[at] == queries).any())


def clear_word_caches() -> None:
    """Empty the per-word caches a long run fills (``inflected``, ``misspelled``), so that a benchmark times
    each pass over its notes as a fresh worker meets them, not with every word already answered. The
    one-edit index stays: it is built with the engine, like the word lists."""
    inflected.cache_clear()
    misspelled.cache_clear()
