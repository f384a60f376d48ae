"""Megatron-style SOP/MLM samples: structure, determinism, masking rules, held-out documents, caching."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from model.samples import (
    CLS_ID,
    MASK_ID,
    N_SPECIAL,
    SEP_ID,
    PretrainingSamples,
    SampleSettings,
    build_index,
    collate,
    continuation_ids,
    corpus_layout,
    split_documents,
    target_lengths,
)
from pipeline.shards import ShardReader
from tests.bench.scripts import load

bench = load("samples")  # the greedy loop the vectorised build replaced: the reference to match

SETTINGS = SampleSettings(seq_len=64, seed=5)


@pytest.fixture(scope="module")
def train_set(shards, tokenizer_json, tmp_path_factory):
    return PretrainingSamples(shards, tokenizer_json, SETTINGS, "train", tmp_path_factory.mktemp("cache"))


def _restored(sample) -> np.ndarray:
    tokens = sample.tokens.copy()
    tokens[sample.mlm_positions] = sample.mlm_labels
    return tokens


def _find(haystack: np.ndarray, needle: np.ndarray) -> int:
    for i in range(len(haystack) - len(needle) + 1):
        if np.array_equal(haystack[i : i + len(needle)], needle):
            return i
    return -1


def test_sample_layout_and_sentence_order(train_set, shards):
    reader = ShardReader(shards)
    labels = []
    for i in range(0, 400, 7):
        s = train_set[i]
        tokens = _restored(s)
        assert len(tokens) <= SETTINGS.seq_len and tokens[0] == CLS_ID and tokens[-1] == SEP_ID
        sep = int(np.flatnonzero(tokens == SEP_ID)[0])
        assert (s.token_types[: sep + 1] == 0).all() and (s.token_types[sep + 1 :] == 1).all()
        seg_a, seg_b = tokens[1:sep], tokens[sep + 1 : -1]
        assert len(seg_a) > 0 and len(seg_b) > 0
        start, stop, _ = train_set._entry(i)
        doc = np.concatenate([reader.sentence(r) for r in range(start, stop)])
        pa, pb = _find(doc, seg_a), _find(doc, seg_b)
        assert pa >= 0 and pb >= 0, "segments must be consecutive text of one document"
        assert (pa > pb) == bool(s.sop_label), "label 1 <=> B came first in the document"
        labels.append(s.sop_label)
    assert 0.25 < np.mean(labels) < 0.75


def test_samples_are_a_pure_function_of_index_and_seed(train_set, shards, tokenizer_json, tmp_path):
    again = PretrainingSamples(shards, tokenizer_json, SETTINGS, "train", tmp_path)
    for i in (0, 17, len(train_set) + 3):  # the last one is in epoch 1
        a, b = train_set[i], again[i]
        assert np.array_equal(a.tokens, b.tokens) and np.array_equal(a.mlm_positions, b.mlm_positions)
    other = PretrainingSamples(shards, tokenizer_json, SampleSettings(seq_len=64, seed=6), "train", tmp_path)
    assert any(not np.array_equal(train_set[i].tokens, other[i].tokens) for i in range(5))
    # epoch 1 revisits epoch 0's samples in another order, with fresh masks
    n = len(train_set)
    assert sorted(train_set._entry(n + j) for j in range(n)) == sorted(train_set._entry(j) for j in range(n))


def test_masking_rates_and_never_special_tokens(train_set):
    masked = total = n_mask = n_same = n_random = 0
    for i in range(300):
        s = train_set[i]
        assert (s.mlm_labels >= N_SPECIAL).all(), "special and PHI-tag tokens are never MLM targets"
        maskable = int((_restored(s) >= N_SPECIAL).sum())
        masked += len(s.mlm_positions)
        total += maskable
        replaced = s.tokens[s.mlm_positions]
        n_mask += int((replaced == MASK_ID).sum())
        n_same += int((replaced == s.mlm_labels).sum())
        n_random += int(((replaced != MASK_ID) & (replaced != s.mlm_labels)).sum())
        assert (replaced[replaced != MASK_ID] >= N_SPECIAL).all()
    assert 0.13 < masked / total < 0.17
    assert 0.75 < n_mask / masked < 0.85 and 0.06 < n_same / masked < 0.15 and 0.06 < n_random / masked < 0.14


def test_phi_tags_are_never_masked(train_set):
    phi = set(range(5, 24))
    seen_tag = False
    for i in range(300):
        s = train_set[i]
        seen_tag |= bool(np.isin(s.tokens, list(phi)).any())
        assert not np.isin(s.mlm_labels, list(phi)).any()
    assert seen_tag, "the synthetic corpus should contain PHI tags after deid"


def test_whole_word_masking_masks_all_pieces(shards, tokenizer_json, tmp_path):
    ds = PretrainingSamples(shards, tokenizer_json, SampleSettings(seq_len=64, seed=5, whole_word_masking=True), "train", tmp_path)
    cont = continuation_ids(tokenizer_json)
    pieces = 0
    for i in range(200):
        s = ds[i]
        tokens, chosen = _restored(s), set(s.mlm_positions.tolist())
        for p in range(1, len(tokens)):
            if tokens[p] >= N_SPECIAL and cont[tokens[p]] and tokens[p - 1] >= N_SPECIAL:
                assert (p in chosen) == (p - 1 in chosen), "a word's pieces are masked together"
                pieces += p in chosen
    assert pieces > 0


def test_validation_documents_are_held_out(shards, tokenizer_json, tmp_path, train_set):
    valid = PretrainingSamples(shards, tokenizer_json, SETTINGS, "valid", tmp_path)
    reader = ShardReader(shards)
    docs = list(reader.documents())
    held = split_documents(len(docs), 0.05, SETTINGS.seed)
    assert held.sum() == round(0.05 * len(docs))
    valid_rows = {r for d, h in zip(docs, held) if h for r in range(d.start, d.stop)}
    assert all(train_set.index[k][0] not in valid_rows for k in range(len(train_set)))
    assert all(valid.index[k][0] in valid_rows for k in range(len(valid)))


def test_index_cache_is_keyed_by_configuration(shards, tokenizer_json, tmp_path):
    PretrainingSamples(shards, tokenizer_json, SETTINGS, "train", tmp_path)
    files = sorted(p.name for p in tmp_path.glob("samples-train-*.npy"))
    PretrainingSamples(shards, tokenizer_json, SETTINGS, "train", tmp_path)  # hit
    PretrainingSamples(shards, tokenizer_json, SampleSettings(seq_len=64, seed=5, masked_lm_prob=0.2), "train", tmp_path)
    assert sorted(p.name for p in tmp_path.glob("samples-train-*.npy")) == files, "masking does not change the index"
    PretrainingSamples(shards, tokenizer_json, SampleSettings(seq_len=96, seed=5), "train", tmp_path)
    assert len(list(tmp_path.glob("samples-train-*.npy"))) == 2


def test_pickling_for_workers_does_not_copy_the_shards(train_set, shards):
    size = sum(p.stat().st_size for p in shards.glob("shard-*.arrow"))
    blob = pickle.dumps(train_set)
    assert len(blob) < size / 4
    clone = pickle.loads(blob)
    assert np.array_equal(clone[3].tokens, train_set[3].tokens)


def test_collate_pads_and_indexes_the_flat_grid(train_set):
    samples = [train_set[i] for i in range(4)]
    batch = collate(samples)
    width = batch["input_ids"].shape[1]
    assert width % 8 == 0 and width >= max(len(s.tokens) for s in samples)
    flat = batch["input_ids"].reshape(-1)
    original = np.concatenate([s.tokens[s.mlm_positions] for s in samples])
    assert np.array_equal(flat[batch["mlm_positions"]], original)
    assert batch["attention_mask"].sum() == sum(len(s.tokens) for s in samples)


def _loop_build_index(doc_bounds, lengths, settings, split):
    """The greedy loop with the new per-(document, sample) targets: what the vectorised build must equal."""
    return bench.greedy_index(doc_bounds, lengths,
                              lambda start, j: int(target_lengths(np.asarray([start]), j, settings, split)[0]))  # fmt: skip


def _random_corpus(rng, n_docs):
    sizes = rng.choice([0, 1, 2, 3, 5, 9, 40], size=n_docs, p=[0.02, 0.1, 0.15, 0.2, 0.23, 0.2, 0.1])
    stops = np.cumsum(sizes)
    bounds = np.stack([stops - sizes, stops], axis=1)
    lengths = rng.choice([0, 1, 4, 12, 30, 70, 200], size=int(stops[-1])).astype(np.int32)
    return bounds, lengths


@pytest.mark.parametrize("seed", range(6))
def test_vectorised_index_equals_the_loop(seed):
    rng = np.random.default_rng(seed)
    bounds, lengths = _random_corpus(rng, 300)
    for seq_len in (8, 32, 128):
        # no short sequences: no randomness, so the vectorised build must reproduce the old algorithm exactly
        fixed = SampleSettings(seq_len=seq_len, short_seq_prob=0.0, seed=seed)
        expected = bench.old_build_index(bounds, lengths, fixed, "train")
        assert len(expected) > 50
        assert np.array_equal(build_index(bounds, lengths, fixed, "train"), expected)
        # short sequences: the same greedy rule, targets from the per-(document, sample) hash
        short = SampleSettings(seq_len=seq_len, short_seq_prob=0.3, seed=seed)
        for split in ("train", "valid"):
            assert np.array_equal(build_index(bounds, lengths, short, split), _loop_build_index(bounds, lengths, short, split))


def test_short_targets_have_megatrons_distribution():
    settings = SampleSettings(seq_len=128, short_seq_prob=0.1, seed=3)
    t = target_lengths(np.arange(200_000), 0, settings, "train")
    short = t < settings.max_tokens
    assert 0.095 < short.mean() < 0.105
    assert t.min() == 2 and t.max() == settings.max_tokens
    counts = np.bincount(t[short], minlength=settings.max_tokens)[2:]
    assert counts.min() > 0.5 * counts.mean(), "short lengths are spread over [2, max_tokens]"
    assert not np.array_equal(t, target_lengths(np.arange(200_000), 1, settings, "train")), "each sample draws anew"
    assert not np.array_equal(t, target_lengths(np.arange(200_000), 0, settings, "valid"))


def test_corpus_layout_matches_the_reader(shards):
    lengths, bounds = corpus_layout(shards)
    reader = ShardReader(shards)
    assert [tuple(b) for b in bounds.tolist()] == [(d.start, d.stop) for d in reader.documents()]
    assert len(lengths) == len(reader) and lengths.dtype == np.int32
    assert all(lengths[i] == len(reader.sentence(i)) for i in range(0, len(reader), 13))


@pytest.mark.parametrize("n", [1, 2, 3, 7, 64, 65, 1000, 4099])
def test_epoch_order_is_a_deterministic_permutation(n):
    from model.samples import epoch_permutation

    order = [epoch_permutation(n, 5, "train", 0)[j] for j in range(n)]
    assert sorted(order) == list(range(n))
    assert order == [epoch_permutation(n, 5, "train", 0)[j] for j in range(n)], "every worker/rank computes the same"
    if n >= 64:
        assert order != list(range(n))
        assert order != [epoch_permutation(n, 5, "train", 1)[j] for j in range(n)], "each epoch has its own order"
        assert order != [epoch_permutation(n, 6, "train", 0)[j] for j in range(n)]
        assert order != [epoch_permutation(n, 5, "valid", 0)[j] for j in range(n)]
        # shuffled, not a near-identity: a rank correlation near zero
        assert abs(np.corrcoef(np.arange(n), order)[0, 1]) < 0.2


def test_workers_hold_no_per_sample_arrays(train_set):
    """No full permutation (8 bytes per sample) and no index copy per data-loader worker."""
    from model.samples import FeistelPermutation

    train_set[len(train_set) + 1]  # an epoch-1 sample
    big = [k for k, v in vars(train_set).items() if isinstance(v, np.ndarray) and k not in ("index", "is_continuation")]
    assert big == [] and isinstance(train_set._perm[1], FeistelPermutation)
    assert isinstance(train_set.index, np.memmap) or isinstance(getattr(train_set.index, "base", None), np.memmap)
    clone = pickle.loads(pickle.dumps(train_set))
    assert isinstance(clone.index, np.memmap), "a worker re-maps the cached index file"
    assert len(pickle.dumps(train_set)) < 4 * train_set.is_continuation.nbytes + 10_000


def test_collate_computes_the_models_packing_indices(train_set, tokenizer_json, monkeypatch):
    """The indices come from the host, so a GPU step never waits on mask.all()/nonzero; same result as on-device."""
    import torch

    from model.bert import Padding, _packed_rows, build, padded_vocab, preset
    from pipeline.vocab import load_tokenizer

    torch.manual_seed(0)
    model = build(preset("tiny", padded_vocab(load_tokenizer(tokenizer_json).get_vocab_size()), hidden_dropout=0.0,
                         attention_dropout=0.0)).eval()  # fmt: skip
    short = [train_set[i] for i in range(4)]
    full = [s for s in (train_set[i] for i in range(400)) if len(s.tokens) % 8 == 0][:2]
    full = [s for s in full if len(s.tokens) == len(full[0].tokens)] or full[:1]
    assert full, "need a batch without padding"
    seen = set()
    for samples in (short, full):
        batch = {k: torch.from_numpy(v) for k, v in collate(samples).items()}
        core = {k: batch[k] for k in ("input_ids", "token_type_ids", "attention_mask", "mlm_positions", "mlm_labels", "sop_labels")}
        reference = Padding.of(batch["attention_mask"])
        seen.add(reference.indices is None)
        assert torch.equal(batch["first_rows"], reference.first_rows)
        if reference.indices is None:
            assert "token_index" not in batch and torch.equal(batch["mlm_rows"], batch["mlm_positions"])
        else:
            assert torch.equal(batch["token_index"], reference.indices)
            assert torch.equal(batch["mlm_rows"], _packed_rows(reference, batch["mlm_positions"]))
        with torch.no_grad():
            expected = model(**core)
            monkeypatch.setattr(Padding, "of", staticmethod(lambda mask: pytest.fail("computed on the device")))
            got = model(**batch)
            monkeypatch.undo()
        assert torch.equal(got.loss, expected.loss) and torch.equal(got.mlm_logits, expected.mlm_logits)
    assert seen == {True, False}, "both a padded and an unpadded batch"
