"""The GatorTron encoder: BERT as Megatron-LM builds it, with the MLM and sentence-order heads.

Layout (it is the layout of ``transformers``' ``MegatronBertForPreTraining``, module for module and name for
name, so export is a renaming-free copy of the state dict):

- embeddings: word + learned position + token type, dropout, **no** LayerNorm (Megatron moved it into
  the blocks);
- pre-LayerNorm blocks: ``x + Attn(LN(x))`` then ``x + MLP(LN(x))``, exact-erf GELU;
- a final LayerNorm after the last block (``encoder.ln``);
- pooler (dense + tanh on ``[CLS]``) feeding the two-way sentence-order head ``cls.seq_relationship``;
- MLM head: dense + GELU + LayerNorm, then the *input embedding matrix* (tied) plus an output bias.

Speed without changing the maths:

- Token-wise work (LayerNorms, projections, MLP) runs on the **unpadded** tokens only: the batch is packed
  into ``(tokens, hidden)`` once, and scattered back into ``(batch, seq, heads, dim)`` only around
  ``scaled_dot_product_attention``.
- MLM logits are computed only at masked positions: on small models the vocabulary projection over every
  position is the largest single cost, and 85% of it would be thrown away.

Presets: the three sizes of the paper's Table 3, plus ``tiny`` and ``mini`` for CPU tests and demos.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any, NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

GATORTRON_VOCAB_SIZE = 50176
"""Vocabulary of the released GatorTron checkpoints (``UFNLP/gatortron-*`` config.json); the paper gives none."""


@dataclass(frozen=True)
class BertConfig:
    """Architecture hyper-parameters. ``vocab_size`` is the *padded* embedding size (see :func:`padded_vocab`)."""

    vocab_size: int
    hidden_size: int
    num_layers: int
    num_heads: int
    intermediate_size: int
    max_position_embeddings: int = 512
    type_vocab_size: int = 2
    hidden_dropout: float = 0.1
    attention_dropout: float = 0.1
    layer_norm_eps: float = 1e-5  # Megatron-LM's default
    initializer_range: float = 0.02
    pad_token_id: int = 0

    def __post_init__(self) -> None:
        if self.hidden_size % self.num_heads:
            raise ValueError(f"hidden_size {self.hidden_size} is not a multiple of num_heads {self.num_heads}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> BertConfig:
        names = {f.name for f in fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise ValueError(f"unknown BertConfig fields {sorted(unknown)}")
        return cls(**d)


PRESETS: dict[str, dict[str, int]] = {
    "tiny": {"hidden_size": 64, "num_layers": 2, "num_heads": 2, "intermediate_size": 256},
    "mini": {"hidden_size": 256, "num_layers": 4, "num_heads": 4, "intermediate_size": 1024},
    "gatortron-base": {"hidden_size": 1024, "num_layers": 24, "num_heads": 16, "intermediate_size": 4096},
    "gatortron-medium": {"hidden_size": 2560, "num_layers": 48, "num_heads": 40, "intermediate_size": 10240},
    "gatortron-large": {"hidden_size": 3584, "num_layers": 56, "num_heads": 56, "intermediate_size": 14336},
}
PAPER_PARAMETERS = {"gatortron-base": 345e6, "gatortron-medium": 3.9e9, "gatortron-large": 8.9e9}
"""Table 3 of the GatorTron paper."""


def padded_vocab(n_tokens: int, multiple: int = 128) -> int:
    """Megatron pads the embedding table to a multiple of 128 rows (faster GEMMs); extra rows are never targets."""
    return -(-n_tokens // multiple) * multiple


def preset(name: str, vocab_size: int, **overrides: Any) -> BertConfig:
    if name not in PRESETS:
        raise ValueError(f"unknown model preset {name!r}; presets: {', '.join(PRESETS)}")
    return BertConfig(vocab_size=vocab_size, **{**PRESETS[name], **overrides})


def count_parameters(cfg: BertConfig) -> int:
    """Trainable parameters, tied MLM decoder counted once (the same formula as summing a built model)."""
    h, v, f, n = cfg.hidden_size, cfg.vocab_size, cfg.intermediate_size, cfg.num_layers
    embeddings = (v + cfg.max_position_embeddings + cfg.type_vocab_size) * h
    block = 4 * (h * h + h) + (h * f + f) + (f * h + h) + 2 * 2 * h
    final_ln, pooler, sop = 2 * h, h * h + h, 2 * h + 2
    mlm = h * h + h + 2 * h + v  # transform dense, LayerNorm, output bias
    return embeddings + n * block + final_ln + pooler + sop + mlm


def flops_per_token(cfg: BertConfig, seq_len: int, mlm_fraction: float = 0.15) -> float:
    """Training FLOPs per token (forward + backward = 3x forward; multiply-add = 2 FLOPs).

    Dense layers: 2 x weights each; attention scores and weighted sum: 2 x 2 x seq x hidden per layer; MLM
    transform and vocabulary projection only at the masked share of tokens (this model's work, not a padded
    all-position head's).
    """
    h, f = cfg.hidden_size, cfg.intermediate_size
    per_layer = 2 * (4 * h * h + 2 * h * f) + 4 * seq_len * h
    head = mlm_fraction * 2 * (h * h + h * cfg.vocab_size)
    return 3.0 * (cfg.num_layers * per_layer + head)


class Padding(NamedTuple):
    """Where the real tokens are: ``indices`` into the flattened (batch*seq) grid, or None if there is no padding."""

    batch: int
    seq: int
    indices: torch.Tensor | None
    key_mask: torch.Tensor | None  # bool (batch, 1, 1, seq): True = attend
    first_rows: torch.Tensor  # (batch,) packed row of each sequence's first token ([CLS])

    @staticmethod
    def of(attention_mask: torch.Tensor) -> Padding:
        """Sequences are left-aligned: position 0 ([CLS]) is always a real token."""
        b, s = attention_mask.shape
        mask = attention_mask.bool()
        if bool(mask.all()):
            return Padding(b, s, None, None, torch.arange(b, device=mask.device) * s)
        lengths = mask.sum(1)
        first = torch.cumsum(lengths, 0) - lengths
        return Padding(b, s, mask.flatten().nonzero().squeeze(1), mask[:, None, None, :], first)

    @staticmethod
    def given(attention_mask: torch.Tensor, token_index: torch.Tensor | None, first_rows: torch.Tensor) -> Padding:
        """From indices the data loader computed on the host (:func:`model.samples.collate`): no device
        sync per micro-batch (``mask.all()`` and ``nonzero`` each wait for the GPU). ``token_index`` None
        means the batch has no padding (so attention may take FlashAttention's unmasked path)."""
        b, s = attention_mask.shape
        if token_index is None:
            return Padding(b, s, None, None, first_rows)
        return Padding(b, s, token_index, attention_mask.bool()[:, None, None, :], first_rows)

    def unpad(self, x: torch.Tensor) -> torch.Tensor:
        """(batch, seq, ...) -> (tokens, ...)."""
        flat = x.flatten(0, 1)
        return flat if self.indices is None else flat.index_select(0, self.indices)

    def pad(self, x: torch.Tensor) -> torch.Tensor:
        """(tokens, ...) -> (batch, seq, ...), zeros at padding."""
        if self.indices is not None:
            x = x.new_zeros((self.batch * self.seq, *x.shape[1:])).index_copy(0, self.indices, x)
        return x.view(self.batch, self.seq, *x.shape[1:])


class Embeddings(nn.Module):
    def __init__(self, cfg: BertConfig) -> None:
        super().__init__()
        self.word_embeddings = nn.Embedding(cfg.vocab_size, cfg.hidden_size, padding_idx=cfg.pad_token_id)
        self.position_embeddings = nn.Embedding(cfg.max_position_embeddings, cfg.hidden_size)
        self.token_type_embeddings = nn.Embedding(cfg.type_vocab_size, cfg.hidden_size)
        self.dropout = nn.Dropout(cfg.hidden_dropout)

    def forward(self, input_ids: torch.Tensor, token_type_ids: torch.Tensor) -> torch.Tensor:
        positions = torch.arange(input_ids.shape[1], device=input_ids.device)
        x = self.word_embeddings(input_ids) + self.token_type_embeddings(token_type_ids)
        return self.dropout(x + self.position_embeddings(positions))


class SelfAttention(nn.Module):
    def __init__(self, cfg: BertConfig) -> None:
        super().__init__()
        self.heads, self.head_dim = cfg.num_heads, cfg.hidden_size // cfg.num_heads
        self.query = nn.Linear(cfg.hidden_size, cfg.hidden_size)
        self.key = nn.Linear(cfg.hidden_size, cfg.hidden_size)
        self.value = nn.Linear(cfg.hidden_size, cfg.hidden_size)
        self.dropout = cfg.attention_dropout

    def forward(self, x: torch.Tensor, padding: Padding) -> torch.Tensor:
        """(tokens, hidden) -> (tokens, hidden); attention runs on the padded grid with a key mask."""
        qkv = padding.pad(torch.cat((self.query(x), self.key(x), self.value(x)), dim=-1))
        q, k, v = qkv.view(padding.batch, padding.seq, 3, self.heads, self.head_dim).permute(2, 0, 3, 1, 4)
        out = F.scaled_dot_product_attention(
            q, k, v, attn_mask=padding.key_mask, dropout_p=self.dropout if self.training else 0.0
        )
        return padding.unpad(out.transpose(1, 2).flatten(2))


class SelfOutput(nn.Module):
    def __init__(self, cfg: BertConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(cfg.hidden_size, cfg.hidden_size)
        self.dropout = nn.Dropout(cfg.hidden_dropout)

    def forward(self, x: torch.Tensor, residual: torch.Tensor) -> torch.Tensor:
        return residual + self.dropout(self.dense(x))


class Attention(nn.Module):
    def __init__(self, cfg: BertConfig) -> None:
        super().__init__()
        self.ln = nn.LayerNorm(cfg.hidden_size, eps=cfg.layer_norm_eps)
        self.self = SelfAttention(cfg)
        self.output = SelfOutput(cfg)

    def forward(self, x: torch.Tensor, padding: Padding) -> torch.Tensor:
        return self.output(self.self(self.ln(x), padding), x)


class Intermediate(nn.Module):
    def __init__(self, cfg: BertConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(cfg.hidden_size, cfg.intermediate_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.gelu(self.dense(x))


class Output(nn.Module):
    def __init__(self, cfg: BertConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(cfg.intermediate_size, cfg.hidden_size)
        self.dropout = nn.Dropout(cfg.hidden_dropout)

    def forward(self, x: torch.Tensor, residual: torch.Tensor) -> torch.Tensor:
        return residual + self.dropout(self.dense(x))


class Layer(nn.Module):
    def __init__(self, cfg: BertConfig) -> None:
        super().__init__()
        self.attention = Attention(cfg)
        self.ln = nn.LayerNorm(cfg.hidden_size, eps=cfg.layer_norm_eps)
        self.intermediate = Intermediate(cfg)
        self.output = Output(cfg)

    def forward(self, x: torch.Tensor, padding: Padding) -> torch.Tensor:
        x = self.attention(x, padding)
        return self.output(self.intermediate(self.ln(x)), x)


class Encoder(nn.Module):
    def __init__(self, cfg: BertConfig) -> None:
        super().__init__()
        self.layer = nn.ModuleList(Layer(cfg) for _ in range(cfg.num_layers))
        self.ln = nn.LayerNorm(cfg.hidden_size, eps=cfg.layer_norm_eps)

    def forward(self, x: torch.Tensor, padding: Padding) -> torch.Tensor:
        for layer in self.layer:
            x = layer(x, padding)
        return self.ln(x)


class Pooler(nn.Module):
    def __init__(self, cfg: BertConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(cfg.hidden_size, cfg.hidden_size)

    def forward(self, cls_states: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.dense(cls_states))


class BertModel(nn.Module):
    """The encoder. ``forward`` returns the final hidden states of the real tokens, packed, and the pooled [CLS]."""

    def __init__(self, cfg: BertConfig) -> None:
        super().__init__()
        self.embeddings = Embeddings(cfg)
        self.encoder = Encoder(cfg)
        self.pooler = Pooler(cfg)

    def forward(
        self, input_ids: torch.Tensor, token_type_ids: torch.Tensor, attention_mask: torch.Tensor,
        padding: Padding | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor, Padding]:  # fmt: skip
        padding = padding or Padding.of(attention_mask)
        x = padding.unpad(self.embeddings(input_ids, token_type_ids))
        hidden = self.encoder(x, padding)
        return hidden, self.pooler(hidden.index_select(0, padding.first_rows)), padding


class PredictionHeadTransform(nn.Module):
    def __init__(self, cfg: BertConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(cfg.hidden_size, cfg.hidden_size)
        self.LayerNorm = nn.LayerNorm(cfg.hidden_size, eps=cfg.layer_norm_eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.LayerNorm(F.gelu(self.dense(x)))


class LMPredictionHead(nn.Module):
    """MLM head; the decoder weight is the word-embedding matrix (passed in), only the bias is its own."""

    def __init__(self, cfg: BertConfig) -> None:
        super().__init__()
        self.transform = PredictionHeadTransform(cfg)
        self.bias = nn.Parameter(torch.zeros(cfg.vocab_size))

    def forward(self, x: torch.Tensor, decoder_weight: torch.Tensor) -> torch.Tensor:
        return F.linear(self.transform(x), decoder_weight, self.bias)


class PreTrainingHeads(nn.Module):
    def __init__(self, cfg: BertConfig) -> None:
        super().__init__()
        self.predictions = LMPredictionHead(cfg)
        self.seq_relationship = nn.Linear(cfg.hidden_size, 2)


class PretrainOutput(NamedTuple):
    mlm_logits: torch.Tensor  # (masked, vocab), or (batch, seq, vocab) when no positions were given
    sop_logits: torch.Tensor  # (batch, 2)
    loss: torch.Tensor | None = None
    mlm_loss: torch.Tensor | None = None
    sop_loss: torch.Tensor | None = None
    mlm_correct: torch.Tensor | None = None
    sop_correct: torch.Tensor | None = None


class BertForPretraining(nn.Module):
    """Encoder + MLM + SOP heads; state-dict names equal ``MegatronBertForPreTraining``'s (minus the tied decoder)."""

    def __init__(self, cfg: BertConfig) -> None:
        super().__init__()
        self.config = cfg
        self.bert = BertModel(cfg)
        self.cls = PreTrainingHeads(cfg)
        self.apply(self._init_weights)
        # Megatron's scaled init for the two projections that write into the residual stream
        out_std = cfg.initializer_range / math.sqrt(2.0 * cfg.num_layers)
        for layer in self.bert.encoder.layer:
            nn.init.normal_(layer.attention.output.dense.weight, std=out_std)
            nn.init.normal_(layer.output.dense.weight, std=out_std)

    def _init_weights(self, module: nn.Module) -> None:
        std = self.config.initializer_range
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, std=std)
            nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, std=std)
        elif isinstance(module, nn.LayerNorm):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)

    def forward(
        self,
        input_ids: torch.Tensor,
        token_type_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        mlm_positions: torch.Tensor | None = None,
        mlm_labels: torch.Tensor | None = None,
        sop_labels: torch.Tensor | None = None,
        token_index: torch.Tensor | None = None,
        first_rows: torch.Tensor | None = None,
        mlm_rows: torch.Tensor | None = None,
    ) -> PretrainOutput:
        """``mlm_positions`` index the flattened (batch*seq) grid; without them, logits for every position.

        ``token_index`` / ``first_rows`` / ``mlm_rows`` (optional, from :func:`model.samples.collate`) are the
        packing indices computed on the host; without them they are computed here, on the device.
        With labels, the loss is Megatron's: mean MLM cross-entropy over masked tokens + SOP cross-entropy.
        """
        padding = Padding.given(attention_mask, token_index, first_rows) if first_rows is not None else None
        hidden, pooled, padding = self.bert(input_ids, token_type_ids, attention_mask, padding)
        decoder = self.bert.embeddings.word_embeddings.weight
        if mlm_positions is None:
            mlm_logits = padding.pad(self.cls.predictions(hidden, decoder))
        else:
            if mlm_rows is not None:
                rows = mlm_rows
            elif padding.indices is None:
                rows = mlm_positions
            else:
                rows = _packed_rows(padding, mlm_positions)
            mlm_logits = self.cls.predictions(hidden.index_select(0, rows), decoder)
        sop_logits = self.cls.seq_relationship(pooled)
        if mlm_labels is None or sop_labels is None:
            return PretrainOutput(mlm_logits, sop_logits)
        mlm_loss = F.cross_entropy(mlm_logits.float().view(-1, mlm_logits.shape[-1]), mlm_labels.view(-1))
        sop_loss = F.cross_entropy(sop_logits.float(), sop_labels)
        with torch.no_grad():
            mlm_correct = (mlm_logits.argmax(-1).view(-1) == mlm_labels.view(-1)).sum()
            sop_correct = (sop_logits.argmax(-1) == sop_labels).sum()
        return PretrainOutput(mlm_logits, sop_logits, mlm_loss + sop_loss, mlm_loss, sop_loss, mlm_correct, sop_correct)


def _packed_rows(padding: Padding, grid_positions: torch.Tensor) -> torch.Tensor:
    """Map positions on the (batch*seq) grid to rows of the packed token tensor."""
    assert padding.indices is not None
    lookup = torch.full((padding.batch * padding.seq,), -1, dtype=torch.long, device=grid_positions.device)
    lookup[padding.indices] = torch.arange(len(padding.indices), device=grid_positions.device)
    rows = lookup[grid_positions]
    if bool((rows < 0).any()):
        raise ValueError("an MLM position points at padding")
    return rows


def build(cfg: BertConfig, device: torch.device | str | None = None) -> BertForPretraining:
    """Build on ``device`` (``"meta"`` builds the module tree without allocating any weights)."""
    with torch.device(device or "cpu"):
        return BertForPretraining(cfg)

