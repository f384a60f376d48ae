"""A flow's link artifacts: each produced dataset links to its manifest and to its page in the lineage UI."""

from __future__ import annotations

import re

from prefect import flow

from flows.artifacts import link_manifest
from pipeline.lineage_ui import URL_ENV
from tests.flows.prefect_records import everything_prefect_holds


def test_dataset_links_to_its_manifest_and_its_lineage_ui_page(tmp_path, monkeypatch):
    monkeypatch.setenv(URL_ENV, "http://lineage.example:8080/")
    ds = tmp_path / "data" / "sentences" / "0123456789abcdef"
    ds.mkdir(parents=True)

    @flow(name="ehrlm-artifact-test")
    def produce() -> None:
        link_manifest("sentences", ds, "0123456789abcdef")
        link_manifest("finetune-ner", tmp_path / "data" / "finetune_ner" / "fedcba9876543210", "fedcba9876543210")

    produce()
    # the newest of each key: the session's server holds other flows' artifacts too
    links = {a.key: a.data for a in sorted(everything_prefect_holds()[1], key=lambda a: a.created) if a.key}
    assert re.fullmatch(r"\[.+\]\(file://.+/sentences/0123456789abcdef/_manifest\.json\)", links["manifest-sentences"])
    assert links["lineage-sentences"].endswith("(http://lineage.example:8080/#/dataset/sentences/0123456789abcdef)")
    assert links["lineage-finetune-ner"].endswith("(http://lineage.example:8080/#/dataset/finetune_ner/fedcba9876543210)")
