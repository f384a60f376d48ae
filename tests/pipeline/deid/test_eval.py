"""deid-eval: brat and i2b2 readers, category mapping, span/token scoring, miss listing, predictions JSONL."""

from __future__ import annotations

import io
import json

import pytest

from pipeline.deid import eval as deid_eval
from pipeline.deid.eval import GoldNote, GoldSpan, evaluate, export_synth, read_brat, read_gold, read_i2b2, score

SECRET = "Zebulon Quackenbush"


def _write_brat(folder, stem, text, anns):
    (folder / f"{stem}.txt").write_bytes(text.encode())
    (folder / f"{stem}.ann").write_text("".join(f"T{i}\t{a}\n" for i, a in enumerate(anns, 1)))


def test_brat_offsets_count_crlf_and_split_discontinuous_spans(tmp_path):
    text = "Seen by\r\nDr. Quackenbush on 3/4/2019.\r\nZebulon at home"
    s = text.index("Quackenbush")
    d = text.index("3/4/2019")
    z = text.index("Zebulon")
    _write_brat(tmp_path, "n1", text, [
        f"DOCTOR {s} {s + 11}\tQuackenbush",
        f"DATE {d} {d + 8}\t3/4/2019",
        f"PATIENT {z} {z + 7};{s} {s + 11}\tZebulon Quackenbush",
    ])
    note = read_brat(tmp_path / "n1.txt")
    assert note.text == text  # no newline translation
    assert [(g.start, g.end, g.category) for g in note.spans] == [
        (s, s + 11, "NAME"), (d, d + 8, "DATE"), (z, z + 7, "NAME"), (s, s + 11, "NAME")]
    assert note.text_mismatches == 0


def test_i2b2_cdata_and_escaped_text(tmp_path):
    text = "Pt <Smith> & co\r\nAge 93. Lives in Texas."
    t = text.index("Texas")
    tags = ('<NAME id="P0" start="4" end="9" text="Smith" TYPE="PATIENT" />'
            '<AGE id="P1" start="21" end="23" text="93" TYPE="AGE" />'
            f'<LOCATION id="P2" start="{t}" end="{t + 5}" text="Texas" TYPE="STATE" />')
    (tmp_path / "a.xml").write_bytes(
        f'<?xml version="1.0"?>\n<deIdi2b2><TEXT><![CDATA[{text}]]></TEXT><TAGS>{tags}</TAGS></deIdi2b2>'.encode())
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    (tmp_path / "b.xml").write_bytes(f"<deIdi2b2><TEXT>{escaped}</TEXT><TAGS>{tags}</TAGS></deIdi2b2>".encode())
    for name in ("a.xml", "b.xml"):
        note = read_i2b2(tmp_path / name)
        assert note.text == text
        assert [(g.label, g.category, g.safe_harbor) for g in note.spans] == [
            ("PATIENT", "NAME", True), ("AGE", "AGE", True), ("STATE", "LOCATION", False)]
        assert note.text_mismatches == 0


def test_ages_up_to_89_and_professions_are_not_safe_harbor():
    spans = [deid_eval._gold_span(0, 2, "AGE", "67"), deid_eval._gold_span(0, 2, "AGE", "91"),
             deid_eval._gold_span(0, 5, "PROFESSION", "nurse"), deid_eval._gold_span(0, 5, "COUNTRY", "Spain")]
    assert [s.safe_harbor for s in spans] == [False, True, False, False]


def test_scores_are_overlap_and_category_matched():
    text = "x" * 100
    gold = [GoldSpan(0, 10, "PATIENT", "NAME", True), GoldSpan(20, 30, "DATE", "DATE", True),
            GoldSpan(40, 50, "PHONE", "PHONE", True), GoldSpan(60, 70, "STATE", "LOCATION", False)]
    preds = [(2, 8, "NAME", 0.9),     # overlaps NAME: found + correct
             (20, 30, "ID", 0.5),     # right place, wrong category: miss for DATE, wrong for ID
             (60, 70, "LOCATION", 0.5),  # only non-safe-harbor gold: neutral
             (80, 90, "NAME", 0.4)]   # nothing there: wrong
    report = score([GoldNote("n", text, gold)], [preds])
    assert (report.span["NAME"].found, report.span["NAME"].correct, report.span["NAME"].wrong) == (1, 1, 1)
    assert (report.span["DATE"].missed, report.span["ID"].wrong) == (1, 1)
    assert report.span["ALL"].recall == pytest.approx(1 / 3)
    assert report.span["ALL"].precision == pytest.approx(1 / 3)
    assert report.redacted == (2, 3)  # NAME and DATE spans were covered by something; PHONE was not
    assert [(m.start, m.label, m.found_as) for m in report.misses] == [(20, "DATE", "ID"), (40, "PHONE", None)]


def test_evaluate_prints_no_text_unless_asked_and_writes_predictions(tmp_path):
    gold = tmp_path / "gold"
    gold.mkdir()
    text = f"Patient: {SECRET}\nSeen 03/14/2019. Call 352-555-0199.\nPlan: Lasix 40 mg PO."
    i = text.index("352-555-0199")
    _write_brat(gold, "note-a", text, [f"PATIENT 9 {9 + len(SECRET)}\t{SECRET}", f"FAX {i} {i + 12}\t352-555-0199"])
    out = io.StringIO()
    preds_path = tmp_path / "preds.jsonl"
    report = evaluate(gold, predictions_out=preds_path, out=out)
    printed = out.getvalue()
    assert SECRET not in printed and "Quackenbush" not in printed and "352-555" not in printed
    assert "note-a" in printed and "FAX" in printed  # the miss (PHONE found, gold says FAX) is listed
    assert report.span["NAME"].recall == 1.0 and report.redacted == (2, 2)
    rows = [json.loads(line) for line in preds_path.read_text().splitlines()]
    assert {r["note_id"] for r in rows} == {"note-a"}
    assert {text[r["start"]:r["end"]] for r in rows} >= {SECRET, "03/14/2019", "352-555-0199"}
    assert all(set(r) == {"note_id", "start", "end", "category", "score"} for r in rows)
    shown = io.StringIO()
    evaluate(gold, show_text=True, out=shown)
    assert "352-555-0199" in shown.getvalue()


@pytest.mark.parametrize("fmt", ["brat", "i2b2"])
def test_synthetic_export_scores_the_same_in_both_formats(tmp_path, fmt):
    n = export_synth(tmp_path / fmt, 12, seed=4242, profile="heldout", fmt=fmt)
    notes = read_gold(tmp_path / fmt)
    assert len(notes) == n and all(n.text_mismatches == 0 for n in notes)
    seen: list[tuple[int, int]] = []
    report = evaluate(tmp_path / fmt, out=io.StringIO(), progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (n, n)  # notes scored, for the CLI's progress lines
    assert report.span["ALL"].recall > 0.9 and report.span["ALL"].precision > 0.9
    if fmt == "i2b2":
        brat = tmp_path / "brat2"
        export_synth(brat, 12, seed=4242, profile="heldout", fmt="brat")
        assert evaluate(brat, out=io.StringIO()).as_dict() == report.as_dict()


def test_read_gold_rejects_empty_folders_and_duplicate_ids(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_gold(tmp_path)
    _write_brat(tmp_path, "same", "a", [])
    (tmp_path / "same.xml").write_text("<deIdi2b2><TEXT><![CDATA[a]]></TEXT><TAGS></TAGS></deIdi2b2>")
    with pytest.raises(ValueError, match="more than once"):
        read_gold(tmp_path)


def test_strict_recall_needs_every_non_space_character_covered_by_any_category():
    text = "Dr. Ann Quackenbush saw him 10/13 in Boston."
    a, q, d, b = (text.index(w) for w in ("Ann", "Quackenbush", "10/13", "Boston"))
    note = GoldNote("n", text, [
        GoldSpan(a, q + 11, "DOCTOR", "NAME", True),  # "Ann Quackenbush": covered only in part below
        GoldSpan(d, d + 5, "DATE", "DATE", True),  # covered by a span of the wrong category: still redacted
        GoldSpan(b, b + 6, "CITY", "LOCATION", True),  # untouched
    ])
    preds = [(q, q + 11, "NAME", 0.9), (d - 1, d + 5, "PHONE", 0.5), (0, 3, "NAME", 0.4)]
    report = score([note], [preds])
    strict = report.strict["ALL"]
    assert (strict.found, strict.missed) == (1, 2)
    assert (strict.correct, strict.wrong) == (2, 1)  # "Dr." overlaps no gold span
    assert report.miss_kinds == {("NAME", "partly covered", "Aa Aa"): 1, ("LOCATION", "untouched", "Aa"): 1}
    assert report.words == 9 and report.predicted == 3
    assert report.tags_per_1000_words == pytest.approx(1000 * 3 / 9)
    as_dict = json.dumps(report.as_dict())
    assert "Quackenbush" not in as_dict and "Boston" not in as_dict


def test_shape_keeps_the_kind_of_a_span_not_its_text():
    assert deid_eval.shape("Quackenbush") == "Aa"
    assert deid_eval.shape("10/13/2019") == "9/9/9"
    assert deid_eval.shape("dr. O'NEIL-SMITH") == "a. A'A-A"


def test_evaluate_prints_strict_table_and_miss_kinds_without_text(tmp_path):
    text = f"Seen by {SECRET} on 10/13 at Mercy Hospital."
    s = text.index(SECRET)
    _write_brat(tmp_path, "p1_n1", text, [f"DOCTOR {s} {s + len(SECRET)}\t{SECRET}"])
    out = io.StringIO()
    evaluate(tmp_path, out=out)
    printed = out.getvalue()
    assert "Strict (the privacy figure)" in printed and "tags per 1,000 words" in printed
    assert SECRET.split()[0] not in printed and SECRET.split()[1] not in printed
