"""Canary identifiers for the PHI tests: invented, in no name list, planted only in the raw input."""

from __future__ import annotations

import json
from pathlib import Path

from pipeline import synth

CANARIES = ["Zyxwquartz", "Plimbottom", "Qorvathine", "77120934", "canary.zyx@example.org"]
CANARY_NOTES = [
    {"note_id": "canary-1", "text": f"Patient: {CANARIES[0]} {CANARIES[1]}\nMRN: {CANARIES[3]}\nSeen today, doing well."},
    {"note_id": "canary-2", "text": f"Dictated by: Dr. {CANARIES[2]}\nContact {CANARIES[4]} with questions.\nPlan: continue aspirin."},
]


def landing_with_canaries(root: Path, n_notes: int, seed: int) -> Path:
    """A landing folder: ``notes.parquet`` (synthetic notes) and ``canaries.jsonl`` (the canary notes)."""
    notes = synth.write(synth.generate(n_notes, seed=seed), root / "synth", fmt="parquet")
    landing = root / "landing"
    landing.mkdir()
    (landing / "notes.parquet").write_bytes(notes.read_bytes())
    (landing / "canaries.jsonl").write_text("".join(json.dumps(n) + "\n" for n in CANARY_NOTES))
    return landing
