"""Code versions by construction: an edit to any module a stage reaches, or to a data file it declares,
changes the stage's fingerprint; an edit elsewhere does not."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from pipeline.core.dag import BY_NAME, stage_dependencies
from pipeline.core.dataset import import_closure

ROOT = Path(__file__).resolve().parents[3]

# Runs in a copy of the packages: edits each file in turn (appending a comment), recomputes, restores.
PROBE = r"""
import json, sys
from pathlib import Path
from pipeline.core.dag import BY_NAME, stage_code_version
from pipeline.core.dataset import import_closure

stage, extra = BY_NAME[sys.argv[1]], [Path(p) for p in sys.argv[2:]]
before = stage_code_version(stage)
reached = [source for _, source, _ in import_closure([stage.entry])[0]]
changed = {}
for path in reached + extra:
    text = path.read_bytes()
    path.write_bytes(text + b"\n# an edit\n")
    changed[str(path)] = stage_code_version(stage) != before
    path.write_bytes(text)
assert stage_code_version(stage) == before
print(json.dumps({"reached": [str(p) for p in reached], "changed": changed}))
"""


def test_deid_reaches_its_helpers_and_third_party_libraries():
    names = {name for name, _, _ in import_closure(["pipeline.deid.stage"])[0]}
    assert {"pipeline.deid.regex_reverse", "pipeline.deid.recognizers", "pipeline.deid.metadata", "pipeline.deid.vocab",
            "pipeline.deid.prefilter", "pipeline.deid.tagger"} <= names
    assert "pipeline.synth.generator" not in names and "pipeline.core.lineage" not in names
    deps = stage_dependencies(BY_NAME["deid"])
    assert {"presidio-analyzer", "philter-ucsf", "hyperscan", "pyarrow", "drug-named-entity-recognition"} <= set(deps)
    assert "blingfire" not in deps and "blingfire" in stage_dependencies(BY_NAME["sentences"])


def test_every_reached_module_and_data_file_changes_the_fingerprint_and_nothing_else_does(tmp_path):
    for package in ("pipeline", "model"):
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    data_file = tmp_path / "pipeline" / "data" / "us_states.txt"
    unrelated = [tmp_path / "pipeline" / "synth" / "generator.py", tmp_path / "pipeline" / "core" / "lineage.py"]
    done = subprocess.run(
        [sys.executable, "-c", PROBE, "deid", str(data_file), *map(str, unrelated)], cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(tmp_path)}, capture_output=True, text=True, timeout=300, check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout)
    assert str(tmp_path / "pipeline" / "deid" / "regex_reverse.py") in result["reached"]
    assert len(result["reached"]) >= 15
    changed = result["changed"]
    assert all(changed[p] for p in result["reached"]), [p for p in result["reached"] if not changed[p]]
    assert changed[str(data_file)]
    assert not any(changed[str(p)] for p in unrelated)
