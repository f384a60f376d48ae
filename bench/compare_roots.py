"""Are two data roots the same data? Every data file's bytes, stage by stage, manifests excepted.

A refactor may change fingerprints (the code version is computed differently) but must not change outputs:
run the same preprocess into two data roots, one before and one after, and compare them::

    python bench/compare_roots.py ROOT_BEFORE ROOT_AFTER

Datasets are matched by stage (``<root>/<stage>/<fingerprint>/``), not by fingerprint; each stage must hold
one finished dataset in each root (a root with reruns under other settings is ambiguous: use fresh roots).
Inside a dataset every file but ``_manifest.json`` (which records timings, hosts and the fingerprint) is
compared by sha256. ``_lineage/``, ``_errors/`` and unfinished ``.tmp-*`` folders are not datasets.
Prints paths, sizes and hashes only, never content. Exit status 0 when identical, 1 otherwise.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

MANIFEST = "_manifest.json"


def datasets(root: Path) -> dict[str, Path]:
    """stage -> its one finished dataset folder under ``root``."""
    found: dict[str, list[Path]] = {}
    for manifest in sorted(Path(root).glob(f"*/*/{MANIFEST}")):
        stage_dir = manifest.parent.parent
        if stage_dir.name.startswith(("_", ".")) or manifest.parent.name.startswith("."):
            continue
        found.setdefault(stage_dir.name, []).append(manifest.parent)
    many = {stage: len(paths) for stage, paths in found.items() if len(paths) > 1}
    if many:
        raise SystemExit(f"{root}: several datasets for stage(s) {many}; compare roots holding one run each")
    return {stage: paths[0] for stage, paths in found.items()}


def file_hashes(folder: Path) -> dict[str, tuple[int, str]]:
    """relative path -> (size, sha256) of every file of a dataset but its manifest."""
    out = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and p.name != MANIFEST):
        h = hashlib.sha256()
        with path.open("rb") as fh:
            while block := fh.read(1 << 20):
                h.update(block)
        out[path.relative_to(folder).as_posix()] = (path.stat().st_size, h.hexdigest())
    return out


def compare(a: Path, b: Path) -> list[str]:
    """One line per difference (empty when the roots hold the same data); prints a row per stage."""
    left, right = datasets(a), datasets(b)
    problems = [f"stage {s!r} only in {a}" for s in sorted(set(left) - set(right))]
    problems += [f"stage {s!r} only in {b}" for s in sorted(set(right) - set(left))]
    for stage in sorted(set(left) & set(right)):
        fa, fb = file_hashes(left[stage]), file_hashes(right[stage])
        diff = [f"{stage}/{name}: only in {a}" for name in sorted(set(fa) - set(fb))]
        diff += [f"{stage}/{name}: only in {b}" for name in sorted(set(fb) - set(fa))]
        diff += [f"{stage}/{name}: {fa[name][0]} B {fa[name][1][:12]} != {fb[name][0]} B {fb[name][1][:12]}"
                 for name in sorted(set(fa) & set(fb)) if fa[name] != fb[name]]  # fmt: skip
        size = sum(s for s, _ in fa.values())
        print(f"{stage:<14} {len(fa):>4} files {size:>12,} B  {'identical' if not diff else f'{len(diff)} difference(s)'}"
              f"  ({left[stage].name} vs {right[stage].name})")  # fmt: skip
        problems += diff
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("root_a", type=Path)
    parser.add_argument("root_b", type=Path)
    args = parser.parse_args(argv)
    problems = compare(args.root_a, args.root_b)
    for line in problems:
        print(line)
    print("identical" if not problems else f"{len(problems)} difference(s)")
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main())
