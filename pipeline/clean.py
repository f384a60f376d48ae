"""UTF-8 cleanup as GatorTron describes it, without the lossy ASCII-only shortcut.

Steps, per note, each counted: strict UTF-8 check -> decode, invalid bytes as Windows-1252 where they
evidently are (legacy exports: ``José``, ``38°``), else replacement -> drop U+FFFD (a note that
is mostly undecodable is dropped instead) -> repair mojibake only where ftfy's detector says the text is
bad -> unescape HTML entities (even when ``<`` is present, which ftfy's "auto" mode skips) -> NBSP and
other Unicode spaces to a plain space -> remove zero-width and control characters -> normalise line
endings and collapse whitespace while keeping line structure (the sentence splitter needs the lines)
-> NFC. Empty notes are dropped with a reason. Unicode is kept: accented names and symbols such as
``°`` carry meaning.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections import Counter
from collections.abc import Mapping, Sequence
from functools import partial
from pathlib import Path

import ftfy
import ftfy.badness
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipeline.config import CleanParams
from pipeline.core.dataset import Dataset, Progress, StageResult
from pipeline.core.parallel import imap_batches

_ENTITY = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
_SPACES = re.compile("[\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]")
_ZERO_WIDTH = re.compile("[\u200b\u200c\u200d\u2060\ufeff]")
_LINE_BREAKS = re.compile("\r\n|[\r\u2028\u2029\x0b\x0c\x85]")
_CONTROL = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f]")
_TABS_SPACES = re.compile("[ \t]+")
_TRAILING = re.compile(" +\n")
_LEADING = re.compile("\n +")
_BLANK_LINES = re.compile("\n{3,}")
_ESCAPED = re.compile("[\udc80-\udcff]")  # an invalid byte, kept by surrogateescape
# cp1252 characters taken as such even between non-letters: units, dashes, quotes and signs of clinical text.
_LEGACY_SIGNS = frozenset("‘’“”–—…°±µ·×÷½¼¾²³€£§©®")
REPAIR_KINDS = (
    "invalid_utf8",
    "legacy_encoding",
    "replacement_chars",
    "mojibake",
    "html_entities",
    "unicode_spaces",
    "zero_width",
    "control_chars",
    "line_breaks",
)


def clean_text(raw: bytes, params: CleanParams) -> tuple[str | None, Counter[str], str | None]:
    """Clean one note. Returns (text or None if dropped, repair counts, drop reason)."""
    counts: Counter[str] = Counter()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        counts["invalid_utf8"] += 1
        text = _decode_mixed(raw, counts)
    if (bad := text.count("\ufffd")) > 0:
        counts["replacement_chars"] += bad
        if text and bad / len(text) > params.max_replacement_ratio:
            return None, +counts, "undecodable"
        text = text.replace("\ufffd", "")
    # every one of ftfy's badness patterns needs a non-ASCII character (a test checks the installed ftfy), so an
    # ASCII note skips the scan: output unchanged, and the scan was two thirds of this stage's time
    if params.repair_mojibake and not text.isascii() and ftfy.badness.is_bad(text):
        fixed = ftfy.fix_encoding(text)
        if fixed != text:
            counts["mojibake"] += 1
            text = fixed
    if params.unescape_html:
        text, n = _ENTITY.subn(lambda m: html.unescape(m.group(0)), text)
        counts["html_entities"] += n
    text, n = _SPACES.subn(" ", text)
    counts["unicode_spaces"] += n
    text, n = _ZERO_WIDTH.subn("", text)
    counts["zero_width"] += n
    text, n = _LINE_BREAKS.subn("\n", text)
    counts["line_breaks"] += n
    text, n = _CONTROL.subn("", text)
    counts["control_chars"] += n
    text = _TABS_SPACES.sub(" ", text)
    text = _TRAILING.sub("\n", text)
    text = _LEADING.sub("\n", text)
    text = _BLANK_LINES.sub("\n\n", text).strip()
    text = unicodedata.normalize("NFC", text)
    if not text:
        return None, +counts, "empty"
    return text, +counts, None


def _decode_mixed(raw: bytes, counts: Counter[str]) -> str:
    """UTF-8 with every invalid byte read as Windows-1252 where that is evidently what it is, else U+FFFD.

    Legacy systems export Latin-1/cp1252 notes, and merged exports mix them with UTF-8 in one note; decoding
    them as UTF-8 with replacement silently turns ``José`` into ``Jos``. An invalid byte is taken as cp1252
    when it stands alone and gives a letter next to a letter (``Jos\xe9``, ``M\xfcller``) or a sign clinical
    text uses (``38\xb0``, ``\x93quoted\x94``); runs of invalid bytes (binary, cut multi-byte sequences)
    and lone bytes between non-letters stay replacement characters, which the caller counts and drops.
    """
    text = raw.decode("utf-8", "surrogateescape")

    def one(m: re.Match[str]) -> str:
        char = bytes([ord(m.group()) - 0xDC00]).decode("cp1252", "replace")
        before = text[m.start() - 1] if m.start() else ""
        after = text[m.end()] if m.end() < len(text) else ""
        if _ESCAPED.match(before) or _ESCAPED.match(after):  # a run of invalid bytes: binary or a cut sequence
            return "\ufffd"
        if char in _LEGACY_SIGNS or (char.isalpha() and (before.isalpha() or after.isalpha())):
            counts["legacy_encoding"] += 1
            return char
        return "\ufffd"

    return _ESCAPED.sub(one, text)


def _clean_chunk(chunk: Sequence[bytes | None], params: CleanParams) -> list[tuple[str | None, dict[str, int], str | None]]:
    out = []
    for raw in chunk:
        text, counts, reason = clean_text(raw or b"", params)
        out.append((text, dict(counts), reason))
    return out


CHUNK_NOTES = 500
"""Notes per work unit."""
_CLEANED = pa.schema([("text", pa.large_string()), ("reason", pa.string()), *((k, pa.int32()) for k in REPAIR_KINDS)])
"""Per input note: the cleaned text (null when dropped), the drop reason (null when kept), each repair's count."""


def _clean_batch(notes: pa.RecordBatch, params: CleanParams) -> pa.RecordBatch:
    """:func:`_clean_chunk` on a chunk's ``text`` column, as Arrow rows (what crosses back from a worker)."""
    results = _clean_chunk(notes.column("text").to_pylist(), params)
    cols: dict[str, list] = {
        "text": [text for text, _, _ in results],
        "reason": [reason for _, _, reason in results],
        **{kind: [counts.get(kind, 0) for _, counts, _ in results] for kind in REPAIR_KINDS},
    }
    return pa.RecordBatch.from_pydict(cols, schema=_CLEANED)


def run(
    inputs: Mapping[str, Dataset], out: Path, params: CleanParams, progress: Progress | None = None, workers: int = 1
) -> StageResult:
    table = pq.read_table(inputs["ingest"].part("notes.parquet"))
    parts, done = [], 0
    chunks = table.select(["text"]).to_batches(max_chunksize=CHUNK_NOTES)
    for _, cleaned in imap_batches(partial(_clean_batch, params=params), chunks, workers=workers):
        parts.append(cleaned)
        done += cleaned.num_rows
        if progress is not None:
            progress(done, table.num_rows)
    results = pa.Table.from_batches(parts, schema=_CLEANED)
    reasons = results.column("reason")
    kept_mask = pc.is_null(reasons)
    dropped_mask = pc.invert(kept_mask)
    kept = table.take(pc.indices_nonzero(kept_mask).cast(pa.int64()))
    texts = results.column("text").filter(kept_mask).combine_chunks()
    kept = kept.set_column(kept.schema.get_field_index("text"), "text", texts)
    pq.write_table(kept, out / "notes.parquet")
    pq.write_table(
        pa.table(
            {"note_id": table.column("note_id").filter(dropped_mask).combine_chunks(),
             "reason": reasons.filter(dropped_mask).combine_chunks()},
            schema=pa.schema([("note_id", pa.string()), ("reason", pa.string())]),
        ),
        out / "dropped.parquet",
    )
    return StageResult(
        rows_in=table.num_rows,
        rows_out=kept.num_rows,
        dropped=dict(Counter(reasons.filter(dropped_mask).to_pylist())),
        counts={
            "notes_repaired": {k: pc.sum(pc.greater(results.column(k), 0)).as_py() or 0 for k in REPAIR_KINDS},
            "repairs": {k: pc.sum(results.column(k)).as_py() or 0 for k in REPAIR_KINDS},
        },
    )
