import random

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline import dedup
from pipeline.config import DedupParams
from pipeline.core.dataset import Dataset


def _corpus():
    rng = random.Random(0)
    words = [f"w{i}" for i in range(2000)]
    texts = [" ".join(rng.choices(words, k=200)) for _ in range(300)]
    ids = [f"n{i:03d}" for i in range(300)]
    texts.append(texts[5]); ids.append("exact")                      # noqa: E702
    texts.append("  " + texts[6].upper().replace(" ", "   ")); ids.append("casews")  # noqa: E702
    near = texts[7].split(); near[100] = "edited"
    texts.append(" ".join(near)); ids.append("near")                  # noqa: E702
    far = texts[8].split()
    for k in range(0, 200, 5):
        far[k] = "changed"
    texts.append(" ".join(far)); ids.append("far")                    # noqa: E702
    return ids, texts


def test_exact_near_and_not_near():
    ids, texts = _corpus()
    clusters = {c["note_id"]: c for c in dedup.find_duplicates(ids, texts, DedupParams())}
    assert clusters["exact"]["representative_id"] == "n005" and clusters["exact"]["kind"] == "exact"
    assert clusters["casews"]["representative_id"] == "n006" and clusters["casews"]["kind"] == "exact"
    assert clusters["near"]["representative_id"] == "n007" and clusters["near"]["kind"] == "near"
    assert clusters["near"]["jaccard"] >= 0.8
    assert "far" not in clusters and len(clusters) == 3


def test_true_jaccard_is_checked():
    ids, texts = _corpus()
    strict = {c["note_id"] for c in dedup.find_duplicates(ids, texts, DedupParams(threshold=0.99))}
    assert "near" not in strict and "exact" in strict


def test_representative_is_first_in_order_and_stable():
    ids, texts = _corpus()
    a = dedup.find_duplicates(ids, texts, DedupParams())
    assert a == dedup.find_duplicates(ids, texts, DedupParams())


def test_run_writes_clusters_without_text(tmp_path):
    ids, texts = _corpus()
    pq.write_table(pa.table({"note_id": ids, "text": texts}), tmp_path / "notes.parquet")
    out = tmp_path / "out"
    out.mkdir()
    r = dedup.run({"clean": Dataset("clean", "x", tmp_path)}, out, DedupParams())
    assert r.rows_in == 304 and r.rows_out == 301 and r.dropped == {"exact_duplicate": 2, "near_duplicate": 1}
    clusters = pq.read_table(out / "clusters.parquet")
    assert "text" not in clusters.column_names
    assert texts[7].split()[0].encode() not in (out / "clusters.parquet").read_bytes()
