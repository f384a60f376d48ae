"""``ehrlm lineage ui --screenshot DIR``: one non-empty picture of each view, drawn (not a blank page)."""

from __future__ import annotations

import os

import pytest
from typer.testing import CliRunner

from flows.cli import app
from pipeline.screenshot import find_browser

pytestmark = pytest.mark.browser
VIEWS = {"catalogue", "graph", "runs", "dataset", "compare", "impact"}


@pytest.mark.slow
def test_screenshot_of_each_view(demo_root, tmp_path):
    from PIL import Image

    if find_browser() is None:
        if os.environ.get("EHRLM_REQUIRE_BROWSER") == "1":
            pytest.fail("EHRLM_REQUIRE_BROWSER=1 but no Chromium on PATH")
        pytest.skip("no Chromium on PATH (Debian: apt-get install chromium)")
    out = tmp_path / "shots"
    result = CliRunner().invoke(app, ["lineage", "ui", "--data-root", str(demo_root["root"]), "--screenshot", str(out)])
    assert result.exit_code == 0, result.output
    assert {p.stem for p in out.glob("*.png")} == VIEWS
    for png in out.glob("*.png"):
        image = Image.open(png).convert("RGB")
        assert png.stat().st_size > 10_000 and image.size == (1600, 1000), png
        # a drawn view has text and boxes in many colours; a blank or error page has a handful
        assert len(image.getcolors(maxcolors=1 << 16) or range(1 << 16)) > 50, png
    graph = Image.open(out / "graph.png").convert("RGB")
    assert dict((c, n) for n, c in graph.getcolors(maxcolors=1 << 20)).get((0xE6, 0xF4, 0xEA), 0) > 2000  # model boxes' fill, drawn on the canvas
