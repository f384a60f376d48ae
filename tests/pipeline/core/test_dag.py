from pathlib import Path

import pytest

from pipeline.config import PreprocessConfig, SentenceParams
from pipeline.core.dag import STAGE_NAMES, descendants, from_stage, plan, run_one

ROOT = Path(__file__).resolve().parents[3]


def test_descendants_follow_the_graph():
    assert descendants(["sentences"]) == {"sentences", "vocab", "shards"}
    assert descendants(["vocab"]) == {"vocab", "shards"}
    assert descendants([]) == set()
    assert from_stage("ingest") == set(STAGE_NAMES)
    with pytest.raises(ValueError, match="unknown stage"):
        descendants(["tokenize"])


def test_demo_config_file_matches_the_defaults():
    assert PreprocessConfig.from_yaml(ROOT / "configs" / "demo.yaml") == PreprocessConfig()


def test_unknown_setting_is_rejected(tmp_path):
    bad = tmp_path / "c.yaml"
    bad.write_text("preprocess:\n  sentences:\n    spliter: lines\n")
    with pytest.raises(ValueError, match="spliter"):
        PreprocessConfig.from_yaml(bad)


def test_planned_fingerprint_is_the_one_written(tmp_path):
    src = tmp_path / "notes.jsonl"
    src.write_text('{"note_id": "1", "text": "Seen today."}\n')
    cfg = PreprocessConfig(data_root=tmp_path / "data", workers=1)
    ds, ran = run_one("ingest", cfg, {}, input_path=src)
    assert ran and plan("ingest", cfg, {}, src).fingerprint == ds.fingerprint
    # a setting of a later stage does not touch this one
    other = cfg.model_copy(update={"sentences": SentenceParams(splitter="lines")})
    assert plan("ingest", other, {}, src).fingerprint == ds.fingerprint
