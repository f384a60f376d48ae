"""Loading an initial checkpoint and saving / reloading a fine-tuned model.

Any BERT-family checkpoint folder that ``transformers.AutoModel`` reads is accepted: ours (exported as
MegatronBERT), GatorTron's published ones (MegatronBERT), BERT, BioBERT, ... Nothing is downloaded
(``local_files_only``). The tokenizer comes from the checkpoint folder unless another is given; an ehrlm
vocab dataset (a folder holding only ``tokenizer.json``) is wrapped with :func:`pipeline.vocab.to_transformers`.

A fine-tuned model is saved as ``model/`` (the encoder, ``save_pretrained``, with its tokenizer -- itself a
valid starting checkpoint), ``head.pt`` (the head's weights) and ``task.json`` (task, head, labels).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
from torch import nn

from model.finetune.heads import TaskModel

TASK_FILE, HEAD_FILE, MODEL_DIR = "task.json", "head.pt", "model"


def load_tokenizer(path: Path):  # noqa: ANN201 - a transformers fast tokenizer
    from transformers import AutoTokenizer

    path = Path(path)
    vocab_file = path if path.is_file() else path / "tokenizer.json"
    if path.is_file() or (vocab_file.is_file() and not (path / "tokenizer_config.json").is_file()):
        from pipeline.vocab import to_transformers

        tokenizer = to_transformers(vocab_file)
    else:
        tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
    if not tokenizer.is_fast:
        raise ValueError(f"{path}: fine-tuning needs a fast (tokenizers-backed) tokenizer for word and offset maps")
    return tokenizer


@contextmanager
def _quiet_transformers() -> Iterator[None]:
    """No load report or shard progress bar on the console: the head weights a checkpoint carries and the
    encoder does not take are expected; a missing encoder weight is an error we raise ourselves."""
    from transformers.utils import logging as hf_logging

    level = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.set_verbosity(level)
        hf_logging.enable_progress_bar()


def load_encoder(path: Path, random_init: bool = False) -> nn.Module:
    """The bare encoder (no pooler: heads read [CLS] directly; see ``heads.py``).

    ``random_init`` keeps the checkpoint's architecture but not its weights (initialised as the model class
    does for pretraining, from torch's current seed). Otherwise every encoder weight must be in the
    checkpoint: a missing one would silently start from random values.
    """
    from transformers import AutoConfig, AutoModel

    with _quiet_transformers():
        if random_init:
            config = AutoConfig.from_pretrained(path, local_files_only=True)
            try:
                return AutoModel.from_config(config, add_pooling_layer=False)
            except TypeError:
                return AutoModel.from_config(config)
        try:
            model, info = AutoModel.from_pretrained(path, local_files_only=True, add_pooling_layer=False, output_loading_info=True)
        except TypeError:  # encoders without a pooler (ELECTRA, DistilBERT) take no such argument
            model, info = AutoModel.from_pretrained(path, local_files_only=True, output_loading_info=True)
    missing = sorted(info["missing_keys"])
    if missing:
        raise ValueError(f"{path}: the checkpoint lacks {len(missing)} encoder weight(s), e.g. {missing[:3]}; "
                         "it is not a complete BERT-family encoder")  # fmt: skip
    return model


def save_finetuned(model: TaskModel, tokenizer, out: Path, info: dict[str, Any]) -> None:  # noqa: ANN001
    out = Path(out)
    with _quiet_transformers():
        model.encoder.save_pretrained(out / MODEL_DIR)
    tokenizer.save_pretrained(out / MODEL_DIR)
    torch.save(model.head.state_dict(), out / HEAD_FILE)
    (out / TASK_FILE).write_text(json.dumps({**info, "head": model.head_name, "n_outputs": model.n_labels}, indent=2, sort_keys=True))


def load_finetuned(folder: Path) -> tuple[TaskModel, Any, dict[str, Any]]:
    """(model in eval mode, tokenizer, task info) of a folder written by :func:`save_finetuned`."""
    folder = Path(folder)
    info = json.loads((folder / TASK_FILE).read_text())
    model = TaskModel(load_encoder(folder / MODEL_DIR), info["head"], info["n_outputs"], dropout=0.0)
    model.head.load_state_dict(torch.load(folder / HEAD_FILE, weights_only=True))
    return model.eval(), load_tokenizer(folder / MODEL_DIR), info
