"""A PNG of an HTML page as a person sees it, rendered by headless Chromium (Debian's ``chromium`` package).

Used to give people a picture of the lineage page (``ehrlm lineage graph --format png``, the demo) and by
the browser test that checks the stage boxes are really drawn (the page draws them with JavaScript). Chromium is started the way this kind of
offline machine needs: no sandbox (we may be root), no GPU, and no background networking, whose blocked
connections would otherwise stall start-up.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--hide-scrollbars", "--force-device-scale-factor=1",
)  # fmt: skip
JS_BUDGET_MS = 10000
CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


class NoBrowserError(RuntimeError):
    """No Chromium-family browser on PATH."""


def find_browser() -> str | None:
    return next((p for p in map(shutil.which, CANDIDATES) if p), None)


def page_size(page: str, margin: tuple[int, int] = (60, 400)) -> tuple[int, int]:
    """A window big enough for the page's drawing plus a margin (for the table below): the first element with
    ``data-page-width= data-page-height=`` (the lineage graph's area), else the first ``<svg width= height=>``."""
    m = re.search(r"data-page-width=['\"](\d+)['\"][^>]*data-page-height=['\"](\d+)['\"]", page) or re.search(
        r'<svg[^>]*\swidth="(\d+)"[^>]*\sheight="(\d+)"', page
    )
    w, h = (int(m.group(1)), int(m.group(2))) if m else (1200, 600)
    return w + margin[0], h + margin[1]


def screenshot(html_file: Path, png_file: Path, size: tuple[int, int] | None = None, timeout: float = 90) -> Path:
    """Render ``html_file`` to ``png_file``; the window is sized to the page's SVG unless ``size`` is given."""
    browser = find_browser()
    if browser is None:
        raise NoBrowserError("no Chromium found on PATH; install it (Debian: apt-get install chromium) to render PNGs")
    html_file, png_file = Path(html_file).resolve(), Path(png_file).resolve()
    width, height = size or page_size(html_file.read_text())
    png_file.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="ehrlm-chromium-") as profile:
        # the virtual-time budget lets the page's scripts (the graph layout) finish before the picture
        cmd = [browser, *FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}",
               f"--virtual-time-budget={JS_BUDGET_MS}", f"--screenshot={png_file}", html_file.as_uri()]  # fmt: skip
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0 or not png_file.is_file():
        raise RuntimeError(f"{Path(browser).name} exited with {done.returncode} and wrote no screenshot: {done.stderr[-500:]}")
    return png_file
