"""Fixtures for the model tests: a small real corpus (synthetic notes through the preprocessing stages)."""

from __future__ import annotations

import pytest

from tests.model.data import shared_corpus


@pytest.fixture(scope="session")
def corpus(tmp_path_factory):
    return shared_corpus(tmp_path_factory)


@pytest.fixture(scope="session")
def shards(corpus):
    return corpus["shards"].path


@pytest.fixture(scope="session")
def tokenizer_json(corpus):
    return corpus["vocab"].part("tokenizer.json")
