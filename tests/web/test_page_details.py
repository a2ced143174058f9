"""Small things on every page, in Debian's Chromium on the 0.02 sample: each chart of the dashboard has a key that
names every colour it draws with, and every page has its icon (``<link rel=icon>`` on the map and the dashboard,
and ``/favicon.ico`` for pages that link none). Thousands separators: tests/web/test_one_language.py.
"""

from __future__ import annotations

from playwright.sync_api import Page

from app.planning import legend
from app.planning.config import PlanningRules
from tests.web.conftest import LiveServer, open_map

CHARTS = ("towns-chart", "timeline-chart", "modes-chart")


def chart_colours(page: Page, chart: str) -> set[str]:
    """The colours a chart draws its data with: bar fills, line strokes (grid and axes aside)."""
    return set(page.evaluate("""(id) => {
        const out = new Set();
        for (const r of document.querySelectorAll(`#${id} rect[fill]`)) {
            if (+r.getAttribute('width') > 0) out.add(r.getAttribute('fill'));
        }
        for (const l of document.querySelectorAll(`#${id} path[stroke], #${id} line[stroke]`)) {
            out.add(l.getAttribute('stroke'));
        }
        return [...out];
    }""", chart))


def test_every_dashboard_chart_has_a_key(browser, live_server: LiveServer) -> None:
    charts = legend.legend(PlanningRules())["charts"]
    page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    try:
        page.goto(live_server.url + "/dashboard")
        page.wait_for_selector("body[data-ready='1']", timeout=30000)
        for chart in CHARTS:
            drawn = chart_colours(page, chart)
            assert drawn, chart
            key = page.locator(f"#{chart} + ul.key")
            assert key.is_visible(), chart
            keyed = {key.locator("li").nth(i).get_attribute("data-colour") for i in range(key.locator("li").count())}
            assert drawn <= keyed, (chart, drawn - keyed)
            assert all(key.locator("li").nth(i).inner_text().strip() for i in range(key.locator("li").count()))
        modes = page.locator("#modes-key").inner_text()
        assert "已改造" in modes and "实施中" in modes, modes  # the by-mode bars had no key
        assert charts["planned"] in chart_colours(page, "modes-chart")
        page.click("#lang")
        assert "Renovated" in page.locator("#modes-key").inner_text()
    finally:
        page.close()


def icon_of(page: Page, server: LiveServer) -> None:
    href = page.locator("link[rel='icon']").get_attribute("href")
    assert href
    resp = page.request.get(f"{server.url}/{href}")
    assert resp.ok and resp.headers["content-type"].startswith("image/")


def test_every_page_has_its_icon(browser, live_server: LiveServer) -> None:
    resp = browser.new_context().request.get(live_server.url + "/favicon.ico")
    assert resp.status == 200
    assert resp.headers["content-type"] in ("image/vnd.microsoft.icon", "image/x-icon")
    assert resp.body()[:4] == b"\x00\x00\x01\x00"  # an ICO
    page, rec = open_map(browser, live_server.url)
    try:
        icon_of(page, live_server)
        page.goto(live_server.url + "/dashboard")
        page.wait_for_selector("body[data-ready='1']", timeout=30000)
        icon_of(page, live_server)
        assert rec.errors == []
    finally:
        page.context.close()
