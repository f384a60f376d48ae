"""MLM + sentence-order samples from the token shards, built the way Megatron-LM builds BERT samples.

1. **Split.** A fixed, seeded 5% of *documents* is held out for validation loss, as the paper did; no
   sentence of a held-out note is ever trained on.
2. **Sample index** (Megatron's ``build_mapping``). Walk each document's sentences, packing consecutive ones
   until a target length is reached; the target is ``seq_len - 3`` (room for ``[CLS] A [SEP] B [SEP]``) or,
   with probability ``short_seq_prob``, a random shorter length. Every sample spans >= 2 sentences of one
   document (sentence-order prediction needs two segments); one-sentence documents give none. The index
   is an ``int64 (n, 3)`` array of ``(first_row, stop_row, target_len)``, cached as ``.npy`` under a key
   that hashes everything it depends on, and loaded with ``mmap_mode='r'``.
   It is built **vectorised**, all documents at once, one sample per document per round (a prefix sum of
   sentence lengths and ``searchsorted`` find where each sample ends), because rank 0 builds it while
   the other ranks wait at a barrier with a 10-minute timeout: a Python loop over ~10^9 sentences never
   finishes. So that a document's targets need no sequential random stream, the target of a document's
   ``j``-th sample is drawn from a counter-based hash of ``(seed, split, first row of the document, j)``.
3. **Sample** ``i`` (Megatron's ``build_training_sample``), from a generator seeded by ``(seed, split, i)``
   only -- so any worker, rank or resumed run builds the identical sample. Epoch ``e = i // n`` visits the
   index in its own seeded permutation -- a computed one (:class:`FeistelPermutation`), so no worker holds an
   int64 array per sample -- and the masks differ per epoch because ``i`` does.
   Split the sentences at a random point into A | B, swap them with probability 0.5 (SOP label 1 =
   swapped), trim the longer segment from a random end until they fit the target, then mask 15% of the
   maskable tokens: 80% ``[MASK]``, 10% a random ordinary token, 10% unchanged. Special tokens and PHI tags
   (ids below ``len(SPECIAL_TOKENS)``) are never chosen; with whole-word masking a word's ``##`` pieces are
   masked together.

Token ids are read through :class:`pipeline.shards.ShardReader` (memory maps, no copy); each sample copies
only its own few hundred ids.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pyarrow import ipc

from pipeline.shards import INDEX, ShardReader
from pipeline.vocab import CLS, MASK, PAD, PREFIX, SEP, SPECIAL_TOKENS, load_tokenizer

SPLITS = {"train": 0, "valid": 1}
N_SPECIAL = len(SPECIAL_TOKENS)
CLS_ID, SEP_ID, MASK_ID, PAD_ID = (SPECIAL_TOKENS.index(t) for t in (CLS, SEP, MASK, PAD))
INDEX_VERSION = 2
"""Bump when the sample-index algorithm changes: it is part of the cache key."""


@dataclass(frozen=True)
class SampleSettings:
    seq_len: int = 128
    short_seq_prob: float = 0.1
    masked_lm_prob: float = 0.15
    whole_word_masking: bool = False
    valid_fraction: float = 0.05
    seed: int = 1234

    def __post_init__(self) -> None:
        if self.seq_len < 8:
            raise ValueError("seq_len must be at least 8")
        if not 0 <= self.short_seq_prob <= 1 or not 0 < self.masked_lm_prob < 1 or not 0 <= self.valid_fraction < 1:
            raise ValueError("short_seq_prob, masked_lm_prob and valid_fraction must be probabilities")

    @property
    def max_tokens(self) -> int:
        return self.seq_len - 3


def corpus_layout(shards_path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Tokens per sentence row (int32, reader order) and documents as ``int64 (n, 2)`` row ranges.

    Read column-wise from the shards (4 + 4 bytes per sentence; the token ids stay on disk), with no Python
    loop over sentences or documents. Documents never span shards, so a change of ``doc_index`` between
    consecutive rows is a document boundary, exactly as :meth:`pipeline.shards.ShardReader.documents`.
    """
    index = json.loads((Path(shards_path) / INDEX).read_text())
    lengths: list[np.ndarray] = []
    docs: list[np.ndarray] = []
    for shard in index["shards"]:
        with ipc.open_file(pa.memory_map(str(Path(shards_path) / shard["file"]), "r")) as reader:
            for k in range(reader.num_record_batches):
                batch = reader.get_batch(k)
                lengths.append(pc.list_value_length(batch.column("input_ids")).to_numpy(zero_copy_only=False).astype(np.int32))
                docs.append(batch.column("doc_index").to_numpy(zero_copy_only=False))
    if not lengths:
        return np.zeros(0, np.int32), np.zeros((0, 2), np.int64)
    doc = np.concatenate(docs)
    starts = np.concatenate(([0], np.flatnonzero(doc[1:] != doc[:-1]) + 1)).astype(np.int64)
    stops = np.append(starts[1:], len(doc))
    return np.concatenate(lengths), np.stack([starts, stops], axis=1)


def split_documents(n_docs: int, valid_fraction: float, seed: int) -> np.ndarray:
    """Boolean mask over documents (in reader order): True = held out for validation."""
    held = np.zeros(n_docs, dtype=bool)
    n_valid = round(n_docs * valid_fraction)
    if valid_fraction > 0 and n_docs >= 2:
        n_valid = min(max(n_valid, 1), n_docs - 1)
        held[np.random.default_rng([seed, 7]).permutation(n_docs)[:n_valid]] = True
    return held


_M1, _M2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: a bijection of uint64 that scatters every input bit over the output."""
    x = x ^ (x >> np.uint64(30))
    x = x * _M1
    x = x ^ (x >> np.uint64(27))
    x = x * _M2
    return x ^ (x >> np.uint64(31))


def hash_uniform(key: np.ndarray, counter: int, stream: int, seed: int, split: str) -> np.ndarray:
    """Uniform floats in [0, 1), one per ``key``: a pure function of ``(seed, split, key, counter, stream)``."""
    with np.errstate(over="ignore"):
        base = _mix(np.asarray([seed * 4 + SPLITS[split]], dtype=np.uint64) + np.uint64(0x9E3779B97F4A7C15))
        h = _mix(np.asarray(key, dtype=np.uint64) ^ base)
        h = _mix(h + np.uint64((counter * 8 + stream) & 0xFFFFFFFFFFFFFFFF))
    return (h >> np.uint64(11)).astype(np.float64) * 2.0**-53


def target_lengths(doc_keys: np.ndarray, j: int, settings: SampleSettings, split: str) -> np.ndarray:
    """Target length of each document's ``j``-th sample: ``max_tokens``, or with probability
    ``short_seq_prob`` uniform in ``[2, max_tokens]`` (Megatron's short sequences)."""
    full = np.full(len(doc_keys), settings.max_tokens, dtype=np.int64)
    if settings.short_seq_prob <= 0 or len(doc_keys) == 0:
        return full
    short = hash_uniform(doc_keys, j, 0, settings.seed, split) < settings.short_seq_prob
    span = settings.max_tokens - 1  # values 2 .. max_tokens
    shorter = 2 + np.minimum((hash_uniform(doc_keys, j, 1, settings.seed, split) * span).astype(np.int64), span - 1)
    return np.where(short, shorter, full)


def build_index(doc_bounds: np.ndarray, lengths: np.ndarray, settings: SampleSettings, split: str) -> np.ndarray:
    """Megatron's greedy packing over the documents ``doc_bounds`` (rows ``(start, stop)``) of one split.

    Per document: from its first unused sentence, take sentences until their tokens reach the target
    (and at least two are taken); close the sample there if at least two sentences remain for the next
    one, else give this sample the rest of the document. All documents advance together, one sample per
    round; ``cum[i]`` = tokens before row ``i``, so the end row is one ``searchsorted``.
    """
    doc_bounds = np.asarray(doc_bounds, dtype=np.int64).reshape(-1, 2)
    doc_bounds = doc_bounds[doc_bounds[:, 1] - doc_bounds[:, 0] >= 2]
    cum = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=cum[1:])
    first, stop = doc_bounds[:, 0].copy(), doc_bounds[:, 1].copy()
    keys = doc_bounds[:, 0].copy()  # a document's identity: its first row
    parts: list[np.ndarray] = []
    j = 0
    while len(first):
        target = target_lengths(keys, j, settings, split)
        reach = np.searchsorted(cum, cum[first] + target, side="left")  # first i with cum[i] >= cum[first] + target
        row = np.maximum(reach - 1, first + 1)  # the sample's last sentence (>= 2 sentences)
        last = stop - row - 1 <= 1  # fewer than two sentences would remain: take the rest
        end = np.where(last, stop, row + 1)
        parts.append(np.stack([first, end, target], axis=1))
        more = ~last
        first, stop, keys = end[more], stop[more], keys[more]
        j += 1
    if not parts:
        return np.zeros((0, 3), np.int64)
    index = np.concatenate(parts)
    return np.ascontiguousarray(index[np.argsort(index[:, 0], kind="stable")])


def _shards_identity(shards_path: Path) -> str:
    """The shards' fingerprint from their manifest, else a hash of their index (which covers every shard)."""
    manifest = Path(shards_path) / "_manifest.json"
    if manifest.is_file():
        return json.loads(manifest.read_text())["fingerprint"]
    return hashlib.sha256((Path(shards_path) / INDEX).read_bytes()).hexdigest()[:16]


def index_key(shards_path: Path, settings: SampleSettings, split: str) -> str:
    """Hash of everything the sample index depends on (masking settings are not part of it)."""
    payload = {
        "version": INDEX_VERSION,
        "shards": _shards_identity(shards_path),
        "split": split,
        "seq_len": settings.seq_len,
        "short_seq_prob": settings.short_seq_prob,
        "valid_fraction": settings.valid_fraction,
        "seed": settings.seed,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


def index_path(shards_path: Path, settings: SampleSettings, split: str, cache_dir: Path) -> Path:
    return Path(cache_dir) / f"samples-{split}-{index_key(shards_path, settings, split)}.npy"


def load_or_build_index(shards_path: Path, settings: SampleSettings, split: str, cache_dir: Path) -> np.ndarray:
    """The cached index for ``split`` (memory-mapped), building and atomically writing it on a miss."""
    cache_dir = Path(cache_dir)
    path = index_path(shards_path, settings, split, cache_dir)
    if not path.is_file():
        lengths, docs = corpus_layout(shards_path)
        held = split_documents(len(docs), settings.valid_fraction, settings.seed)
        chosen = docs[held] if split == "valid" else docs[~held]
        index = build_index(chosen, lengths, settings, split)
        cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = cache_dir / f".{path.stem}-{uuid.uuid4().hex[:8]}.npy"
        np.save(tmp, index)
        os.replace(tmp, path)  # concurrent ranks write identical bytes; the last rename wins harmlessly
    return np.load(path, mmap_mode="r")


def continuation_ids(tokenizer_json: Path) -> np.ndarray:
    """Boolean per token id: True for ``##`` word pieces (used by whole-word masking)."""
    tok = load_tokenizer(tokenizer_json)
    flags = np.zeros(tok.get_vocab_size(), dtype=bool)
    for token, i in tok.get_vocab().items():
        flags[i] = token.startswith(PREFIX)
    return flags


_MASK64 = 0xFFFFFFFFFFFFFFFF


def _mix64(x: int) -> int:
    """:func:`_mix` on one Python int (splitmix64's finaliser)."""
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9 & _MASK64
    x = (x ^ (x >> 27)) * 0x94D049BB133111EB & _MASK64
    return x ^ (x >> 31)


class FeistelPermutation:
    """A seeded pseudo-random permutation of ``range(n)`` computed per element, in O(1) memory.

    Why: a materialised ``permutation(n)`` is 8 bytes per sample *per data-loader worker* (about 64 GB
    per node at 2*10^8 samples with 8 ranks x 4 workers). A 4-round balanced Feistel network over
    ``2*half`` bits is a bijection of ``range(4**half)`` (``4**half < 4n``); "cycle walking" (re-applying it
    until the value falls below ``n``) restricts it to a bijection of ``range(n)``, in fewer than 4 steps
    on average. Round keys come from ``key`` (seed, split, epoch), so every process computes the same order.
    """

    ROUNDS = 4

    def __init__(self, n: int, key: int) -> None:
        if n < 1:
            raise ValueError("a permutation needs n >= 1")
        self.n = n
        self.half = max(1, ((n - 1).bit_length() + 1) // 2)
        self.mask = (1 << self.half) - 1
        self.keys = [_mix64((key * 0x9E3779B97F4A7C15 + r + 1) & _MASK64) for r in range(self.ROUNDS)]

    def _once(self, x: int) -> int:
        left, right = x >> self.half, x & self.mask
        for k in self.keys:
            left, right = right, left ^ (_mix64(right ^ k) & self.mask)
        return (left << self.half) | right

    def __getitem__(self, i: int) -> int:
        if not 0 <= i < self.n:
            raise IndexError(i)
        x = self._once(i)
        while x >= self.n:
            x = self._once(x)
        return x

    def __len__(self) -> int:
        return self.n


def epoch_permutation(n: int, seed: int, split: str, epoch: int) -> FeistelPermutation:
    """The order in which epoch ``epoch`` visits the ``n`` index entries of ``split``."""
    return FeistelPermutation(n, _mix64((_mix64(seed * 4 + SPLITS[split]) ^ (13 << 32) ^ epoch) & _MASK64))


@dataclass
class Sample:
    """One training example; ``tokens`` already carries the masks."""

    tokens: np.ndarray  # int64 (L,), L <= seq_len
    token_types: np.ndarray  # int64 (L,)
    mlm_positions: np.ndarray  # int64 (k,) positions in tokens
    mlm_labels: np.ndarray  # int64 (k,) original ids there
    sop_label: int  # 1 = segments swapped


class PretrainingSamples:
    """Sample ``i`` of one split, for any ``i >= 0`` (epochs wrap around the index).

    Picklable for data-loader workers: the shard memory maps are (re)opened lazily in each process, never
    pickled (which would copy them).
    """

    def __init__(
        self, shards_path: Path, tokenizer_json: Path, settings: SampleSettings, split: str, cache_dir: Path
    ) -> None:
        if split not in SPLITS:
            raise ValueError(f"split must be one of {list(SPLITS)}")
        self.shards_path, self.settings, self.split = Path(shards_path), settings, split
        self._reader: ShardReader | None = None
        self.index_path = index_path(self.shards_path, settings, split, cache_dir)
        self.index = load_or_build_index(self.shards_path, settings, split, cache_dir)
        if len(self.index) == 0:
            raise ValueError(f"no {split} samples: documents need at least two sentences")
        self.is_continuation = continuation_ids(tokenizer_json)
        self.n_tokens = len(self.is_continuation)
        self._perm: tuple[int, FeistelPermutation] | None = None  # (epoch, its order)

    @property
    def reader(self) -> ShardReader:
        if self._reader is None:
            self._reader = ShardReader(self.shards_path)
        return self._reader

    def __getstate__(self) -> dict[str, Any]:
        # the index is re-mapped from its cache file in each worker: pickling it would copy 24 bytes per sample
        return dict(self.__dict__, _reader=None, _perm=None, index=None)

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.index = np.load(self.index_path, mmap_mode="r")

    def __len__(self) -> int:
        """Samples per epoch."""
        return len(self.index)

    def _entry(self, i: int) -> tuple[int, int, int]:
        epoch, j = divmod(i, len(self.index))
        if self._perm is None or self._perm[0] != epoch:
            self._perm = (epoch, epoch_permutation(len(self.index), self.settings.seed, self.split, epoch))
        start, stop, target = self.index[self._perm[1][j]]
        return int(start), int(stop), int(target)

    def __getitem__(self, i: int) -> Sample:
        if i < 0:
            raise IndexError(i)
        start, stop, target = self._entry(i)
        rng = np.random.default_rng([self.settings.seed, SPLITS[self.split], 17, i])
        sentences = [self.reader.sentence(r) for r in range(start, stop)]
        a_end = int(rng.integers(1, len(sentences))) if len(sentences) >= 3 else 1
        seg_a, seg_b = np.concatenate(sentences[:a_end]), np.concatenate(sentences[a_end:])
        swapped = bool(rng.random() < 0.5)
        if swapped:
            seg_a, seg_b = seg_b, seg_a
        seg_a, seg_b = _truncate(seg_a, seg_b, target, rng)
        tokens = np.concatenate(([CLS_ID], seg_a, [SEP_ID], seg_b, [SEP_ID])).astype(np.int64)
        types = np.zeros(len(tokens), dtype=np.int64)
        types[len(seg_a) + 2 :] = 1
        positions, labels = self._mask(tokens, rng)
        return Sample(tokens, types, positions, labels, int(swapped))

    def _mask(self, tokens: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Choose and corrupt the MLM targets in place; returns (positions, original ids), positions sorted."""
        s = self.settings
        candidates = np.flatnonzero(tokens >= N_SPECIAL)
        if len(candidates) == 0:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        budget = min(max(1, round(len(candidates) * s.masked_lm_prob)), max(1, int(s.max_tokens * s.masked_lm_prob)))
        if s.whole_word_masking:
            cont = self.is_continuation[np.minimum(tokens[candidates], self.n_tokens - 1)]
            starts = np.flatnonzero(~cont | (np.diff(candidates, prepend=-2) != 1))
            groups = np.split(candidates, starts[1:])
            chosen: list[np.ndarray] = []
            n = 0
            for g in rng.permutation(len(groups)):
                if n >= budget:
                    break
                if n + len(groups[g]) <= budget:
                    chosen.append(groups[g])
                    n += len(groups[g])
            positions = np.sort(np.concatenate(chosen)) if chosen else np.zeros(0, np.int64)
        else:
            positions = np.sort(rng.permutation(candidates)[:budget])
        labels = tokens[positions].copy()
        u = rng.random(len(positions))
        randoms = rng.integers(N_SPECIAL, self.n_tokens, len(positions))
        tokens[positions[u < 0.8]] = MASK_ID
        swap = u >= 0.9
        tokens[positions[swap]] = randoms[swap]
        return positions.astype(np.int64), labels.astype(np.int64)


def _truncate(a: np.ndarray, b: np.ndarray, max_tokens: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Megatron's ``truncate_segments``: drop one token at a time from the longer segment, front or back at random."""
    excess = len(a) + len(b) - max_tokens
    if excess <= 0:
        return a, b
    la, lb = len(a), len(b)
    front = [0, 0]
    back = [0, 0]
    for u in rng.random(excess):
        k = 0 if la > lb else 1
        if k == 0:
            la -= 1
        else:
            lb -= 1
        (front if u < 0.5 else back)[k] += 1
    return a[front[0] : len(a) - back[0]], b[front[1] : len(b) - back[1]]


def collate(samples: list[Sample], pad_multiple: int = 8) -> dict[str, np.ndarray]:
    """Pad to the longest sample in the batch (rounded up); MLM positions index the flattened (batch*seq) grid.

    Also the packing indices of :class:`model.bert.Padding`: ``first_rows``, ``mlm_rows`` (packed row of
    each MLM target) and, when the batch has padding, ``token_index`` (flat positions of the real tokens).
    """
    width = max(len(s.tokens) for s in samples)
    width = -(-width // pad_multiple) * pad_multiple
    b = len(samples)
    input_ids = np.full((b, width), PAD_ID, dtype=np.int64)
    token_types = np.zeros((b, width), dtype=np.int64)
    mask = np.zeros((b, width), dtype=np.int64)
    for k, s in enumerate(samples):
        n = len(s.tokens)
        input_ids[k, :n], token_types[k, :n], mask[k, :n] = s.tokens, s.token_types, 1
    positions = np.concatenate([s.mlm_positions + k * width for k, s in enumerate(samples)])
    lengths = np.asarray([len(s.tokens) for s in samples], dtype=np.int64)
    batch = {
        "input_ids": input_ids,
        "token_type_ids": token_types,
        "attention_mask": mask,
        "mlm_positions": positions,
        "mlm_labels": np.concatenate([s.mlm_labels for s in samples]),
        "sop_labels": np.asarray([s.sop_label for s in samples], dtype=np.int64),
        # the model's packing indices, computed here so the device never has to be asked (see bert.Padding.given)
        "first_rows": np.cumsum(lengths) - lengths,
    }
    if int(lengths.sum()) == b * width:
        batch["mlm_rows"] = positions
    else:
        token_index = np.flatnonzero(mask.reshape(-1))
        lookup = np.full(b * width, -1, dtype=np.int64)
        lookup[token_index] = np.arange(len(token_index))
        batch["token_index"], batch["mlm_rows"] = token_index, lookup[positions]
    return batch
