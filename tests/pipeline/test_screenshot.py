"""The lineage page as a person sees it: headless Chromium draws every stage box, laid out by the page."""

from __future__ import annotations

import os

import pytest

from pipeline.core import lineage
from pipeline.screenshot import find_browser, page_size, screenshot
from tests.pipeline.core.test_lineage import _chain

STAGE_FILL, RAW_FILL, WHITE = (0xE8, 0xF0, 0xFE), (0xEE, 0xEE, 0xEE), (0xFF, 0xFF, 0xFF)


@pytest.fixture
def browser():
    if find_browser() is None:
        if os.environ.get("EHRLM_REQUIRE_BROWSER") == "1":
            pytest.fail("EHRLM_REQUIRE_BROWSER=1 but no Chromium on PATH")
        pytest.skip("no Chromium on PATH (Debian: apt-get install chromium)")


def _near(a: tuple[int, ...], b: tuple[int, ...], tol: int = 6) -> bool:
    return all(abs(x - y) <= tol for x, y in zip(a, b))


def _regions(image, colour: tuple[int, int, int]) -> list[tuple[int, int, int, int]]:
    """Bounding boxes (x0, y0, x1, y1) of the connected areas of ``colour`` bigger than a text glyph."""
    w, h = image.size
    px = image.load()
    todo = {(x, y) for y in range(h) for x in range(w) if _near(px[x, y], colour)}
    boxes = []
    while todo:
        stack = [todo.pop()]
        xs, ys = [], []
        while stack:
            x, y = stack.pop()
            xs.append(x)
            ys.append(y)
            for n in ((x + 1, y), (x - 1, y), (x, y + 1), (x, y - 1)):
                if n in todo:
                    todo.remove(n)
                    stack.append(n)
        if len(xs) > 400:
            boxes.append((min(xs), min(ys), max(xs), max(ys)))
    return sorted(boxes)


@pytest.mark.browser
def test_chromium_draws_every_stage_box(tmp_path, browser):
    """The page lays the graph out with the UI's own code (cytoscape + dagre, in the browser): every step and
    raw input is drawn as a box, left to right in DAG order (raw -> ingest -> clean -> shards)."""
    from PIL import Image

    _a, _b, c = _chain(tmp_path / "root")
    page = lineage.render(lineage.lineage_chain(c.path), "html")
    (tmp_path / "lineage.html").write_text(page)
    png = screenshot(tmp_path / "lineage.html", tmp_path / "lineage.png")
    image = Image.open(png).convert("RGB")
    assert image.size == page_size(page)

    found = {}
    for kind, fill in (("stage", STAGE_FILL), ("raw", RAW_FILL)):
        # box-shaped areas of the fill (boxes are 170 x 46 at zoom 1; the page fits the graph at zoom <= 1)
        found[kind] = [r for r in _regions(image, fill) if 2.5 < (r[2] - r[0]) / max(1, r[3] - r[1]) < 5 and r[2] - r[0] > 60]
    assert len(found["stage"]) == 3 and len(found["raw"]) == 1, found
    xs = sorted(r[0] for r in found["stage"])
    assert found["raw"][0][0] < xs[0] < xs[1] < xs[2]  # one dagre rank per step
