"""Export to a Hugging Face model directory that ``transformers`` loads offline with no custom code.

Our module tree *is* ``MegatronBertForPreTraining``'s (see :mod:`model.bert`), so the weights are written
under their own names; only the tied decoder (``cls.predictions.decoder.{weight,bias}``) is left out, as
``save_pretrained`` does, because ``transformers`` re-ties it to the word embeddings and the output bias.

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


def hf_state_dict(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Our state dict (possibly from a checkpoint) as the safetensors payload: fp32, contiguous, unshared."""
    return {k: v.detach().to("cpu", torch.float32).contiguous().clone() for k, v in state.items()}


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
