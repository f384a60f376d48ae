import pyarrow as pa
import pyarrow.parquet as pq

from pipeline import clean
from pipeline.config import CleanParams
from pipeline.core.dataset import Dataset

P = CleanParams()


def test_repairs_each_kind():
    text, counts, reason = clean.clean_text("Temp 38.2°C, pt’s".encode().decode("latin-1").encode(), P)
    assert text == "Temp 38.2°C, pt’s" and counts["mojibake"] == 1 and reason is None
    text, counts, _ = clean.clean_text(b"BP < 140 &amp; HR > 100 &#47; &lt;x&gt;", P)
    assert text == "BP < 140 & HR > 100 / <x>" and counts["html_entities"] == 4
    text, counts, _ = clean.clean_text("a\u00a0b\u200bc\x07d\r\ne   f\t\tg \n\n\n\n  h".encode(), P)
    assert text == "a bcd\ne f g\n\nh"
    assert counts["unicode_spaces"] == 1 and counts["zero_width"] == 1 and counts["control_chars"] == 1


def test_invalid_utf8_is_counted_and_removed():
    raw = ("x" * 200 + " ok ").encode() + b"\xff" + b" end"
    text, counts, reason = clean.clean_text(raw, P)
    assert reason is None and "\ufffd" not in text and text.endswith("ok end")
    assert counts["invalid_utf8"] == 1 and counts["replacement_chars"] == 1


def test_mostly_garbage_and_empty_are_dropped():
    assert clean.clean_text(b"\xff\xfe\xfa ab", P)[2] == "undecodable"
    assert clean.clean_text(b" \n\t \xc2\xa0", P)[2] == "empty"


def test_unicode_is_kept_and_lines_survive():
    text, counts, _ = clean.clean_text("Müller, José\nHISTORY:\n  1. aspirin 81 mg".encode(), P)
    assert text == "Müller, José\nHISTORY:\n1. aspirin 81 mg" and not counts


def test_run_accounts_for_every_note(tmp_path):
    raws = [b"good note", b"", b"\xff\xfe", "caf\u00e9".encode(), None]
    table = pa.table({"note_id": [f"n{i}" for i in range(5)], "text": pa.array(raws, pa.large_binary())})
    pq.write_table(table, tmp_path / "notes.parquet")
    out = tmp_path / "out"
    out.mkdir()
    r = clean.run({"ingest": Dataset("ingest", "x", tmp_path)}, out, P, workers=1)
    assert r.rows_in == 5 and r.rows_out + sum(r.dropped.values()) == 5
    assert r.dropped == {"empty": 2, "undecodable": 1}
    kept = pq.read_table(out / "notes.parquet")
    assert kept.column("note_id").to_pylist() == ["n0", "n3"]
    assert pq.read_table(out / "dropped.parquet").column("reason").to_pylist() == ["empty", "undecodable", "empty"]


def test_workers_give_identical_bytes_and_counts(tmp_path, monkeypatch):
    """1 and 2 workers, several chunks (kept, dropped, repaired and null notes in each): same files, same counts,
    and the counts a note-by-note loop gives."""
    monkeypatch.setattr(clean, "CHUNK_NOTES", 3)
    raws = [b"good  note", b"", b"\xff\xfe", "caf\u00e9 &amp;\u00a0x".encode(), None, b"a\r\nb\x07"] * 3
    pq.write_table(pa.table({"note_id": [f"n{i}" for i in range(len(raws))], "text": pa.array(raws, pa.large_binary())}),
                   tmp_path / "notes.parquet")
    results = {}
    for workers in (1, 2):
        out = tmp_path / f"w{workers}"
        out.mkdir()
        seen = []
        r = clean.run({"ingest": Dataset("ingest", "x", tmp_path)}, out, P, lambda d, t, s=seen: s.append((d, t)), workers)
        results[workers] = (r, {f: (out / f).read_bytes() for f in ("notes.parquet", "dropped.parquet")}, seen)
    (r1, files1, seen1), (r2, files2, seen2) = results[1], results[2]
    assert files1 == files2 and r1 == r2 and seen1 == seen2 and seen1[-1] == (18, 18)
    singles = [clean.clean_text(raw or b"", P)[1] for raw in raws]
    assert r1.counts["repairs"] == {k: sum(c[k] for c in singles) for k in clean.REPAIR_KINDS}
    assert r1.counts["notes_repaired"] == {k: sum(k in c for c in singles) for k in clean.REPAIR_KINDS}
    assert r1.counts["repairs"]["html_entities"] == 3 and r1.counts["notes_repaired"]["control_chars"] == 3


def test_legacy_encodings_are_decoded_per_note_and_counted():
    text, counts, reason = clean.clean_text("José Müller, temp 38.5°, “stable”".encode("cp1252"), P)
    assert text == "José Müller, temp 38.5°, “stable”" and reason is None
    assert counts["invalid_utf8"] == 1 and counts["legacy_encoding"] == 5 and "replacement_chars" not in counts
    mixed = "Café ".encode() + "naïve".encode("latin-1")  # UTF-8 and Latin-1 in one note
    text, counts, _ = clean.clean_text(mixed, P)
    assert text == "Café naïve" and counts["legacy_encoding"] == 1


def _may_match_ascii(items) -> bool:
    """Whether a parsed regex sequence could match a string of ASCII characters only (conservative)."""
    from re import _constants as c

    for op, av in items:
        if op is c.LITERAL and av >= 128:
            return False
        if op is c.IN and not any(
            o in (c.NEGATE, c.CATEGORY) or (o is c.LITERAL and a < 128) or (o is c.RANGE and a[0] < 128) for o, a in av
        ):
            return False
        if op in (c.MAX_REPEAT, c.MIN_REPEAT) and av[0] > 0 and not _may_match_ascii(list(av[2])):
            return False
        if op is c.SUBPATTERN and not _may_match_ascii(list(av[-1])):
            return False
        if op is c.BRANCH and not any(_may_match_ascii(list(b)) for b in av[1]):
            return False
    return True


def test_ascii_notes_may_skip_ftfys_badness_scan():
    """clean_text skips ftfy.badness.is_bad on ASCII text: valid only while no badness pattern can match ASCII."""
    import re._parser

    import ftfy.badness

    tree = re._parser.parse(ftfy.badness.BADNESS_RE.pattern, ftfy.badness.BADNESS_RE.flags)
    assert not _may_match_ascii(list(tree)), "an ftfy badness pattern can match ASCII: remove the isascii() gate"
    assert not _may_match_ascii(list(re._parser.parse("[\u00c3][\u00a9]")))  # the walk itself can say no
    assert _may_match_ascii(list(re._parser.parse("[\u00c3a]b")))
    assert clean.clean_text("Temp 38.2°C, pt’s".encode().decode("latin-1").encode(), P)[1]["mojibake"] == 1
