import json
from pathlib import Path

import pytest

from pipeline.core.dataset import AccountingError, StageResult, existing_dataset, fingerprint, run_stage


def _body(rows_in=3, rows_out=2, dropped=None, fail=False):
    def body(inputs, out: Path, progress):
        (out / "part.txt").write_text("x")
        if fail:
            raise RuntimeError("boom")
        return StageResult(rows_in=rows_in, rows_out=rows_out, dropped=dropped if dropped is not None else {"empty": 1})

    return body


def test_fingerprint_depends_on_every_ingredient():
    base = fingerprint("clean", {"a": 1}, "v1", {"ingest": "f0"})
    assert base == fingerprint("clean", {"a": 1}, "v1", {"ingest": "f0"})
    assert base != fingerprint("dedup", {"a": 1}, "v1", {"ingest": "f0"})
    assert base != fingerprint("clean", {"a": 2}, "v1", {"ingest": "f0"})
    assert base != fingerprint("clean", {"a": 1}, "v2", {"ingest": "f0"})
    assert base != fingerprint("clean", {"a": 1}, "v1", {"ingest": "f1"})


def test_run_skip_and_manifest(tmp_path):
    ds, ran = run_stage(data_root=tmp_path, stage="s", params={"p": 1}, code="c", inputs={}, body=_body())
    assert ran and (ds.path / "_manifest.json").is_file()
    m = ds.manifest
    assert m["rows_in"] == 3 and m["rows_out"] == 2 and m["dropped"] == {"empty": 1} and m["parts"] == ["part.txt"]
    ds2, ran2 = run_stage(data_root=tmp_path, stage="s", params={"p": 1}, code="c", inputs={}, body=_body(fail=True))
    assert not ran2 and ds2 == ds
    _, ran3 = run_stage(data_root=tmp_path, stage="s", params={"p": 1}, code="c", inputs={}, body=_body(), force=True)
    assert ran3


def test_missing_part_is_not_a_dataset(tmp_path):
    ds, _ = run_stage(data_root=tmp_path, stage="s", params={}, code="c", inputs={}, body=_body())
    (ds.path / "part.txt").unlink()
    assert existing_dataset(tmp_path, "s", ds.fingerprint) is None
    _, ran = run_stage(data_root=tmp_path, stage="s", params={}, code="c", inputs={}, body=_body())
    assert ran


def test_crash_leaves_nothing_behind(tmp_path):
    with pytest.raises(RuntimeError):
        run_stage(data_root=tmp_path, stage="s", params={}, code="c", inputs={}, body=_body(fail=True))
    assert list((tmp_path / "s").iterdir()) == []


def test_lost_rows_are_refused(tmp_path):
    with pytest.raises(AccountingError):
        run_stage(data_root=tmp_path, stage="s", params={}, code="c", inputs={}, body=_body(rows_in=5, rows_out=2))
    assert list((tmp_path / "s").iterdir()) == []


def test_manifest_records_inputs(tmp_path):
    up, _ = run_stage(data_root=tmp_path, stage="a", params={}, code="c", inputs={}, body=_body())
    down, _ = run_stage(data_root=tmp_path, stage="b", params={}, code="c", inputs={"a": up}, body=_body())
    m = json.loads((down.path / "_manifest.json").read_text())
    assert m["inputs"]["a"]["fingerprint"] == up.fingerprint
