"""Template data for the synthetic note generator (``pipeline/synth/generator.py``): wording, layouts, format mixes.

The tables are data, in ``pipeline/data/synth_templates.yaml``, declared in ``DATA_FILES`` so that their bytes
enter the code version of whatever generates from them; this module loads them into the names below (and
says what each is for). Kept apart from the generator so the *what* (clinical wording, section orders, how often each surface form
of a name/date/phone appears) can be read and edited without touching the *how* (offset bookkeeping,
duplicates, dirt).

Template strings use ``{slot}`` or ``{slot:arg}`` placeholders that ``synth.py`` fills; slots that produce
PHI record a labelled span, every other character is non-PHI. Sentences deliberately carry de-id traps
that are *not* PHI: eponyms (Parkinson disease, Foley catheter, Babinski), brand drugs (Lasix, Coumadin),
abbreviations that look like places or names (MD, PO, ST, RA, Cr, EtOH), place-named diseases (Lyme,
West Nile), ratios that look like dates (strength 5/5, murmur 3/6, Norco 5/325) and ages 89 or under.

Two profiles share most wording: ``dev`` (recognizers are developed against it) and ``heldout`` (other
header names, section orders, sentences and a different mix of surface forms, some of which ``dev`` never
shows), so a de-id evaluation on ``heldout`` is not circular.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import yaml

TEMPLATES_FILE = Path(__file__).parents[1] / "data" / "synth_templates.yaml"
DATA_FILES = (TEMPLATES_FILE,)


class Sec(NamedTuple):
    """One section of a note: how its body is built and from which pool of templates.

    kind: "title" (header line only), "kv" (every template of the pool, one per line, in order),
    "para" (lo..hi sentences joined into a paragraph), "list" (lo..hi items, numbered or dashed),
    "lines" (lo..hi templates, one per line). ``pool`` may contain ``{mod}``/``{spec}``, the note's
    radiology modality / pathology specimen. ``inline`` puts a one-sentence body on the header line;
    ``p`` is the chance the section appears; ``lead`` names a pool whose one pick always opens a "para";
    ``repeat`` lets a pool of generated items ("{drug}") be drawn more often than it has entries.
    """

    kind: str
    pool: str = ""
    lo: int = 1
    hi: int = 1
    inline: bool = False
    p: float = 1.0
    lead: str = ""
    repeat: bool = False


def _load(path: Path) -> dict:
    with open(path, encoding="utf-8") as fh:
        return yaml.load(fh, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


_T = _load(TEMPLATES_FILE)

# note type -> share of notes
NOTE_TYPES: dict[str, float] = _T["NOTE_TYPES"]
# every section any note type may have (shared by both profiles; the profile decides header wording and order)
SECTIONS: dict[str, Sec] = {k: Sec(**v) for k, v in _T["SECTIONS"].items()}
# template pools shared by both profiles ("kv" pools: every line, in order; "a||b" picks one alternative, "" skips)
POOLS: dict[str, list[str]] = _T["POOLS"]
# pools added for the dev profile only
DEV_POOLS: dict[str, list[str]] = _T["DEV_POOLS"]
# pools added for the heldout profile only
HELDOUT_POOLS: dict[str, list[str]] = _T["HELDOUT_POOLS"]
# profile -> section -> header wordings
HEADERS: dict[str, dict[str, list[str]]] = _T["HEADERS"]
# profile -> note type -> section order
ORDERS: dict[str, dict[str, list[str]]] = _T["ORDERS"]
# surface-form mixes: relative weights per profile (0 / absent = never); keys are formats synth.py knows
FORMS: dict[str, dict[str, dict[str, float]]] = _T["FORMS"]
# list markers per profile: "1." / "1)" numbered, "-" / "*" bulleted
LIST_STYLES: dict[str, list[str]] = _T["LIST_STYLES"]
# identifier shapes, one drawn per mention: "#" digit, "@" capital letter (no I/O/Q), "*" either, else literal ("mrn" shapes are in FORMS: their mix differs by profile)
ID_SHAPES: dict[str, list[str]] = _T["ID_SHAPES"]
# per-profile knobs that are not template wording
KNOBS: dict[str, dict[str, float]] = _T["KNOBS"]
# syllables for invented names that are not in the census lists (different per profile)
INVENTED: dict[str, dict[str, list[str]]] = _T["INVENTED"]
# accented spellings of common census names: real-looking but not in the (ASCII) census lists
ACCENTED_LAST: list[str] = _T["ACCENTED_LAST"]
ACCENTED_FIRST: list[str] = _T["ACCENTED_FIRST"]
# US places, public names only: (city, state, zip3, county)
PLACES: list[tuple[str, str, str, str]] = [tuple(x) for x in _T["PLACES"]]
STREET_WORDS: list[str] = _T["STREET_WORDS"]
STREET_SUFFIXES: list[str] = _T["STREET_SUFFIXES"]
STREET_PREFIXES: list[str] = _T["STREET_PREFIXES"]
UNITS: list[str] = _T["UNITS"]
FACILITY_PATTERNS: list[str] = _T["FACILITY_PATTERNS"]
SAINTS: list[str] = _T["SAINTS"]
FACILITY_WORDS: list[str] = _T["FACILITY_WORDS"]
AREA_CODES: list[str] = _T["AREA_CODES"]
EMAIL_DOMAINS: list[str] = _T["EMAIL_DOMAINS"]
URL_HOSTS: list[str] = _T["URL_HOSTS"]
URL_ORGS: list[str] = _T["URL_ORGS"]
# clinical (non-PHI) vocabulary from here on; a drug is (name, strength, default frequency key)
DRUGS: list[tuple[str, str, str]] = [tuple(x) for x in _T["DRUGS"]]
ROUTES: list[str] = _T["ROUTES"]
FREQS: dict[str, list[str]] = _T["FREQS"]
PMH: list[str] = _T["PMH"]
SYMPTOMS: list[str] = _T["SYMPTOMS"]
DIAGNOSES: list[str] = _T["DIAGNOSES"]
JOBS: list[str] = _T["JOBS"]
CARS: list[str] = _T["CARS"]
RELATIONS_M: list[str] = _T["RELATIONS_M"]
RELATIONS_F: list[str] = _T["RELATIONS_F"]
EXAMS: dict[str, list[str]] = _T["EXAMS"]
SPECIMENS: list[str] = _T["SPECIMENS"]
# word swaps a near duplicate may make (copy-forward style edits); never inside a PHI span
NEAR_DUP_SWAPS: dict[str, list[str]] = _T["NEAR_DUP_SWAPS"]
NEAR_DUP_INSERTS: list[str] = _T["NEAR_DUP_INSERTS"]
