import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline import sentences
from pipeline.config import SentenceParams
from pipeline.core.dataset import Dataset
from pipeline.deid.tags import ALL_TAGS

# Hard-wrapped at ~80 columns like a dictated note: headers (ALL-CAPS and "Title:"), a "Label: text" line,
# four list-marker styles, a wrapped list item, abbreviations at line ends and mid-line, PHI tags,
# "Dr." at the end of a line with its name on the next, a wrap after "and" before a "Label:"-like line, and a
# word hyphenated across a wrap.
NOTE = """\
CHIEF COMPLAINT:
Shortness of breath.

HISTORY OF PRESENT ILLNESS
Mr. [**NAME**] is a [**AGE>89**] year old man seen by Dr. [**NAME**] on [**DATE**] for
worsening dyspnea over two weeks. He was started on furosemide 40 mg p.o. b.i.d.
by his PCP. He reports approx. 3 pillows of orthopnea, e.g. he sleeps upright
in a chair. He denies chest pain, i.e. no angina at rest.
Allergies: Penicillin (rash).

MEDICATIONS:
1. Metoprolol 25 mg p.o. b.i.d. for rate control, to be titrated as tolerated
   by blood pressure and heart rate.
2) Lisinopril 10 mg q.d.
- Atorvastatin 40 mg q.h.s.
* Aspirin 81 mg daily. Hold before procedures.

PHYSICAL EXAM
BP 150/90, HR 88, RR 22, SpO2 91% on room air.
Lungs with bibasilar crackles vs. atelectasis. JVP elevated to 10 cm.

Plan:
Diuresis with IV furosemide at 8 a.m. and 4 p.m. daily. Follow up with Dr.
[**NAME**] at [**LOCATION**] in 2 weeks. Call [**PHONE**] with questions.
- Patient Education and
Counseling: low-salt diet, fluid restriction, daily weights and a well-
balanced meal plan.
"""

EXPECTED = [
    "CHIEF COMPLAINT:",
    "Shortness of breath.",
    "HISTORY OF PRESENT ILLNESS",
    "Mr. [**NAME**] is a [**AGE>89**] year old man seen by Dr. [**NAME**] on [**DATE**] for worsening dyspnea"
    " over two weeks.",
    "He was started on furosemide 40 mg p.o. b.i.d. by his PCP.",
    "He reports approx. 3 pillows of orthopnea, e.g. he sleeps upright in a chair.",
    "He denies chest pain, i.e. no angina at rest.",
    "Allergies: Penicillin (rash).",
    "MEDICATIONS:",
    "1. Metoprolol 25 mg p.o. b.i.d. for rate control, to be titrated as tolerated by blood pressure and heart rate.",
    "2) Lisinopril 10 mg q.d.",
    "- Atorvastatin 40 mg q.h.s.",
    "* Aspirin 81 mg daily.",
    "Hold before procedures.",
    "PHYSICAL EXAM",
    "BP 150/90, HR 88, RR 22, SpO2 91% on room air.",
    "Lungs with bibasilar crackles vs. atelectasis.",
    "JVP elevated to 10 cm.",
    "Plan:",
    "Diuresis with IV furosemide at 8 a.m. and 4 p.m. daily.",
    "Follow up with Dr. [**NAME**] at [**LOCATION**] in 2 weeks.",
    "Call [**PHONE**] with questions.",
    "- Patient Education and Counseling: low-salt diet, fluid restriction, daily weights and a well-balanced"
    " meal plan.",
]


def test_clinical_split_matches_hand_labels():
    assert sentences.split(NOTE, SentenceParams()) == EXPECTED


def test_tags_and_titles_stay_whole():
    tags = "Seen by Dr. [**NAME**] on [**DATE**]. " + " ".join(f"Value {t}." for t in ALL_TAGS)
    for params in (SentenceParams(), SentenceParams(splitter="blingfire")):
        got = sentences.split(tags, params)
        assert got[0] == "Seen by Dr. [**NAME**] on [**DATE**]."
        assert got[1:] == [f"Value {t}." for t in ALL_TAGS]
    got = sentences.split("Call Dr.\n[**NAME**] today.", SentenceParams(wrap_ratio=1.0))
    assert got == ["Call Dr. [**NAME**] today."]


def test_abbreviations_never_end_a_sentence():
    for abbr in ["Dr.", "p.o.", "b.i.d.", "q.d.", "t.i.d.", "q.h.s.", "approx.", "e.g.", "i.e.", "vs.", "Mr.",
                 "Mrs.", "Ms.", "No.", "mg.", "a.m.", "p.m."]:  # fmt: skip
        text = f"Take it {abbr} Then rest. Done."
        assert sentences.split(text, SentenceParams()) == [f"Take it {abbr} Then rest.", "Done."], abbr


def test_blingfire_offsets_match_the_public_wrapper():
    import blingfire

    for text in [NOTE, "Café résumé. 😀 Ünïcödé ✓ here. 中文句子。Next one.", "x" * 3000 + ". Y."]:
        _, public = blingfire.text_to_sentences_and_offsets(text)
        assert sentences._blingfire_spans(text) == public
    assert sentences._blingfire_spans("   ") == []


def test_splitters_differ_and_lines_keeps_layout():
    clinical = sentences.split(NOTE, SentenceParams())
    bling = sentences.split(NOTE, SentenceParams(splitter="blingfire"))
    lines = sentences.split(NOTE, SentenceParams(splitter="lines"))
    assert len({tuple(clinical), tuple(bling), tuple(lines)}) == 3
    assert lines == [" ".join(ln.split()) for ln in NOTE.splitlines() if ln.strip()]
    assert "CHIEF COMPLAINT: Shortness of breath." in bling  # blingfire alone ignores the layout
    assert sentences.split(NOTE, SentenceParams(min_chars=20)) == [s for s in EXPECTED if len(s) >= 20]


def test_wrap_ratio_controls_joining():
    text = "The patient was admitted overnight, severe\nchest pain.\nA much longer line sets the width of this note."
    joined = "The patient was admitted overnight, severe chest pain."
    assert sentences.split(text, SentenceParams(wrap_ratio=0.6))[0] == joined
    assert sentences.split(text, SentenceParams(wrap_ratio=0.95))[0] == "The patient was admitted overnight, severe"
    # a line ending in a function word is unfinished whatever its length
    assert sentences.split("Seen with\nher daughter.\n" + "x" * 80, SentenceParams())[0] == "Seen with her daughter."


def _deid_input(tmp_path, texts):
    path = tmp_path / "deid"
    path.mkdir()
    ids = [f"n{i}" for i in range(len(texts))]
    pq.write_table(pa.table({"note_id": ids, "text": pa.array(texts, pa.large_string())}), path / "notes.parquet")
    return {"deid": Dataset("deid", "x", path)}


@pytest.mark.parametrize("splitter", ["clinical", "blingfire", "lines"])
def test_run_writes_ordered_indices_and_accounts(tmp_path, splitter):
    texts = [NOTE, "", "One. Two.", None, "  \n ", NOTE.replace("Plan:", "Plan:\nNo changes.")]
    inputs = _deid_input(tmp_path, texts)
    out = tmp_path / "out"
    out.mkdir()
    seen = []
    result = sentences.run(inputs, out, SentenceParams(splitter=splitter), progress=lambda d, t: seen.append((d, t)))
    table = pq.read_table(out / sentences.PART)
    assert table.schema == sentences.SCHEMA
    assert result.rows_in == 6 and result.rows_out == 3 and result.dropped == {"no_sentences": 3}
    assert result.counts["sentences"] == table.num_rows
    rows = table.to_pylist()
    assert [r["note_id"] for r in rows if r["doc_index"] == 1] == ["n2"] * (1 if splitter == "lines" else 2)
    keys = [(r["doc_index"], r["sent_index"]) for r in rows]
    assert keys == sorted(keys) and {d for d, _ in keys} == {0, 1, 2}
    for doc in range(3):
        assert [s for d, s in keys if d == doc] == list(range(sum(d == doc for d, _ in keys)))
    assert seen[-1] == (6, 6)
    if splitter == "clinical":
        assert [r["text"] for r in rows if r["doc_index"] == 0] == EXPECTED


def test_workers_give_identical_bytes(tmp_path, monkeypatch):
    monkeypatch.setattr(sentences, "CHUNK_NOTES", 3)  # several chunks, several row groups
    inputs = _deid_input(tmp_path, [NOTE, "A. B.", "", "x\ny"] * 3)
    digests = []
    for workers in (1, 2):
        out = tmp_path / f"w{workers}"
        out.mkdir()
        sentences.run(inputs, out, SentenceParams(), workers=workers)
        digests.append((out / sentences.PART).read_bytes())
    assert digests[0] == digests[1]
    assert pq.ParquetFile(tmp_path / "w1" / sentences.PART).metadata.num_row_groups == 4
