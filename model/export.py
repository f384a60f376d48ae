"""Export to a Hugging Face model directory that ``transformers`` loads offline with no custom code.

Our module tree *is* ``MegatronBertForPreTraining``'s (see :mod:`model.bert`), so the weights are written
under their own names, with two exceptions:

- the fused ``attention.self.qkv`` projection is split into the ``query`` / ``key`` / ``value`` weights
  and biases Megatron-BERT (and BERT) expect, rows in that order, so any ``transformers`` BERT-family
  loader reads the export with no custom code;
- the tied decoder (``cls.predictions.decoder.{weight,bias}``) is left out, as ``save_pretrained`` does,
  because ``transformers`` re-ties it to the word embeddings and the output bias.

The directory holds ``config.json`` (``model_type: megatron-bert``), ``model.safetensors``, and the
tokenizer (``tokenizer.json`` copied byte for byte, plus the small config files that tell
``AutoTokenizer`` which ids are special and that BERT inputs carry ``token_type_ids``).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import torch
from safetensors.torch import save_file

from model.bert import BertConfig, BertForPretraining
from pipeline.vocab import CLS, MASK, PAD, SEP, SPECIAL_TOKENS, UNK

WEIGHTS = "model.safetensors"


def hf_config(cfg: BertConfig) -> dict:
    return {
        "architectures": ["MegatronBertForPreTraining"],
        "model_type": "megatron-bert",
        "vocab_size": cfg.vocab_size,
        "hidden_size": cfg.hidden_size,
        "num_hidden_layers": cfg.num_layers,
        "num_attention_heads": cfg.num_heads,
        "intermediate_size": cfg.intermediate_size,
        "hidden_act": "gelu",
        "hidden_dropout_prob": cfg.hidden_dropout,
        "attention_probs_dropout_prob": cfg.attention_dropout,
        "max_position_embeddings": cfg.max_position_embeddings,
        "type_vocab_size": cfg.type_vocab_size,
        "initializer_range": cfg.initializer_range,
        "layer_norm_eps": cfg.layer_norm_eps,
        "pad_token_id": cfg.pad_token_id,
        "tie_word_embeddings": True,
        "torch_dtype": "float32",
    }


FUSED_QKV = "attention.self.qkv."


def split_qkv(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """``...attention.self.qkv.{weight,bias}`` -> ``...attention.self.{query,key,value}.{weight,bias}``.

    The fused rows are query, key, value (each ``hidden`` rows); a state dict that already has separate
    projections (written before the fusion) passes through unchanged.
    """
    out: dict[str, torch.Tensor] = {}
    for name, tensor in state.items():
        if FUSED_QKV not in name:
            out[name] = tensor
            continue
        prefix, kind = name.split(FUSED_QKV)
        if tensor.shape[0] % 3:
            raise ValueError(f"{name}: fused Q/K/V has {tensor.shape[0]} rows, not a multiple of 3")
        for part, chunk in zip(("query", "key", "value"), tensor.chunk(3, dim=0), strict=True):
            out[f"{prefix}attention.self.{part}.{kind}"] = chunk
    return out


def hf_state_dict(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Our state dict (possibly from a checkpoint) as the safetensors payload: Q/K/V split, fp32, contiguous,
    unshared."""
    return {k: v.detach().to("cpu", torch.float32).contiguous().clone() for k, v in split_qkv(state).items()}


def tokenizer_files(tokenizer_json: Path, out: Path, model_max_length: int) -> None:
    shutil.copyfile(tokenizer_json, out / "tokenizer.json")
    specials = {"unk_token": UNK, "pad_token": PAD, "cls_token": CLS, "sep_token": SEP, "mask_token": MASK}
    extra = [t for t in SPECIAL_TOKENS if t not in specials.values()]
    (out / "special_tokens_map.json").write_text(json.dumps({**specials, "additional_special_tokens": extra}, indent=1))
    (out / "tokenizer_config.json").write_text(
        json.dumps(
            {
                "tokenizer_class": "PreTrainedTokenizerFast",
                **specials,
                "additional_special_tokens": extra,
                "model_max_length": model_max_length,
                "model_input_names": ["input_ids", "token_type_ids", "attention_mask"],
                "clean_up_tokenization_spaces": False,
            },
            indent=1,
        )
    )


def export(state: dict[str, torch.Tensor], cfg: BertConfig, tokenizer_json: Path, out: Path) -> Path:
    """Write the Hugging Face directory ``out``; same weights give byte-identical files."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.json").write_text(json.dumps(hf_config(cfg), indent=1, sort_keys=True))
    # one metadata key only: safetensors writes metadata in hash-map order, which would vary between runs
    save_file(hf_state_dict(state), str(out / WEIGHTS), metadata={"format": "pt"})
    tokenizer_files(Path(tokenizer_json), out, cfg.max_position_embeddings)
    return out


def export_model(model: BertForPretraining, tokenizer_json: Path, out: Path) -> Path:
    return export(model.state_dict(), model.config, tokenizer_json, out)
