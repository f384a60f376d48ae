"""The deid spans of 300 synthetic *dev* notes are pinned: speed work on the recognizers must not change a
single span.

``data/deid_golden_spans.json`` holds one digest per note of its merged spans (offsets, category, score; no
text). A deliberate rule change changes some digests: re-pin with

    python -m tests.pipeline.deid.test_golden

and say in the commit which rule moved which spans (``--diff`` lists the note ids that changed).
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

from pipeline.deid.stage import build_analyzer, find_phi
from pipeline.synth.generator import generate

GOLDEN = Path(__file__).parents[1] / "data" / "deid_golden_spans.json"
N_NOTES, SEED, PROFILE = 300, 4711, "dev"


def span_digests() -> dict[str, str]:
    """note_id -> sha256 (16 hex digits) of the note's merged spans, for the pinned corpus."""
    analyzer = build_analyzer()
    out = {}
    for note in generate(N_NOTES, seed=SEED, profile=PROFILE).notes:
        spans = [(s.start, s.end, s.category, round(s.score, 4)) for s in find_phi(note.text, analyzer)]
        out[note.note_id] = hashlib.sha256(json.dumps(spans).encode()).hexdigest()[:16]
    return out


def test_spans_match_the_pinned_digests():
    pinned = json.loads(GOLDEN.read_text())
    assert (pinned["n_notes"], pinned["seed"], pinned["profile"]) == (N_NOTES, SEED, PROFILE)
    changed = sorted(k for k, v in span_digests().items() if pinned["digests"].get(k) != v)
    assert not changed, f"{len(changed)} notes' spans changed, e.g. {changed[:5]}"


if __name__ == "__main__":
    digests = span_digests()
    if "--diff" in sys.argv:
        pinned = json.loads(GOLDEN.read_text())["digests"]
        print("\n".join(k for k, v in digests.items() if pinned.get(k) != v))
    else:
        GOLDEN.write_text(json.dumps({"n_notes": N_NOTES, "seed": SEED, "profile": PROFILE, "digests": digests},
                                     indent=0) + "\n")
