"""The catalogue of a data root: datasets, staleness, impact, compare and runs, from manifests and events."""

from __future__ import annotations

import json
import shutil

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.core import lineage
from pipeline.core.dataset import StageResult, run_stage
from pipeline.lineage_ui.catalog import Catalog


def _body(inputs, out, progress):
    pq.write_table(pa.table({"note_id": ["a", "b"]}), out / "notes.parquet")
    return StageResult(2, 2, counts={"repairs": {"html": 3, "mojibake": 1}})


def _stage(root, stage, params, inputs, parent=None, external=None):
    ds, _ = run_stage(data_root=root, stage=stage, params=params, code="c1", inputs=inputs, body=_body, external_inputs=external)
    if parent:
        run_id = lineage.new_run_id()
        lineage.emit(lineage.run_event("START", stage, run_id, list(inputs.values()), [], parent), root)
        lineage.emit(lineage.run_event("COMPLETE", stage, run_id, list(inputs.values()), [ds], parent), root)
    return ds


@pytest.fixture
def root(tmp_path):
    """ingest -> clean -> shards, then clean re-run with a new parameter and shards after it (run 2)."""
    run1, run2 = ("ehrlm-preprocess", lineage.new_run_id()), ("ehrlm-preprocess", lineage.new_run_id())
    raw = {"raw:notes.csv": "ab" * 32}
    ing = _stage(tmp_path, "ingest", {}, {}, run1, raw)
    c1 = _stage(tmp_path, "clean", {"p": 1}, {"ingest": ing}, run1)
    s1 = _stage(tmp_path, "shards", {}, {"clean": c1}, run1)
    c2 = _stage(tmp_path, "clean", {"p": 2}, {"ingest": ing}, run2)
    s2 = _stage(tmp_path, "shards", {}, {"clean": c2}, run2)
    return tmp_path, {"ingest": ing, "c1": c1, "s1": s1, "c2": c2, "s2": s2, "run1": run1[1], "run2": run2[1]}


def test_every_dataset_with_its_counts_and_creator(root):
    path, d = root
    cat = Catalog.load(path)
    rows = {r["id"]: r for r in cat.rows()}
    assert set(rows) == {d[k].stage + "/" + d[k].fingerprint for k in ("ingest", "c1", "s1", "c2", "s2")}
    r = rows[f"clean/{d['c2'].fingerprint}"]
    assert (r["rows_in"], r["rows_out"], r["status"], r["kind"]) == (2, 2, "complete", "dataset") and r["size"] > 0
    assert r["created_by"]["flow_run_id"] == d["run2"] and r["created_by"]["prefect_url"] is None


def test_newer_fingerprint_supersedes_and_downstream_is_stale(root):
    path, d = root
    cat = Catalog.load(path)
    c1, s1, c2, s2 = (cat.entries[f"{d[k].stage}/{d[k].fingerprint}"] for k in ("c1", "s1", "c2", "s2"))
    assert c1.superseded_by == c2.id and s1.superseded_by == s2.id
    assert s1.stale_because == [c1.id] and not c1.stale_because
    assert c2.superseded_by is None and not c2.stale_because and not s2.stale_because
    assert cat.summary()["stale"] == 1 and cat.summary()["superseded"] == 2


def test_random_init_is_not_a_new_version_of_the_pretrained_model(tmp_path):
    base = _stage(tmp_path, "pretrain", {}, {})
    a = _stage(tmp_path, "finetune_ner", {"init": "pretrained"}, {"checkpoint": base})
    b = _stage(tmp_path, "finetune_ner", {"init": "random"}, {"checkpoint": base})
    c = _stage(tmp_path, "finetune_ner", {"init": "random", "seed": 1}, {"checkpoint": base})
    cat = Catalog.load(tmp_path)
    assert cat.entries[f"finetune_ner/{a.fingerprint}"].superseded_by is None
    assert cat.entries[f"finetune_ner/{b.fingerprint}"].superseded_by == f"finetune_ner/{c.fingerprint}"


def test_impact_lists_everything_downstream_models_first(root):
    path, d = root
    cat = Catalog.load(path)
    ids = [r["id"] for r in cat.impact("ingest", d["ingest"].fingerprint)]
    assert sorted(ids[:2]) == sorted(f"clean/{d[k].fingerprint}" for k in ("c1", "c2")) and len(ids) == 4
    csv = cat.impact_csv("ingest", d["ingest"].fingerprint).splitlines()
    assert csv[0].startswith("id,stage,fingerprint,kind,distance") and len(csv) == 5
    with pytest.raises(KeyError, match="no dataset"):
        cat.impact("ingest", "0" * 16)


def test_compare_names_the_changed_parameter(root):
    path, d = root
    c = Catalog.load(path).compare("clean", d["c1"].fingerprint, d["c2"].fingerprint)
    assert c["fingerprint_differs_by"] == ["params"]
    assert [(r["key"], r["a"], r["b"]) for r in c["sections"]["params"] if not r["same"]] == [("p", 1, 2)]
    assert all(r["same"] for r in c["sections"]["counts"])


def test_runs_group_steps_by_flow_run_with_created_and_reused(root, monkeypatch):
    path, d = root
    monkeypatch.setenv("PREFECT_UI_URL", "http://prefect.example:4200/")
    runs = {r["id"]: r for r in Catalog.load(path).flow_runs()}
    assert set(runs) == {d["run1"], d["run2"]}
    second = runs[d["run2"]]
    assert second["created"] == [f"clean/{d['c2'].fingerprint}", f"shards/{d['s2'].fingerprint}"]
    assert second["reused"] == [f"ingest/{d['ingest'].fingerprint}"] and second["state"] == "COMPLETE"
    assert second["prefect_url"] == f"http://prefect.example:4200/runs/flow-run/{d['run2']}"


def test_graph_whole_and_neighbourhood(root):
    path, d = root
    cat = Catalog.load(path)
    whole = cat.graph()
    assert len([n for n in whole["nodes"] if n["kind"] == "raw"]) == 1 and len(whole["edges"]) == 5
    near = cat.graph(f"shards/{d['s1'].fingerprint}", depth=1)
    assert {n["id"] for n in near["nodes"]} == {f"shards/{d['s1'].fingerprint}", f"clean/{d['c1'].fingerprint}"}
    assert next(n for n in near["nodes"] if n["id"].startswith("shards"))["stale"]


def test_unfinished_incomplete_and_bad_event_lines_are_shown_not_fatal(root):
    path, d = root
    (path / "clean" / ".tmp-0123456789abcdef-deadbeef").mkdir()
    (d["s2"].path / "notes.parquet").unlink()
    with (path / lineage.EVENTS_FILE).open("a") as fh:
        fh.write("{not json\n" + json.dumps({"eventType": "START"}) + "\n")
    cat = Catalog.load(path)
    states = {r["id"]: r["status"] for r in cat.rows()}
    assert states["clean/.tmp-0123456789abcdef-deadbeef"] == "unfinished"
    assert states[f"shards/{d['s2'].fingerprint}"] == "incomplete"
    assert cat.summary()["bad_event_lines"] == 2


def test_moved_root_still_links_and_missing_upstream_is_reported(root, tmp_path_factory):
    path, d = root
    moved = tmp_path_factory.mktemp("moved") / "root"
    shutil.copytree(path, moved)
    shutil.rmtree(moved / "ingest")
    cat = Catalog.load(moved)
    assert cat.summary()["missing_upstream"] == [f"ingest/{d['ingest'].fingerprint}"]
    assert len(cat.edges()) == 4  # clean x2 <- ingest (missing), shards x2 <- clean


def test_two_corpora_are_two_slots_and_a_new_export_of_one_is_a_new_version(tmp_path):
    a = _stage(tmp_path, "ingest", {}, {}, external={"raw:site_a.csv": "aa" * 32})
    b = _stage(tmp_path, "ingest", {}, {}, external={"raw:site_b.csv": "bb" * 32})
    ca, cb = _stage(tmp_path, "clean", {}, {"ingest": a}), _stage(tmp_path, "clean", {}, {"ingest": b})
    a2 = _stage(tmp_path, "ingest", {}, {}, external={"raw:site_a.csv": "a2" * 32})
    cat = Catalog.load(tmp_path)
    assert cat.entries[f"clean/{ca.fingerprint}"].superseded_by is None and cat.entries[f"clean/{cb.fingerprint}"].superseded_by is None
    assert cat.entries[f"ingest/{a.fingerprint}"].superseded_by == f"ingest/{a2.fingerprint}"
    assert cat.entries[f"clean/{ca.fingerprint}"].stale_because == [f"ingest/{a.fingerprint}"]
    assert not cat.entries[f"clean/{cb.fingerprint}"].stale_because


def test_whole_graph_without_superseded_versions(root):
    path, d = root
    g = Catalog.load(path).graph(superseded=False)
    ids = {n["id"] for n in g["nodes"] if n["kind"] != "raw"}
    assert ids == {f"{d[k].stage}/{d[k].fingerprint}" for k in ("ingest", "c2", "s2")} and g["hidden_superseded"] == 2


def test_failed_and_aborted_steps_mark_their_run(root):
    path, d = root
    parent = ("ehrlm-preprocess", lineage.new_run_id())
    failed, aborted = lineage.new_run_id(), lineage.new_run_id()
    for run_id, end in ((failed, "FAIL"), (aborted, "ABORT")):
        lineage.emit(lineage.run_event("START", "preprocess.clean", run_id, [d["ingest"]], [], parent), path)
        lineage.emit(lineage.run_event(end, "preprocess.clean", run_id, [d["ingest"]], [], parent,
                                       error=f"ValueError in stage clean ({end})"), path)  # fmt: skip
    run = next(r for r in Catalog.load(path).flow_runs() if r["id"] == parent[1])
    assert run["state"] == "FAIL" and run["created"] == [] and run["reused"] == [f"ingest/{d['ingest'].fingerprint}"]
    assert sorted(s["state"] for s in run["steps"]) == ["ABORT", "FAIL"]
    assert {s["error"] for s in run["steps"]} == {"ValueError in stage clean (FAIL)", "ValueError in stage clean (ABORT)"}
