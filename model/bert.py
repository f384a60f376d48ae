"""The GatorTron encoder: BERT as Megatron-LM builds it, with the MLM and sentence-order heads.

Layout (it is the layout of ``transformers``' ``MegatronBertForPreTraining``, module for module and name for
name, except one fused ``attention.self.qkv`` projection where Megatron-BERT has ``query``/``key``/``value``;
export splits it, see :mod:`model.export`):

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
- One fused Q/K/V projection (a single GEMM of width 3 x hidden instead of three).
- Attention of a padded batch (``BertConfig.attention_impl``): ``varlen`` keeps the tokens packed and runs
  variable-length attention (``flash_attn_varlen_qkvpacked_func`` when the ``flash_attn`` package is
  installed and the inputs are CUDA bf16/fp16, otherwise SDPA on nested jagged tensors, which dispatches to
  the FlashAttention / memory-efficient varlen kernels on CUDA), as ModernBERT and MosaicBERT unpad. Any
  attention mask keeps SDPA off FlashAttention, so ``padded`` (scatter to the padded grid, key mask) runs
  the memory-efficient kernel over the whole padded grid on GPU. On CPU, nested-tensor SDPA has only the
  math kernel and splits the batch per sequence: slower than ``padded`` (``bench/pretrain.py``), so
  ``auto`` means varlen on CUDA, padded elsewhere. Both give the same outputs and gradients (tested).
  A batch without padding always takes the plain dense call (no mask: FlashAttention-eligible as it is).

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
ATTENTION_IMPLS = ("auto", "padded", "varlen")


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
    # BERT's 0.1, applied in training on every attention path. PyTorch's SDPA skips its cuDNN backend for
    # dropout that is not a multiple of 1/16 (0.1 is not); FlashAttention and memory-efficient attention
    # (fixed-length or varlen) accept any value.
    attention_dropout: float = 0.1
    layer_norm_eps: float = 1e-5  # Megatron-LM's default
    initializer_range: float = 0.02
    pad_token_id: int = 0
    attention_impl: str = "auto"
    """How a padded batch is attended: ``varlen`` (packed tokens, variable-length kernels), ``padded`` (padded
    grid + key mask), ``auto`` = varlen on CUDA, padded elsewhere. Same maths; a speed knob only."""

    def __post_init__(self) -> None:
        if self.hidden_size % self.num_heads:
            raise ValueError(f"hidden_size {self.hidden_size} is not a multiple of num_heads {self.num_heads}")
        if self.attention_impl not in ATTENTION_IMPLS:
            raise ValueError(f"attention_impl {self.attention_impl!r} is not one of {', '.join(ATTENTION_IMPLS)}")
        for name in ("hidden_dropout", "attention_dropout"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ValueError(f"{name} must be in [0, 1), got {getattr(self, name)}")

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
    offsets: torch.Tensor | None = None  # (batch + 1,) packed row where each sequence starts, then the token count

    @staticmethod
    def of(attention_mask: torch.Tensor) -> Padding:
        """Sequences are left-aligned: position 0 ([CLS]) is always a real token."""
        b, s = attention_mask.shape
        mask = attention_mask.bool()
        if bool(mask.all()):
            return Padding(b, s, None, None, torch.arange(b, device=mask.device) * s)
        lengths = mask.sum(1)
        first = torch.cumsum(lengths, 0) - lengths
        indices = mask.flatten().nonzero().squeeze(1)
        return Padding(b, s, indices, mask[:, None, None, :], first, _offsets(first, len(indices)))

    @staticmethod
    def given(attention_mask: torch.Tensor, token_index: torch.Tensor | None, first_rows: torch.Tensor) -> Padding:
        """From indices the data loader computed on the host (:func:`model.samples.collate`): no device
        sync per micro-batch (``mask.all()`` and ``nonzero`` each wait for the GPU). ``token_index`` None
        means the batch has no padding (so attention may take FlashAttention's unmasked path)."""
        b, s = attention_mask.shape
        if token_index is None:
            return Padding(b, s, None, None, first_rows)
        key_mask = attention_mask.bool()[:, None, None, :]
        return Padding(b, s, token_index, key_mask, first_rows, _offsets(first_rows, len(token_index)))

    def unpad(self, x: torch.Tensor) -> torch.Tensor:
        """(batch, seq, ...) -> (tokens, ...)."""
        flat = x.flatten(0, 1)
        return flat if self.indices is None else flat.index_select(0, self.indices)

    def pad(self, x: torch.Tensor) -> torch.Tensor:
        """(tokens, ...) -> (batch, seq, ...), zeros at padding."""
        if self.indices is not None:
            x = x.new_zeros((self.batch * self.seq, *x.shape[1:])).index_copy(0, self.indices, x)
        return x.view(self.batch, self.seq, *x.shape[1:])


def _offsets(first_rows: torch.Tensor, tokens: int) -> torch.Tensor:
    """Sequence boundaries of the packed batch (``cu_seqlens``); the total is known on the host: no sync."""
    return torch.cat((first_rows, first_rows.new_full((1,), tokens)))


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
    """Multi-head self-attention with one fused Q/K/V projection (``qkv``: rows are query, key, value).

    Older state dicts with separate ``query`` / ``key`` / ``value`` Linear layers still load: a pre-hook
    concatenates them (``model.load_state_dict`` of a pre-fusion ``state_dict()``).
    """

    def __init__(self, cfg: BertConfig) -> None:
        super().__init__()
        self.heads, self.head_dim = cfg.num_heads, cfg.hidden_size // cfg.num_heads
        self.qkv = nn.Linear(cfg.hidden_size, 3 * cfg.hidden_size)
        self.dropout = cfg.attention_dropout
        self.impl = cfg.attention_impl
        self.register_load_state_dict_pre_hook(_fuse_separate_qkv)

    def path(self, padding: Padding, x: torch.Tensor) -> str:
        """Which attention code runs for this batch: ``dense``, ``padded``, ``varlen-flash_attn``, ``varlen-sdpa``."""
        if padding.indices is None:
            return "dense"
        on_cuda = x.device.type == "cuda"
        impl = self.impl if self.impl != "auto" else ("varlen" if on_cuda else "padded")
        if impl == "padded":
            return "padded"
        half = x.dtype in (torch.float16, torch.bfloat16)
        return "varlen-flash_attn" if on_cuda and half and _flash_attn_varlen() is not None else "varlen-sdpa"

    def forward(self, x: torch.Tensor, padding: Padding) -> torch.Tensor:
        """(tokens, hidden) -> (tokens, hidden)."""
        qkv = self.qkv(x)
        p = self.dropout if self.training else 0.0
        path = self.path(padding, x)
        if path.startswith("varlen"):
            return varlen_attention(qkv, padding, self.heads, p, use_flash_attn=path == "varlen-flash_attn")
        # no padding: a plain (B, H, S, D) call without mask; padding: scattered onto the grid with a key mask
        grid = padding.pad(qkv)
        q, k, v = grid.view(padding.batch, padding.seq, 3, self.heads, self.head_dim).permute(2, 0, 3, 1, 4)
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=padding.key_mask, dropout_p=p)
        return padding.unpad(out.transpose(1, 2).flatten(2))


def varlen_attention(qkv: torch.Tensor, padding: Padding, heads: int, dropout_p: float,
                     use_flash_attn: bool = False) -> torch.Tensor:  # fmt: skip
    """Attention over the packed tokens of a padded batch: (tokens, 3*hidden) -> (tokens, hidden).

    Sequence boundaries come from ``padding.offsets``; ``padding.seq`` (the padded width, >= the longest
    sequence) is passed as the maximum length so that neither path asks the device for it (a host sync).
    """
    assert padding.offsets is not None, "varlen attention needs a padded batch's offsets"
    tokens, hidden = qkv.shape[0], qkv.shape[1] // 3
    if use_flash_attn:
        # flash-attn's packed-QKV varlen kernel (CUDA, bf16/fp16 only): (tokens, 3, heads, dim) and int32
        # cu_seqlens in, (tokens, heads, dim) out. UNTESTED: flash_attn is not installed where this was written.
        flash = _flash_attn_varlen()
        assert flash is not None, "flash_attn is not importable"
        out = flash(qkv.view(tokens, 3, heads, hidden // heads), padding.offsets.to(torch.int32), padding.seq,
                    dropout_p=dropout_p)  # fmt: skip
        return out.reshape(tokens, hidden)
    # nested jagged tensors: q, k, v as (batch, heads, {seq}, dim). The math fallback (the only CPU kernel)
    # needs contiguous (tokens, heads, dim) buffers, so the three are split off the fused projection once.
    q, k, v = qkv.view(tokens, 3, heads, hidden // heads).transpose(0, 1).contiguous().unbind(0)

    def nested(t: torch.Tensor) -> torch.Tensor:
        # min_seqlen 1 ([CLS]) and max_seqlen = the padded width: known bounds, so SDPA's kernel checks
        # never compute them on the device
        return torch.nested.nested_tensor_from_jagged(
            t, padding.offsets, min_seqlen=1, max_seqlen=padding.seq
        ).transpose(1, 2)

    out = F.scaled_dot_product_attention(nested(q), nested(k), nested(v), dropout_p=dropout_p)
    return out.transpose(1, 2).values().reshape(tokens, hidden)


_FLASH_ATTN: list = []


def _flash_attn_varlen():
    """``flash_attn.flash_attn_varlen_qkvpacked_func`` if the package imports, else None (looked up once)."""
    if not _FLASH_ATTN:
        try:
            from flash_attn import flash_attn_varlen_qkvpacked_func  # type: ignore[import-not-found]
        except Exception:  # not installed, or built for another torch/CUDA: fall back to nested-tensor SDPA
            flash_attn_varlen_qkvpacked_func = None
        _FLASH_ATTN.append(flash_attn_varlen_qkvpacked_func)
    return _FLASH_ATTN[0]


def _fuse_separate_qkv(module: nn.Module, state_dict: dict, prefix: str, *args: Any) -> None:
    """Load-time upgrade of a pre-fusion state dict: ``query``/``key``/``value`` -> ``qkv`` (rows in that order)."""
    for kind in ("weight", "bias"):
        parts = [prefix + f"{name}.{kind}" for name in ("query", "key", "value")]
        if prefix + f"qkv.{kind}" not in state_dict and all(k in state_dict for k in parts):
            state_dict[prefix + f"qkv.{kind}"] = torch.cat([state_dict.pop(k) for k in parts], dim=0)


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
    """Encoder + MLM + SOP heads; state-dict names equal ``MegatronBertForPreTraining``'s (minus the tied decoder,
    with one fused ``attention.self.qkv`` where it has ``query``/``key``/``value``)."""

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

