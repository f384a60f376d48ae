"""Fine-tuning settings: one validated model, loadable from YAML; all of it enters the run's fingerprint.

Defaults are those of BERT fine-tuning practice (and of Hugging Face ``TrainingArguments`` where they
agree), since the paper gives no per-task hyper-parameters; the QA limits are the paper's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

Task = Literal["ner", "re", "sts", "nli", "qa"]
TASKS: tuple[str, ...] = ("ner", "re", "sts", "nli", "qa")


class FinetuneParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    epochs: int = Field(3, ge=1)
    batch_size: int = Field(16, ge=1, description="examples per forward pass")
    grad_accum_steps: int = Field(1, ge=1, description="forward passes per optimiser step (effective batch = product)")
    eval_batch_size: int = Field(64, ge=1)
    learning_rate: float = Field(5e-5, gt=0)
    weight_decay: float = Field(0.01, ge=0)
    warmup_ratio: float = Field(0.1, ge=0, le=1)
    lr_schedule: Literal["linear", "cosine"] = "linear"
    layer_lr_decay: float = Field(1.0, gt=0, le=1, description="layer-wise LR decay factor; 1.0 = off")
    max_grad_norm: float = Field(1.0, ge=0, description="gradient clipping; 0 = off")
    precision: Literal["auto", "fp32", "bf16", "fp16"] = Field(
        "auto", description="auto: bf16/fp16 mixed precision on a GPU, fp32 on CPU"
    )
    early_stopping_patience: int | None = Field(None, ge=1, description="stop after this many epochs without dev gain")
    seed: int = 42
    init: Literal["pretrained", "random"] = Field(
        "pretrained",
        description="random: the checkpoint's architecture and tokenizer with freshly initialised weights -- "
        "the control run that shows what pretraining buys",
    )
    dropout: float = Field(0.1, ge=0, lt=1, description="dropout before the head")
    max_length: int = Field(128, ge=8, description="tokens per input (NER, RE, STS, NLI)")
    max_train_examples: int | None = Field(None, ge=1, description="use only the first N training examples")
    dev_fraction: float = Field(0.1, gt=0, lt=1, description="held out of train when the data has no dev split")

    ner_case_types: bool = Field(
        False,
        description="NER: token type 1 on the sub-tokens of words that start with a capital letter, so an uncased "
        "model sees case (for the PHI tagger it did not pay: docs/deid.md)",
    )
    ner_mode: Literal["conlleval", "strict"] = Field("conlleval", description="entity reading of BIO tags (seqeval default / strict IOB2)")
    ner_entity_types: list[str] | None = Field(None, description="brat/i2b2: keep only these concept types")

    re_negative_label: str = "NO_RELATION"
    re_max_sentence_distance: int = Field(1, ge=0, description="brat: candidate pairs at most this many sentences apart")

    qa_max_question_tokens: int = Field(64, ge=1)
    qa_window_tokens: int = Field(446, ge=8)
    qa_stride_tokens: int = Field(396, ge=1)
    qa_max_answer_tokens: int = Field(32, ge=1)
    qa_max_seq_length: int = Field(512, ge=16)

    @model_validator(mode="after")
    def _check(self) -> "FinetuneParams":
        if self.qa_stride_tokens > self.qa_window_tokens:
            raise ValueError("qa_stride_tokens must not exceed qa_window_tokens (windows would skip context)")
        if self.qa_max_question_tokens + 3 >= self.qa_max_seq_length:
            raise ValueError("qa_max_seq_length leaves no room for context")
        return self

    @classmethod
    def from_yaml(cls, path: Path, **overrides: Any) -> "FinetuneParams":
        data = yaml.safe_load(Path(path).read_text()) or {}
        return cls.model_validate({**data, **overrides})
