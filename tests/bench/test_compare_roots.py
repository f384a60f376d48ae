"""bench/compare_roots.py: same data under other fingerprints is identical; one changed byte is not."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.compare_roots import main


def _dataset(root: Path, stage: str, fp: str, files: dict[str, bytes]) -> None:
    folder = root / stage / fp
    folder.mkdir(parents=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    (folder / "_manifest.json").write_text(json.dumps({"stage": stage, "fingerprint": fp, "wall_seconds": len(fp)}))


def test_matched_by_stage_manifests_excepted(tmp_path, capsys):
    a, b = tmp_path / "a", tmp_path / "b"
    _dataset(a, "clean", "aaaa", {"notes.parquet": b"1234"})
    _dataset(b, "clean", "bbbbbb", {"notes.parquet": b"1234"})
    (a / "_lineage").mkdir()
    (a / "_lineage" / "openlineage.jsonl").write_text("{}")
    assert main([str(a), str(b)]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "identical"

    (b / "clean" / "bbbbbb" / "notes.parquet").write_bytes(b"1235")
    _dataset(b, "vocab", "cccc", {"tokenizer.json": b"{}"})
    assert main([str(a), str(b)]) == 1
    out = capsys.readouterr().out
    assert "clean/notes.parquet: 4 B" in out and "stage 'vocab' only in" in out and "1234" not in out


def test_two_runs_of_a_stage_in_one_root_are_refused(tmp_path):
    _dataset(tmp_path / "a", "clean", "aaaa", {"x": b""})
    _dataset(tmp_path / "a", "clean", "bbbb", {"x": b""})
    _dataset(tmp_path / "b", "clean", "cccc", {"x": b""})
    with pytest.raises(SystemExit, match="several datasets for stage"):
        main([str(tmp_path / "a"), str(tmp_path / "b")])
