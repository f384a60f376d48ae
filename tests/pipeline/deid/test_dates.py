"""pipeline.deid.dates: which numeric spans the tagger may call dates."""

import pytest

from pipeline.deid.dates import calendar_date, is_numeric


def _judge(sentence: str) -> bool:
    """``calendar_date`` of the bracketed part of ``sentence``."""
    start = sentence.index("[")
    end = sentence.index("]") - 1
    text = sentence.replace("[", "").replace("]", "")
    return calendar_date(text, start, end) is not None


@pytest.mark.parametrize("sentence", [
    "Central line placed [9/12] in the ICU.",
    "Going to the OR [3/22] for a valve repair.",
    "Seen in clinic on [11-4] and again later.",
    "Last colonoscopy [6/3/09] was normal.",
    "Echo [02/17/2011] showed an EF of 45%.",
    "Hx of CABG [4/96] and a stent since.",  # month/year
    "Woke [3/14] with CP radiating to the jaw.",  # chest pain near a date that is no x/10
    "ON VENT VIA TRACH (PLACED [9/12]), SATS 98%.",  # the vent word is outside the parenthesis
    "Had XRT [11/02/11/03] and is due again Monday.",  # two treatment days in one token
    "Chemo cycle [2/7-2/9] at the cancer center.",
    "[12/14.97]\nNeuro: awake and alert.",  # a year typed after a dot
    "Became diaphoretic [2/5] at the nursing home.",  # an x/5 with no strength word near it
    "On the vent since [3/14], weaning slowly.",  # a date word right before wins over the vent word
    "PICC placed in R AC [2/11] without difficulty.",  # AC after a side is the antecubital fossa
    "Cardiac rehab. Restart heparin [9/18] per team.",  # "ac" of "cardiac" is no assist-control mode
])
def test_dates_in_clinical_sentences_are_dates(sentence):
    assert _judge(sentence)


@pytest.mark.parametrize("sentence", [
    "Patient rates her chest pain [7/10] today.",  # pain words near it
    "c/o [6/10] back pain, given tylenol.",
    "Weaned to PSV [12/8] overnight.",  # ventilator mode before it
    "VENT: (PSV [10/5]) tolerating well.",  # ... also inside a parenthesis
    "Remains on [6/6], 40% FiO2.",  # a percentage right after it
    "Crackles [1/3] up bilaterally.",  # a small fraction
    "Grip strength [4/5] on the left.",  # an x/5 grade
    "CO/CI [6/3] by Fick this am.",  # a reading after a pair of labels
    "FIO2 AT 40%. AFTER APPROX. [11/2]HR, RATE UP",  # 1 1/2 hours typed without its space
    "PSV increased to [10/5] overnight to rest.",  # a mode word earlier in the clause
    "RLE [3/5], RUE 4/5.",  # ... after a limb
    "Moves all extremities, [5/5] throughout.",  # full strength
    "Treated for [1/2/3/4] of the courses.",  # a pair of fractions is no pair of dates
    "PSV [12/5/10/5] trial this am.",  # ventilator settings written as a pair
    "Wedge [14-23] all shift.",  # not a month (23 is no month... 14 is)
    "HCT 31.5/[11].2 this am.",  # part of a longer number
    "ABG 7.31/[48/70] on arrival.",  # inside a chain of values
    "Flow by rate [13/11] today.",  # 13 is no month
    "Heart: grade [3/6] systolic ejection murmur.",  # a murmur grade
    "Disc bulge at C[6-7] on the MRI.",  # a spine level
    "She rates her pain as [2-7/10] today.",  # a range of scores
])
def test_measurements_written_like_dates_are_not(sentence):
    assert not _judge(sentence)


def test_a_partly_tagged_date_is_widened_to_the_whole_date():
    text = "Sent to CCU at 10PM 7/1 for monitoring."
    start = text.index("7/")
    assert calendar_date(text, start, start + 2) == (start, start + 3)


def test_is_numeric_takes_digits_and_separators_only():
    assert is_numeric("10/13") and is_numeric("4-5") and is_numeric("3 / 4")
    assert not is_numeric("Apr 21") and not is_numeric("nov")
