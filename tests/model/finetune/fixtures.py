"""A tiny randomly initialised BERT for the fine-tuning tests (the data sets are ``model.finetune.synthetic``)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from model.finetune.synthetic import FILLER, FIXTURE


@contextmanager
def one_torch_thread() -> Iterator[None]:
    """Tiny models run fastest on one thread, and a shared 2-core machine makes 2 threads spin."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def tiny_checkpoint(root: Path, hidden: int = 64, layers: int = 2, seed: int = 0) -> Path:
    """A randomly initialised BERT (``hidden`` wide, ``layers`` deep) with a WordPiece vocabulary of the
    fixtures' words, saved like any Hugging Face checkpoint. The entity markers are *not* in it, so the
    relation task exercises adding them."""
    import torch
    from transformers import BertConfig, BertModel, BertTokenizer

    words = {w for s in FIXTURE.drugs + FIXTURE.problems + tuple(FILLER) for w in s.split()}
    words.update((
        "patient was started on for was treated with history of and continue developed after starting given "
        "noted , continued reports complains denies refilled today admitted with has does not have a family "
        "the takes daily what medication why ? . 0 1 2 3 4 5 6 7 8 9"
    ).split())
    letters = "abcdefghijklmnopqrstuvwxyz"
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *sorted(words), *letters, *(f"##{c}" for c in letters)]
    root.mkdir(parents=True, exist_ok=True)
    (root / "vocab.txt").write_text("\n".join(dict.fromkeys(vocab)) + "\n")
    tokenizer = BertTokenizer(str(root / "vocab.txt"), do_lower_case=True)
    tokenizer.save_pretrained(root)
    torch.manual_seed(seed)
    config = BertConfig(vocab_size=len(tokenizer), hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=2,
                        intermediate_size=hidden * 4, max_position_embeddings=128)
    BertModel(config).save_pretrained(root)
    return root
