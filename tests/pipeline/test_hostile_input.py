"""Hostile and careless input, probe by probe: each ends in a clear error naming the file and the problem, or in a
counted quarantine -- never a crash of another kind, never note text in a message or the manifest."""

from __future__ import annotations

import errno
import gzip
import json
import os
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline import clean, ingest
from pipeline.config import CleanParams, IngestParams
from pipeline.core.dataset import Dataset, run_stage

CANARY = "Zorblatt Quennington"  # a note's text: must appear in no message and no manifest
NOTE = f"Patient {CANARY} seen today. Plan: aspirin."


def _jsonl(*rows: object) -> bytes:
    return b"".join(json.dumps(r).encode() + b"\n" for r in rows)


def _write(root: Path, files: dict[str, bytes]) -> Path:
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    return root


def _ingest(src: Path, tmp_path: Path, params: IngestParams = IngestParams()):
    ds, _ = run_stage(data_root=tmp_path / "data", stage="ingest", params=params.fingerprint_params(), code="t",
                      inputs={}, body=lambda i, out, p: ingest.run(i, out, params, input_path=src))
    manifest = (ds.path / "_manifest.json").read_text()
    assert CANARY not in manifest
    return ds.manifest, pq.read_table(ds.part("notes.parquet")), pq.read_table(ds.part("dropped.parquet"))


# (probe, files to write, expected quarantine by reason, expected rows kept)
QUARANTINE_PROBES: list[tuple[str, dict[str, bytes], dict[str, int], int]] = [
    ("jsonl text is a number or a list or an object",
     {"a.jsonl": _jsonl({"note_id": "1", "text": 5}, {"note_id": "2", "text": ["x"]}, {"note_id": "3", "text": {"t": 1}},
                        {"note_id": "4", "text": NOTE})}, {"text_not_a_string": 3}, 1),
    ("invalid byte in a jsonl patient_id",
     {"a.jsonl": b'{"note_id": "1", "text": "ok", "patient_id": "P\xff1"}\n' + _jsonl({"note_id": "2", "text": NOTE})},
     {"invalid_utf8_metadata": 1}, 1),
    ("invalid byte in a csv patient_id and note_id",
     {"a.csv": b"note_id,text,patient_id\n1,hello,P\xff1\nn\xfe2,hello,P2\n3,\"" + NOTE.encode() + b"\",P3\n"},
     {"invalid_utf8_metadata": 1, "invalid_utf8_id": 1}, 1),
    ("all-garbage jsonl", {"a.jsonl": b"\x00\x01garbage\n{not json\n[1, 2]\n"}, {"unparseable_row": 3}, 0),
    ("empty jsonl beside a good file", {"a.jsonl": b"", "b.jsonl": _jsonl({"note_id": "1", "text": NOTE})}, {}, 1),
    ("header-only csv", {"a.csv": b"note_id,text\n", "b.jsonl": _jsonl({"note_id": "1", "text": NOTE})}, {}, 1),
    ("a note over max_note_bytes in a csv",
     {"a.csv": b"note_id,text\n1," + b"x" * 5000 + b"\n2,short\n"}, {"note_too_large": 1}, 1),
    ("duplicate id across two files", {"a.jsonl": _jsonl({"note_id": "1", "text": NOTE}),
                                       "b.jsonl": _jsonl({"note_id": "1", "text": "other"})}, {"duplicate_id": 1}, 1),
    ("utf-8 byte-order marks and CRLF line ends",
     {"a.csv": b"\xef\xbb\xbfnote_id,text\r\n1,\"line one\r\nline two\"\r\n",
      "b.jsonl": b"\xef\xbb\xbf" + json.dumps({"note_id": "2", "text": NOTE}).encode() + b"\r\n"}, {}, 2),
]


@pytest.mark.parametrize(("probe", "files", "quarantined", "kept"), QUARANTINE_PROBES, ids=[p[0] for p in QUARANTINE_PROBES])
def test_bad_rows_are_quarantined_and_counted(tmp_path, probe, files, quarantined, kept):
    src = _write(tmp_path / "in", files)
    manifest, notes, dropped = _ingest(src, tmp_path, IngestParams(max_note_bytes=4096))
    assert manifest["dropped"] == quarantined and notes.num_rows == kept
    assert manifest["rows_in"] == kept + sum(quarantined.values())
    assert sorted(dropped.column("reason").to_pylist()) == sorted(r for r, n in quarantined.items() for _ in range(n))
    assert all(f in files for f in dropped.column("source_file").to_pylist())


def test_a_csv_cell_longer_than_pyarrows_default_block_is_read(tmp_path):
    big = "word " * 1_000_000  # 5 MB in one cell; pyarrow's default block is 1 MB
    src = _write(tmp_path / "in", {"a.csv": f'note_id,text\n1,"{big}"\n2,short\n'.encode()})
    _, notes, _ = _ingest(src, tmp_path)
    assert notes.column("text").to_pylist() == [big.encode(), b"short"]


def test_other_files_are_skipped_and_counted_and_nested_names_do_not_collide(tmp_path):
    src = _write(tmp_path / "in", {"a.txt": NOTE.encode(), "sub/a.txt": b"another note", "notes.docx": b"PK",
                                   ".hidden.txt": b"x", "README": b"readme", "sub/.git/config": b"x"})
    os.symlink(src, src / "loop")  # a symlink loop: a folder linking to its parent
    os.mkfifo(src / "pipe.txt")  # a FIFO named like a note: reading it would block forever
    os.symlink(src / "gone.txt", src / "broken.txt")
    manifest, notes, _ = _ingest(src, tmp_path)
    assert sorted(notes.column("note_id").to_pylist()) == ["a", "sub/a"]
    assert manifest["counts"]["skipped_entries"] == {
        "broken_link": 1, "hidden": 2, "not_a_regular_file": 1, "symlinked_folder": 1, "unsupported_suffix": 2}


@pytest.mark.slow
def test_a_huge_sparse_txt_is_quarantined_without_being_read(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    with open(src / "dump.txt", "wb") as fh:
        fh.truncate(1 << 30)  # 1 GB, sparse: costs no disk, would cost 1 GB of memory to read
    (src / "ok.txt").write_text(NOTE)
    manifest, notes, _ = _ingest(src, tmp_path)
    assert manifest["dropped"] == {"note_too_large": 1} and notes.num_rows == 1


def _perm_denied(*_a, **_k):
    raise PermissionError(errno.EACCES, "Permission denied")


# (probe, files to write, a patch to apply or None, the message expected) -- each an IngestError naming the file
ERROR_PROBES: list[tuple[str, dict[str, bytes], Callable | None, str]] = [
    ("0-byte parquet", {"notes.parquet": b""}, None, r"notes.parquet: not a readable Parquet"),
    ("gzip named .csv", {"notes.csv": gzip.compress(b"note_id,text\n1,x\n")}, None, r"notes.csv: is gzip-compressed"),
    ("zip named .jsonl", {"notes.jsonl": b"PK\x03\x04rest"}, None, r"notes.jsonl: is zip-compressed"),
    ("csv without a header", {"h.csv": f"n1,p1,{NOTE}\n".encode()}, None, r"h.csv: no column 'note_id'.*header row"),
    ("parquet whose text column is a number", {"n.parquet": None}, None, r"n.parquet: column 'text' has type int64"),
    ("permission denied", {"notes.parquet": b"x"}, _perm_denied, r"notes.parquet: permission denied"),
]


@pytest.mark.parametrize(("probe", "files", "patch", "message"), ERROR_PROBES, ids=[p[0] for p in ERROR_PROBES])
def test_unreadable_files_are_clear_errors(tmp_path, monkeypatch, probe, files, patch, message):
    src = tmp_path / "in"
    src.mkdir()
    for rel, data in files.items():
        if data is None:
            pq.write_table(pa.table({"note_id": ["1"], "text": [7]}), src / rel)
        else:
            (src / rel).write_bytes(data)
    if patch is not None:
        monkeypatch.setattr(pq, "read_table", patch)
    with pytest.raises(ingest.IngestError, match=message) as err:
        _ingest(src, tmp_path)
    assert CANARY not in str(err.value) and "Zorblatt" not in err.value.redacted()
    assert Path(next(iter(files))).name not in err.value.redacted()  # what goes to Prefect names no file


def test_a_fifo_or_missing_path_as_input_is_a_clear_error(tmp_path):
    os.mkfifo(tmp_path / "notes.csv")
    with pytest.raises(ingest.IngestError, match="neither a regular file nor a folder"):
        ingest.discover(tmp_path / "notes.csv", ["csv"])
    with pytest.raises(ingest.IngestError, match="does not exist"):
        ingest.discover(tmp_path / "nope", ["csv"])


def test_disk_full_mid_write_leaves_no_dataset_and_no_temp_folder(tmp_path, monkeypatch):
    src = _write(tmp_path / "in", {"a.jsonl": _jsonl({"note_id": "1", "text": NOTE})})

    def full(*_a, **_k):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pq, "write_table", full)
    with pytest.raises(OSError, match="No space left"):
        _ingest(src, tmp_path)
    assert not [p for p in (tmp_path / "data" / "ingest").iterdir()]


def test_legacy_and_mixed_encodings_are_decoded_and_counted(tmp_path):
    """Latin-1 and cp1252 exports, and a note mixing UTF-8 with Latin-1: accents survive, counted per note."""
    src = _write(tmp_path / "in", {"latin1.txt": "José Müller, 38.5°".encode("latin-1"),
                                   "mixed.txt": "Café ".encode() + "crème".encode("latin-1"),
                                   "binary.txt": bytes(range(128, 256)) * 4})
    _, notes, _ = _ingest(src, tmp_path)
    pq.write_table(notes, tmp_path / "notes.parquet")
    out = tmp_path / "clean"
    out.mkdir()
    r = clean.run({"ingest": Dataset("ingest", "x", tmp_path)}, out, CleanParams())
    texts = dict(zip(*(pq.read_table(out / "notes.parquet").column(c).to_pylist() for c in ("note_id", "text"))))
    assert texts == {"latin1": "José Müller, 38.5°", "mixed": "Café crème"}
    assert r.dropped == {"undecodable": 1} and r.counts["notes_repaired"]["legacy_encoding"] == 2
