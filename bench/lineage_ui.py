"""How fast the lineage UI opens a big data root: catalogue and graph load times in a real browser.

    python bench/lineage_ui.py [--datasets 1000] [--repeats 3] [--workdir DIR] [--json out.json]

Why it is built this way:

- **A generated data root, real manifests.** Each dataset is written by ``pipeline.core.dataset.run_stage`` (the
  mechanism every stage uses) with a trivial body, and each step is logged as OpenLineage START/COMPLETE
  events by ``pipeline.core.lineage`` -- so the catalogue reads exactly what a real root holds, at the size the
  issue asks for. Shape: several raw corpora, each through ingest .. deid once, then several ``sentences``
  reruns with changed settings, each followed by vocab, shards, a pretraining run and four fine-tunings: a
  realistic mix of stale chains, superseded versions and models (about 12 datasets per rerun).
- **Measured as a person waits.** Playwright drives the system Chromium (no download) to the catalogue, the
  graph (a root this big opens on current versions) and the graph with every superseded version; a view
  counts as loaded when the page says it has drawn it (``data-ready`` after the table is filled, or two
  frames after dagre's layout), timed from navigation start (``performance.now()``).
  Each view loads ``--repeats`` times in a fresh page; the median is reported, with the slowest.
- **The server's share apart.** The JSON routes the two views call are timed on their own (first request
  after start = a cold catalogue read of every manifest; then warm).

Prints one table; nothing in a generated root is note text.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipeline.core import lineage  # noqa: E402
from pipeline.core.dataset import StageResult, run_stage  # noqa: E402
from pipeline.lineage_ui.app import Background  # noqa: E402
from pipeline.lineage_ui.catalog import Catalog  # noqa: E402
from pipeline.screenshot import find_browser  # noqa: E402

TASKS = ("ner", "re", "sts", "qa")
PER_RERUN = 3 + 1 + len(TASKS)  # sentences, vocab, shards, pretrain, fine-tunings (+ ingest .. deid once per corpus)


def _body(n: int):
    def body(inputs, out, progress):
        (out / "part.bin").write_bytes(b"\0" * 64)
        return StageResult(n, n, counts={"n": n})

    return body


def generate(root: Path, datasets: int) -> int:
    """Write about ``datasets`` datasets under ``root``; returns how many."""
    reruns = 6
    per_corpus = 4 + reruns * PER_RERUN
    corpora = max(1, math.ceil(datasets / per_corpus))
    count = 0

    def step(stage: str, params: dict, inputs: dict, parent: tuple[str, str], external: dict | None = None):
        nonlocal count
        ds, _ = run_stage(data_root=root, stage=stage, params=params, code="bench", inputs=inputs, body=_body(1000 + count),
                          external_inputs=external)  # fmt: skip
        run_id = lineage.new_run_id()
        lineage.emit(lineage.run_event("START", stage, run_id, list(inputs.values()), [], parent), root)
        lineage.emit(lineage.run_event("COMPLETE", stage, run_id, list(inputs.values()), [ds], parent), root)
        count += 1
        return ds

    for c in range(corpora):
        run = ("ehrlm-preprocess", lineage.new_run_id())
        ing = step("ingest", {}, {}, run, {f"raw:corpus{c}.parquet": hashlib.sha256(f"corpus {c}".encode()).hexdigest()})
        cln = step("clean", {}, {"ingest": ing}, run)
        ddp = step("dedup", {}, {"clean": cln}, run)
        did = step("deid", {}, {"dedup": ddp}, run)
        for r in range(reruns):
            run = ("ehrlm-pipeline", lineage.new_run_id())
            sen = step("sentences", {"min_chars": r + 1}, {"deid": did}, run)
            voc = step("vocab", {}, {"sentences": sen}, run)
            shd = step("shards", {}, {"sentences": sen, "vocab": voc}, run)
            pre = step("pretrain", {"seed": r}, {"shards": shd, "vocab": voc}, run)
            for task in TASKS:
                step(f"finetune_{task}", {"task": task, "init": "pretrained"}, {"checkpoint": pre}, run,
                     {"data_train": hashlib.sha256(task.encode()).hexdigest()})  # fmt: skip
    return count


def _fetch_ms(url: str) -> float:
    t0 = time.perf_counter()
    with urllib.request.urlopen(url) as r:
        r.read()
    return (time.perf_counter() - t0) * 1000


def measure(root: Path, repeats: int) -> dict:
    from playwright.sync_api import sync_playwright

    browser_path = find_browser()
    if browser_path is None:
        raise SystemExit("no Chromium on PATH (Debian: apt-get install chromium)")
    out: dict = {}
    with Background(root) as server:
        out["api_cold_ms"] = {"/api/datasets": _fetch_ms(server.url + "/api/datasets")}
        out["api_warm_ms"] = {p: statistics.median(_fetch_ms(server.url + p) for _ in range(3)) for p in ("/api/datasets", "/api/graph")}
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=browser_path, args=["--no-sandbox", "--disable-gpu", "--disable-quic"])
            for name, view, route in (("catalogue", "catalogue", "catalogue"), ("graph", "graph", "graph"),
                                      ("graph_with_superseded", "graph", "graph?superseded=1")):  # fmt: skip
                times, layout = [], []
                for _ in range(repeats):
                    page = browser.new_page(viewport={"width": 1600, "height": 1000})
                    page.goto(f"{server.url}/#/{route}")
                    page.wait_for_function(f"document.body.dataset.ready === '1' && document.body.dataset.view === '{view}'",
                                           timeout=120_000)  # fmt: skip
                    times.append(page.evaluate("performance.now()"))
                    if view == "graph":
                        layout.append(page.evaluate("window.ehrlm.layoutMs"))
                        out[f"{name}_nodes"] = page.evaluate("window.ehrlm.cy.nodes().length")
                    else:
                        out["catalogue_rows"] = page.locator("#catalogue tr[data-id]").count()
                    page.close()
                out[f"{name}_ms"] = {"median": statistics.median(times), "max": max(times)}
                if layout:
                    out[f"{name}_draw_and_layout_ms"] = {"median": statistics.median(layout), "max": max(layout)}
            browser.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", type=int, default=1000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--workdir", type=Path, default=None, help="keep the generated root here (default: a temp folder)")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="ehrlm-lineage-bench-") as tmp:
        root = (args.workdir or Path(tmp)) / "data"
        t0 = time.perf_counter()
        n = generate(root, args.datasets) if not root.exists() else len(Catalog.load(root).entries)
        gen_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        cat = Catalog.load(root)
        load_ms = (time.perf_counter() - t0) * 1000
        result = {"datasets": n, "stale": cat.summary()["stale"], "generate_s": round(gen_s, 1), "catalog_load_ms": round(load_ms, 1),
                  **measure(root, args.repeats)}  # fmt: skip
    print(f"lineage UI on a generated root: {result['datasets']} datasets ({result['stale']} stale); graph nodes: "
          f"{result.get('graph_nodes')} current (the default view), {result.get('graph_with_superseded_nodes')} with "
          "superseded versions; load = navigation start to the view painted")  # fmt: skip
    print(f"{'what':<44}{'median ms':>12}{'max ms':>10}")
    for key in ("catalogue_ms", "graph_ms", "graph_draw_and_layout_ms", "graph_with_superseded_ms",
                "graph_with_superseded_draw_and_layout_ms"):  # fmt: skip
        print(f"{key:<44}{result[key]['median']:>12.0f}{result[key]['max']:>10.0f}")
    print(f"{'server: catalogue read (Python, in process)':<44}{result['catalog_load_ms']:>12.0f}")
    for k, v in result["api_cold_ms"].items():
        print(f"{'server: first ' + k + ' (cold read)':<44}{v:>12.0f}")
    for k, v in result["api_warm_ms"].items():
        print(f"{'server: ' + k + ' (warm)':<44}{v:>12.0f}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
