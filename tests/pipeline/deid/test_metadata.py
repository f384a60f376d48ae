"""The metadata policy of de-identified notes: keyed hashes, years or shifted dates, dropped file names."""

from __future__ import annotations

from datetime import date

import pyarrow as pa
import pytest

from pipeline.config import MetadataParams
from pipeline.deid.metadata import MissingKeyError, apply, date_shift_days, id_key, key_id, keyed_hash, parse_date

KEY = b"k" * 32
MRN = "MRN00431977"  # canary patient id
FILE = "Quennington_Zorblatt_99887766.txt"  # canary file name, also the note id of a .txt input


def _notes(dates: list[str | None], patients: list[str | None]) -> pa.Table:
    n = len(dates)
    return pa.table(
        {
            "note_id": [f"{FILE}#{i}" for i in range(n)],
            "text": pa.array([b"x"] * n, pa.large_binary()),
            "patient_id": patients,
            "note_type": ["progress"] * n,
            "note_date": dates,
            "source_file": [FILE] * n,
            "source_row": pa.array(range(n), pa.int64()),
            "attending": ["Dr Zorblatt"] * n,  # a column nobody declared
        }
    )


def test_default_policy_hashes_ids_keeps_years_and_drops_files_and_unknown_columns():
    table = _notes(["2019-03-14", "03/14/2019 08:30", "last Tuesday", None], [MRN, MRN, "P2", None])
    out, counts = apply(table, MetadataParams(), KEY)
    assert out.column_names == ["note_id", "text", "patient_id", "note_type", "note_date"]
    assert out.column("note_date").to_pylist() == ["2019", "2019", None, None]
    assert counts == {"note_date_unreadable": 1, "unknown_columns_dropped": 1}
    patients = out.column("patient_id").to_pylist()
    assert patients[0] == patients[1] != patients[2] and patients[3] is None
    assert len(set(out.column("note_id").to_pylist())) == 4
    dump = repr(out.to_pylist())
    for canary in (MRN, FILE, "Quennington", "Zorblatt", "03-14", "03/14"):
        assert canary not in dump


def test_hashes_depend_on_the_key_and_the_domain():
    assert keyed_hash(KEY, "note", MRN) != keyed_hash(b"j" * 32, "note", MRN)
    assert keyed_hash(KEY, "note", MRN) != keyed_hash(KEY, "patient", MRN)
    assert keyed_hash(KEY, "note", MRN) == keyed_hash(KEY, "note", MRN)


def test_shift_keeps_intervals_within_a_patient_and_moves_patients_apart():
    table = _notes(["2019-03-14", "2019-03-20", "2019-03-14"], ["A", "A", "B"])
    out, _ = apply(table, MetadataParams(note_date="shift", date_shift_max_days=30), KEY)
    a1, a2, b = (date.fromisoformat(d) for d in out.column("note_date").to_pylist())
    assert (a2 - a1).days == 6
    assert a1 != date(2019, 3, 14) and abs((a1 - date(2019, 3, 14)).days) <= 30
    offsets = {date_shift_days(KEY, f"p{i}", 30) for i in range(200)}
    assert 0 not in offsets and min(offsets) >= -30 and max(offsets) <= 30 and len(offsets) > 30


def test_drop_policies_remove_the_columns():
    out, _ = apply(_notes(["2019-03-14"], [MRN]), MetadataParams(patient_id="drop", note_date="drop", note_type="drop"), KEY)
    assert out.column_names == ["note_id", "text"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [("2019-03-14", date(2019, 3, 14)), ("2019-3-4T10:00:00", date(2019, 3, 4)), ("12/31/2020", date(2020, 12, 31)),
     ("2019-02-30", None), ("14.03.2019", None), ("", None)],
)
def test_parse_date(value, expected):
    assert parse_date(value) == expected


def test_missing_or_short_key_is_a_clear_error(monkeypatch):
    monkeypatch.delenv("EHRLM_ID_KEY", raising=False)
    with pytest.raises(MissingKeyError, match="EHRLM_ID_KEY"):
        id_key(MetadataParams())
    monkeypatch.setenv("EHRLM_ID_KEY", "short")
    with pytest.raises(MissingKeyError, match="at least 16"):
        id_key(MetadataParams())
    monkeypatch.setenv("EHRLM_ID_KEY", "a-long-enough-secret")
    first = key_id(MetadataParams())
    monkeypatch.setenv("EHRLM_ID_KEY", "another-long-secret")
    assert key_id(MetadataParams()) != first and "secret" not in first
