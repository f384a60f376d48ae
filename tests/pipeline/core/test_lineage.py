import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.core import lineage
from pipeline.core.dataset import StageResult, run_stage


def _chain(tmp_path):
    def body(inputs, out, progress):
        pq.write_table(pa.table({"note_id": ["a", "b"]}), out / "notes.parquet")
        return StageResult(2, 2)

    a, _ = run_stage(data_root=tmp_path, stage="ingest", params={}, code="c", inputs={}, body=body, external_inputs={"raw:x.csv": "ab" * 32})
    b, _ = run_stage(data_root=tmp_path, stage="clean", params={"p": 1}, code="c", inputs={"ingest": a}, body=body)
    c, _ = run_stage(data_root=tmp_path, stage="shards", params={}, code="c", inputs={"clean": b, "ingest": a}, body=body)
    return a, b, c


def test_chain_reaches_raw_inputs_even_after_a_move(tmp_path):
    a, b, c = _chain(tmp_path / "root")
    assert [m["stage"] for m in lineage.lineage_chain(c.path)] == ["shards", "clean", "ingest"]
    moved = tmp_path / "moved"
    (tmp_path / "root").rename(moved)
    chain = lineage.lineage_chain(moved / "shards" / c.fingerprint)
    assert [m["stage"] for m in chain] == ["shards", "clean", "ingest"]
    assert chain[-1]["external_inputs"] == {"raw:x.csv": "ab" * 32}


def test_render_formats(tmp_path):
    _, _, c = _chain(tmp_path)
    chain = lineage.lineage_chain(c.path)
    mermaid = lineage.render(chain, "mermaid")
    assert mermaid.startswith("flowchart LR") and mermaid.count("-->") == 4  # raw->ingest, ingest->clean, clean->shards, ingest->shards
    dot = lineage.render(chain, "dot")
    assert dot.count("->") == 4 and dot.rstrip().endswith("}")
    page = lineage.render(chain, "html")
    assert page.count("<tr class='step'>") == 3 and "EhrlmGraph.draw(" in page and "cytoscape" in page
    assert "<script src" not in page and "http" not in page.split("<script>")[0]  # self-contained: nothing to fetch
    with pytest.raises(ValueError, match="unknown format"):
        lineage.render(chain, "png")


def test_events_are_valid_openlineage(tmp_path):
    from openlineage.client.serde import Serde

    a, b, _ = _chain(tmp_path)
    ev = lineage.run_event("COMPLETE", "preprocess.clean", lineage.new_run_id(), [a], [b], parent=("flow", lineage.new_run_id()))
    lineage.emit(ev, tmp_path)
    line = json.loads((tmp_path / lineage.EVENTS_FILE).read_text())
    assert line == json.loads(Serde.to_json(ev))
    assert line["outputs"][0]["outputFacets"]["outputStatistics"]["rowCount"] == 2
    assert [(f["name"], f["type"]) for f in line["outputs"][0]["facets"]["schema"]["fields"]] == [("note_id", "string")]
    with pytest.raises(ValueError):
        lineage.run_event("COMPLETE", "j", "not-a-uuid", [], [])
