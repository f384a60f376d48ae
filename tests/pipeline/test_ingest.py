import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline import ingest
from pipeline.config import IngestParams


def _run(src, tmp_path, params=IngestParams()):
    out = tmp_path / "out"
    out.mkdir()
    r = ingest.run({}, out, params, input_path=src)
    return r, pq.read_table(out / "notes.parquet"), pq.read_table(out / "dropped.parquet")


def test_every_format_bytes_preserved(tmp_path):
    src = tmp_path / "in"
    (src / "txt").mkdir(parents=True)
    (src / "a.csv").write_bytes(b'note_id,text,patient_id\nc1,"bad \xff byte\nsecond line",p1\nc2,"&amp; ok",p2\n')
    (src / "b.jsonl").write_bytes(b'{"note_id": "j1", "text": "caf\\u00e9", "note_type": "progress"}\n')
    pq.write_table(pa.table({"note_id": ["q1"], "text": [b"parquet \xfe bytes"]}), src / "c.parquet")
    (src / "txt" / "t1.txt").write_bytes(b"text \xc3\x28 file")
    r, notes, dropped = _run(src, tmp_path)
    by_id = dict(zip(notes.column("note_id").to_pylist(), notes.column("text").to_pylist()))
    assert by_id == {
        "c1": b"bad \xff byte\nsecond line",
        "c2": b"&amp; ok",
        "j1": "café".encode(),
        "q1": b"parquet \xfe bytes",
        "txt/t1": b"text \xc3\x28 file",
    }
    assert r.rows_in == 5 and r.rows_out == 5 and dropped.num_rows == 0
    assert notes.column("source_file").to_pylist() == ["a.csv", "a.csv", "b.jsonl", "c.parquet", "txt/t1.txt"]


def test_bad_rows_quarantined_by_file_and_row(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    (src / "a.jsonl").write_text('{"note_id": "x", "text": "one"}\nnot json\n{"text": "no id"}\n{"note_id": "x", "text": "dup"}\n')
    r, notes, dropped = _run(src, tmp_path)
    assert r.rows_in == 4 and r.rows_out == 1
    assert r.dropped == {"unparseable_row": 1, "missing_id": 1, "duplicate_id": 1}
    rows = {(d["source_row"], d["reason"]) for d in dropped.to_pylist()}
    assert rows == {(1, "unparseable_row"), (2, "missing_id"), (3, "duplicate_id")}
    assert b"no id" not in (tmp_path / "out" / "dropped.parquet").read_bytes()


def test_column_mapping_and_clear_error(tmp_path):
    src = tmp_path / "notes.csv"
    src.write_text("ID,BODY\n1,hello\n")
    with pytest.raises(ingest.IngestError, match=r"notes.csv: no column 'note_id'.*id_column"):
        _run(src, tmp_path)
    (tmp_path / "mapped").mkdir()
    _, notes, _ = _run(src, tmp_path / "mapped", IngestParams(id_column="ID", text_column="BODY"))
    assert notes.column("text").to_pylist() == [b"hello"] and notes.column("note_id").to_pylist() == ["1"]


def test_missing_input_is_clear(tmp_path):
    with pytest.raises(ingest.IngestError, match="does not exist"):
        ingest.discover(tmp_path / "nope", ["csv"])


def test_fingerprints_follow_content(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    (src / "a.jsonl").write_text(json.dumps({"note_id": "1", "text": "a"}) + "\n")
    before = ingest.input_fingerprints(src, IngestParams())
    (src / "a.jsonl").write_text(json.dumps({"note_id": "1", "text": "b"}) + "\n")
    assert ingest.input_fingerprints(src, IngestParams()) != before


@pytest.mark.parametrize("row", [
    "n1,p1,progress,2020-01-01,Patient Zorblatt Quennington MRN 99887766 seen today",
    "n1,p1,progress,Patient Zorblatt seen today",
    "n1,p1,Zorblatt",
])
def test_a_csv_without_header_names_no_cell_in_the_error(tmp_path, row):
    src = tmp_path / "h.csv"
    src.write_text(row + "\n" + row.replace("n1", "n2") + "\n")
    with pytest.raises(ingest.IngestError) as err:
        _run(src, tmp_path)
    message = str(err.value)
    assert "h.csv" in message and "header" in message
    assert "Zorblatt" not in message and "99887766" not in message and "p1" not in message


def test_a_folder_of_txt_notes_ingests_in_a_fresh_process(tmp_path):
    """Nothing else imported pyarrow.compute first here (the bug: it worked only after another reader had)."""
    import subprocess
    import sys

    src = tmp_path / "notes"
    src.mkdir()
    (src / "a.txt").write_text("first note")
    (src / "b.txt").write_text("second note")
    out = tmp_path / "out"
    out.mkdir()
    code = ("import sys; from pathlib import Path; from pipeline import ingest; from pipeline.config import IngestParams; "
            "r = ingest.run({}, Path(sys.argv[2]), IngestParams(), input_path=Path(sys.argv[1])); print(r.rows_out, r.counts['bytes'])")
    done = subprocess.run([sys.executable, "-c", code, str(src), str(out)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr[-500:]
    assert done.stdout.split() == ["2", str(len("first note") + len("second note"))]
