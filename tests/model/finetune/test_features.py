"""Featurisation (label alignment, long-sentence windows, entity markers), QA windows and answer decoding,
the trainer's optimiser set-up, gradient accumulation and early stopping, and the paper table."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from model.finetune import features, qa, trainer
from model.finetune.checkpoint import load_encoder, load_tokenizer
from model.finetune.heads import TaskModel
from model.finetune.paper import comparison
from model.finetune.params import FinetuneParams
from model.finetune.readers import NerSentence, PairExample, QaExample, RelationExample
from tests.model.finetune.fixtures import one_torch_thread, tiny_checkpoint


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory) -> Path:
    return tiny_checkpoint(tmp_path_factory.mktemp("tiny"))


@pytest.fixture
def tok(ckpt: Path):
    return load_tokenizer(ckpt)


@pytest.fixture(autouse=True)
def one_thread():
    with one_torch_thread():
        yield


# --- NER -----------------------------------------------------------------------------------------------


def test_ner_labels_on_first_sub_token_only(tok) -> None:
    sent = NerSentence(("patient", "takesxyz", "aspirin"), ("O", "B-Drug", "I-Drug"))
    (feat,) = features.ner_features([sent], tok, {"O": 0, "B-Drug": 1, "I-Drug": 2}, max_length=32)
    tokens = tok.convert_ids_to_tokens(feat["input_ids"])
    assert tokens[0] == "[CLS]" and tokens[-1] == "[SEP]"
    # 'takesxyz' -> 'takes', '##x', '##y', '##z': only 'takes' carries its label
    assert tokens[1:7] == ["patient", "takes", "##x", "##y", "##z", "aspirin"]
    assert feat["labels"] == [-100, 0, 1, -100, -100, -100, 2, -100]
    assert feat["first_tokens"] == [(1, 0), (2, 1), (6, 2)]


def test_case_types_mark_the_sub_tokens_of_capitalized_words(tok) -> None:
    sent = NerSentence(("called", "Takesxyz", "AT", "noon"), ("O", "B-NAME", "O", "O"))
    (plain,) = features.ner_features([sent], tok, {"O": 0, "B-NAME": 1}, max_length=32)
    (cased,) = features.ner_features([sent], tok, {"O": 0, "B-NAME": 1}, max_length=32, case_types=True)
    assert plain["input_ids"] == cased["input_ids"] and plain["labels"] == cased["labels"]
    assert set(plain["token_type_ids"]) == {0}
    starts = [pos for pos, _ in cased["first_tokens"]] + [len(cased["input_ids"]) - 1]  # [SEP] last
    want = [0] * len(cased["input_ids"])  # [CLS] and [SEP] stay 0
    for w, capitalized in enumerate([False, True, True, False]):
        want[starts[w] : starts[w + 1]] = [int(capitalized)] * (starts[w + 1] - starts[w])
    assert cased["token_type_ids"] == want and sum(want) >= 2


def test_long_sentence_is_cut_between_words_and_fully_predicted(tok) -> None:
    words = tuple("the patient takes aspirin daily".split() * 6)
    tags = tuple("O O O B-Drug O".split() * 6)
    feats = features.ner_features([NerSentence(words, tags)], tok, {"O": 0, "B-Drug": 1}, max_length=8)
    assert len(feats) == 5 and all(len(f["input_ids"]) <= 8 for f in feats)
    covered = [w for f in feats for _, w in f["first_tokens"]]
    assert covered == list(range(len(words)))
    # decoding puts each window's predictions back on the right words
    logits = []
    for f in feats:
        lg = torch.zeros(len(f["input_ids"]), 2)
        for pos, w in f["first_tokens"]:
            lg[pos, int(tags[w] == "B-Drug")] = 1.0
        logits.append(lg)
    assert features.ner_decode([NerSentence(words, tags)], feats, logits, ["O", "B-Drug"]) == [list(tags)]


# --- relation markers and pairs ------------------------------------------------------------------------


def test_markers_are_added_once_and_found(ckpt: Path) -> None:
    tok = load_tokenizer(ckpt)
    assert features.ensure_markers(tok) == 4
    assert features.ensure_markers(tok) == 0
    ex = RelationExample("rash after aspirin", (0, 4), "rash after aspirin", (11, 18), "ADE")
    (feat,), truncated = features.relation_features([ex], tok, {"NONE": 0, "ADE": 1}, max_length=64)
    tokens = tok.convert_ids_to_tokens(feat["input_ids"])
    assert [tokens[p] for p in feat["markers"]] == ["[CLS]", "[S1]", "[E1]", "[S2]", "[E2]"]
    assert tokens[feat["markers"][1] + 1] == "rash" and tokens[feat["markers"][3] + 1] == "aspirin"
    assert feat["label"] == 1 and truncated == 0
    (_,), truncated = features.relation_features([ex], tok, {"ADE": 1}, max_length=10)
    assert truncated == 1


def test_pair_features_segments(tok) -> None:
    (f,) = features.pair_features([PairExample("patient has cough", "not cough", 2.5)], tok, 32, None)
    assert f["label"] == 2.5
    assert f["token_type_ids"] == [0] * 5 + [1] * 3  # [CLS] a a a [SEP] | b b [SEP]


# --- QA ------------------------------------------------------------------------------------------------


def test_qa_windows_overlap_and_answer_positions(tok) -> None:
    words = [["aspirin", "daily", "the", "patient", "takes"][i % 5] for i in range(30)]
    words[20] = "heparin"
    context = " ".join(words)
    start = context.index("heparin")
    ex = QaExample("q1", "what medication ?", context, (("heparin", start),))
    feats = qa.qa_features([ex], tok, qa.QaLimits(max_question_tokens=2, window_tokens=10, stride_tokens=6, max_answer_tokens=4, max_seq_length=64))
    assert [len(f["offsets"]) for f in feats] == [10, 10, 10, 10, 6]  # windows at 0, 6, 12, 18, 24
    first = feats[0]["context_start"]
    assert first == 4  # [CLS] + 2 question tokens (truncated) + [SEP]
    # token 20 is in the windows starting at 12 and 18; elsewhere the target is [CLS]
    assert [(f["start"], f["end"]) for f in feats] == [(0, 0), (0, 0), (first + 8, first + 8), (first + 2, first + 2), (0, 0)]
    # a window is cut to fit max_seq_length
    short = qa.qa_features([ex], tok, qa.QaLimits(2, 10, 6, 4, max_seq_length=12))
    assert max(len(f["input_ids"]) for f in short) == 12


def test_qa_decode_best_span_length_limit_and_no_answer(tok) -> None:
    context = "the patient takes aspirin daily"
    ex = QaExample("q", "what ?", context, ())
    (feat,) = qa.qa_features([ex], tok, qa.QaLimits(4, 32, 16, 2, 64))
    c0 = feat["context_start"]
    lg = torch.zeros(len(feat["input_ids"]), 2)
    lg[c0 + 2, 0] = 5.0  # start at 'takes'
    lg[c0 + 4, 1] = 6.0  # end at 'daily': 3 tokens, over the limit of 2
    lg[c0 + 3, 1] = 4.0  # end at 'aspirin'
    assert qa.qa_decode([ex], [feat], [lg], max_answer_tokens=2, allow_empty=False) == ["takes aspirin"]
    assert qa.qa_decode([ex], [feat], [lg], max_answer_tokens=3, allow_empty=False) == ["takes aspirin daily"]
    lg[0] = 6.0  # [CLS] start + end = 12 > best span 9
    assert qa.qa_decode([ex], [feat], [lg], max_answer_tokens=2, allow_empty=True) == [""]
    assert qa.qa_decode([ex], [feat], [lg], max_answer_tokens=2, allow_empty=False) == ["takes aspirin"]


# --- trainer -------------------------------------------------------------------------------------------


def test_layer_wise_lr_decay_groups(ckpt: Path) -> None:
    model = TaskModel(load_encoder(ckpt), "cls", 3, 0.1)
    params = FinetuneParams(learning_rate=1.0, layer_lr_decay=0.5, weight_decay=0.01)
    lr_of = {}
    for g in trainer.param_groups(model, params):
        for p in g["params"]:
            lr_of[id(p)] = (g["lr"], g["weight_decay"])
    named = dict(model.named_parameters())
    # 2 layers: head 1, layer 1 (top) 0.5, layer 0 0.25, embeddings 0.125
    assert lr_of[id(named["head.out.weight"])] == (1.0, 0.01)
    assert lr_of[id(named["encoder.encoder.layer.1.attention.self.query.weight"])] == (0.5, 0.01)
    assert lr_of[id(named["encoder.encoder.layer.0.output.dense.weight"])] == (0.25, 0.01)
    assert lr_of[id(named["encoder.embeddings.word_embeddings.weight"])] == (0.125, 0.01)
    assert lr_of[id(named["encoder.encoder.layer.0.output.LayerNorm.weight"])] == (0.25, 0.0)
    assert lr_of[id(named["head.out.bias"])] == (1.0, 0.0)
    off = trainer.param_groups(model, FinetuneParams(learning_rate=1.0))
    assert {g["lr"] for g in off} == {1.0}


def test_schedule_warmup_then_decay() -> None:
    f = trainer.lr_lambda(total_steps=10, warmup_steps=2, schedule="linear")
    assert [round(f(s), 3) for s in (0, 1, 2, 6, 10)] == [0.0, 0.5, 1.0, 0.5, 0.0]
    c = trainer.lr_lambda(total_steps=10, warmup_steps=0, schedule="cosine")
    assert c(0) == 1.0 and c(5) == pytest.approx(0.5) and c(10) == pytest.approx(0.0)


def test_precision_choice_on_cpu() -> None:
    cpu = torch.device("cpu")
    assert trainer.autocast_dtype("auto", cpu) is None
    assert trainer.autocast_dtype("bf16", cpu) == torch.bfloat16
    with pytest.raises(ValueError, match="fp16 needs a GPU"):
        trainer.autocast_dtype("fp16", cpu)


def _nli_features(tok, n: int) -> list[dict]:
    ex = [PairExample("the patient has cough", ["not cough", "cough today", "a family history of rash"][i % 3], ["a", "b", "c"][i % 3]) for i in range(n)]
    return features.pair_features(ex, tok, 32, {"a": 0, "b": 1, "c": 2})


def _trained(ckpt: Path, tok, **kw) -> dict[str, torch.Tensor]:
    trainer.set_seed(0)
    model = TaskModel(load_encoder(ckpt), "cls", 3, dropout=0.0)
    model.encoder.config.hidden_dropout_prob = 0.0
    for m in model.modules():
        if isinstance(m, torch.nn.Dropout):
            m.p = 0.0
    params = FinetuneParams(epochs=1, warmup_ratio=0.0, max_grad_norm=0.0, learning_rate=1e-2, **kw)
    trainer.train(model, _nli_features(tok, 8), lambda m: {"accuracy": 0.0}, "accuracy", params, tok.pad_token_id)
    return {k: v.clone() for k, v in model.state_dict().items()}


def test_gradient_accumulation_equals_the_large_batch(ckpt: Path, tok) -> None:
    big = _trained(ckpt, tok, batch_size=8, grad_accum_steps=1)
    accumulated = _trained(ckpt, tok, batch_size=4, grad_accum_steps=2)
    small = _trained(ckpt, tok, batch_size=4, grad_accum_steps=1)
    key = "head.out.weight"
    assert torch.allclose(big[key], accumulated[key], atol=1e-6)
    assert not torch.allclose(big[key], small[key], atol=1e-4)  # two steps of 4 really differ


def test_best_epoch_is_restored_and_early_stopping(ckpt: Path, tok) -> None:
    trainer.set_seed(0)
    model = TaskModel(load_encoder(ckpt), "cls", 3, dropout=0.1)
    scores = iter([0.5, 0.7, 0.6, 0.4, 0.9])
    snapshots = []

    def evaluate(m):
        snapshots.append(m.head.out.weight.detach().clone())
        return {"accuracy": next(scores)}

    params = FinetuneParams(epochs=5, batch_size=4, learning_rate=1e-2, early_stopping_patience=2)
    result = trainer.train(model, _nli_features(tok, 8), evaluate, "accuracy", params, tok.pad_token_id)
    assert result.best_epoch == 2 and result.stopped_early and len(result.history) == 4
    assert torch.equal(model.head.out.weight, snapshots[1])
    assert not torch.equal(model.head.out.weight, snapshots[3])


# --- the paper's table ---------------------------------------------------------------------------------


def test_comparison_rows_with_paper_numbers() -> None:
    rows = comparison("nli", {"accuracy": 0.91234}, {"accuracy": 0.33}, "mednli")
    assert rows[0] == {"model": "this run", "accuracy": 0.9123}
    assert rows[1] == {"model": "trivial baseline", "accuracy": 0.33}
    assert {"model": "GatorTron-large (paper, mednli)", "accuracy": 0.9020} in rows
    ner = comparison("ner", {"precision": 1, "recall": 1, "f1": 1}, {"precision": 0, "recall": 0, "f1": 0}, "i2b2-2010")
    assert {"model": "ClinicalBERT (paper, i2b2-2010)", "precision": None, "recall": None, "f1": 0.8780} in ner
    with pytest.raises(ValueError, match="not qa"):
        comparison("qa", {"f1": 1, "exact_match": 1}, {"f1": 0, "exact_match": 0}, "mednli")


def test_example_config_lists_the_defaults() -> None:
    path = Path(__file__).resolve().parents[3] / "configs" / "finetune.yaml"
    import yaml

    assert set(yaml.safe_load(path.read_text())) == set(FinetuneParams.model_fields)
    assert FinetuneParams.from_yaml(path) == FinetuneParams()
    assert FinetuneParams.from_yaml(path, epochs=5).epochs == 5
