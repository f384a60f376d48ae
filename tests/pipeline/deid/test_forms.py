"""Hand-written PHI forms (>= 10 per category, hard cases included) are found; clinical traps stay; the
prefilter changes nothing; tags survive the vocab tokenizer as single tokens."""

from __future__ import annotations

import re

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.config import VocabParams
from pipeline.deid.stage import build_analyzer, find_phi, replace_phi
from pipeline.deid.recognizers import PhiRecognizer
from pipeline.deid.tags import ALL_TAGS, TAGS
from pipeline.synth.generator import generate
from tests.pipeline.deid.forms import FORMS, TRAPS

_MARK = re.compile(r"«(.*?)»")


def _parse(marked: str) -> tuple[str, list[tuple[int, int]]]:
    """Text without the «» marks, and the marked spans' offsets."""
    text, spans, pos = "", [], 0
    for m in _MARK.finditer(marked):
        text += marked[pos : m.start()]
        spans.append((len(text), len(text) + len(m.group(1))))
        text += m.group(1)
        pos = m.end()
    return text + marked[pos:], spans


CASES = [(cat, form) for cat, forms in FORMS.items() for form in forms]


@pytest.fixture(scope="module")
def analyzer():
    return build_analyzer()


def test_every_category_has_ten_forms_and_thirty_traps():
    assert set(FORMS) == set(TAGS)
    assert all(len(forms) >= 10 for forms in FORMS.values()), {c: len(f) for c, f in FORMS.items()}
    assert len(TRAPS) >= 30


@pytest.mark.parametrize(("category", "form"), CASES, ids=[f"{c}-{i}" for i, (c, _) in enumerate(CASES)])
def test_form_is_redacted_with_its_category(analyzer, category, form):
    text, marked = _parse(form)
    spans = find_phi(text, analyzer)
    for start, end in marked:
        uncovered = [i for i in range(start, end) if text[i].isalnum() and not any(s.start <= i < s.end for s in spans)]
        assert not uncovered, f"{category}: {len(uncovered)} characters left at {start}-{end}"
        cats = {s.category for s in spans if s.start < end and start < s.end}
        assert category in cats, f"{category} expected at {start}-{end}, got {sorted(cats)}"
    # every marked value is gone from the replaced text
    out = replace_phi(text, spans)
    for start, end in marked:
        assert text[start:end] not in out


@pytest.mark.parametrize("trap", TRAPS)
def test_clinical_trap_is_left_alone(analyzer, trap):
    spans = find_phi(trap, analyzer)
    assert spans == [], [(s.start, s.end, s.category) for s in spans]


def test_prefilter_changes_no_result():
    """Hyperscan only skips regexes that cannot match: results are identical with and without it."""
    gated, plain = PhiRecognizer(prefilter=True), PhiRecognizer(prefilter=False)
    texts = [n.text for n in generate(40, seed=101, profile="dev").notes]
    texts += [n.text for n in generate(40, seed=102, profile="heldout").notes]
    texts += [_parse(f)[0] for _, f in CASES] + TRAPS

    def key(results):
        return sorted((r.start, r.end, r.entity_type, r.score) for r in results)

    assert [key(gated.analyze(t, None)) for t in texts] == [key(plain.analyze(t, None)) for t in texts]


def test_mentions_propagate_within_a_note(analyzer):
    text = "Patient: Quintavalle, Rosamund\nQuintavalle reports less pain. quintavalle's sister visited."
    spans = find_phi(text, analyzer)
    out = replace_phi(text, spans)
    assert "uintavalle" not in out and "Rosamund" not in out


def test_tags_survive_the_vocab_tokenizer_as_single_tokens(tmp_path, analyzer):
    """deid output -> vocab training -> encoding: every tag is exactly its special token id."""
    from pipeline import vocab

    notes = [n.text for n in generate(60, seed=5, profile="dev").notes if n.text.strip()]
    deided = [replace_phi(t, find_phi(t, analyzer), keep_year=True) for t in notes]
    path = tmp_path / "sentences.parquet"
    pq.write_table(pa.table({"text": [line for d in deided for line in d.splitlines() if line.strip()]}), path)
    tok = vocab.train(path, VocabParams(vocab_size=600))
    tag_ids = {t: vocab.SPECIAL_TOKENS.index(t) for t in ALL_TAGS}
    seen = set()
    for d in deided:
        enc = tok.encode(d, add_special_tokens=False)
        for tag, tid in tag_ids.items():
            n_text = d.count(tag)
            n_ids = enc.ids.count(tid)
            assert n_text == n_ids, f"{tag}: {n_text} in text, {n_ids} tokens"
            if n_text:
                seen.add(tag)
        # no tag leaks as pieces: the tag strings are never split into sub-tokens
        assert not any(t.startswith("[**") and t not in tag_ids for t in enc.tokens)
    assert {"[**NAME**]", "[**DATE**]", "[**LOCATION**]", "[**MRN**]"} <= seen
