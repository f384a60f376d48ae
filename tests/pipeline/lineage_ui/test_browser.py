"""The lineage UI in a real browser (Playwright driving the system Chromium): the issue's walk-through on a
data root with two runs -- every dataset in the catalogue, click ``sentences`` in the graph, read its
parameters, compare its two fingerprints, follow impact from ``deid`` to the fine-tuned models."""

from __future__ import annotations

import os
import re

import pytest

from pipeline.lineage_ui.app import Background
from pipeline.screenshot import find_browser

pytestmark = pytest.mark.browser
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking", "--disable-component-update"]


@pytest.fixture(scope="module")
def browser():
    path = find_browser()
    if path is None:
        if os.environ.get("EHRLM_REQUIRE_BROWSER") == "1":
            pytest.fail("EHRLM_REQUIRE_BROWSER=1 but no Chromium on PATH")
        pytest.skip("no Chromium on PATH (Debian: apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=path, args=LAUNCH_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def ui(demo_root):
    with Background(demo_root["root"]) as server:
        yield server.url


@pytest.fixture
def page(browser):
    pg = browser.new_page(viewport={"width": 1500, "height": 950})
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    yield pg
    pg.close()
    assert not errors, errors


def _open(page, url: str, view: str) -> None:
    page.goto(url)
    page.wait_for_function(f"document.body.dataset.ready === '1' && document.body.dataset.view === '{view}'")


def _click_node(page, node_id: str) -> None:
    """A real mouse click where cytoscape drew the node on its canvas."""
    x, y = page.evaluate(
        """id => { const n = window.ehrlm.cy.getElementById(id); const p = n.renderedPosition();
                   const r = window.ehrlm.cy.container().getBoundingClientRect(); return [r.left + p.x, r.top + p.y]; }""",
        node_id,
    )
    page.mouse.click(x, y)


def test_walk_through(page, ui, demo_root):
    from playwright.sync_api import expect

    first, second = demo_root["first"], demo_root["second"]
    every = {f"{d.stage}/{d.fingerprint}" for d in (*first.values(), *second.values())}

    # catalogue: every dataset and model of both runs, and the search narrows it
    _open(page, f"{ui}/#/catalogue", "catalogue")
    assert set(page.locator("#catalogue tr[data-id]").evaluate_all("rows => rows.map(r => r.dataset.id)")) == every
    page.fill("#q", "sentences")
    expect(page.locator("#catalogue tr[data-id]")).to_have_count(2)
    expect(page.locator("#count")).to_contain_text(f"2 of {len(every)} match")

    # graph: click the new sentences node, read its parameters in the panel
    new, old = second["sentences"], first["sentences"]
    _open(page, f"{ui}/#/graph", "graph")
    assert page.evaluate("window.ehrlm.cy.nodes().length") >= len(every)
    _click_node(page, f"sentences/{new.fingerprint}")
    expect(page.locator("#panel h2")).to_contain_text(f"sentences {new.fingerprint}")
    params = page.locator("#panel table.params")
    expect(params.locator("tr", has_text="min_chars")).to_contain_text("2")
    expect(params.locator("tr", has_text="splitter")).to_contain_text("clinical")
    assert page.evaluate(f"window.ehrlm.cy.getElementById('vocab/{first['vocab'].fingerprint}').data('stale')")

    # compare its two fingerprints: the changed parameter is named
    page.select_option("#cmp", old.fingerprint)
    page.click("#compare-link")
    page.wait_for_function("document.body.dataset.view === 'compare' && document.body.dataset.ready === '1'")
    expect(page.locator("#why")).to_contain_text("params")
    changed = page.locator("table.diff[data-section=params] tr.changed")
    expect(changed).to_have_count(1)
    assert re.fullmatch(r"min_chars\s*2\s*1", changed.inner_text().strip())

    # impact from deid reaches the fine-tuned models built on it, and exports as CSV
    deid = first["deid"]
    _open(page, f"{ui}/#/dataset/deid/{deid.fingerprint}", "dataset")
    page.click("#impact-link")
    page.wait_for_function("document.body.dataset.view === 'impact' && document.body.dataset.ready === '1'")
    models = {f"finetune_ner/{run['finetune_ner'].fingerprint}" for run in (first, second) if run["deid"] == deid}
    shown = set(page.locator("#impact tr[data-id]").evaluate_all("rows => rows.map(r => r.dataset.id)"))
    assert models <= shown and f"pretrain/{first['pretrain'].fingerprint}" in shown
    csv = page.request.get(ui + page.locator("#csv").get_attribute("href")).text()
    assert all(m in csv for m in models)

    # runs: the second run created the new sentences and reused deid
    _open(page, f"{ui}/#/runs", "runs")
    expect(page.locator(".run", has_text=new.fingerprint).first).to_contain_text("reused")

