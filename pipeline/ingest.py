"""Ingest raw notes from CSV, Parquet, JSONL or a folder of ``.txt`` files into one Parquet table.

Note text is kept as raw *bytes*: decoding, repair and counting of bad encodings is the ``clean`` stage's
job, so nothing is lost or silently "fixed" on the way in. A bad row never fails the run: rows without an
id, with an id already seen, unparseable, with a text that is not text, with metadata that is not UTF-8 or
longer than ``max_note_bytes`` are quarantined (listed in ``dropped.parquet`` by file, row and reason, never
with their text) and counted. A file that cannot be read at all is an ``IngestError`` naming the file and the
fix. Other entries of an input folder are skipped and counted by reason.
"""

from __future__ import annotations

import codecs
import hashlib
import json
import os
import re
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from pipeline.config import IngestParams
from pipeline.core.dataset import Dataset, Progress, StageResult, file_digest

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
FILES_SCHEMA = pa.schema([("source_file", pa.string()), ("sha256", pa.string()), ("rows", pa.int64())])
CSV_BLOCK_BYTES = 64 << 20  # pyarrow parses a CSV in blocks and a row must fit in one: the longest CSV note
T = TypeVar("T")
_LINE = "__ehrlm_line__"  # JSONL line number, so quarantine and source_row name the real line
SUFFIXES = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet", ".jsonl": "jsonl", ".ndjson": "jsonl", ".txt": "txt"}


class IngestError(ValueError):
    """Input that cannot be read as notes; the message names the file and what to change, never its content.

    ``problem`` is the message without the file's name: file names can be identifiers (hospitals name files
    after patients and MRNs), so what leaves this machine's terminal (Prefect's records) uses ``redacted()``.
    """

    def __init__(self, where: str, problem: str) -> None:
        super().__init__(f"{where}: {problem}")
        self.where, self.problem = where, problem

    def redacted(self) -> str:
        return f"input file {hashlib.sha256(self.where.encode()).hexdigest()[:12]} (sha256 of its path): {self.problem}"


@dataclass(frozen=True)
class InputFile:
    path: Path
    rel: str
    fmt: str


@dataclass(frozen=True)
class Inputs:
    """The note files of an input path, and how many other entries were skipped, by reason (never silently)."""

    files: list[InputFile]
    skipped: dict[str, int]


def discover(input_path: Path, formats: list[str]) -> Inputs:
    """Input files in a stable order (sorted relative paths), so ingest order never depends on the filesystem.

    Folders are walked without following symlinked folders (a link loop cannot hang the walk); symlinked files
    are read. Hidden entries, other suffixes, broken links and non-regular files (FIFOs, sockets) are skipped
    and counted by reason.
    """
    input_path = Path(input_path)
    if not input_path.exists():
        raise IngestError(str(input_path), "does not exist; pass a notes file or a folder of notes")
    if input_path.is_file():
        fmt = SUFFIXES.get(input_path.suffix.lower())
        if fmt is None or fmt not in formats:
            raise IngestError(input_path.name, f"unsupported suffix {input_path.suffix!r}; use one of {sorted(SUFFIXES)}")
        return Inputs([InputFile(input_path, input_path.name, fmt)], {})
    if not input_path.is_dir():
        raise IngestError(input_path.name, "is neither a regular file nor a folder (a FIFO or device?); pass a notes file")
    files: list[InputFile] = []
    skipped: Counter[str] = Counter()

    def unreadable(err: OSError) -> None:
        raise IngestError(str(Path(err.filename or input_path).relative_to(input_path.parent)),
                          f"cannot list the folder ({err.strerror}); check its permissions")

    for folder, dirs, names in os.walk(input_path, onerror=unreadable):
        base = Path(folder)
        for d in list(dirs):
            if d.startswith(".") or (base / d).is_symlink():
                skipped["hidden" if d.startswith(".") else "symlinked_folder"] += 1
                dirs.remove(d)
        for name in names:
            p = base / name
            fmt = SUFFIXES.get(p.suffix.lower())
            reason = ("hidden" if name.startswith(".") else "unsupported_suffix" if fmt is None or fmt not in formats
                      else "broken_link" if not p.exists() else "not_a_regular_file" if not p.is_file() else None)
            if reason:
                skipped[reason] += 1
            else:
                files.append(InputFile(p, p.relative_to(input_path).as_posix(), fmt))
    if not files:
        raise IngestError(input_path.name, f"no note files found (looked for {', '.join(sorted(SUFFIXES))}; "
                                           f"skipped {sum(skipped.values())} other entries)")
    return Inputs(sorted(files, key=lambda f: f.rel), dict(sorted(skipped.items())))


def input_fingerprints(input_path: Path, params: IngestParams) -> dict[str, str]:
    """One content hash over every raw input file (relative path + content, in path order): the external input
    of ``ingest``. One hash, not one per file: file names would reach manifests and lineage events."""
    h = hashlib.sha256()
    for f in discover(input_path, params.formats).files:
        h.update(f"{f.rel}\0{_read_guard(f, file_digest)}\n".encode())
    return {"raw": h.hexdigest()}


def _read_guard(f: InputFile, read: Callable[[Path], T]) -> T:
    """``read(f.path)`` with OS errors turned into an IngestError naming the file and the fix."""
    try:
        return read(f.path)
    except PermissionError:
        raise IngestError(f.rel, "permission denied; make it readable by the user running ehrlm") from None
    except IsADirectoryError:
        raise IngestError(f.rel, "is a folder named like a notes file; rename it") from None
    except OSError as exc:
        raise IngestError(f.rel, f"cannot be read ({exc.strerror or type(exc).__name__})") from None


def _sniff(f: InputFile) -> None:
    """Compressed files under a plain suffix fail deep inside a reader with a misleading message: say what they are."""
    with open(f.path, "rb") as fh:
        head = fh.read(4)
    for magic, kind in ((b"\x1f\x8b", "gzip"), (b"PK\x03\x04", "zip"), (b"BZh", "bzip2"), (b"\x28\xb5\x2f\xfd", "zstd")):
        if head.startswith(magic) and f.fmt != "parquet":
            raise IngestError(f.rel, f"is {kind}-compressed but named {Path(f.rel).suffix}; decompress it first")


def _read_table(f: InputFile, params: IngestParams) -> pa.Table:
    _read_guard(f, lambda _: _sniff(f))
    if f.fmt == "csv":
        # Text and metadata as binary: pyarrow's UTF-8 check would reject the whole file for one bad byte; the
        # text is decoded by ``clean``, the metadata row by row here (a bad row is quarantined, not the file).
        binary = {c: pa.large_binary() for c in _configured(params)}
        convert = pacsv.ConvertOptions(column_types=binary, strings_can_be_null=True)
        parse = pacsv.ParseOptions(newlines_in_values=True)
        read = pacsv.ReadOptions(block_size=CSV_BLOCK_BYTES)
        try:
            return _read_guard(f, lambda p: pacsv.read_csv(p, read_options=read, parse_options=parse, convert_options=convert))
        except pa.ArrowInvalid as exc:
            if "straddling" in str(exc) or "block size" in str(exc):
                raise IngestError(f.rel, f"a row is longer than {CSV_BLOCK_BYTES >> 20} MB; split the note or use "
                                         "JSONL or Parquet for very long notes") from None
            raise IngestError(f.rel, f"not a readable CSV ({type(exc).__name__}); check the delimiter and quoting") from None
    if f.fmt == "parquet":
        try:
            return _read_guard(f, pq.read_table)
        except (pa.ArrowInvalid, pa.ArrowException):
            raise IngestError(f.rel, "not a readable Parquet file (empty, truncated or another format)") from None
    if f.fmt == "jsonl":
        return _read_guard(f, lambda _: _read_jsonl(f, params))
    raise AssertionError(f.fmt)


def _configured(params: IngestParams) -> list[str]:
    return [c for c in (params.id_column, params.text_column, params.patient_column, params.note_type_column,
                        params.date_column) if c]


def _read_jsonl(f: InputFile, params: IngestParams) -> pa.Table:
    """One JSON object per line; undecodable bytes survive via surrogateescape so ``clean`` can count them.

    A bad line is not fatal: unparseable lines and lines whose text is not a string (a number, a list) ride
    along in the table metadata as (line, reason) and are quarantined by ``run``. A UTF-8 byte-order mark on
    the first line is ignored.
    """
    wanted = _configured(params)
    cols: dict[str, list] = {c: [] for c in wanted}
    present: set[str] = set()
    lines: list[int] = []
    bad: list[tuple[int, str]] = []
    with open(f.path, "rb") as fh:
        for lineno, line in enumerate(fh):
            if lineno == 0 and line.startswith(codecs.BOM_UTF8):
                line = line[len(codecs.BOM_UTF8):]
            if not line.strip():
                continue
            try:
                obj = json.loads(line.decode("utf-8", "surrogateescape"))
                if not isinstance(obj, dict):
                    raise ValueError
            except ValueError:
                bad.append((lineno, "unparseable_row"))
                continue
            text = obj.get(params.text_column)
            if text is not None and not isinstance(text, str):
                bad.append((lineno, "text_not_a_string"))
                continue
            present.update(obj)
            lines.append(lineno)
            for c in wanted:
                val = obj.get(c)
                if c == params.text_column and isinstance(val, str):
                    val = val.encode("utf-8", "surrogateescape" if _only_escapes(val) else "surrogatepass")
                elif val is not None:
                    val = str(val).encode("utf-8", "surrogateescape" if _only_escapes(str(val)) else "surrogatepass")
                cols[c].append(val)
    table = pa.table({c: pa.array(v, pa.large_binary()) for c, v in cols.items() if c in present})
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
    if set(_configured(params)) & set(names) and all(_RX_HEADER_NAME.fullmatch(n) for n in names):
        return "columns: " + ", ".join(names)
    return "names not shown: the first row may be a note, not a header"


def _metadata(table: pa.Table, name: str | None, n: int, bad: list[str | None], reason: str) -> pa.Array:
    """A metadata column as UTF-8 strings (numbers become strings); absent optional columns are null. A value
    that is not valid UTF-8 marks its row in ``bad`` (quarantined: an id cannot be repaired by guessing)."""
    if name is None or name not in table.column_names:
        return pa.nulls(n, pa.string())
    col = table.column(name).combine_chunks()
    if not (pa.types.is_binary(col.type) or pa.types.is_large_binary(col.type)):
        try:
            return col.cast(pa.string())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            raise IngestError("", f"column {name!r} has type {col.type}, which is not text") from None
    out: list[str | None] = []
    for i, raw in enumerate(col.to_pylist()):
        try:
            out.append(raw.decode("utf-8") if raw is not None else None)
        except UnicodeDecodeError:
            out.append(None)
            bad[i] = bad[i] or reason
    return pa.array(out, pa.string())


def _text(table: pa.Table, name: str) -> pa.Array:
    """The text column as bytes (Parquet may hold it as strings); any other type is an error for the file."""
    col = table.column(name).combine_chunks()
    if any(is_type(col.type) for is_type in (pa.types.is_string, pa.types.is_large_string, pa.types.is_binary,
                                             pa.types.is_large_binary, pa.types.is_null)):
        return col.cast(pa.large_binary())
    raise IngestError("", f"column {name!r} has type {col.type}, which is not text")


def _notes_from_file(f: InputFile, params: IngestParams) -> tuple[pa.Table, list[tuple[int, str]]]:
    """A file's notes in NOTE_SCHEMA plus quarantined rows as (row, reason); rows of ``bad`` are not in the table."""
    if f.fmt == "txt":
        size = _read_guard(f, lambda p: p.stat().st_size)
        if size > params.max_note_bytes:
            return NOTE_SCHEMA.empty_table(), [(0, "note_too_large")]
        # The id is the path without its suffix, so ``a.txt`` and ``sub/a.txt`` stay two notes.
        rel = Path(f.rel)
        cols = {
            "note_id": pa.array([rel.with_suffix("").as_posix()]),
            "text": pa.array([_read_guard(f, Path.read_bytes)], pa.large_binary()),
            **{c: pa.nulls(1, pa.string()) for c in ("patient_id", "note_type", "note_date")},
            "source_file": pa.array([f.rel]),
            "source_row": pa.array([0], pa.int64()),
        }
        return pa.table(cols, schema=NOTE_SCHEMA), []
    table = _read_table(f, params)
    quarantined = [tuple(x) for x in json.loads((table.schema.metadata or {}).get(b"ehrlm_bad_lines", b"[]"))]
    if table.num_rows == 0 and f.fmt == "jsonl":  # an empty JSONL file has no columns to check
        return NOTE_SCHEMA.empty_table(), quarantined
    for required in (params.id_column, params.text_column):
        if required not in table.column_names:
            raise IngestError(
                f.rel,
                f"no column {required!r} among its {table.num_columns} columns ({_column_names(table, params)}); "
                "set ingest.id_column / ingest.text_column in the config to map your columns, or add a header row",
            )
    n = table.num_rows
    bad: list[str | None] = [None] * n
    try:
        cols = {
            "note_id": _metadata(table, params.id_column, n, bad, "invalid_utf8_id"),
            "text": _text(table, params.text_column),
            "patient_id": _metadata(table, params.patient_column, n, bad, "invalid_utf8_metadata"),
            "note_type": _metadata(table, params.note_type_column, n, bad, "invalid_utf8_metadata"),
            "note_date": _metadata(table, params.date_column, n, bad, "invalid_utf8_metadata"),
        }
    except IngestError as exc:
        raise IngestError(f.rel, exc.problem) from None
    too_large = pc.greater(pc.binary_length(cols["text"]), params.max_note_bytes).to_pylist()
    bad = [b or ("note_too_large" if big else None) for b, big in zip(bad, too_large, strict=True)]
    cols["source_file"] = pa.array([f.rel] * n, pa.string())
    has_lines = f.fmt == "jsonl" and _LINE in table.column_names
    cols["source_row"] = table.column(_LINE).combine_chunks() if has_lines else pa.array(range(n), pa.int64())
    notes = pa.table(cols, schema=NOTE_SCHEMA)
    rows = cols["source_row"].to_pylist()
    quarantined += [(rows[i], reason) for i, reason in enumerate(bad) if reason]
    keep = [i for i, reason in enumerate(bad) if not reason]
    return (notes if len(keep) == n else notes.take(pa.array(keep, pa.int64()))), quarantined


def run(
    inputs: Mapping[str, Dataset],
    out: Path,
    params: IngestParams,
    progress: Progress | None = None,
    workers: int = 1,
    *,
    input_path: Path,
) -> StageResult:
    """Read every input file, quarantine bad rows (by file, row and reason), write ``notes.parquet``.

    Per-file row counts go to ``files.parquet`` beside the notes, not to the manifest: file names can be
    identifiers, and manifests travel to lineage servers.
    """
    found = discover(input_path, params.formats)
    kept: list[pa.Table] = []
    dropped_rows: list[dict] = []
    reasons: Counter[str] = Counter()
    seen: set[str] = set()
    rows_in = 0
    per_file: dict[str, list] = {name: [] for name in FILES_SCHEMA.names}
    for i, f in enumerate(found.files):
        table, bad = _notes_from_file(f, params)
        for row, reason in bad:
            dropped_rows.append({"source_file": f.rel, "source_row": row, "note_id": None, "reason": reason})
            reasons[reason] += 1
        rows_in += table.num_rows + len(bad)
        for name, value in zip(FILES_SCHEMA.names, (f.rel, file_digest(f.path), table.num_rows + len(bad))):
            per_file[name].append(value)
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
            progress(i + 1, len(found.files))
    notes = pa.concat_tables(kept) if kept else NOTE_SCHEMA.empty_table()
    pq.write_table(notes, out / "notes.parquet")
    pq.write_table(pa.Table.from_pylist(dropped_rows, schema=DROPPED_SCHEMA), out / "dropped.parquet")
    pq.write_table(pa.table(per_file, schema=FILES_SCHEMA), out / "files.parquet")
    return StageResult(
        rows_in=rows_in,
        rows_out=notes.num_rows,
        dropped=dict(reasons),
        counts={
            "files": len(found.files),
            "skipped_entries": found.skipped,
            "bytes": int(pc.sum(pc.binary_length(notes["text"])).as_py() or 0),
        },
    )
