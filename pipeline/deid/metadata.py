"""The metadata columns of de-identified notes: a policy per column, so nothing after ``deid`` carries an identifier.

De-identifying the text is not enough: ``patient_id`` is often an MRN, ``note_date`` a full date, ``note_id`` a
file name that hospitals do name after patients, ``source_file`` a path. Safe harbor covers all of them.
``deid`` applies this policy to its output table, and every later stage reads only that table, so the raw
values cannot reach sentences, shards, manifests or lineage events downstream.

Policy (``MetadataParams``; ``docs/privacy.md`` has the column table):

- ``note_id``: always a keyed hash (HMAC-SHA256 with a secret from the environment, ``EHRLM_ID_KEY``), so ids
  stay unique and stable across runs but cannot be reversed or recomputed by anyone without the key. An
  unkeyed hash of an MRN-shaped id could be reversed by trying all 10^8 MRNs.
- ``patient_id``: keyed hash (one patient's notes stay linked) or dropped.
- ``note_date``: the year only (safe harbor), shifted by a per-patient keyed offset (keeps intervals within
  a patient; *not* safe harbor, an expert-determination method), or dropped. Values that cannot be read
  as a date become null and are counted, never passed on.
- ``note_type``: kept (a category such as ``progress``) or dropped.
- ``source_file``, ``source_row``: always dropped (file names and positions are identifiers; the ingest
  dataset, which stays inside the data root with the raw notes, keeps them for tracing).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from collections import Counter
from datetime import date, datetime, timedelta

import pyarrow as pa

from pipeline.config import MetadataParams

HASH_HEX = 20  # 80 bits: collision-free at any hospital's note count, short enough to read in a table
DROPPED_ALWAYS = ("source_file", "source_row")
_YEAR = re.compile(r"(?<!\d)(1[89]\d\d|20\d\d)(?!\d)")
_ISO = re.compile(r"\s*(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ].*)?\s*")
_US = re.compile(r"\s*(\d{1,2})/(\d{1,2})/(\d{4})(?:[T ].*)?\s*")


class MissingKeyError(ValueError):
    """The keyed hashes need a secret and none is set: the message says how to set one."""


def id_key(params: MetadataParams) -> bytes:
    """The secret for the keyed hashes, from the environment variable ``params.key_env``."""
    key = os.environ.get(params.key_env, "")
    if len(key) < 16:
        raise MissingKeyError(
            f"deid: set a secret of at least 16 characters in the environment variable {params.key_env} "
            f"(e.g. `export {params.key_env}=$(openssl rand -hex 32)`) and keep it with your other secrets: "
            "note and patient ids are replaced by keyed hashes, the same key keeps them stable across runs"
        )
    return key.encode()


def key_id(params: MetadataParams) -> str:
    """A public name of the key (a hash of a hash), so a new key re-runs ``deid`` without revealing the key."""
    return hmac.new(id_key(params), b"ehrlm key id", hashlib.sha256).hexdigest()[:16]


def keyed_hash(key: bytes, domain: str, value: str) -> str:
    """HMAC-SHA256 of ``value`` in ``domain`` (note ids and patient ids hash apart), hex, ``HASH_HEX`` long."""
    return hmac.new(key, f"{domain}\0{value}".encode(), hashlib.sha256).hexdigest()[:HASH_HEX]


def parse_date(value: str) -> date | None:
    """A calendar date from ``YYYY-MM-DD[...]`` or ``MM/DD/YYYY[...]``; None when it is not one."""
    for rx, order in ((_ISO, (0, 1, 2)), (_US, (2, 0, 1))):
        if m := rx.fullmatch(value):
            y, mo, d = (int(m.group(i + 1)) for i in order)
            try:
                return date(y, mo, d)
            except ValueError:
                return None
    return None


def date_shift_days(key: bytes, owner: str, max_days: int) -> int:
    """The keyed offset of one patient (or one note without a patient), in ``[-max_days, max_days]``, never 0."""
    digest = hmac.new(key, f"date shift\0{owner}".encode(), hashlib.sha256).digest()
    n = int.from_bytes(digest[:8], "big") % (2 * max_days)
    return n - max_days if n < max_days else n - max_days + 1


def _dates(values: list[str | None], owners: list[str], params: MetadataParams, key: bytes, counts: Counter) -> list[str | None]:
    out: list[str | None] = []
    for value, owner in zip(values, owners, strict=True):
        if value is None or not value.strip():
            out.append(None)
            continue
        if params.note_date == "year":
            parsed = parse_date(value)
            m = _YEAR.search(value)
            year = str(parsed.year) if parsed else (m.group(1) if m else None)
            counts["note_date_unreadable"] += year is None
            out.append(year)
        else:
            parsed = parse_date(value)
            counts["note_date_unreadable"] += parsed is None
            shifted = parsed + timedelta(days=date_shift_days(key, owner, params.date_shift_max_days)) if parsed else None
            out.append(shifted.isoformat() if shifted else None)
    return out


def apply(table: pa.Table, params: MetadataParams, key: bytes) -> tuple[pa.Table, dict[str, int]]:
    """``table`` (the notes of ``dedup``) with every metadata column replaced by its policy; counts only back.

    Columns this module does not know are dropped too: an unknown column is an unknown risk.
    """
    counts: Counter[str] = Counter()
    note_ids = [keyed_hash(key, "note", v) for v in table.column("note_id").to_pylist()]
    cols: dict[str, pa.Array] = {"note_id": pa.array(note_ids, pa.string()), "text": table.column("text")}
    raw_patients = table.column("patient_id").to_pylist() if "patient_id" in table.column_names else [None] * len(note_ids)
    patients = [keyed_hash(key, "patient", p) if p is not None else None for p in raw_patients]
    if params.patient_id == "hash":
        cols["patient_id"] = pa.array(patients, pa.string())
    if params.note_type == "keep" and "note_type" in table.column_names:
        cols["note_type"] = table.column("note_type")
    if params.note_date != "drop" and "note_date" in table.column_names:
        owners = [p if p is not None else f"note:{n}" for p, n in zip(patients, note_ids, strict=True)]
        cols["note_date"] = pa.array(_dates(table.column("note_date").to_pylist(), owners, params, key, counts), pa.string())
    known = {"note_id", "text", "patient_id", "note_type", "note_date", *DROPPED_ALWAYS}
    counts["unknown_columns_dropped"] = sum(1 for name in table.column_names if name not in known)
    return pa.table(cols), dict(counts)
