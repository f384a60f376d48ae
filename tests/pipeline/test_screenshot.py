"""The lineage page as a person sees it: headless Chromium draws every stage box where the page puts it."""

from __future__ import annotations

import os
import re

import pytest

from pipeline import lineage
from pipeline.screenshot import find_browser, page_size, screenshot
from tests.pipeline.test_lineage import _chain

STAGE_FILL, RAW_FILL, WHITE = (0xE8, 0xF0, 0xFE), (0xEE, 0xEE, 0xEE), (0xFF, 0xFF, 0xFF)
BOX = re.compile(r'<g class="(stage|raw)"[^>]*>(?:<title>[^<]*</title>)?<rect x="(\d+)" y="(\d+)" width="(\d+)" height="(\d+)"')


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
    from PIL import Image

    _a, _b, c = _chain(tmp_path / "root")
    page = lineage.render(lineage.lineage_chain(c.path), "html")
    boxes = [(kind, *map(int, xywh)) for kind, *xywh in BOX.findall(page)]
    assert sorted(kind for kind, *_ in boxes) == ["raw", "stage", "stage", "stage"]
    (tmp_path / "lineage.html").write_text(page)
    png = screenshot(tmp_path / "lineage.html", tmp_path / "lineage.png")
    image = Image.open(png).convert("RGB")
    assert image.size == page_size(page)

    for kind, fill in (("stage", STAGE_FILL), ("raw", RAW_FILL)):
        want = sorted((x, y, w, h) for k, x, y, w, h in boxes if k == kind)
        size = want[0][2:]
        # areas of the box's size (minus its stroke); table borders share the raw boxes' grey
        drawn = [r for r in _regions(image, fill) if abs(r[2] - r[0] - size[0]) <= 4 and abs(r[3] - r[1] - size[1]) <= 4]
        assert len(drawn) == len(want), (kind, drawn)
        for (x, y, _w, _h), (x0, y0, _x1, _y1) in zip(want, drawn):
            # where the page puts it: the same offset (heading, margins) for every box
            assert (x0 - x, y0 - y) == (drawn[0][0] - want[0][0], drawn[0][1] - want[0][1])
