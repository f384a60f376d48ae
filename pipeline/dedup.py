"""Exact and near-duplicate removal, global across every input file.

Exact: a stable 64-bit xxh3 hash of the normalised text (lower-case, whitespace collapsed), so copies that
differ only in case or spacing collapse too. Near: MinHash over word shingles with rensa's LSH to find
candidates, then the true Jaccard similarity is checked before anything is removed (LSH alone flags false
pairs). Notes are visited in ingest order (input files sorted by path, then row), and the first note of a
group is its representative, so the choice is deterministic and a dropped note always has a kept note
at or above the threshold. Clusters (ids, hashes, similarity -- never text) are written for audit.

``shingles`` and ``jaccard`` are the one definition of near-duplicate similarity: the synthetic generator
(``pipeline.synth.generator``) builds its near duplicates against them, at this stage's default shingle size,
so its guarantee is stated in the metric this stage measures.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import rensa
import xxhash

from pipeline.config import DedupParams
from pipeline.core.dataset import Dataset, Progress, StageResult

_WORD = re.compile(r"\w+")
_WS = re.compile(r"\s+")
CLUSTER_SCHEMA = pa.schema(
    [
        ("note_id", pa.string()),
        ("representative_id", pa.string()),
        ("kind", pa.string()),
        ("jaccard", pa.float64()),
        ("content_hash", pa.string()),
    ]
)


def content_hash(text: str) -> str:
    """Stable across processes, platforms and library versions (unlike polars' ``Expr.hash``)."""
    return xxhash.xxh3_64_hexdigest(_WS.sub(" ", text.lower()).strip().encode())


def shingles(text: str, size: int) -> set[str]:
    """Word n-grams of the lower-cased text, words being runs of word characters (so punctuation and
    spacing do not make two notes differ); a note of at most ``size`` words is one shingle."""
    words = _WORD.findall(text.lower())
    if len(words) <= size:
        return {" ".join(words)}
    return {" ".join(words[i : i + size]) for i in range(len(words) - size + 1)}


def jaccard(a: set[str], b: set[str]) -> float:
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)


def closest(shingle_set: set[str], candidates: Iterable[int], sets: Mapping[int, set[str]]) -> tuple[int | None, float]:
    """The candidate whose shingles are most similar to ``shingle_set`` by true Jaccard (the first in sorted
    order on ties) and that similarity: LSH candidates include false pairs, so this check decides."""
    best, best_j = None, -1.0
    for cand in sorted(candidates):
        j = jaccard(shingle_set, sets[cand])
        if j > best_j:
            best, best_j = cand, j
    return best, best_j


def find_duplicates(
    ids: Sequence[str], texts: Sequence[str], params: DedupParams, progress: Progress | None = None
) -> list[dict]:
    """Cluster rows (one per dropped note) in visiting order; the kept notes are all the others."""
    clusters: list[dict] = []
    first_by_hash: dict[str, int] = {}
    survivors: list[int] = []
    hashes = [content_hash(t) for t in texts]
    for i, h in enumerate(hashes):
        if h in first_by_hash:
            rep = first_by_hash[h]
            clusters.append({"note_id": ids[i], "representative_id": ids[rep], "kind": "exact", "jaccard": 1.0, "content_hash": h})
        else:
            first_by_hash[h] = i
            survivors.append(i)
    if not params.near:
        return clusters

    sets = {i: shingles(texts[i], params.shingle_size) for i in survivors}
    minhashes = rensa.RMinHash.from_token_sets([sets[i] for i in survivors], params.num_perm, params.seed)
    lsh = rensa.RMinHashLSH(params.threshold, params.num_perm, params.num_bands)
    for n, (i, mh) in enumerate(zip(survivors, minhashes)):
        best, best_j = closest(sets[i], lsh.query(mh), sets)
        if best is not None and best_j >= params.threshold:
            clusters.append(
                {"note_id": ids[i], "representative_id": ids[best], "kind": "near", "jaccard": round(best_j, 6), "content_hash": hashes[i]}
            )
            del sets[i]
        else:
            lsh.insert(i, mh)
        if progress and (n + 1) % 1000 == 0:
            progress(n + 1, len(survivors))
    if progress:
        progress(len(survivors), len(survivors))
    return clusters


def run(
    inputs: Mapping[str, Dataset], out: Path, params: DedupParams, progress: Progress | None = None, workers: int = 1
) -> StageResult:
    table = pq.read_table(inputs["clean"].part("notes.parquet"))
    ids = table.column("note_id").to_pylist()
    clusters = find_duplicates(ids, table.column("text").to_pylist(), params, progress)
    dropped_ids = {c["note_id"] for c in clusters}
    keep = [i for i, nid in enumerate(ids) if nid not in dropped_ids]
    kept = table.take(pa.array(keep, pa.int64()))
    pq.write_table(kept, out / "notes.parquet")
    pq.write_table(pa.Table.from_pylist(clusters, schema=CLUSTER_SCHEMA), out / "clusters.parquet")
    kinds = Counter(c["kind"] for c in clusters)
    return StageResult(
        rows_in=table.num_rows,
        rows_out=kept.num_rows,
        dropped={"exact_duplicate": kinds["exact"], "near_duplicate": kinds["near"]},
        counts={"clusters": len({c["representative_id"] for c in clusters})},
    )
