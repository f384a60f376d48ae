"""The hyperscan prefilter proposes match starts; ``search`` / ``finditer`` over them must give exactly what
plain ``re`` gives -- look-arounds, anchors, back-references, scoped flags, non-ASCII offsets included."""

from __future__ import annotations

import re

import pytest

from pipeline.deid import prefilter as phi_prefilter
from pipeline.deid.prefilter import Gate, finditer, may_match, prefilter_view

PATTERNS = [
    re.compile(r"(?=[Dd])(?<![A-Za-z])(?i:dr|mrs?)\.?[ \t]*(?P<n>[A-ZÀ-Þ][a-zß-ÿ]+)"),
    re.compile(r"^(?P<phi>[A-Z][a-z]+(?:[ \t]+[A-Z][a-z]+){1,3})(?=[ \t]*\(?(?i:mrn|dob)\b)", re.MULTILINE),
    re.compile(r"(?<![\d/])(?:0?[1-9]|1[0-2])([/.-])(?:0?[1-9]|[12]\d|3[01])\1(?:\d{4}|\d{2})(?![\d/])"),
    re.compile(r"(?<=[^\W\d_]),[ \t]*(?=(?i:age[ds]?[ \t]+)?\d{1,3}(?:[ \t-]*(?i:years?|yo)|[ \t]*,))"),
    re.compile(r"\Acase\s+\w+"),
    re.compile(r"(?i:k)elvin|(?-i:ABC)x", re.IGNORECASE),
    re.compile(r"[^\n\d]{0,40}?(?P<phi>\d{10})(?!\d)"),
    re.compile(r"lives[ \t]+in[ \t]+(?P<c>[A-Z][a-z]+)(?=,[ \t]*[A-Z]{2})(?!,[ \t]*MD)"),
    re.compile(r"(?s:a.b)|c.d"),
    re.compile(r"[a-z]+(?<=o)(?=[ \t])|a(?<=xa)"),
    re.compile(r"(?=[A-Z])(?<![A-Za-z])Smith(?![a-z])"),  # a negative look-behind: consumed
    re.compile(r"(?<![\s])ab"),  # a negative look-behind whose class holds a newline
    re.compile(r"(?m:^)\d\d"),  # a scoped line start
    re.compile(r"(?P<x>(?<=[.,] )[a-z]{2})"),  # positive look-behind of width 2, inside a group
]
TEXTS = [
    "Seen by Dr. Peña and mrs Ruiz.\nJosé Müller  (MRN 123)\nMaria Del Rio (dob 1/2/33)\nDOB 3/4/1950, 3-4-50, 3/4-50",
    "Zoë Ångström (dob 1/2/1960)\nPeña, 67 years old; Ruiz, age 90, lives in Ocala, FL; lives in Tyler, MD",
    "case  x1 \u212aelvin abcx ABCx call 3525550101 now\x1c a\nb c\nd",
    "",
    "no match here at all but taxa",
    "İstanbul ſ Ⅻ 😀 Dr. Łukasz  (mrn 9)\r\nDr.\nSmith, 45 yo",
    "Smith and GoldSmith, Smith\nab cab\n42, 7 x. yz",
    "ab 12\nSmithy",
    "seen by Dr. Smith",
]


def _walk_from(rx, text, pos):
    """What the regex recognizers do: try ``rx.match`` at the gate's candidates from ``pos`` on, in order."""
    view = prefilter_view()
    if view is None or id(rx) not in view[1]:
        return rx.search(text, pos)
    return next((m for s in view[0].get(id(rx), []) if s >= pos and (m := rx.match(text, s))), None)


@pytest.fixture(scope="module")
def gate():
    if not phi_prefilter.available():
        pytest.skip("hyperscan not installed: plain re is used, nothing to compare")
    g = Gate(PATTERNS)
    assert g.active
    return g


@pytest.mark.parametrize("text", TEXTS)
def test_gated_matches_equal_plain_re(gate, text):
    with gate.note(text):
        for rx in PATTERNS:
            plain = [(m.start(), m.end(), m.groups()) for m in rx.finditer(text)]
            gated = [(m.start(), m.end(), m.groups()) for m in finditer(rx, text)] if may_match(rx) else []
            assert gated == plain, rx.pattern
            for pos in range(0, len(text) + 1, 7):
                a, b = rx.search(text, pos), _walk_from(rx, text, pos)
                assert (a and a.span()) == (b and b.span()), (rx.pattern, pos)


def test_every_pattern_is_taken_by_the_gate_and_matches_somewhere(gate):
    """None of these falls back to a full scan, and each matches some text: either would hide a reversal
    bug from the test above."""
    assert all(id(rx) in gate._known for rx in PATTERNS)
    assert all(any(rx.search(t) for t in TEXTS) for rx in PATTERNS)


def test_empty_matching_patterns_are_left_to_re(gate):
    rx = re.compile(r"x*")
    g = Gate([rx])
    with g.note("axxb"):
        assert [m.span() for m in finditer(rx, "axxb")] == [m.span() for m in rx.finditer("axxb")]
    assert id(rx) not in g._known


def test_batch_scans_give_each_note_its_own_starts(gate):
    """Inside ``Gate.batch`` a note uses the scan made for it (not a neighbour's); a text outside the batch,
    or an equal string that is another object, is scanned on its own."""
    own = {}
    for text in TEXTS:
        with gate.note(text):
            own[text] = phi_prefilter.prefilter_view()
    batch = TEXTS[:-1]
    outside = TEXTS[-1]
    with gate.batch(batch):
        assert len(gate._threads.batch) == len({id(t) for t in batch}) > 0
        for text in [*reversed(batch), outside, "".join(list(TEXTS[0]))]:
            with gate.note(text):
                assert phi_prefilter.prefilter_view() == own[text]
                for rx in PATTERNS:
                    gated = [m.span() for m in finditer(rx, text)] if may_match(rx) else []
                    assert gated == [m.span() for m in rx.finditer(text)], rx.pattern
    assert gate._threads.batch == {}


def test_leading_look_behinds_narrow_the_candidates(gate):
    """A look-behind at the match start is kept (as the consumed character before the match), so the
    candidates are the real starts, not every capital inside a word; the note's start counts as "nothing
    before" for a negative one, also when its class holds a newline."""
    smith, ab, _, pair = PATTERNS[-4:]
    text = "Smith and GoldSmith, Smith\nab cab\n42, 7 x. yz"
    with gate.note(text):
        starts = phi_prefilter.prefilter_view()[0]
        assert starts[id(smith)] == [0, 21]
        assert 11 not in starts[id(smith)]  # "GoldSmith": dropped look-behind would propose it
        assert starts[id(pair)] == [text.index("yz")]
    with gate.note("ab 12"):
        assert phi_prefilter.prefilter_view()[0][id(ab)] == [0]


def test_a_final_negative_look_ahead_narrows_the_candidates(gate):
    """``Smith(?![a-z])``: "Smithy" is no candidate, "Smith" at the very end of the note still is."""
    smith = PATTERNS[-4]
    with gate.note("ab 12\nSmithy"):
        assert id(smith) not in phi_prefilter.prefilter_view()[0]
    with gate.note("seen by Dr. Smith"):
        assert phi_prefilter.prefilter_view()[0][id(smith)] == [12]


def test_each_thread_sees_its_own_note(gate):
    """Two threads inside ``Gate.note`` at the same time: each gets its own note's candidates."""
    import threading

    texts = TEXTS[0], TEXTS[1]
    alone = []
    for text in texts:
        with gate.note(text):
            alone.append(phi_prefilter.prefilter_view())
    both_inside = threading.Barrier(2)
    seen: dict[int, object] = {}

    def analyse(i: int) -> None:
        with gate.note(texts[i]):
            both_inside.wait(timeout=10)
            seen[i] = phi_prefilter.prefilter_view()
            both_inside.wait(timeout=10)

    threads = [threading.Thread(target=analyse, args=(i,)) for i in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert alone[0] != alone[1] and seen == {0: alone[0], 1: alone[1]}
    assert phi_prefilter.prefilter_view() is None


def test_without_hyperscan_every_regex_scans_plainly(monkeypatch):
    """hyperscan is optional: without it the gate is inactive and ``note`` / ``batch`` change nothing."""
    monkeypatch.setattr(phi_prefilter, "_hs", None)
    plain = Gate(PATTERNS)
    assert not plain.active
    with plain.batch(TEXTS), plain.note(TEXTS[0]):
        assert phi_prefilter.prefilter_view() is None
        assert all(may_match(rx) for rx in PATTERNS)
        assert [m.span() for m in finditer(PATTERNS[0], TEXTS[0])] == [m.span() for m in PATTERNS[0].finditer(TEXTS[0])]
