"""The UI's HTTP side on a real two-run data root: every route answers, none serves note text, nothing is written."""

from __future__ import annotations

import itertools
import os

import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient

from pipeline.lineage_ui.app import STATIC, create_app
from pipeline.lineage_ui.catalog import Catalog
from tests.flows.canaries import CANARIES

pytestmark = pytest.mark.slow  # the module's data root runs the real stages, pretraining and fine-tuning (~15 s)


@pytest.fixture(scope="module")
def client(demo_root):
    return TestClient(create_app(demo_root["root"]))


def _every_url(cat: Catalog) -> list[str]:
    urls = ["/", "/api/summary", "/api/datasets", "/api/graph", "/api/runs"]
    urls += [f"/static/{p.relative_to(STATIC).as_posix()}" for p in STATIC.rglob("*") if p.is_file()]
    for e in cat.entries.values():
        urls += [f"/api/dataset/{e.id}", f"/api/graph?focus={e.id}&depth=3", f"/api/impact/{e.id}", f"/api/impact/{e.id}?format=csv"]
        if e.stage != "pretrain":
            urls.append(f"/api/dataset/{e.id}/config.yaml")
    for stage in {e.stage for e in cat.entries.values()}:
        urls.append(f"/api/versions/{stage}")
        for a, b in itertools.permutations([e.fingerprint for e in cat.entries.values() if e.stage == stage], 2):
            urls.append(f"/api/compare/{stage}/{a}/{b}")
    return urls


def _snapshot(root):
    return {p: (p.stat().st_size, p.stat().st_mtime_ns) for p in root.rglob("*") if p.is_file()}


def test_no_response_carries_note_text_and_nothing_is_written(client, demo_root):
    root = demo_root["root"]
    ingest = demo_root["first"]["ingest"]
    notes = pq.read_table(ingest.path / "notes.parquet", columns=["text"]).column("text").to_pylist()
    texts = "\n".join(t.decode("utf-8", "replace") if isinstance(t, bytes) else t for t in notes)
    assert all(c in texts for c in CANARIES)  # the canaries are really in the data root the UI reads
    before = _snapshot(root)
    urls = _every_url(Catalog.load(root))
    assert len(urls) > 60
    for url in urls:
        r = client.get(url)
        assert r.status_code == 200, (url, r.status_code, r.text[:200])
        leaked = [c for c in CANARIES if c.lower() in r.text.lower()]
        assert not leaked, (url, "serves note text")
    assert _snapshot(root) == before


def test_read_only_and_no_file_reachable_by_path(client, demo_root):
    for method in ("post", "put", "delete", "patch"):
        assert getattr(client, method)("/api/datasets").status_code == 405
    ingest = demo_root["first"]["ingest"]
    for url in (f"/static/../../{ingest.path}/notes.parquet", "/static/%2e%2e/catalog.py", f"/api/dataset/ingest/{ingest.fingerprint}/notes.parquet"):
        assert client.get(url).status_code == 404, url


def test_unknown_dataset_is_a_404_naming_it(client):
    r = client.get("/api/dataset/sentences/0000000000000000")
    assert r.status_code == 404 and "sentences/0000000000000000" in r.json()["detail"]
    assert client.get("/api/impact/deid/0000000000000000?format=csv").status_code == 404


def test_two_runs_seen_as_the_issue_describes(client, demo_root):
    first, second = demo_root["first"], demo_root["second"]
    rows = {r["id"]: r for r in client.get("/api/datasets").json()}
    assert {f"{d.stage}/{d.fingerprint}" for d in (*first.values(), *second.values())} == set(rows)
    old, new = f"sentences/{first['sentences'].fingerprint}", f"sentences/{second['sentences'].fingerprint}"
    assert rows[old]["superseded_by"] == new and rows[f"finetune_ner/{first['finetune_ner'].fingerprint}"]["stale"]
    c = client.get(f"/api/compare/sentences/{first['sentences'].fingerprint}/{second['sentences'].fingerprint}").json()
    assert "params" in c["fingerprint_differs_by"]
    assert {"key": "min_chars", "a": 1, "b": 2, "same": False} in c["sections"]["params"]
    impact = client.get(f"/api/impact/deid/{first['deid'].fingerprint}").json()
    assert f"finetune_ner/{first['finetune_ner'].fingerprint}" in {r["id"] for r in impact}
    d = client.get(f"/api/dataset/{new}").json()
    assert d["command"].startswith("ehrlm preprocess --input") and d["command"].endswith("--force sentences")
    assert "min_chars: 2" in client.get(f"/api/dataset/{new}/config.yaml").text
    model = client.get(f"/api/dataset/pretrain/{second['pretrain'].fingerprint}").json()
    assert [c["title"] for c in model["charts"]][:1] == ["pretraining loss by step"] and model["charts"][0]["series"]["train loss"]
    tuned = client.get(f"/api/dataset/finetune_ner/{second['finetune_ner'].fingerprint}").json()
    assert [c["title"] for c in tuned["charts"]] == ["training loss by epoch", "dev f1 by epoch"]
    assert tuned["command"].startswith(f"ehrlm finetune ner --checkpoint {second['pretrain'].path}/hf ")
    runs = client.get("/api/runs").json()
    assert any(new in r["created"] and f"deid/{second['deid'].fingerprint}" in r["reused"] for r in runs)


def test_served_config_reproduces_the_fingerprint(client, demo_root, tmp_path):
    """The panel's settings file is exact: loaded as a config, it plans the same sentences fingerprint."""
    from pipeline.config import PreprocessConfig
    from pipeline.core.dag import plan

    second = demo_root["second"]
    (tmp_path / "c.yaml").write_text(client.get(f"/api/dataset/sentences/{second['sentences'].fingerprint}/config.yaml").text)
    cfg = PreprocessConfig.from_yaml(tmp_path / "c.yaml")
    assert plan("sentences", cfg, {"deid": second["deid"]}).fingerprint == second["sentences"].fingerprint


def test_panel_tells_whether_the_checked_out_code_would_give_the_same_fingerprint(client, demo_root):
    import time

    from pipeline.lineage_ui import panel

    deadline = time.monotonic() + 120
    while "shards" not in panel.current_code() and time.monotonic() < deadline:  # filled in the background
        time.sleep(0.5)
    deid = client.get(f"/api/dataset/deid/{demo_root['second']['deid'].fingerprint}").json()
    assert deid["code_now"]["code_version"] == deid["manifest"]["code_version"]
    assert {"presidio-analyzer", "philter-ucsf"} <= set(deid["code_now"]["dependencies"])
    assert client.get(f"/api/dataset/pretrain/{demo_root['second']['pretrain'].fingerprint}").json()["code_now"] is None
