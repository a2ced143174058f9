"""The progress dashboard on the 0.02 sample as `make run` loads it, in Debian's Chromium: out of the box it shows
the programme's progress (issue 17, item 11), not three zeros.

The sample's blocks were accepted over several years, some are in progress, and the renovated blocks have new
above-scale firms and a higher 亩均税收 (geodata/sample.py, app/programme/sample.py), so the three target cards
show a share above 0, the per-town chart has bars and the time line rises. A screenshot is saved in the test's
temporary directory.
"""

from __future__ import annotations

import re

from sqlalchemy import text

from tests.web.conftest import Recorder


def _points(d: str) -> list[tuple[float, float]]:
    """The (x, y) points of an SVG path made of M and L commands."""
    return [(float(x), float(y)) for x, y in re.findall(r"[ML]\s*(-?[\d.]+)[ ,](-?[\d.]+)", d)]


def _number(label: str) -> float:
    """The first number of a card's value ("5,239.3 亩" → 5239.3)."""
    found = re.search(r"-?[\d,]+(?:\.\d+)?", label)
    assert found, label
    return float(found.group(0).replace(",", ""))


def test_dashboard_shows_the_sample_programme(browser, live_server, web_db, tmp_path):
    page = browser.new_page(viewport={"width": 1366, "height": 1000}, locale="zh-CN")
    rec = Recorder()
    rec.attach(page)
    page.goto(live_server.url + "/dashboard")
    page.wait_for_selector("body[data-ready='1']", timeout=30000)
    page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)
    assert (tmp_path / "dashboard.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert rec.errors == []

    # the three target cards: a value above 0 and a progress bar with some length
    for key in ("area_mu", "new_above_scale", "tax_per_mu_wan"):
        card = page.locator(f".target[data-key='{key}']")
        assert card.count() == 1, key
        assert _number(card.locator(".value").inner_text()) > 0, key
        width = float(card.locator("rect.fill").get_attribute("width") or 0)
        assert 0 < width < 300, (key, width)  # visible, and honestly short of the city's target

    # per town: a renovated bar for each town with accepted blocks
    with web_db.connect() as conn:
        towns = set(conn.execute(text("SELECT DISTINCT t.code FROM blocks b JOIN towns t ON t.id = b.town_id "
                                      "WHERE b.status = 'accepted'")).scalars())
    assert len(towns) >= 3
    for town in towns:
        bars = page.locator(f"#towns-chart g[data-town='{town}'] rect")
        assert bars.count() >= 1 and float(bars.first.get_attribute("width") or 0) > 0, town

    # the time line rises in steps from 0 (the x axis) to the renovated area today
    line = page.locator("#timeline-chart path.line")
    assert line.count() == 1
    points = _points(line.get_attribute("d") or "")
    ys = [y for _, y in points]
    assert len(points) > 8 and ys[-1] < ys[0]  # SVG y grows downwards: the end is higher than the start
    assert all(b <= a + 1e-9 for a, b in zip(ys, ys[1:], strict=False))  # never falls
    assert len(set(ys)) >= 4  # acceptances in several quarters
    page.close()
