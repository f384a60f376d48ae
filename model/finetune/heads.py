"""The output layers the paper adds on top of the pretrained encoder, one per task shape.

Each head reads the encoder's last hidden states and returns logits; :class:`TaskModel` adds the loss
(cross-entropy for classification, which is the paper's "linear layer with softmax" trained with CE; MSE
for STS regression). Heads are initialised like BERT's own (normal, std = ``initializer_range``), so a
head here and the Hugging Face ``...ForTokenClassification`` one start from the same distribution.

| head | reads | output |
| --- | --- | --- |
| ``TokenTagger`` (NER) | every token | BIO label logits (scored on each word's first sub-token) |
| ``MarkerClassifier`` (RE) | [CLS] + [S1] [E1] [S2] [E2], concatenated | relation logits |
| ``ClsHead`` (NLI / STS) | [CLS] | class logits, or one score |
| ``SpanHead`` (QA) | every token | start and end logits |

Sentence-level heads read the [CLS] hidden state itself rather than BERT's pooler: the pooler's weights are
absent from some BERT-family checkpoints and it adds nothing a linear head cannot learn.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from model.finetune.features import IGNORE


def _linear(n_in: int, n_out: int, std: float) -> nn.Linear:
    layer = nn.Linear(n_in, n_out)
    nn.init.normal_(layer.weight, std=std)
    nn.init.zeros_(layer.bias)
    return layer


class TokenTagger(nn.Module):
    def __init__(self, hidden: int, n_labels: int, dropout: float, std: float) -> None:
        super().__init__()
        self.dropout, self.out = nn.Dropout(dropout), _linear(hidden, n_labels, std)

    def forward(self, states: torch.Tensor, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.out(self.dropout(states))

    def loss(self, logits: torch.Tensor, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return F.cross_entropy(logits.flatten(0, 1).float(), batch["labels"].flatten(), ignore_index=IGNORE)


class MarkerClassifier(nn.Module):
    def __init__(self, hidden: int, n_labels: int, dropout: float, std: float) -> None:
        super().__init__()
        self.dropout, self.out = nn.Dropout(dropout), _linear(5 * hidden, n_labels, std)

    def forward(self, states: torch.Tensor, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        idx = batch["markers"].unsqueeze(-1).expand(-1, -1, states.size(-1))  # (B, 5, H)
        return self.out(self.dropout(states.gather(1, idx).flatten(1)))

    def loss(self, logits: torch.Tensor, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return F.cross_entropy(logits.float(), batch["label"], ignore_index=IGNORE)


class ClsHead(nn.Module):
    """``n_labels == 1``: regression (MSE); otherwise classification (CE)."""

    def __init__(self, hidden: int, n_labels: int, dropout: float, std: float) -> None:
        super().__init__()
        self.dropout, self.out = nn.Dropout(dropout), _linear(hidden, n_labels, std)

    def forward(self, states: torch.Tensor, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.out(self.dropout(states[:, 0]))

    def loss(self, logits: torch.Tensor, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        if logits.size(-1) == 1:
            return F.mse_loss(logits.squeeze(-1).float(), batch["label"])
        return F.cross_entropy(logits.float(), batch["label"], ignore_index=IGNORE)


class SpanHead(nn.Module):
    """Two linear outputs per token (start, end); the loss is the mean of the two cross-entropies."""

    def __init__(self, hidden: int, n_labels: int, dropout: float, std: float) -> None:
        super().__init__()
        self.dropout, self.out = nn.Dropout(dropout), _linear(hidden, 2, std)

    def forward(self, states: torch.Tensor, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        logits = self.out(self.dropout(states))  # (B, T, 2)
        return logits.masked_fill(~batch["attention_mask"].bool().unsqueeze(-1), torch.finfo(logits.dtype).min)

    def loss(self, logits: torch.Tensor, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        logits = logits.float()
        return (F.cross_entropy(logits[..., 0], batch["start"]) + F.cross_entropy(logits[..., 1], batch["end"])) / 2


HEADS: dict[str, type[nn.Module]] = {"token": TokenTagger, "markers": MarkerClassifier, "cls": ClsHead, "span": SpanHead}


class TaskModel(nn.Module):
    """A Hugging Face encoder (``AutoModel``: BERT, MegatronBERT, ...) plus one head."""

    def __init__(self, encoder: nn.Module, head: str, n_labels: int, dropout: float) -> None:
        super().__init__()
        self.encoder = encoder
        config = encoder.config
        self.head_name, self.n_labels = head, n_labels
        # RoBERTa-style checkpoints have a single segment embedding: pairs are then told apart by [SEP] only
        self.use_token_types = getattr(config, "type_vocab_size", 2) >= 2
        self.head = HEADS[head](config.hidden_size, n_labels, dropout, getattr(config, "initializer_range", 0.02))

    def forward(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor | None, torch.Tensor]:
        """(loss or ``None`` when the batch has no targets, logits)."""
        states = self.encoder(
            input_ids=batch["input_ids"],
            attention_mask=batch["attention_mask"],
            token_type_ids=batch["token_type_ids"] if self.use_token_types else None,
        ).last_hidden_state
        logits = self.head(states, batch)
        has_targets = any(k in batch for k in ("labels", "label", "start"))
        return (self.head.loss(logits, batch) if has_targets else None), logits
