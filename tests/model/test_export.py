"""Export parity: transformers loads our directory offline and computes the same logits; same tokenizer.

Our model fuses Q/K/V into one projection; the export must still write the separate ``query``/``key``/
``value`` weights every BERT-family loader expects (and transformers must load every one of them)."""

from __future__ import annotations

import os

import pytest
import torch

from model.bert import build, padded_vocab, preset
from model.export import WEIGHTS, export_model, split_qkv
from pipeline.vocab import load_tokenizer

transformers = pytest.importorskip("transformers")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

NOTE = "Pt [**NAME**] seen on [**DATE**] for CHF exacerbation; started furosemide 40 mg IV BID, K+ 3.4."


@pytest.fixture(scope="module")
def exported(tmp_path_factory, tokenizer_json):
    torch.manual_seed(0)
    n_tokens = load_tokenizer(tokenizer_json).get_vocab_size()
    model = build(preset("tiny", padded_vocab(n_tokens), hidden_dropout=0.0, attention_dropout=0.0)).eval()
    with torch.no_grad():  # move every bias and LayerNorm off its init so a mis-mapped one cannot hide
        for p in model.parameters():
            if p.ndim == 1:
                p.normal_(0.0, 0.2)
    out = export_model(model, tokenizer_json, tmp_path_factory.mktemp("hf"))
    return model, out


def _inputs(n_tokens: int):
    g = torch.Generator().manual_seed(1)
    ids = torch.randint(28, n_tokens, (3, 24), generator=g)
    ids[:, 0] = 2
    types = torch.zeros_like(ids)
    types[:, 12:] = 1
    mask = torch.ones_like(ids)
    mask[1, 17:] = 0
    mask[2, 6:] = 0
    return ids, types, mask


def test_megatron_bert_for_pretraining_matches(exported, tokenizer_json):
    model, path = exported
    hf = transformers.MegatronBertForPreTraining.from_pretrained(path).eval()
    ids, types, mask = _inputs(load_tokenizer(tokenizer_json).get_vocab_size())
    with torch.no_grad():
        ours = model(ids, types, mask)
        theirs = hf(input_ids=ids, token_type_ids=types, attention_mask=mask)
    real = mask.bool()
    torch.testing.assert_close(ours.mlm_logits[real], theirs.prediction_logits[real], atol=1e-4, rtol=0)
    torch.testing.assert_close(ours.sop_logits, theirs.seq_relationship_logits, atol=1e-4, rtol=0)
    assert hf.cls.predictions.decoder.weight.data_ptr() == hf.bert.embeddings.word_embeddings.weight.data_ptr()


def test_auto_model_for_masked_lm_matches(exported, tokenizer_json):
    model, path = exported
    hf = transformers.AutoModelForMaskedLM.from_pretrained(path).eval()
    assert type(hf).__name__ == "MegatronBertForMaskedLM"
    ids, types, mask = _inputs(load_tokenizer(tokenizer_json).get_vocab_size())
    with torch.no_grad():
        ours = model(ids, types, mask).mlm_logits
        theirs = hf(input_ids=ids, token_type_ids=types, attention_mask=mask).logits
    torch.testing.assert_close(ours[mask.bool()], theirs[mask.bool()], atol=1e-4, rtol=0)


def test_exported_tokenizer_encodes_like_ours(exported, tokenizer_json):
    _, path = exported
    hf_tok = transformers.AutoTokenizer.from_pretrained(path)
    ours = load_tokenizer(tokenizer_json).encode(NOTE, "Plan: continue [**MRN**] follow-up.")
    theirs = hf_tok(NOTE, "Plan: continue [**MRN**] follow-up.")
    assert theirs["input_ids"] == ours.ids
    assert theirs["token_type_ids"] == ours.type_ids
    assert hf_tok.mask_token_id == 4 and hf_tok.pad_token_id == 0 and hf_tok.cls_token_id == 2
    assert hf_tok.convert_tokens_to_ids("[**NAME**]") == ours.ids[ours.tokens.index("[**NAME**]")]


def test_fused_qkv_is_exported_as_separate_query_key_value(exported):
    from safetensors.torch import load_file

    model, path = exported
    saved = load_file(str(path / WEIGHTS))
    assert not any(".qkv." in k for k in saved)
    for i, layer in enumerate(model.bert.encoder.layer):
        fused = layer.attention.self.qkv
        h = fused.weight.shape[1]
        for j, part in enumerate(("query", "key", "value")):
            prefix = f"bert.encoder.layer.{i}.attention.self.{part}"
            assert torch.equal(saved[f"{prefix}.weight"], fused.weight[j * h : (j + 1) * h].detach())
            assert torch.equal(saved[f"{prefix}.bias"], fused.bias[j * h : (j + 1) * h].detach())
    # a state dict that already has separate projections passes through unchanged
    assert split_qkv({"a.attention.self.query.weight": saved["bert.encoder.layer.0.attention.self.query.weight"]}).keys() == {
        "a.attention.self.query.weight"}


def test_auto_model_loads_every_weight_and_matches_our_encoder(exported, tokenizer_json):
    """AutoModel (what fine-tuning loads): no missing or unexpected weights, same hidden states and pooler."""
    model, path = exported
    hf, info = transformers.AutoModel.from_pretrained(path, output_loading_info=True)
    hf.eval()
    assert type(hf).__name__ == "MegatronBertModel"
    assert not info["missing_keys"] and not info["mismatched_keys"], info
    ids, types, mask = _inputs(load_tokenizer(tokenizer_json).get_vocab_size())
    with torch.no_grad():
        hidden, pooled, _ = model.bert(ids, types, mask)
        theirs = hf(input_ids=ids, token_type_ids=types, attention_mask=mask)
    torch.testing.assert_close(hidden, theirs.last_hidden_state[mask.bool()], atol=1e-4, rtol=0)
    torch.testing.assert_close(pooled, theirs.pooler_output, atol=1e-4, rtol=0)


def test_varlen_model_exports_the_same_weights(tmp_path, tokenizer_json, exported):
    """The attention path is a speed knob: a varlen model's export is byte-identical to the padded one's."""
    model, path = exported
    n_tokens = load_tokenizer(tokenizer_json).get_vocab_size()
    twin = build(preset("tiny", padded_vocab(n_tokens), hidden_dropout=0.0, attention_dropout=0.0, attention_impl="varlen"))
    twin.load_state_dict(model.state_dict())
    out = export_model(twin, tokenizer_json, tmp_path / "hf")
    assert (out / WEIGHTS).read_bytes() == (path / WEIGHTS).read_bytes()
    hf = transformers.AutoModelForMaskedLM.from_pretrained(out).eval()
    ids, types, mask = _inputs(n_tokens)
    with torch.no_grad():
        ours = twin.eval()(ids, types, mask).mlm_logits
        theirs = hf(input_ids=ids, token_type_ids=types, attention_mask=mask).logits
    torch.testing.assert_close(ours[mask.bool()], theirs[mask.bool()], atol=1e-4, rtol=0)
