"""How much the deid stage tags in real (public, fictional-PHI) clinical prose: the aci_bench visit notes.

    python bench/deid_overredaction.py --aci DIR [--mode rules|model|rules+model --tagger DIR] [--show-text]

Reads the ``note`` column of ``train.csv`` and ``valid.csv`` in ``--aci`` (the aci_bench folder: 87 doctor-patient
visit notes, CC BY 4.0), runs ``pipeline.deid.stage.find_phi`` on every note and prints the number of notes,
words (whitespace-separated), tags, tags per 1,000 words and tags per category. No note text is printed unless
``--show-text`` is given; then every tagged string is listed with its category and 30 characters of context on
each side (aci_bench is CC BY 4.0 and its names, ages and dates are fictional), followed by the distinct tagged
strings per category with their counts, so over-tagged clinical words stand out from real names and dates.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
from collections import Counter
from pathlib import Path

os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")  # presidio's EmailRecognizer: no network fetch

from pipeline.deid.stage import build_analyzer, find_phi
from pipeline.deid.tags import CATEGORY_ORDER

FILES = ("train.csv", "valid.csv")
CONTEXT = 30


def read_notes(aci: Path) -> list[tuple[str, str]]:
    """(``file:encounter_id``, note) for every row of the aci_bench CSVs."""
    csv.field_size_limit(sys.maxsize)
    notes = []
    for name in FILES:
        with (aci / name).open(newline="", encoding="utf-8") as f:
            for i, row in enumerate(csv.DictReader(f)):
                notes.append((f"{name}:{row.get('encounter_id') or i}", row["note"] or ""))
    return notes


def _flat(s: str) -> str:
    return s.replace("\r", " ").replace("\n", "⏎")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--aci", type=Path, required=True, help="folder with aci_bench's train.csv and valid.csv")
    ap.add_argument("--mode", default="rules", choices=["rules", "model", "rules+model"])
    ap.add_argument("--tagger", help="PHI tagger folder (modes model, rules+model)")
    ap.add_argument("--show-text", action="store_true", help="print tagged strings with 30 chars of context")
    args = ap.parse_args(argv)

    notes = read_notes(args.aci)
    analyzer = build_analyzer(args.mode, args.tagger if args.mode != "rules" else None)
    words = 0
    per_category: Counter[str] = Counter()
    distinct: dict[str, Counter[str]] = {}
    shown: list[str] = []
    for note_id, text in notes:
        words += len(text.split())
        for span in find_phi(text, analyzer):
            per_category[span.category] += 1
            if args.show_text:
                value = text[span.start : span.end]
                distinct.setdefault(span.category, Counter())[_flat(value)] += 1
                before = _flat(text[max(0, span.start - CONTEXT) : span.start])
                after = _flat(text[span.end : span.end + CONTEXT])
                shown.append(f"{note_id}\t{span.category}\t{_flat(value)!r}\t…{before}[[{_flat(value)}]]{after}…")

    tags = sum(per_category.values())
    print(f"notes: {len(notes)}")
    print(f"words: {words}")
    print(f"tags: {tags}")
    print(f"tags per 1,000 words: {1000 * tags / words:.2f}" if words else "tags per 1,000 words: n/a")
    print("tags per category:")
    for cat, n in sorted(per_category.items(), key=lambda kv: CATEGORY_ORDER.get(kv[0], 99)):
        print(f"  {cat}: {n}")
    if args.show_text:
        print("\ntagged strings (note, category, string, context):")
        print("\n".join(shown))
        print("\ndistinct tagged strings per category (count):")
        for cat in sorted(distinct, key=lambda c: CATEGORY_ORDER.get(c, 99)):
            print(f"  {cat}: " + ", ".join(f"{v!r} x{n}" for v, n in distinct[cat].most_common()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
