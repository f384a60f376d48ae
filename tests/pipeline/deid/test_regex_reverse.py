"""The reversed look-behind answers exactly what a forward search of the window answers."""

from __future__ import annotations

import random
import re

import pytest

from pipeline.deid import recognizers as pr
from pipeline.deid.regex_reverse import Lookbehind, reversed_pattern
from pipeline.synth.generator import generate

PATTERNS = [
    r"\d[^\n,;]{2,60}(?<![A-Za-z])(?i:St|Street|Ave)\.?(?:,?[ \t]*(?i:apt|#)[^\n,;]{0,12})?",
    r"(?<![A-Za-z])(?i:on|since|dated?|d(?=:)|follow[- ]?up)[ \t]*:?[ \t]*(?:on[ \t]+)?",
    r"(?i:dob)\s*[:#]?\s*",
    r"\bseen\b\W+",
    r"(?:ab|a(?!c)|[^\W\d_]{2,3}?)x",
    r"(?<=\d{2})-(?=[A-Z])\w*",
    r"(?s:a.b)|\Bz",
    r"é[À-Öø-ÿ]+\.",
]

WINDOW = 40


def _windows(texts: list[str], rng: random.Random, n: int):
    for _ in range(n):
        text = rng.choice(texts)
        yield text, rng.randrange(0, len(text) + 1)


def _expected(pattern: str, text: str, pos: int) -> bool:
    """The documented meaning: a match ending at ``pos``, inside the window (look-arounds see only it)."""
    return re.search(rf"(?:{pattern})\Z", text[max(0, pos - WINDOW) : pos]) is not None


@pytest.fixture(scope="module")
def texts() -> list[str]:
    notes = [n.text for n in generate(120, seed=31, profile="dev").notes if n.text]
    handmade = [
        "Lives at 1234 Oak St, apt 5B, Gainesville, FL",
        "Seen on: 3/14 and follow-up 4/2; d: 5/6",
        "DOB #: 01/02/1950, seen  -- then ab x axx a x",
        "12-Abc 3-Def, a\nb then zz Az",
        "Café éÀÖ. naïve éøÿ.",
    ]
    return notes + handmade * 20


@pytest.mark.parametrize("pattern", PATTERNS)
def test_reversed_lookbehind_agrees_with_forward_search(pattern: str, texts: list[str]) -> None:
    lb = Lookbehind(pattern, WINDOW)
    assert lb.exact_reversal, reversed_pattern(pattern)
    rng = random.Random(pattern)
    hits = 0
    for text, pos in _windows(texts, rng, 3000):
        want = _expected(pattern, text, pos)
        assert lb.ends_at(text, pos) == want, (pattern, pos)
        hits += want
    # every position of the handmade texts too: the rare hits are there
    for text in texts[-5:]:
        for pos in range(len(text) + 1):
            want = _expected(pattern, text, pos)
            assert lb.ends_at(text, pos) == want, (pattern, text, pos)
            hits += want
    assert hits > 0  # the comparison saw matches, not only misses


@pytest.mark.parametrize(
    "pattern",
    [
        r"(a)\1",  # back-reference
        r"^ab",  # a line/text start cannot be placed in the window
        r"a++b",  # possessive
        r"(?>ab|a)b",  # atomic group
        r"ab(?=c+)",  # a variable-width look-ahead would become an invalid look-behind
    ],
)
def test_unsupported_constructs_fall_back_to_a_forward_search(pattern: str) -> None:
    lb = Lookbehind(pattern, WINDOW)
    assert not lb.exact_reversal
    for text in ("xaab", "ab", "aaab", "abab", "ababcc", "aab"):
        for pos in range(len(text) + 1):
            want = re.compile(rf"(?:{pattern})\Z").search(text, max(0, pos - WINDOW), pos) is not None
            assert lb.ends_at(text, pos) == want


def test_every_recognizer_look_behind_is_reversed() -> None:
    """A rule's ``before`` that stopped reversing would silently fall back to the slow forward search."""
    rules = [rule for r in pr.PhiRecognizer()._recognizers if isinstance(r, pr.GroupRegexRecognizer) for rule in r._patterns]
    befores = [rule[4] for rule in rules if rule[4] is not None]
    befores += [v for v in vars(pr).values() if isinstance(v, Lookbehind)]  # the gazetteer's place contexts
    assert len(befores) >= 4
    assert all(b.exact_reversal for b in befores)
