"""The encoder: Table 3 sizes (counted without allocating), unpadded execution, masked-only MLM logits."""

from __future__ import annotations

import pytest
import torch

from model.bert import (
    GATORTRON_VOCAB_SIZE,
    PAPER_PARAMETERS,
    PRESETS,
    Padding,
    build,
    count_parameters,
    flops_per_token,
    padded_vocab,
    preset,
)


@pytest.mark.parametrize("name", ["gatortron-base", "gatortron-medium", "gatortron-large"])
def test_table3_parameter_counts_on_meta_device(name):
    cfg = preset(name, GATORTRON_VOCAB_SIZE)
    model = build(cfg, "meta")  # module tree only: 8.9B parameters, no memory
    assert all(p.is_meta for p in model.parameters())
    counted = sum(p.numel() for p in model.parameters())
    assert counted == count_parameters(cfg)
    rel = counted / PAPER_PARAMETERS[name] - 1
    # Medium and large land within 1%. Base is 356.4M with GatorTron's released 50,176-token vocabulary:
    # "345 million" is the nominal name of Megatron's BERT-345M, which no real vocabulary reproduces
    # within 2% (BERT's 30,522 tokens give -2.5%).
    assert abs(rel) < (0.035 if name == "gatortron-base" else 0.02), f"{name}: {counted:,} ({rel:+.1%})"


def test_presets_have_the_papers_shapes():
    assert (PRESETS["gatortron-base"]["num_layers"], PRESETS["gatortron-base"]["hidden_size"], PRESETS["gatortron-base"]["num_heads"]) == (24, 1024, 16)
    assert (PRESETS["gatortron-medium"]["num_layers"], PRESETS["gatortron-medium"]["hidden_size"], PRESETS["gatortron-medium"]["num_heads"]) == (48, 2560, 40)
    assert (PRESETS["gatortron-large"]["num_layers"], PRESETS["gatortron-large"]["hidden_size"], PRESETS["gatortron-large"]["num_heads"]) == (56, 3584, 56)
    assert padded_vocab(5243) == 5248 and padded_vocab(50176) == 50176


def _batch(vocab: int, lengths: list[int], width: int, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    ids = torch.zeros(len(lengths), width, dtype=torch.long)
    types = torch.zeros_like(ids)
    mask = torch.zeros_like(ids)
    for b, n in enumerate(lengths):
        ids[b, :n] = torch.randint(28, vocab, (n,), generator=g)
        ids[b, 0] = 2
        types[b, n // 2 : n] = 1
        mask[b, :n] = 1
    return ids, types, mask


def test_unpadded_batch_equals_each_sequence_alone():
    torch.manual_seed(0)
    model = build(preset("tiny", 512)).eval()
    ids, types, mask = _batch(512, [16, 9, 5], 16)
    with torch.no_grad():
        out = model(ids, types, mask)
        for b, n in enumerate([16, 9, 5]):
            alone = model(ids[b : b + 1, :n], types[b : b + 1, :n], mask[b : b + 1, :n])
            torch.testing.assert_close(out.mlm_logits[b, :n], alone.mlm_logits[0], atol=1e-5, rtol=1e-5)
            torch.testing.assert_close(out.sop_logits[b], alone.sop_logits[0], atol=1e-5, rtol=1e-5)
    assert Padding.of(mask).indices is not None and Padding.of(torch.ones(2, 4)).indices is None


def test_masked_positions_logits_and_loss():
    torch.manual_seed(0)
    model = build(preset("tiny", 512)).eval()
    ids, types, mask = _batch(512, [12, 7], 16)
    positions = torch.tensor([1, 5, 16 + 2, 16 + 6])
    labels = torch.tensor([30, 40, 50, 60])
    sop = torch.tensor([0, 1])
    with torch.no_grad():
        full = model(ids, types, mask).mlm_logits.flatten(0, 1)
        out = model(ids, types, mask, positions, labels, sop)
    torch.testing.assert_close(out.mlm_logits, full[positions], atol=1e-5, rtol=1e-5)
    expected = torch.nn.functional.cross_entropy(full[positions], labels) + torch.nn.functional.cross_entropy(out.sop_logits, sop)
    torch.testing.assert_close(out.loss, expected, atol=1e-5, rtol=1e-5)
    with pytest.raises(ValueError, match="padding"):
        model(ids, types, mask, torch.tensor([16 + 9]), torch.tensor([30]), sop)


def test_decoder_is_tied_to_the_input_embeddings():
    model = build(preset("tiny", 256))
    names = {n for n, _ in model.named_parameters()}
    assert "cls.predictions.bias" in names and not any("decoder" in n for n in names)
    ids, types, mask = _batch(256, [8], 8)
    out = model(ids, types, mask, torch.tensor([3]), torch.tensor([40]), torch.tensor([1]))
    out.loss.backward()
    assert model.bert.embeddings.word_embeddings.weight.grad[40].abs().sum() > 0


def test_flops_per_token_is_dominated_by_dense_layers_at_scale():
    cfg = preset("gatortron-base", GATORTRON_VOCAB_SIZE)
    dense = 6 * 12 * cfg.num_layers * cfg.hidden_size**2
    assert dense < flops_per_token(cfg, 512) < 1.25 * dense
