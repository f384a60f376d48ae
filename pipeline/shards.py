"""Token-id shards for pretraining: uncompressed Arrow IPC files read through memory maps without copies.

Every sentence is tokenised once here (no ``[CLS]``/``[SEP]``: the pretraining sampler adds them when it packs
sentences into samples). Layout, chosen by measurement (memory-mapped uncompressed Arrow reads faster than
compressed Parquet for random sample access):

- ``shard-00000.arrow`` ...: Arrow IPC *file* format, **uncompressed**, columns ``doc_index`` int32,
  ``sent_index`` int32, ``input_ids`` list<int32>, in record batches of ``batch_rows`` sentences.
  Uncompressed IPC can be memory-mapped and viewed as numpy arrays with no copy and no heap (241k random
  samples/s when measured while the project was planned); compressed IPC or Parquet must be decoded into RAM first.
- A shard closes at the first document boundary at or past ``tokens_per_shard``, so a document never spans
  two shards: sentence-order prediction pairs consecutive sentences of one document, and a data-loader
  worker that owns a shard owns whole documents.
- ``index.json``: per shard its file name, rows, tokens, documents and first/last ``doc_index``, plus the
  tokenizer's sha256 and vocabulary size, so a reader can check the shards match the tokenizer it loads.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.ipc as ipc
import pyarrow.parquet as pq

from pipeline.config import ShardParams
from pipeline.core.dataset import Dataset, Progress, StageResult
from pipeline.vocab import UNK, load_tokenizer

INDEX = "index.json"
SCHEMA = pa.schema([("doc_index", pa.int32()), ("sent_index", pa.int32()), ("input_ids", pa.list_(pa.int32()))])
ENCODE_ROWS = 8192
"""Sentences per ``encode_batch_fast`` call; has no effect on the files (batches are cut by ``batch_rows``)."""


def shard_name(k: int) -> str:
    return f"shard-{k:05d}.arrow"


class _Rows(NamedTuple):
    doc: np.ndarray  # int32 [n]
    sent: np.ndarray  # int32 [n]
    lengths: np.ndarray  # int64 [n], tokens per sentence
    values: np.ndarray  # int32 [sum(lengths)]

    def slice(self, start: int, stop: int) -> "_Rows":
        cum = np.concatenate(([0], np.cumsum(self.lengths)))
        values = self.values[cum[start] : cum[stop]]
        return _Rows(self.doc[start:stop], self.sent[start:stop], self.lengths[start:stop], values)

    @staticmethod
    def concat(parts: list["_Rows"]) -> "_Rows":
        return _Rows(*(np.concatenate([getattr(p, f) for p in parts]) for f in _Rows._fields))


class _ShardWriter:
    """Appends tokenised rows in order, cutting shards at document boundaries and batches every ``batch_rows``."""

    def __init__(self, out: Path, params: ShardParams) -> None:
        self.out, self.budget, self.batch_rows = out, params.tokens_per_shard, params.batch_rows
        self.index: list[dict] = []
        self._sink: pa.NativeFile | None = None
        self._writer: ipc.RecordBatchFileWriter | None = None
        self._pending: list[_Rows] = []
        self._pending_rows = 0
        self._last_doc: int | None = None
        self._shard: dict = {}

    def add(self, rows: _Rows) -> None:
        n = len(rows.doc)
        if n == 0:
            return
        cum = np.concatenate(([0], np.cumsum(rows.lengths)))
        starts = np.flatnonzero(rows.doc[1:] != rows.doc[:-1]) + 1
        if rows.doc[0] != self._last_doc:
            starts = np.concatenate(([0], starts))
        seg = 0
        while True:
            # first document start at or after ``seg`` where the open shard has reached the budget
            cand = starts[starts >= seg]
            need = self.budget - self._tokens() + cum[seg]
            j = int(np.searchsorted(cum[cand], need, side="left"))
            if j == len(cand):
                break
            cut = int(cand[j])
            self._append(rows.slice(seg, cut))
            self._close_shard()
            seg = cut
        self._append(rows.slice(seg, n))
        self._last_doc = int(rows.doc[-1])

    def _tokens(self) -> int:
        return self._shard.get("tokens", 0)

    def _append(self, rows: _Rows) -> None:
        if len(rows.doc) == 0:
            return
        if not self._shard:
            self._shard = {"file": shard_name(len(self.index)), "rows": 0, "tokens": 0, "documents": 0,
                           "first_doc": int(rows.doc[0]), "last_doc": None}  # fmt: skip
        prev = self._shard["last_doc"]
        self._shard["documents"] += int(np.count_nonzero(rows.doc[1:] != rows.doc[:-1])) + int(rows.doc[0] != prev)
        self._shard["last_doc"] = int(rows.doc[-1])
        self._shard["rows"] += len(rows.doc)
        self._shard["tokens"] += int(rows.lengths.sum())
        self._pending.append(rows)
        self._pending_rows += len(rows.doc)
        if self._pending_rows >= self.batch_rows:
            self._flush(final=False)

    def _flush(self, final: bool) -> None:
        if not self._pending:
            return
        rows = _Rows.concat(self._pending)
        full = len(rows.doc) if final else len(rows.doc) // self.batch_rows * self.batch_rows
        for start in range(0, full, self.batch_rows):
            self._write(rows.slice(start, min(start + self.batch_rows, full)))
        rest = rows.slice(full, len(rows.doc))
        self._pending = [rest] if len(rest.doc) else []
        self._pending_rows = len(rest.doc)

    def _write(self, rows: _Rows) -> None:
        if self._writer is None:
            self._sink = pa.OSFile(str(self.out / self._shard["file"]), "wb")
            self._writer = ipc.new_file(self._sink, SCHEMA, options=ipc.IpcWriteOptions(compression=None))
        offsets = np.concatenate(([0], np.cumsum(rows.lengths))).astype(np.int32)
        ids = pa.ListArray.from_arrays(pa.array(offsets), pa.array(rows.values, pa.int32()))
        self._writer.write_batch(pa.record_batch([pa.array(rows.doc), pa.array(rows.sent), ids], schema=SCHEMA))

    def _close_shard(self) -> None:
        if not self._shard:
            return
        self._flush(final=True)
        assert self._writer is not None and self._sink is not None
        self._writer.close()
        self._sink.close()
        self._writer = self._sink = None
        self.index.append(self._shard)
        self._shard = {}

    def close(self) -> None:
        self._close_shard()


def _check_order(rows: _Rows, last: tuple[int, int]) -> tuple[int, int]:
    """Rows must come sorted by (doc_index, sent_index), or documents would be cut apart."""
    keys = np.stack([rows.doc.astype(np.int64), rows.sent.astype(np.int64)])
    prev = np.concatenate((np.array(last, dtype=np.int64)[:, None], keys[:, :-1]), axis=1)
    ordered = (keys[0] > prev[0]) | ((keys[0] == prev[0]) & (keys[1] > prev[1]))
    if not ordered.all():
        raise ValueError("sentences are not sorted by (doc_index, sent_index); refusing to shard")
    return int(keys[0, -1]), int(keys[1, -1])


def run(
    inputs: Mapping[str, Dataset], out: Path, params: ShardParams, progress: Progress | None = None, workers: int = 1
) -> StageResult:
    """Tokenise ``inputs["sentences"]`` with ``inputs["vocab"]`` into shards under ``out``.

    ``workers`` is unused: ``encode_batch_fast`` already encodes on every core (Rust threads).
    """
    tok_path = inputs["vocab"].part("tokenizer.json")
    tok = load_tokenizer(tok_path)
    unk_id = tok.token_to_id(UNK)
    pf = pq.ParquetFile(inputs["sentences"].part("sentences.parquet"))
    total = pf.metadata.num_rows
    writer = _ShardWriter(out, params)
    done = n_unk = 0
    last = (-1, -1)
    for batch in pf.iter_batches(batch_size=ENCODE_ROWS, columns=["doc_index", "sent_index", "text"]):
        ids = [e.ids for e in tok.encode_batch_fast(batch.column("text").to_pylist(), add_special_tokens=False)]
        lengths = np.fromiter(map(len, ids), dtype=np.int64, count=len(ids))
        values = np.fromiter(itertools.chain.from_iterable(ids), dtype=np.int32, count=int(lengths.sum()))
        rows = _Rows(batch.column("doc_index").to_numpy(), batch.column("sent_index").to_numpy(), lengths, values)
        last = _check_order(rows, last) if len(ids) else last
        writer.add(rows)
        n_unk += int(np.count_nonzero(values == unk_id))
        done += len(ids)
        if progress is not None:
            progress(done, total)
    writer.close()
    n_tokens = sum(s["tokens"] for s in writer.index)
    n_docs = sum(s["documents"] for s in writer.index)
    index = {
        "shards": writer.index,
        "rows": done,
        "tokens": n_tokens,
        "documents": n_docs,
        "batch_rows": params.batch_rows,
        "tokenizer_sha256": hashlib.sha256(tok_path.read_bytes()).hexdigest(),
        "vocab_size": tok.get_vocab_size(),
    }
    (out / INDEX).write_text(json.dumps(index, indent=1))
    return StageResult(
        rows_in=total,
        rows_out=done,
        counts={
            "tokens": n_tokens,
            "shards": len(writer.index),
            "documents": n_docs,
            "unk_rate": round(n_unk / n_tokens, 6) if n_tokens else 0.0,
            "mean_sentence_tokens": round(n_tokens / done, 2) if done else 0.0,
        },
    )


class Document(NamedTuple):
    doc_index: int
    start: int  # first global row
    stop: int  # one past the last global row


class ShardReader:
    """Random access to the sentences of a shards dataset, straight from the page cache.

    Each shard is memory-mapped; for every record batch we keep numpy *views* of the ``input_ids`` offsets
    and values (and of ``doc_index``/``sent_index``), so ``sentence(i)`` is a binary search plus a slice and
    nothing is ever copied onto the heap. The arrays are read-only; they stay valid while the reader lives.
    """

    def __init__(self, dataset_path: Path) -> None:
        path = Path(dataset_path)
        self.index = json.loads((path / INDEX).read_text())
        self._offsets: list[np.ndarray] = []
        self._values: list[np.ndarray] = []
        self._docs: list[np.ndarray] = []
        self._sents: list[np.ndarray] = []
        starts = [0]
        self.shard_starts: list[int] = []
        for shard in self.index["shards"]:
            self.shard_starts.append(starts[-1])
            reader = ipc.open_file(pa.memory_map(str(path / shard["file"]), "r"))
            for k in range(reader.num_record_batches):
                batch = reader.get_batch(k)
                ids = batch.column("input_ids")
                self._offsets.append(ids.offsets.to_numpy(zero_copy_only=True))
                self._values.append(ids.values.to_numpy(zero_copy_only=True))
                self._docs.append(batch.column("doc_index").to_numpy(zero_copy_only=True))
                self._sents.append(batch.column("sent_index").to_numpy(zero_copy_only=True))
                starts.append(starts[-1] + batch.num_rows)
        self._batch_starts = np.asarray(starts, dtype=np.int64)
        self.shard_starts.append(starts[-1])
        self._all_docs: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self._batch_starts[-1])

    @property
    def num_tokens(self) -> int:
        return int(self.index["tokens"])

    def _locate(self, i: int) -> tuple[int, int]:
        if not 0 <= i < len(self):
            raise IndexError(f"row {i} out of range [0, {len(self)})")
        b = int(np.searchsorted(self._batch_starts, i, side="right")) - 1
        return b, i - int(self._batch_starts[b])

    def sentence(self, i: int) -> np.ndarray:
        """Token ids of global row ``i`` (an int32 view into the mapped file)."""
        b, j = self._locate(i)
        offsets = self._offsets[b]
        return self._values[b][offsets[j] : offsets[j + 1]]

    def doc_index(self, i: int) -> int:
        b, j = self._locate(i)
        return int(self._docs[b][j])

    def sent_index(self, i: int) -> int:
        b, j = self._locate(i)
        return int(self._sents[b][j])

    def documents(self, shard: int | None = None) -> Iterator[Document]:
        """Documents in order as contiguous global row ranges, optionally those of one shard only.

        Documents never span shards, so data-loader workers can split the work by shard. The first call
        gathers all ``doc_index`` values into one array (4 bytes per sentence; token ids stay mapped).
        """
        if self._all_docs is None:
            self._all_docs = np.concatenate(self._docs) if self._docs else np.zeros(0, np.int32)
        lo, hi = (0, len(self)) if shard is None else (self.shard_starts[shard], self.shard_starts[shard + 1])
        docs = self._all_docs[lo:hi]
        bounds = np.concatenate(([0], np.flatnonzero(docs[1:] != docs[:-1]) + 1, [len(docs)])) if len(docs) else []
        for s, e in itertools.pairwise(bounds):
            yield Document(int(docs[s]), lo + int(s), lo + int(e))
