"""Canary identifiers for the PHI tests: invented, in no name list, planted only in the raw input."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq

from pipeline.synth import generator as synth

CANARIES = ["Zyxwquartz", "Plimbottom", "Qorvathine", "77120934", "canary.zyx@example.org"]
# Identifiers outside the text: a patient id (an MRN), a full date, and the name of the file the notes come in.
PATIENT_CANARY, DATE_CANARY, FILE_CANARY = "MRN90417733", "2031-07-19", "Vexhollow_MRN55501234"
METADATA_CANARIES = [PATIENT_CANARY, DATE_CANARY, FILE_CANARY]
CANARY_NOTES = [
    {"note_id": "canary-1", "text": f"Patient: {CANARIES[0]} {CANARIES[1]}\nMRN: {CANARIES[3]}\nSeen today, doing well.",
     "patient_id": PATIENT_CANARY, "note_date": DATE_CANARY},
    {"note_id": "canary-2", "text": f"Dictated by: Dr. {CANARIES[2]}\nContact {CANARIES[4]} with questions.\nPlan: continue aspirin.",
     "patient_id": PATIENT_CANARY, "note_date": f"{DATE_CANARY}T08:15:00"},
]
# Parts of the raw-side stages that hold raw notes or raw file names by design (inside the data root only).
RAW_PARTS = {("ingest", "notes.parquet"), ("ingest", "dropped.parquet"), ("ingest", "files.parquet"),
             ("clean", "notes.parquet"), ("dedup", "notes.parquet")}


def landing_with_canaries(root: Path, n_notes: int, seed: int) -> Path:
    """A landing folder: ``notes.parquet`` (synthetic notes) and the canary notes in a JSONL file named after
    ``FILE_CANARY``."""
    notes = synth.write(synth.generate(n_notes, seed=seed), root / "synth", fmt="parquet")
    landing = root / "landing"
    landing.mkdir()
    (landing / "notes.parquet").write_bytes(notes.read_bytes())
    (landing / f"{FILE_CANARY}.jsonl").write_text("".join(json.dumps(n) + "\n" for n in CANARY_NOTES))
    return landing


def _readable(path: Path) -> str:
    """A file's content as text; Parquet decoded (it is compressed, a canary would not show in its bytes)."""
    if path.suffix == ".parquet":
        return json.dumps(pq.read_table(path).to_pylist(), default=repr)
    return path.read_bytes().decode("utf-8", "replace")


def leaks_in_data_root(root: Path, skip_suffixes: frozenset[str] = frozenset()) -> list[tuple[str, str]]:
    """(file, canary) for every canary -- in the text or the metadata -- found in a file of the data root other
    than the raw-side parts that hold raw notes by design."""
    leaks = []
    for path in Path(root).rglob("*"):
        if not path.is_file() or path.suffix in skip_suffixes:
            continue
        rel = path.relative_to(root)
        if (rel.parts[0], path.name) in RAW_PARTS:
            continue
        data = _readable(path)
        leaks += [(rel.as_posix(), c) for c in CANARIES + METADATA_CANARIES if c in data]
    return leaks


def leaks_in_prefect_home(home: Path) -> list[tuple[str, str]]:
    """(file, canary) for every canary in any file Prefect keeps: its database, result storage, logs."""
    leaks = []
    for path in Path(home).rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            leaks += [(path.name, c) for c in CANARIES + METADATA_CANARIES if c.encode() in data]
    return leaks
