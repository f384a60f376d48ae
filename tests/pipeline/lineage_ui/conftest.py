"""One two-run data root per session: building it trains two tiny models (about half a minute)."""

from __future__ import annotations

import pytest

from tests.pipeline.lineage_ui.roots import two_runs


@pytest.fixture(scope="session")
def demo_root(tmp_path_factory):
    return two_runs(tmp_path_factory.mktemp("lineage-ui"))
