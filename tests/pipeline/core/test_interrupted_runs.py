"""``kill -9`` in the middle of each stage, then a rerun: no temp folder left, the orphaned lineage run closed as
ABORT, and every output byte-identical to an uninterrupted run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.synth import generator as synth
from pipeline.config import PreprocessConfig
from pipeline.core.dag import STAGE_NAMES, run_preprocess
from pipeline.core.lineage import EVENTS_FILE, OPEN_RUNS

# The child runs the DAG and SIGKILLs itself inside ``stage``: as soon as that stage's temp folder holds a file
# (a part being written), or at the latest just before the finished folder would be renamed into place.
CHILD = r"""
import os, signal, sys, threading, time
from pathlib import Path
from pipeline.core import dataset
from pipeline.config import PreprocessConfig
from pipeline.core.dag import run_preprocess

raw, root, target = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
cfg = PreprocessConfig(data_root=root, workers=1)

def watch():
    while True:
        for tmp in (root / target).glob(".tmp-*"):
            if any(tmp.iterdir()):
                os.kill(os.getpid(), signal.SIGKILL)
        time.sleep(0.001)

publish = dataset._publish
def kill_before_publish(tmp, final):
    if final.parent.name == target:
        os.kill(os.getpid(), signal.SIGKILL)
    publish(tmp, final)
dataset._publish = kill_before_publish

threading.Thread(target=watch, daemon=True).start()
run_preprocess(cfg, raw)
print("not killed")
"""


def _run_all(raw: Path, root: Path) -> dict[str, Path]:
    done = run_preprocess(PreprocessConfig(data_root=root, workers=1), raw)
    return {name: out.dataset.path for name, out in done.items()}


def _parts(folder: Path) -> dict[str, bytes]:
    """Every file of a dataset but its manifest (which records timings and the process)."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name != "_manifest.json"}


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    base = tmp_path_factory.mktemp("interrupt")
    raw = synth.write(synth.generate(60, seed=3), base / "raw", fmt="parquet")
    return raw, {name: _parts(path) for name, path in _run_all(raw, base / "reference").items()}


@pytest.mark.slow
@pytest.mark.parametrize("stage", STAGE_NAMES)
def test_kill_9_mid_stage_then_rerun(tmp_path, reference, stage):
    raw, expected = reference
    root = tmp_path / "data"
    child = subprocess.run([sys.executable, "-c", CHILD, str(raw), str(root), stage], capture_output=True, text=True,
                           timeout=600, check=False, env={**os.environ, "PYTHONPATH": str(Path.cwd())})
    assert child.returncode == -9, (child.stdout + child.stderr)[-2000:]
    assert list((root / stage).glob(".tmp-*")), "the kill left no temp folder: nothing was tested"
    assert list((root / OPEN_RUNS).glob("*.json")), "the killed step's lineage run was not open"

    outputs = _run_all(raw, root)

    assert not [p for p in root.rglob(".tmp-*")] and not [p for p in root.rglob(".old-*")]
    assert not list((root / OPEN_RUNS).glob("*.json"))
    events = [json.loads(line) for line in (root / EVENTS_FILE).read_text().splitlines()]
    aborted = [e for e in events if e["eventType"] == "ABORT"]
    assert [e["job"]["name"] for e in aborted] == [f"preprocess.{stage}"]
    assert {name: _parts(path) for name, path in outputs.items()} == expected
