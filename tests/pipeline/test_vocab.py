import json
import subprocess
import sys

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline import vocab
from pipeline.config import VocabParams
from pipeline.core.dataset import Dataset
from pipeline.deid.tags import ALL_TAGS

_WORDS = (
    "patient denies chest pain shortness of breath metoprolol lisinopril atorvastatin furosemide daily "
    "bilateral crackles edema hypertension diabetes mellitus insulin glucose creatinine potassium café"
).split()


def _sentences(n: int = 600) -> list[str]:
    """Deterministic pseudo-clinical sentences with PHI tags, abbreviations and numbers."""
    out = []
    for i in range(n):
        words = [_WORDS[(i * 7 + k * 3) % len(_WORDS)] for k in range(4 + i % 9)]
        tag = ALL_TAGS[i % len(ALL_TAGS)]
        out.append(f"Seen by Dr. {tag} on {ALL_TAGS[2]}: {' '.join(words)} {i % 50} mg p.o. b.i.d.")
    return out


def _input(tmp_path, texts):
    path = tmp_path / "sentences"
    path.mkdir()
    table = pa.table({"note_id": ["n"] * len(texts), "doc_index": pa.array([0] * len(texts), pa.int32()),
                      "sent_index": pa.array(range(len(texts)), pa.int32()), "text": texts})  # fmt: skip
    pq.write_table(table, path / "sentences.parquet")
    return {"sentences": Dataset("sentences", "x", path)}


def _train(tmp_path, name="out", params=VocabParams(vocab_size=400)):
    inputs = _input(tmp_path, _sentences()) if not (tmp_path / "sentences").exists() else {
        "sentences": Dataset("sentences", "x", tmp_path / "sentences")}  # fmt: skip
    out = tmp_path / name
    out.mkdir()
    result = vocab.run(inputs, out, params)
    return out / vocab.PART, result


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    return _train(tmp_path_factory.mktemp("vocab"))


def test_special_ids_are_fixed(trained):
    path, _ = trained
    tok = vocab.load_tokenizer(path)
    for i, token in enumerate(vocab.SPECIAL_TOKENS):
        assert tok.token_to_id(token) == i
    assert vocab.SPECIAL_TOKENS[:5] == ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    assert vocab.SPECIAL_TOKENS[5 : 5 + len(ALL_TAGS)] == ALL_TAGS
    assert vocab.SPECIAL_TOKENS[-4:] == ["[S1]", "[E1]", "[S2]", "[E2]"]
    added = {t["content"]: t for t in json.loads(path.read_text())["added_tokens"]}
    assert all(added[t]["special"] and added[t]["id"] == i for i, t in enumerate(vocab.SPECIAL_TOKENS))


def test_every_tag_is_one_token_everywhere(trained):
    tok = vocab.load_tokenizer(trained[0])
    for i, tag in enumerate(vocab.SPECIAL_TOKENS[5:]):
        tid = tok.token_to_id(tag)
        for text in (tag, f"x{tag}y", f"Dr. {tag}.", f"({tag}),{tag}"):
            enc = tok.encode(text, add_special_tokens=False)
            assert enc.tokens.count(tag) == text.count(tag) and enc.ids.count(tid) == text.count(tag), text
    # no merge was spent on the inside of a tag: they were cut out of the training text
    vocab_tokens = set(tok.get_vocab())
    assert "NAME" not in vocab_tokens and "**" not in vocab_tokens


def test_template_adds_cls_and_sep(trained):
    tok = vocab.load_tokenizer(trained[0])
    assert tok.encode("chest pain").ids[0] == 2 and tok.encode("chest pain").ids[-1] == 3
    pair = tok.encode("chest pain", "edema")
    assert pair.ids.count(3) == 2 and pair.type_ids[-1] == 1 and pair.type_ids[0] == 0


def test_vocab_size_is_respected_and_reported(trained, tmp_path):
    path, result = trained
    tok = vocab.load_tokenizer(path)
    assert tok.get_vocab_size() == result.counts["vocab_size"] <= 400
    assert result.rows_in == result.rows_out == len(_sentences())
    small, _ = _train(tmp_path, "small", VocabParams(vocab_size=200))
    assert vocab.load_tokenizer(small).get_vocab_size() <= 200 < tok.get_vocab_size()


def test_lowercase_option(tmp_path):
    path, _ = _train(tmp_path, "lower", VocabParams(vocab_size=300, lowercase=True))
    tok = vocab.load_tokenizer(path)
    ids = [tok.encode(t, add_special_tokens=False).ids for t in ("CHEST Pain", "chest pain")]
    assert ids[0] == ids[1]
    assert tok.encode("[**NAME**]", add_special_tokens=False).ids == [5]  # tags still match, not lowercased


def test_training_is_deterministic_across_processes(trained, tmp_path):
    """Same input, fresh interpreter (new hash seeds) => byte-identical tokenizer.json (tokenizers#1794)."""
    path, _ = trained
    out = tmp_path / "again"
    out.mkdir()
    src = path.parent.parent / "sentences"
    code = (
        "import sys; from pathlib import Path; from pipeline import vocab; from pipeline.config import VocabParams;"
        "from pipeline.core.dataset import Dataset;"
        "vocab.run({'sentences': Dataset('sentences', 'x', Path(sys.argv[1]))}, Path(sys.argv[2]),"
        " VocabParams(vocab_size=400))"
    )
    subprocess.run([sys.executable, "-c", code, str(src), str(out)], check=True)
    assert (out / vocab.PART).read_bytes() == path.read_bytes()


def test_transformers_fast_tokenizer_gives_identical_ids(trained):
    import transformers  # noqa: F401  (a test dependency: must be installed)
    path, _ = trained
    ours = vocab.load_tokenizer(path)
    hf = vocab.to_transformers(path, model_max_length=512)
    note = "Seen by Dr. [**NAME**] on [**DATE**], age [**AGE>89**]. [S1]Metoprolol[E1] 25 mg p.o. b.i.d. café ü"
    assert hf(note)["input_ids"] == ours.encode(note).ids
    assert hf(note, "Call [**PHONE**].")["input_ids"] == ours.encode(note, "Call [**PHONE**].").ids
    assert (hf.pad_token_id, hf.unk_token_id, hf.cls_token_id, hf.sep_token_id, hf.mask_token_id) == (0, 1, 2, 3, 4)
    assert hf.model_max_length == 512
