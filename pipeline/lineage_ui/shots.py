"""A PNG of each view of the lineage UI (``ehrlm lineage ui --screenshot DIR``), by headless Chromium.

The app runs in a thread of this process on a free localhost port; Chromium (the same start-up flags as
:mod:`pipeline.screenshot`) loads each view's URL. ``--virtual-time-budget`` lets the page's own fetches
and the graph layout finish before the picture is taken, with no sleep to tune.
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

from pipeline.lineage_ui.app import Background
from pipeline.lineage_ui.catalog import Catalog
from pipeline.screenshot import FLAGS, NoBrowserError, find_browser

SIZE = (1600, 1000)
BUDGET_MS = 20000


def views(cat: Catalog) -> dict[str, str]:
    """View name -> hash route. The examples are what the views are for: the dataset whose re-run made others
    stale (a superseded dataset whose own inputs are current; else the stage with most versions) in the
    panel and compare views, and a ``deid`` output (else the dataset with most downstream) in the impact view."""
    rows = [r for r in cat.rows() if r["status"] == "complete"]
    out = {"catalogue": "#/catalogue", "graph": "#/graph", "runs": "#/runs"}
    if not rows:
        return out
    causes = sorted((e for e in cat.entries.values() if e.superseded_by and not e.stale_because),
                    key=lambda e: e.m.get("started_at") or "")  # fmt: skip
    if causes:
        old = causes[-1]
        new = cat.entries[old.superseded_by]
        out["dataset"] = f"#/dataset/{new.id}"
        out["compare"] = f"#/compare/{old.stage}/{old.fingerprint}/{new.fingerprint}"
    else:
        by_stage: dict[str, list[dict]] = {}
        for r in rows:
            by_stage.setdefault(r["stage"], []).append(r)
        stage, versions = max(by_stage.items(), key=lambda kv: len(kv[1]))
        versions.sort(key=lambda r: r["started_at"] or "", reverse=True)
        out["dataset"] = f"#/dataset/{versions[0]['id']}"
        if len(versions) > 1:
            out["compare"] = f"#/compare/{stage}/{versions[1]['fingerprint']}/{versions[0]['fingerprint']}"
    widest = max(rows, key=lambda r: (r["stage"] == "deid", len(cat.downstream(r["id"]))))
    out["impact"] = f"#/impact/{widest['id']}"
    return out


def capture(url: str, png: Path, size: tuple[int, int] = SIZE, timeout: float = 120) -> Path:
    browser = find_browser()
    if browser is None:
        raise NoBrowserError("no Chromium found on PATH; install it (Debian: apt-get install chromium) to take screenshots")
    png = Path(png).resolve()
    png.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="ehrlm-chromium-") as profile:
        cmd = [browser, *FLAGS, f"--user-data-dir={profile}", f"--window-size={size[0]},{size[1]}",
               f"--virtual-time-budget={BUDGET_MS}", f"--screenshot={png}", url]  # fmt: skip
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0 or not png.is_file() or png.stat().st_size == 0:
        raise RuntimeError(f"{Path(browser).name} exited with {done.returncode} and wrote no screenshot of {url}: {done.stderr[-500:]}")
    return png


def screenshot_views(data_root: Path, out_dir: Path) -> dict[str, Path]:
    """One PNG per view into ``out_dir`` (``catalogue.png``, ``graph.png``, ...); returns them by view."""
    out_dir = Path(out_dir)
    with Background(data_root) as server:
        routes = views(Catalog.load(data_root))
        return {name: capture(f"{server.url}/{route}", out_dir / f"{name}.png") for name, route in routes.items()}
