"""The progress dashboard in Debian's Chromium: it loads, draws its charts from the API, asks nothing elsewhere."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.programme.data import BC, BD, TOWN
from tests.web.conftest import LiveServer, Recorder


@pytest.fixture(scope="module")
def server(site) -> Iterator[LiveServer]:
    with LiveServer(site.settings) as live:
        yield live


def test_dashboard_draws_the_progress(server, browser):
    page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    rec = Recorder()
    rec.attach(page)
    page.goto(server.url + "/dashboard")
    page.wait_for_selector("body[data-ready='1']", timeout=30000)
    assert page.locator("#status").inner_text() == ""
    area = page.locator(".target[data-key='area_mu']")
    assert "202.5" in area.locator(".value").inner_text() and "2.0%" in area.inner_text()
    # the bar's fill is 2.025 % of 300 px
    assert float(area.locator("rect.fill").get_attribute("width")) == pytest.approx(6.1, abs=0.05)
    assert "4.21" in page.locator(".target[data-key='tax_per_mu_wan']").inner_text()
    assert page.locator(f"#towns-chart g[data-town='{TOWN}']").count() == 1
    assert page.locator("#timeline-chart path.line").count() == 1
    assert {page.locator("#overdue tr[data-block]").nth(i).get_attribute("data-block") for i in range(2)} == {BC, BD}
    assert page.locator(f"#towns tr[data-town='{TOWN}'] a").first.get_attribute("href").startswith(
        f"api/programme/towns/{TOWN}/report.html")
    assert rec.errors == [] and not [m for m in rec.console if m[0] == "error"]
    assert all(url.startswith(server.url) for url in rec.requests)  # no CDN, nothing from elsewhere
    page.locator("#as-of").fill("2024-12-31")
    page.locator("#as-of").dispatch_event("change")
    page.locator(".target[data-key='area_mu'] .value", has_text="157.5").wait_for(timeout=30000)
    assert "4.21" not in page.locator(".target[data-key='tax_per_mu_wan']").inner_text()  # 3.20 on 2024-12-31
    page.close()


def test_map_links_to_the_dashboard(server):
    import urllib.request

    with urllib.request.urlopen(server.url + "/") as resp:  # noqa: S310 (our own test server)
        assert 'href="dashboard"' in resp.read().decode()
