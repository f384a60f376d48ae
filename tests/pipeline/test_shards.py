import json

import numpy as np
import pyarrow as pa
import pyarrow.ipc as ipc
import pyarrow.parquet as pq
import pytest

from pipeline import shards, vocab
from pipeline.config import ShardParams, VocabParams
from pipeline.core.dataset import Dataset
from pipeline.deid.tags import ALL_TAGS

_WORDS = "patient denies chest pain metoprolol lisinopril bilateral crackles edema insulin glucose creatinine".split()


def _table(n_docs: int = 60) -> pa.Table:
    """Documents of 1..12 sentences of varying length; doc 7 alone is longer than a shard's budget."""
    rows = {"note_id": [], "doc_index": [], "sent_index": [], "text": []}
    for d in range(n_docs):
        n_sents = 100 if d == 7 else 1 + (d * 5) % 12
        for s in range(n_sents):
            words = [_WORDS[(d + s * 3 + k) % len(_WORDS)] for k in range(3 + (d + s) % 11)]
            rows["note_id"].append(f"n{d}")
            rows["doc_index"].append(d)
            rows["sent_index"].append(s)
            rows["text"].append(f"Seen by Dr. {ALL_TAGS[(d + s) % len(ALL_TAGS)]}: {' '.join(words)} {s} mg p.o.")
    schema = pa.schema(
        [("note_id", pa.string()), ("doc_index", pa.int32()), ("sent_index", pa.int32()), ("text", pa.string())]
    )
    return pa.table(rows, schema=schema)


def _inputs(root, table):
    sent = root / "sentences"
    sent.mkdir(exist_ok=True)
    pq.write_table(table, sent / "sentences.parquet")
    voc = root / "vocab"
    if not voc.exists():
        voc.mkdir()
        vocab.run({"sentences": Dataset("sentences", "s", sent)}, voc, VocabParams(vocab_size=300))
    return {"sentences": Dataset("sentences", "s", sent), "vocab": Dataset("vocab", "v", voc)}


def _run(root, name, table=None, params=ShardParams(tokens_per_shard=1000, batch_rows=7)):
    inputs = _inputs(root, _table() if table is None else table)
    out = root / name
    out.mkdir()
    return out, shards.run(inputs, out, params), inputs


@pytest.fixture(scope="module")
def sharded(tmp_path_factory):
    return _run(tmp_path_factory.mktemp("shards"), "out")


def test_shards_close_at_document_boundaries_past_the_budget(sharded):
    out, result, inputs = sharded
    index = json.loads((out / shards.INDEX).read_text())
    reader = shards.ShardReader(out)
    assert result.counts["shards"] == len(index["shards"]) > 3
    assert sorted(p.name for p in out.glob("*.arrow")) == [s["file"] for s in index["shards"]]
    seen_docs = set()
    for k, entry in enumerate(index["shards"]):
        docs = list(reader.documents(shard=k))
        doc_ids = [d.doc_index for d in docs]
        assert doc_ids == list(range(entry["first_doc"], entry["last_doc"] + 1)) and len(docs) == entry["documents"]
        assert not seen_docs & set(doc_ids)  # a document lives in exactly one shard
        seen_docs |= set(doc_ids)
        tokens = [sum(reader.sentence(i).size for i in range(d.start, d.stop)) for d in docs]
        assert sum(tokens) == entry["tokens"]
        if k < len(index["shards"]) - 1:  # closed at the first boundary at or past the budget
            assert sum(tokens) >= 1000 and sum(tokens) - tokens[-1] < 1000
    assert seen_docs == set(range(60))
    # doc 7 alone exceeds the budget: it is not split, and its shard closes right after it
    (long,) = [e for e in index["shards"] if e["first_doc"] <= 7 <= e["last_doc"]]
    assert long["last_doc"] == 7 and long["tokens"] > 1000
    assert result.counts["documents"] == 60 and result.counts["tokens"] == index["tokens"] == reader.num_tokens


def test_round_trip_equals_tokenizer_output(sharded):
    out, result, inputs = sharded
    table = pq.read_table(inputs["sentences"].part("sentences.parquet"))
    tok = vocab.load_tokenizer(inputs["vocab"].part("tokenizer.json"))
    expected = [e.ids for e in tok.encode_batch(table["text"].to_pylist(), add_special_tokens=False)]
    reader = shards.ShardReader(out)
    assert len(reader) == table.num_rows == result.rows_in == result.rows_out
    for i, ids in enumerate(expected):
        got = reader.sentence(i)
        assert got.dtype == np.int32 and got.tolist() == ids
        assert reader.doc_index(i) == table["doc_index"][i].as_py()
        assert reader.sent_index(i) == table["sent_index"][i].as_py()
    docs = list(reader.documents())
    assert [d.doc_index for d in docs] == list(range(60))
    assert all(reader.doc_index(d.start) == reader.doc_index(d.stop - 1) == d.doc_index for d in docs)
    assert docs[7].stop - docs[7].start == 100
    assert 0 <= result.counts["unk_rate"] < 0.05
    with pytest.raises(IndexError):
        reader.sentence(len(reader))


def test_files_are_uncompressed_ipc_with_small_batches(sharded):
    out, _, _ = sharded
    index = json.loads((out / shards.INDEX).read_text())
    for entry in index["shards"]:
        path = out / entry["file"]
        reader = ipc.open_file(pa.memory_map(str(path)))
        assert reader.schema == shards.SCHEMA
        sizes = [reader.get_batch(k).num_rows for k in range(reader.num_record_batches)]
        assert sum(sizes) == entry["rows"] and all(s == 7 for s in sizes[:-1]) and 0 < sizes[-1] <= 7
        # every int32 id is stored as 4 raw bytes: no compression
        assert path.stat().st_size >= 4 * entry["tokens"]


def test_reader_is_zero_copy(tmp_path):
    out, result, _ = _run(tmp_path, "out", _table(200), ShardParams(tokens_per_shard=20_000, batch_rows=512))
    data_bytes = 4 * result.counts["tokens"]
    before = pa.total_allocated_bytes()
    reader = shards.ShardReader(out)
    total = sum(int(reader.sentence(i).sum()) for i in range(len(reader)))
    grown = pa.total_allocated_bytes() - before
    assert total > 0 and grown < data_bytes / 20, (grown, data_bytes)
    assert not reader.sentence(0).flags.owndata and not reader.sentence(0).flags.writeable
    # the same files read without a memory map land on the heap: the check above can fail
    first = out / shards.shard_name(0)
    table = ipc.open_file(pa.OSFile(str(first))).read_all()
    first_tokens = json.loads((out / shards.INDEX).read_text())["shards"][0]["tokens"]
    assert pa.total_allocated_bytes() - before >= 4 * first_tokens
    del table


def test_output_is_independent_of_encode_chunking(tmp_path, monkeypatch):
    a, _, _ = _run(tmp_path, "a")
    monkeypatch.setattr(shards, "ENCODE_ROWS", 5)
    b, _, _ = _run(tmp_path, "b")
    assert sorted(p.name for p in a.iterdir()) == sorted(p.name for p in b.iterdir())
    for p in a.iterdir():
        assert p.read_bytes() == (b / p.name).read_bytes(), p.name


def test_unsorted_sentences_are_refused(tmp_path):
    table = _table(5)
    order = list(range(table.num_rows))
    order[0], order[1] = order[1], order[0]
    with pytest.raises(ValueError, match="not sorted"):
        _run(tmp_path, "out", table.take(order))


def test_empty_input_gives_no_shards(tmp_path):
    _inputs(tmp_path, _table(5))  # train the vocabulary on something
    out, result, _ = _run(tmp_path, "out", _table(5).slice(0, 0))
    assert result.counts["shards"] == 0 and result.rows_in == 0
    assert len(shards.ShardReader(out)) == 0 and list(shards.ShardReader(out).documents()) == []


def _writer_shards(tmp_path, pieces):
    writer = shards._ShardWriter(tmp_path, ShardParams(tokens_per_shard=1000, batch_rows=3))
    for doc, lengths in pieces:
        doc = np.asarray(doc, np.int32)
        lengths = np.asarray(lengths, np.int64)
        values = np.arange(lengths.sum(), dtype=np.int32)
        writer.add(shards._Rows(doc, np.zeros_like(doc), lengths, values))
    writer.close()
    return [(s["first_doc"], s["last_doc"], s["tokens"]) for s in writer.index]


def test_budget_reached_exactly_closes_at_the_next_boundary(tmp_path):
    # five one-sentence documents of 500 tokens, budget 1000: two documents fill a shard exactly
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    whole = _writer_shards(tmp_path / "a", [([0, 1, 2, 3, 4], [500] * 5)])
    assert whole == [(0, 1, 1000), (2, 3, 1000), (4, 4, 500)]
    # the same rows arriving one at a time, a document split across calls: same shards
    rows = [(0, 500), (1, 200), (1, 300), (2, 500), (3, 500), (4, 500)]
    split = _writer_shards(tmp_path / "b", [([d], [n]) for d, n in rows])
    assert split == [(0, 1, 1000), (2, 3, 1000), (4, 4, 500)]
