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
import pyarrow.parquet as pq

from pipeline.config import CleanParams
from pipeline.core.dataset import Dataset, Progress, StageResult
from pipeline.core.parallel import map_chunks

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


def run(
    inputs: Mapping[str, Dataset], out: Path, params: CleanParams, progress: Progress | None = None, workers: int = 1
) -> StageResult:
    table = pq.read_table(inputs["ingest"].part("notes.parquet"))
    raws = table.column("text").to_pylist()
    results = map_chunks(partial(_clean_chunk, params=params), raws, workers=workers, chunk_size=500, progress=progress)
    keep, texts = [], []
    dropped: Counter[str] = Counter()
    notes_repaired: Counter[str] = Counter()
    occurrences: Counter[str] = Counter()
    dropped_rows = []
    ids = table.column("note_id").to_pylist()
    for i, (text, counts, reason) in enumerate(results):
        for kind, n in counts.items():
            notes_repaired[kind] += 1
            occurrences[kind] += n
        if reason:
            dropped[reason] += 1
            dropped_rows.append({"note_id": ids[i], "reason": reason})
        else:
            keep.append(i)
            texts.append(text)
    kept = table.take(pa.array(keep, pa.int64()))
    kept = kept.set_column(kept.schema.get_field_index("text"), "text", pa.array(texts, pa.large_string()))
    pq.write_table(kept, out / "notes.parquet")
    pq.write_table(
        pa.Table.from_pylist(dropped_rows, schema=pa.schema([("note_id", pa.string()), ("reason", pa.string())])),
        out / "dropped.parquet",
    )
    return StageResult(
        rows_in=table.num_rows,
        rows_out=kept.num_rows,
        dropped=dict(dropped),
        counts={
            "notes_repaired": {k: notes_repaired[k] for k in REPAIR_KINDS},
            "repairs": {k: occurrences[k] for k in REPAIR_KINDS},
        },
    )
