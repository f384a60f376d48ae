"""Is a numeric span a calendar date? The check the learned tagger's DATE spans must pass.

Why: nursing notes write many clinical numbers the way they write dates -- ventilator settings (``PSV 10/5``,
``CPAP 5/5``), pain scores (``8/10 pain``), fractions (``rales 1/3 up``), blood pressures and lab chains
(``7.35/66/55``), ranges (``RR 12-19``). On real ICU notes the tagger took these for dates often enough that
its DATE precision was 0.79 against the rules' 0.91 (``ehrlm deid-eval``, docs/deid.md). The rules guard
each such form in their patterns; the tagger sees context the rules do not (``PLACED 8/14``, ``OR 6/10 for a
CABG``), so its numeric dates are kept when they read as a month and day, not as a measurement.

Spans with a letter (``Apr 21``, ``nov``) are not judged here: only digit-and-separator spans are.
"""

from __future__ import annotations

import re

_TOKEN_CHAR = re.compile(r"[\d/-]|\.(?=\d)")
_NUMERIC = re.compile(r"[\d/.\s-]+")
# Words that make ``x/y`` a score or a measurement when near it (pain scales, ventilator modes and settings).
_PAIN = re.compile(r"(?i)(?<![a-z])(?:pain|cp|discomfort|angina|ache|headache|scale|pressure|sore|hurts?)(?![a-z])")
_GCS = re.compile(r"(?i)(?<![a-z])(?:gcs|glasgow|coma scale)(?![a-z])")
_MURMUR = re.compile(r"(?i)(?<![a-z])(?:grade|murmur|sem|hsm|systolic|diastolic|holosystolic|ejection)(?![a-z])")
_STRENGTH = re.compile(
    r"(?i)(?<![a-z])(?:strength|strong|motor|grips?|power|muscles?|extremit(?:y|ies)|[rlb][ul]e|ues?|les?|arms?|legs?"
    r"|hands?|feet|foot|flex(?:ion)?|ext(?:ension)?|weak(?:ness)?|push|pull|dorsi\S*|plantar\S*|mae)(?![a-z])"
)
# (``AC`` is assist control, except after a side: "R AC" is the antecubital fossa)
_VENT = re.compile(
    r"(?i)(?<![a-z])(?:psv?|cpap|ips|peep|bi-?pap|s?imv|vent|(?<![rl][ \t])(?<!right[ \t])(?<!left[ \t])a/?c|"
    r"settings?|fio2|flowby|pressure support)(?![a-z])"
)
# two labels of two letters or more joined by a slash, then the reading: "CO/CI 5/3", "PIP/PEEP: 30/5" (not
# "s/p 3/14" or "d/c 4/2": one-letter halves are date words)
_PAIR_LABEL = re.compile(r"(?<![A-Za-z])[A-Za-z]{2,5}/[A-Za-z]{2,5}[ \t]*[:=]?[ \t]*\Z")
# words that make the number right after them a date even beside a ventilator word
_DATE_CUE = re.compile(r"(?i)(?<![a-z])(?:since|placed|started|intubated|extubated|inserted|dated)[ \t]*:?[ \t]*\Z")
# a mode word, a percentage or a unit right after: "10/5 PEEP", "12/5 40%", "1 1/2HR" typed as "11/2HR"
_VENT_AFTER = re.compile(
    r"(?i)[ \t,]*(?:\d+[ \t]*%|psv?|cpap|ips|peep|bi-?pap|fio2)(?![a-z])"
    r"|[ \t]*(?i:hrs?|hours?|mins?|minutes?|mg|mcg|ml|cc|units?|amps?|tabs?)(?![a-z])"
)


def _token(text: str, start: int, end: int) -> tuple[int, int]:
    """The whole number-and-separator run around ``text[start:end]`` (``31.5/11.2``, ``7.35/66/55``)."""
    a, b = start, end
    while a > 0 and _TOKEN_CHAR.match(text, a - 1):
        a -= 1
    while b < len(text) and _TOKEN_CHAR.match(text, b):
        b += 1
    while b > a and text[b - 1] in "/-.":
        b -= 1
    while a < b and text[a] in "/-.":
        a += 1
    return a, b


def _near(words: re.Pattern[str], text: str, a: int, b: int, before: int = 25, after: int = 25) -> bool:
    """One of ``words`` within ``before`` characters before ``text[a:b]`` or ``after`` characters after it."""
    return bool(words.search(text[max(0, a - before) : a]) or words.search(text[b : b + after]))


def is_numeric(span: str) -> bool:
    """Digits and date separators only: the spans :func:`calendar_date` judges."""
    return _NUMERIC.fullmatch(span) is not None


_DATE_PAIR = re.compile(r"(\d{1,2})/(\d{1,2})[/-](\d{1,2})/(\d{1,2})")
_DOTTED_YEAR = re.compile(r"(\d{1,2})/(\d{1,2})\.\d\d")


def _month_day(month: int, day: int) -> bool:
    """A real month and day that is no small fraction (``1/3``, ``3/4``)."""
    return 1 <= month <= 12 and 1 <= day <= 31 and not month < day <= 4


def calendar_date(text: str, start: int, end: int) -> tuple[int, int] | None:
    """The extent of the whole number token around ``text[start:end]`` (digits and separators) when it is an
    ``m/d``, ``m/yy``, ``m-d`` or ``m/d/y`` date with a real month, a pair of them (``10/3-10/4``, ``10/03/10/04``:
    treatment days) or an ``m/d.yy`` typed with a dot -- not a small fraction or an ``x/5`` grade, not an
    ``x/10`` next to a pain word or an ``x/6`` next to a murmur word, not a spine level (``C6-7``), not a range of
    scores (``2-7/10``), not a ventilator setting (a mode word before it in its clause -- its line, after any
    opening parenthesis --, or a mode word or percentage right after it), not part of a longer number (``600/12``,
    ``31.5/11.2``) -- else None. The tagger may tag part of a date (``7/`` of ``7/1``): the whole token is what
    is redacted."""
    a, b = _token(text, start, end)
    if a > 0 and text[a - 1].isalpha():
        return None  # a spine level or a code: "C6-7", "L4-5", "T12"
    if (pair := _DATE_PAIR.fullmatch(text, a, b)) or (pair := _DOTTED_YEAR.fullmatch(text, a, b)):
        numbers = [int(g) for g in pair.groups()]
        valid = all(_month_day(m, d) for m, d in zip(numbers[::2], numbers[1::2], strict=True))
        return (a, b) if valid and not is_setting(text, a, b) else None
    if "/" in text[a:b] and "-" in text[a:b]:
        return None  # mixed separators: a range of scores ("2-7/10"), not a date
    parts = re.split(r"[/-]", text[a:b])
    if len(parts) not in (2, 3) or not all(p.isdigit() for p in parts):
        return None
    month, day = int(parts[0]), int(parts[1])
    if not 1 <= month <= 12:
        return None
    if len(parts) == 2 and day > 31:
        return (a, b) if len(parts[1]) == 2 else None  # month/year: "CABG 8/87"
    if day < 1 or (len(parts) == 3 and len(parts[2]) not in (2, 4)):
        return None
    if len(parts) == 2 and (not _month_day(month, day) or (day == 5 and month == 5)):
        return None  # 1/2, 1/3, 3/4 (fractions); 5/5 (full strength, a CPAP setting)
    if len(parts) == 2 and day == 5 and month < 5 and _near(_STRENGTH, text, a, b):
        return None  # a strength grade: "RUE 3/5", "grips 4/5 bilat"
    if len(parts) == 2 and day == 10 and _near(_PAIN, text, a, b):
        return None  # a pain score: "c/o 6/10 back pain", "CP 4/10"
    if len(parts) == 2 and day == 6 and _near(_MURMUR, text, a, b, after=30):
        return None  # a murmur grade: "Grade 2/6 systolic ejection murmur"
    return None if is_setting(text, a, b) else (a, b)


def is_setting(text: str, a: int, b: int) -> bool:
    """``text[a:b]`` is a numbered setting or reading: after ``#`` (``#4/10``), after a pair of labels
    (``CO/CI 5/3``, ``BUN/Cr 24/1``), a coma score after its scale's name (``GCS 3/15``), after a ventilator
    mode word in its clause (``VENT VIA TRACH (PLACED 8/14)`` dates the trach, as does ``on vent since 3/14``: a
    date word right before wins), or before a mode word, a percentage or a unit. Shared by the tagger's check
    and the rules."""
    if text[max(0, a - 3) : a].rstrip().endswith("#") or _PAIR_LABEL.search(text, max(0, a - 16), a):
        return True
    if text.endswith("/15", a, b) and _GCS.search(text, max(0, a - 16), a):
        return True  # a coma score: "GCS 3/15 on arrival", "GCS of 10/15"
    if _DATE_CUE.search(text, max(0, a - 16), a):
        return False  # "on vent since 3/14": the word right before makes it a date
    # the clause: back to a line break, an opening parenthesis or a sentence end, at most 30 characters; searched
    # in place, so a word cut by the window ("...ac rehab" of "cardiac rehab") is not read as a mode word
    lo = max(0, a - 30)
    window = text[lo:a]
    cut = max(window.rfind("\n"), window.rfind("("), window.rfind(". "))
    return bool(_VENT.search(text, lo + cut + 1, a) or _VENT_AFTER.match(text, b))
