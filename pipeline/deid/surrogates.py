"""Consistent fake values for PHI spans (``DeidParams.surrogates``): realistic text instead of tags.

Each surrogate is a pure function of (secret key, note id, category, the normalised original): the same
name in one note always gets the same fake name ("Mr. Smith ... Smith's wife" -> "Mr. Olabode ... Olabode's
wife"), a different note gets an unrelated one, and nothing is stored -- no table from original to
surrogate exists anywhere, and the HMAC cannot be inverted without the key.

Why a secret key and not a salt in the params: stage params are written to the manifest, and with a known
salt a low-entropy value (an SSN, a birth date) could be recovered by hashing every candidate. The key
comes from the environment variable named by ``DeidParams.surrogate_key_env`` (default
``EHRLM_SURROGATE_KEY``); the stage refuses to make surrogates without it. Changing the key changes the
output but not the stage fingerprint, which sees params only.

Shapes are kept so downstream tokenisation sees realistic text: letters stay letters in the same case,
digits stay digits, punctuation stays; numeric dates stay valid dates (and keep their year with
``keep_year``); names come from a fixed pool of invented names; ages over 89 become "90+".
"""

from __future__ import annotations

import hashlib
import hmac
import re

_FIRST = (
    "Alder Brisa Calder Delwyn Elowen Faro Gisel Halden Ilsa Jorund Kaelan Liora Maren Nilo Orla Perrin "
    "Quenby Rosalin Sefton Talia Ulric Vesna Wren Xanthe Yarrow Zelig Anouk Bastian Corisande Dashiell"
).split()
_LAST = (
    "Ashgrove Brantwood Carrowmore Dunleavy Elderkin Fairweather Glenister Hollowell Inchbald Jessop "
    "Kettleby Larkspur Merriwether Netherby Oakhurst Pennington Quarrington Rushworth Stanbury Thistlecombe "
    "Underhill Vantongeren Whitlock Yardley Zabrowski Abernathy Blackwood Coldfield Draycott Everleigh"
).split()
_PLACES = (
    "Fernhollow Millbrook Ashford Cedar Bluff Riverton Stonebridge Maple Springs Oakridge Pinecrest "
    "Willowdale Brookhaven Clearwater Falls Highmoor Lakemont Redfield Silverton Thornbury"
).split(" ")
_MONTHS = ("January February March April May June July August September October November December").split()
_MONTH_RX = re.compile(
    r"(?i)\b(jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|"
    r"oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\b\.?"
)
_NUMERIC_DATE = re.compile(r"^(\d{1,2})([/.-])(\d{1,2})(?:\2(\d{2}|\d{4}))?$")
_ISO_DATE = re.compile(r"^(\d{4})([/.-])(\d{1,2})\2(\d{1,2})$")
_YEAR = re.compile(r"(?<!\d)(?:1[89]\d\d|20\d\d)(?!\d)")


class Surrogates:
    """Fake values for one note; ``get(category, original)`` is stable within the note."""

    def __init__(self, key: bytes, note_id: str, keep_year: bool) -> None:
        self._key = key
        self._note = note_id
        self._keep_year = keep_year

    def _stream(self, category: str, original: str) -> bytes:
        norm = " ".join(original.lower().split())
        msg = f"{self._note}\x1f{category}\x1f{norm}".encode()
        return hmac.new(self._key, msg, hashlib.sha256).digest()

    def get(self, category: str, original: str) -> str:
        h = self._stream(category, original)
        if category == "NAME":
            return _name(h, original)
        if category == "AGE":
            return "90+"
        if category == "DATE":
            return _date(h, original, self._keep_year)
        if category == "EMAIL":
            return f"{_FIRST[h[0] % len(_FIRST)].lower()}.{_LAST[h[1] % len(_LAST)].lower()}@example.org"
        if category == "URL":
            return f"https://example.org/{h.hex()[:8]}"
        if category == "LOCATION" and not any(c.isdigit() for c in original):
            return _case_like(" ".join(_PLACES[b % len(_PLACES)] for b in h[: max(1, len(original.split()))][:2]), original)
        return _shape(h, original)


def _case_like(fake: str, original: str) -> str:
    letters = [c for c in original if c.isalpha()]
    if letters and all(c.isupper() for c in letters) and len(letters) > 1:
        return fake.upper()
    if letters and all(c.islower() for c in letters):
        return fake.lower()
    return fake


def _name(h: bytes, original: str) -> str:
    """Same layout as the original: "Last, First", "First Last", a single word, initials kept as initials."""
    words = re.findall(r"[^\W\d_][^\s,]*", original)
    out = []
    for i, w in enumerate(words):
        if len(w.rstrip(".")) == 1:  # an initial
            out.append(chr(ord("A") + h[i % len(h)] % 26) + ("." if w.endswith(".") else ""))
            continue
        last = i == 0 if "," in original else (i == len(words) - 1 and len(words) > 1)
        pool = _LAST if last else _FIRST
        out.append(pool[h[(i + 3) % len(h)] % len(pool)])
    if not out:
        return _shape(h, original)
    sep = ", " if "," in original and len(out) > 1 else " "
    fake = out[0] + sep + " ".join(out[1:]) if len(out) > 1 else out[0]
    return _case_like(fake, original)


def _date(h: bytes, original: str, keep_year: bool) -> str:
    """A valid fake date in the original's layout (numeric, ISO, or with a month name)."""
    month, day = 1 + h[0] % 12, 1 + h[1] % 28
    s = original.strip()
    if m := _ISO_DATE.match(s):
        year = m.group(1) if keep_year else str(1950 + h[2] % 70)
        return f"{year}{m.group(2)}{month:02d}{m.group(2)}{day:02d}"
    if m := _NUMERIC_DATE.match(s):
        sep, year = m.group(2), m.group(4)
        out = f"{month:0{len(m.group(1))}d}{sep}{day:0{len(m.group(3))}d}"
        if year:
            fake_year = f"{(1950 + h[2] % 70) % (100 if len(year) == 2 else 10000):0{len(year)}d}"
            out += sep + (year if keep_year and len(year) == 4 else fake_year)
        return out
    if _MONTH_RX.search(s):
        def month_word(m: re.Match[str]) -> str:
            word = _MONTHS[month - 1]
            word = word[: len(m.group(1))] if len(m.group(1)) == 3 else word
            return _case_like(word + ("." if m.group().endswith(".") else ""), m.group())

        out = _MONTH_RX.sub(month_word, s, count=1)
        years = set(_YEAR.findall(s)) if keep_year else set()
        return re.sub(r"\d+", lambda m: m.group() if m.group() in years else _digits(h[3:], m.group(), day), out)
    return _shape(h, original)


def _digits(h: bytes, digits: str, day: int) -> str:
    if len(digits) <= 2:
        return f"{day:0{len(digits)}d}"
    return "".join(str(h[i % len(h)] % 10) for i in range(len(digits)))


def _shape(h: bytes, original: str) -> str:
    """Every digit -> a digit, every letter -> a letter of the same case; everything else kept."""
    out = []
    for i, c in enumerate(original):
        b = h[i % len(h)] ^ (i * 131 & 0xFF)
        if c.isdigit():
            out.append(str(b % 10))
        elif c.isalpha() and c.isascii():
            out.append(chr((ord("A") if c.isupper() else ord("a")) + b % 26))
        else:
            out.append(c)
    return "".join(out)
