"""The one-edit index must answer exactly what walking every edit answers; and the word caches must empty."""

from __future__ import annotations

import random
import string

import pytest

from pipeline.deid.spelling import (
    MISSPELLING_MIN_LETTERS,
    clear_word_caches,
    inflected,
    misspelled,
    one_edit_index,
)

SAFE = frozenset(
    "appetite review labetalol abdomen breathing sedation extubated restraints tolerating secretions "
    "pressure clinic diuresis ventilator grimacing lethargic bath".split()
)


def _one_edit_by_walking(word: str, safe: frozenset[str]) -> bool:
    """Every word one edit from ``word`` (left out, added, changed, swapped), looked up one by one."""
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    edits = {left + right[1:] for left, right in splits if right}
    edits |= {left + right[1] + right[0] + right[2:] for left, right in splits if len(right) > 1}
    edits |= {left + c + right[1:] for left, right in splits if right for c in string.ascii_lowercase}
    edits |= {left + c + right for left, right in splits for c in string.ascii_lowercase}
    return len(word) >= MISSPELLING_MIN_LETTERS and bool(edits & safe)


def _random_edit(word: str, rng: random.Random) -> str:
    i = rng.randrange(len(word))
    c = rng.choice(string.ascii_lowercase)
    return rng.choice([
        word[:i] + word[i + 1 :],
        word[:i] + c + word[i:],
        word[:i] + c + word[i + 1 :],
        word[:i] + word[i + 1 : i + 2] + word[i : i + 1] + word[i + 2 :],
        word,
        "".join(rng.sample(word, len(word))),  # mostly far from any safe word
        word + rng.choice(string.ascii_lowercase) * 2,  # two edits away
    ])


def test_index_answers_as_walking_every_edit() -> None:
    rng = random.Random(7)
    queries = [_random_edit(rng.choice(sorted(SAFE)), rng) for _ in range(3000)]
    clear_word_caches()
    answers = [misspelled(q, SAFE) for q in queries]
    assert answers == [_one_edit_by_walking(q, SAFE) for q in queries]
    assert 0 < sum(answers) < len(answers)  # both answers occur


@pytest.mark.parametrize("word,expected", [
    ("apetite", True),  # a letter left out
    ("reveiw", True),  # two swapped
    ("labetelol", True),  # a letter changed
    ("abdomenn", True),  # a letter added
    ("appetite", True),  # no edit at all
    ("obrien", False),
    ("apetit", False),  # two edits
    ("baht", False),  # shorter than MISSPELLING_MIN_LETTERS: one edit from too many words
])
def test_misspellings(word: str, expected: bool) -> None:
    assert misspelled(word, SAFE) is expected


def test_only_letters_count() -> None:
    assert misspelled("re-veiw", SAFE) and not misspelled("o'brien", SAFE)


def test_an_empty_list_has_no_misspellings() -> None:
    assert len(one_edit_index(frozenset())) == 0 and not misspelled("appetite", frozenset())


def test_clear_word_caches_empties_the_per_word_answers() -> None:
    """The benchmark clears these before every pass, so a repeated pass is not timed with warm answers."""
    assert misspelled("apetite", SAFE) and inflected("tolerated", SAFE.union({"tolerate"}))
    assert misspelled.cache_info().currsize > 0 and inflected.cache_info().currsize > 0
    clear_word_caches()
    assert misspelled.cache_info().currsize == 0 and inflected.cache_info().currsize == 0
