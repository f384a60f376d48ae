"""Ingest raw notes from CSV, Parquet, JSONL or a folder of ``.txt`` files into one Parquet table.

Note text is kept as raw *bytes*: decoding, repair and counting of bad encodings is the ``clean`` stage's
job, so nothing is lost or silently "fixed" on the way in. Rows without an id or with an id already seen
are quarantined (listed in ``dropped.parquet`` by file and row, never with their text) and counted.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from pipeline.config import IngestParams
from pipeline.dataset import Dataset, Progress, StageResult, file_digest

NOTE_SCHEMA = pa.schema(
    [
        ("note_id", pa.string()),
        ("text", pa.large_binary()),
        ("patient_id", pa.string()),
        ("note_type", pa.string()),
        ("note_date", pa.string()),
        ("source_file", pa.string()),
        ("source_row", pa.int64()),
    ]
)
DROPPED_SCHEMA = pa.schema(
    [("source_file", pa.string()), ("source_row", pa.int64()), ("note_id", pa.string()), ("reason", pa.string())]
)
_LINE = "__ehrlm_line__"  # JSONL line number, so quarantine and source_row name the real line
SUFFIXES = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet", ".jsonl": "jsonl", ".ndjson": "jsonl", ".txt": "txt"}


class IngestError(ValueError):
    """Input that cannot be read as notes; the message names the file and what to change."""


@dataclass(frozen=True)
class InputFile:
    path: Path
    rel: str
    fmt: str


def discover(input_path: Path, formats: list[str]) -> list[InputFile]:
    """Input files in a stable order (sorted relative paths), so ingest order never depends on the filesystem."""
    input_path = Path(input_path)
    if not input_path.exists():
        raise IngestError(f"input {input_path} does not exist; pass a notes file or a folder of notes")
    if input_path.is_file():
        fmt = SUFFIXES.get(input_path.suffix.lower())
        if fmt is None or fmt not in formats:
            raise IngestError(f"{input_path}: unsupported suffix {input_path.suffix!r}; use one of {sorted(SUFFIXES)}")
        return [InputFile(input_path, input_path.name, fmt)]
    files = []
    for p in sorted(input_path.rglob("*")):
        fmt = SUFFIXES.get(p.suffix.lower())
        if p.is_file() and fmt in formats and not any(part.startswith(".") for part in p.relative_to(input_path).parts):
            files.append(InputFile(p, p.relative_to(input_path).as_posix(), fmt))
    if not files:
        raise IngestError(f"{input_path}: no note files found (looked for {', '.join(sorted(SUFFIXES))})")
    return files


def input_fingerprints(input_path: Path, params: IngestParams) -> dict[str, str]:
    """Content hash of every raw input file, keyed by relative path: the external inputs of ``ingest``."""
    return {f"raw:{f.rel}": file_digest(f.path) for f in discover(input_path, params.formats)}


def _read_table(f: InputFile, params: IngestParams) -> pa.Table:
    if f.fmt == "csv":
        # Text as binary: pyarrow's UTF-8 check would reject the whole file for one bad byte.
        convert = pacsv.ConvertOptions(
            column_types={params.text_column: pa.large_binary(), params.id_column: pa.string()}, strings_can_be_null=True
        )
        parse = pacsv.ParseOptions(newlines_in_values=True)
        try:
            return pacsv.read_csv(f.path, parse_options=parse, convert_options=convert)
        except pa.ArrowInvalid as exc:
            raise IngestError(f"{f.rel}: not a readable CSV ({type(exc).__name__}); check the delimiter and quoting") from None
    if f.fmt == "parquet":
        return pq.read_table(f.path)
    if f.fmt == "jsonl":
        return _read_jsonl(f, params)
    raise AssertionError(f.fmt)


def _read_jsonl(f: InputFile, params: IngestParams) -> pa.Table:
    """One JSON object per line; undecodable bytes survive via surrogateescape so ``clean`` can count them.

    Unparseable lines are not fatal: their line numbers ride along in the table metadata and are
    quarantined by ``run``.
    """
    wanted = [c for c in (params.id_column, params.text_column, params.patient_column, params.note_type_column,
                          params.date_column) if c]
    cols: dict[str, list] = {c: [] for c in wanted}
    present: set[str] = set()
    lines: list[int] = []
    bad: list[int] = []
    with open(f.path, "rb") as fh:
        for lineno, line in enumerate(fh):
            if not line.strip():
                continue
            try:
                obj = json.loads(line.decode("utf-8", "surrogateescape"))
                if not isinstance(obj, dict):
                    raise ValueError
            except ValueError:
                bad.append(lineno)
                continue
            present.update(obj)
            lines.append(lineno)
            for c in wanted:
                val = obj.get(c)
                if c == params.text_column and isinstance(val, str):
                    val = val.encode("utf-8", "surrogateescape" if _only_escapes(val) else "surrogatepass")
                elif val is not None and c != params.text_column:
                    val = str(val)
                cols[c].append(val)
    types = {c: pa.large_binary() if c == params.text_column else pa.string() for c in wanted}
    table = pa.table({c: pa.array(v, types[c]) for c, v in cols.items() if c in present})
    table = table.append_column(_LINE, pa.array(lines, pa.int64())) if lines else table
    return table.replace_schema_metadata({"ehrlm_bad_lines": json.dumps(bad)})


def _only_escapes(s: str) -> bool:
    return all(not ("\ud800" <= ch <= "\udfff") or "\udc80" <= ch <= "\udcff" for ch in s)


_RX_HEADER_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,39}")


def _column_names(table: pa.Table, params: IngestParams) -> str:
    """The column names, only when the header is evidently one: some configured column is among them and all
    look like names. A CSV without a header row makes its first row the names -- a note's text, an MRN, a
    date -- and error messages reach logs and Prefect's database."""
    names = table.column_names
    configured = {params.id_column, params.text_column, params.patient_column, params.note_type_column,
                  params.date_column} - {None}
    if configured & set(names) and all(_RX_HEADER_NAME.fullmatch(n) for n in names):
        return "columns: " + ", ".join(names)
    return "names not shown: the first row may be a note, not a header"


def _column(table: pa.Table, name: str | None, n: int, typ: pa.DataType) -> pa.Array:
    """A mapped column cast to our type (ids that are numbers become strings); absent optional columns are null."""
    if name is None or name not in table.column_names:
        return pa.nulls(n, typ)
    return table.column(name).combine_chunks().cast(typ)


def _notes_from_file(f: InputFile, params: IngestParams) -> tuple[pa.Table, list[int]]:
    """A file's notes in NOTE_SCHEMA plus the row numbers of unparseable lines (JSONL only)."""
    if f.fmt == "txt":
        n = 1
        cols = {
            "note_id": pa.array([f.path.stem]),
            "text": pa.array([f.path.read_bytes()], pa.large_binary()),
            "patient_id": pa.nulls(n, pa.string()),
            "note_type": pa.nulls(n, pa.string()),
            "note_date": pa.nulls(n, pa.string()),
        }
        bad: list[int] = []
    else:
        table = _read_table(f, params)
        bad = json.loads((table.schema.metadata or {}).get(b"ehrlm_bad_lines", b"[]"))
        if table.num_rows == 0 and not bad:
            return pa.table({k: pa.array([], t) for k, t in zip(NOTE_SCHEMA.names, NOTE_SCHEMA.types)}), bad
        for required in (params.id_column, params.text_column):
            if table.num_rows and required not in table.column_names:
                raise IngestError(
                    f"{f.rel}: no column {required!r} among its {table.num_columns} columns ({_column_names(table, params)}); "
                    "set ingest.id_column / ingest.text_column in the config to map your columns, or add a header row"
                )
        n = table.num_rows
        cols = {
            "note_id": _column(table, params.id_column, n, pa.string()),
            "text": _column(table, params.text_column, n, pa.large_binary()),
            "patient_id": _column(table, params.patient_column, n, pa.string()),
            "note_type": _column(table, params.note_type_column, n, pa.string()),
            "note_date": _column(table, params.date_column, n, pa.string()),
        }
    cols["source_file"] = pa.array([f.rel] * n, pa.string())
    has_lines = f.fmt == "jsonl" and _LINE in table.column_names
    cols["source_row"] = table.column(_LINE).combine_chunks() if has_lines else pa.array(range(n), pa.int64())
    return pa.table(cols, schema=NOTE_SCHEMA), bad


def read_notes(input_path: Path, params: IngestParams) -> Iterator[tuple[InputFile, pa.Table, list[int]]]:
    for f in discover(input_path, params.formats):
        table, bad = _notes_from_file(f, params)
        yield f, table, bad


def run(
    inputs: Mapping[str, Dataset],
    out: Path,
    params: IngestParams,
    progress: Progress | None = None,
    workers: int = 1,
    *,
    input_path: Path,
) -> StageResult:
    """Read every input file, quarantine rows without a usable id, write ``notes.parquet``."""
    files = discover(input_path, params.formats)
    kept: list[pa.Table] = []
    dropped_rows: list[dict] = []
    reasons: Counter[str] = Counter()
    seen: set[str] = set()
    rows_in = 0
    per_file: dict[str, int] = {}
    for i, f in enumerate(files):
        table, bad = _notes_from_file(f, params)
        for lineno in bad:
            dropped_rows.append({"source_file": f.rel, "source_row": lineno, "note_id": None, "reason": "unparseable_row"})
            reasons["unparseable_row"] += 1
        rows_in += table.num_rows + len(bad)
        per_file[f.rel] = table.num_rows + len(bad)
        keep = []
        rows = table.column("source_row").to_pylist()
        for row, nid in enumerate(table.column("note_id").to_pylist()):
            nid = nid.strip() if isinstance(nid, str) else nid
            reason = "missing_id" if not nid else "duplicate_id" if nid in seen else None
            if reason:
                dropped_rows.append({"source_file": f.rel, "source_row": rows[row], "note_id": nid, "reason": reason})
                reasons[reason] += 1
            else:
                seen.add(nid)
                keep.append(row)
        kept.append(table.take(pa.array(keep, pa.int64())) if len(keep) != table.num_rows else table)
        if progress:
            progress(i + 1, len(files))
    notes = pa.concat_tables(kept) if kept else NOTE_SCHEMA.empty_table()
    pq.write_table(notes, out / "notes.parquet")
    pq.write_table(pa.Table.from_pylist(dropped_rows, schema=DROPPED_SCHEMA), out / "dropped.parquet")
    return StageResult(
        rows_in=rows_in,
        rows_out=notes.num_rows,
        dropped=dict(reasons),
        counts={"files": len(files), "rows_per_file": per_file, "bytes": int(pc.sum(pc.binary_length(notes["text"])).as_py() or 0)},
    )
