"""BERT-style BPE vocabulary trained from scratch on the de-identified sentences.

Like GatorTron, the vocabulary is learnt from the clinical corpus itself rather than borrowed, so that drug
names, units and abbreviations become whole tokens. The model is BPE with WordPiece-style ``##``
continuation pieces and BERT's normaliser and pre-tokeniser (the ``tokenizers`` combination that
``transformers`` recognises as a BERT fast tokenizer),
so Hugging Face ``transformers`` loads the result as a ``PreTrainedTokenizerFast`` with no custom code.

Fixed ids, because the model code and fine-tuning rely on them: ``[PAD]=0 [UNK]=1 [CLS]=2 [SEP]=3
[MASK]=4``, then every PHI tag of :data:`pipeline.deid.tags.ALL_TAGS`, then the relation markers
``[S1] [E1] [S2] [E2]``. All are special tokens, so each is always exactly one token, and they are cut out
of the training text so that no merge is spent on the pieces of ``[**NAME**]``.

**Determinism.** ``tokenizers`` 0.23.3 trains a different vocabulary on every run when
``continuing_subword_prefix`` is set, whatever the thread count (RAYON_NUM_THREADS=1 does not help;
huggingface/tokenizers#1794, fix pending in PR #2066): the ``##`` pieces get ids in hash-map order, and
those ids break ties between equally frequent pairs. We therefore train on *encoded* words in which every
(character, is-first-in-word) pair is a distinct private-use character, numbered in order of first
appearance in the corpus. The trainer's alphabet is sorted, so every id and tie-break is fixed; then the
vocabulary and merges are decoded back (a piece starting with a non-initial character gets ``##``). That is
the same BPE algorithm and result shape, with deterministic tie-breaking.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow.parquet as pq
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

from pipeline.config import VocabParams
from pipeline.core.dataset import Dataset, Progress, StageResult
from pipeline.deid.tags import ALL_TAGS

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerFast

PART = "tokenizer.json"
PAD, UNK, CLS, SEP, MASK = "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"
BASE_SPECIALS = [PAD, UNK, CLS, SEP, MASK]
RELATION_MARKERS = ["[S1]", "[E1]", "[S2]", "[E2]"]
SPECIAL_TOKENS: list[str] = BASE_SPECIALS + list(ALL_TAGS) + RELATION_MARKERS
"""Every special token, in id order: ``SPECIAL_TOKENS[i]`` has id ``i``."""
PREFIX = "##"
BATCH_ROWS = 10_000

_SPECIAL_RE = re.compile("|".join(re.escape(t) for t in sorted(SPECIAL_TOKENS, key=len, reverse=True)))
_CODE_POINTS = [*range(0xF0000, 0xFFFFE), *range(0x100000, 0x10FFFE)]  # private-use planes 15 and 16


def _normalizer(params: VocabParams) -> normalizers.Normalizer:
    # strip_accents=False: the ``lowercase`` flag then changes case only (BERT ties accent stripping to it)
    return normalizers.BertNormalizer(
        clean_text=True, handle_chinese_chars=True, strip_accents=False, lowercase=params.lowercase
    )


class _WordEncoder:
    """Maps each (character, first-in-word?) pair to its own private-use character, in first-seen order."""

    def __init__(self) -> None:
        self.codes: dict[tuple[str, bool], str] = {}
        self.decode: dict[str, tuple[str, bool]] = {}
        self._words: dict[str, str] = {}

    def _code(self, char: str, first: bool) -> str:
        key = (char, first)
        code = self.codes.get(key)
        if code is None:
            if len(self.codes) >= len(_CODE_POINTS):
                raise ValueError(f"more than {len(_CODE_POINTS)} distinct characters; cannot train the vocabulary")
            code = chr(_CODE_POINTS[len(self.codes)])
            self.codes[key] = code
            self.decode[code] = key
        return code

    def word(self, word: str) -> str:
        encoded = self._words.get(word)
        if encoded is None:
            encoded = self._code(word[0], True) + "".join(self._code(c, False) for c in word[1:])
            self._words[word] = encoded
        return encoded

    def all_initials(self) -> str:
        """Every character seen, as a one-character word: BERT's trainer puts each in the base alphabet."""
        chars = sorted({c for c, _ in self.codes})
        return " ".join(self._code(c, True) for c in chars)

    def token(self, encoded: str) -> str:
        if encoded in SPECIAL_TOKENS:
            return encoded
        chars = [self.decode[c] for c in encoded]
        text = "".join(c for c, _ in chars)
        return text if chars[0][1] else PREFIX + text


def _encoded_corpus(path: Path, params: VocabParams, enc: _WordEncoder, progress: Progress | None) -> Iterator[str]:
    """Sentences as space-separated encoded words: special tokens cut out, BERT-normalised, pre-tokenised.

    Special tokens are matched on the raw text when encoding, so cutting them out before normalising
    reproduces exactly the words the finished tokenizer will feed its BPE model.
    """
    normalizer, pre_tokenizer = _normalizer(params), pre_tokenizers.BertPreTokenizer()
    pf = pq.ParquetFile(path)
    total, done = pf.metadata.num_rows, 0
    for batch in pf.iter_batches(batch_size=BATCH_ROWS, columns=["text"]):
        for text in batch.column("text").to_pylist():
            words = pre_tokenizer.pre_tokenize_str(normalizer.normalize_str(_SPECIAL_RE.sub(" ", text)))
            yield " ".join([enc.word(w) for w, _ in words])
        done += batch.num_rows
        if progress is not None:
            progress(done, total)
    yield enc.all_initials()


def _assemble(vocab: dict[str, int], merges: list[tuple[str, str]], params: VocabParams) -> Tokenizer:
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, unk_token=UNK, continuing_subword_prefix=PREFIX))
    tok.normalizer = _normalizer(params)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece(prefix=PREFIX)
    tok.add_special_tokens(SPECIAL_TOKENS)
    tok.post_processor = processors.TemplateProcessing(
        single=f"{CLS} $A {SEP}",
        pair=f"{CLS} $A {SEP} $B:1 {SEP}:1",
        special_tokens=[(CLS, vocab[CLS]), (SEP, vocab[SEP])],
    )
    return tok


def train(path: Path, params: VocabParams, progress: Progress | None = None) -> Tokenizer:
    """Train the tokenizer on the ``text`` column of a sentences Parquet file."""
    enc = _WordEncoder()
    raw = Tokenizer(models.BPE(unk_token=UNK))
    raw.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    trainer = trainers.BpeTrainer(
        vocab_size=params.vocab_size,
        min_frequency=params.min_frequency,
        special_tokens=SPECIAL_TOKENS,
        show_progress=False,
    )
    raw.train_from_iterator(_encoded_corpus(path, params, enc, progress), trainer=trainer)
    model = json.loads(raw.to_str())["model"]
    vocab = {enc.token(t): i for t, i in model["vocab"].items()}
    assert len(vocab) == len(model["vocab"]), "two trained tokens decoded to the same string"
    merges = [(enc.token(a), enc.token(b)) for a, b in model["merges"]]
    return _assemble(vocab, merges, params)


def load_tokenizer(path: Path) -> Tokenizer:
    return Tokenizer.from_file(str(path))


def to_transformers(path: Path, model_max_length: int | None = None) -> "PreTrainedTokenizerFast":
    """The tokenizer as a ``transformers`` fast tokenizer (transformers is an optional dependency)."""
    from transformers import PreTrainedTokenizerFast

    kwargs = {"model_max_length": model_max_length} if model_max_length is not None else {}
    return PreTrainedTokenizerFast(
        tokenizer_file=str(path),
        unk_token=UNK,
        pad_token=PAD,
        cls_token=CLS,
        sep_token=SEP,
        mask_token=MASK,
        **kwargs,
    )


def run(
    inputs: Mapping[str, Dataset], out: Path, params: VocabParams, progress: Progress | None = None, workers: int = 1
) -> StageResult:
    """Train on ``inputs["sentences"]`` and write ``out/tokenizer.json``.

    ``workers`` is unused: training is one pass of Python pre-tokenisation feeding the Rust trainer.
    """
    src = inputs["sentences"].part("sentences.parquet")
    n = pq.ParquetFile(src).metadata.num_rows
    tok = train(src, params, progress)
    tok.save(str(out / PART))
    return StageResult(
        rows_in=n,
        rows_out=n,
        counts={"vocab_size": tok.get_vocab_size(), "special_tokens": len(SPECIAL_TOKENS), "merges": _merges(tok)},
    )


def _merges(tok: Tokenizer) -> int:
    return len(json.loads(tok.to_str())["model"]["merges"])
