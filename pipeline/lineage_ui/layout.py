"""One graph drawing for the web UI and for ``ehrlm lineage graph --format html|png``.

The UI lays the lineage graph out in the browser with cytoscape.js and dagre (``static/graph.js``). The
headless graph used to place boxes by hand-written coordinates; now it is a self-contained page that
inlines the same vendored libraries and the same ``graph.js``, fed with the same node/edge JSON
(:meth:`pipeline.lineage_ui.catalog.Catalog.graph`), so both place and mark boxes identically. Nothing is
fetched when the page opens: it works from a ``file://`` URL, offline, and in headless Chromium.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

from pipeline.lineage_ui.catalog import Catalog, Entry

STATIC = Path(__file__).resolve().parent / "static"
SCRIPTS = ("vendor/cytoscape.min.js", "vendor/cytoscape-dagre.min.js", "graph.js")
COLUMN_PX, ROW_PX = 240, 70
"""Page size per dagre rank (left to right) and per box in the tallest rank: room for the labels at zoom 1."""


def chain_graph(chain: list[dict[str, Any]]) -> dict[str, Any]:
    """Catalog.graph()'s JSON for a manifest chain (``pipeline.core.lineage.lineage_chain``): its datasets, the
    edges between them and the raw inputs, focused on the chain's first element (the dataset asked about)."""
    entries = [Entry(m["stage"], m["fingerprint"], Path(m.get("_path", "")), m, "complete") for m in chain]
    cat = Catalog(Path("."), entries, [], 0)
    return cat.graph(entries[0].id, depth=len(entries) + 1) if entries else {"nodes": [], "edges": [], "focus": None}


def page_size(graph: dict[str, Any]) -> tuple[int, int]:
    """A drawing area big enough for the graph at about zoom 1 (longest path = columns, widest rank = rows)."""
    parents: dict[str, list[str]] = {n["id"]: [] for n in graph["nodes"]}
    for e in graph["edges"]:
        parents.setdefault(e["target"], []).append(e["source"])
    rank: dict[str, int] = {}

    def r(n: str, seen: frozenset = frozenset()) -> int:
        if n not in rank:
            rank[n] = 0 if n in seen else 1 + max((r(p, seen | {n}) for p in parents.get(n, [])), default=-1)
        return rank[n]

    per_rank: dict[int, int] = {}
    for n in parents:
        per_rank[r(n)] = per_rank.get(r(n), 0) + 1
    return 80 + COLUMN_PX * (max(per_rank, default=0) + 1), 80 + ROW_PX * max(per_rank.values(), default=1)


def standalone_page(graph: dict[str, Any], title: str, below: str = "") -> str:
    """A self-contained HTML page drawing ``graph`` (scripts inlined); ``below`` is trusted HTML for under it.

    ``<body data-ready="1">`` is set once the graph is drawn, for tools that wait for it."""
    width, height = page_size(graph)
    scripts = "".join(f"<script>{(STATIC / s).read_text()}</script>\n" for s in SCRIPTS)
    data = json.dumps(graph).replace("</", "<\\/")  # no "</script>" can end the data block early
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title>"
        "<style>body{font-family:sans-serif;margin:12px}#cy{border:1px solid #ddd}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:4px}</style></head>"
        f"<body data-ready='0'><h1>{html.escape(title)}</h1>"
        f"<div id='cy' data-page-width='{width}' data-page-height='{height}' style='width:{width}px;height:{height}px'></div>"
        f"{below}\n{scripts}"
        f"<script>EhrlmGraph.draw(document.getElementById('cy'), {data}, {{maxFitZoom: 1}})"
        ".then(function () { document.body.dataset.ready = '1'; });</script>"
        "</body></html>\n"
    )
