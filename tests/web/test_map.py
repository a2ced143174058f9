"""The planners' map in a real browser (Debian's Chromium via Playwright) on the 0.02 sample.

The page must load without console errors, ask only its own origin, draw vector tiles, open the right card
for a clicked block or parcel, hide what a filter excludes, and switch language. A screenshot is saved to
tests/artifacts/map.png for review.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page
from sqlalchemy import text

from tests.conftest import bearer, create_user
from tests.web.conftest import LiveServer, open_map

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


def fmt(value: float, digits: int) -> str:
    """A number as the page prints it (zh-CN and en both group thousands with commas)."""
    return f"{value:,.{digits}f}"


def block_rows(web_db) -> list:
    """Every block with an interior point (CRS84), its status and its card figures from SQL."""
    with web_db.connect() as conn:
        return conn.execute(text("""
            SELECT b.code, b.name, b.status, t.name AS town_name, ST_X(pt) AS lon, ST_Y(pt) AS lat,
                   ST_Area(b.geom) AS area_m2
            FROM blocks b JOIN towns t ON t.id = b.town_id,
                 LATERAL (SELECT ST_Transform(ST_PointOnSurface(b.geom), 4326) AS pt) p
            ORDER BY ST_Area(b.geom) DESC""")).all()


def point_on_page(page: Page, lat: float, lon: float) -> tuple[float, float]:
    """Page coordinates of a map position."""
    box = page.locator("#map").bounding_box()
    assert box is not None
    p = page.evaluate("([lat, lon]) => { const p = renewalMap.map.latLngToContainerPoint([lat, lon]); "
                      "return [p.x, p.y]; }", [lat, lon])
    return box["x"] + p[0], box["y"] + p[1]


def go(page: Page, lat: float, lon: float, zoom: int) -> None:
    """Centre the map and wait until the tiles of the new view are drawn."""
    page.evaluate("""([lat, lon, zoom]) => new Promise((resolve) => {
        const m = renewalMap.map;
        const layers = Object.values(renewalMap.layers).filter((l) => l && l.once && m.hasLayer(l) && l.createTile);
        let waiting = 0;
        const done = () => { if (--waiting <= 0) resolve(); };
        for (const l of layers) {
            if (zoom >= l.options.minZoom) { waiting++; l.once('load', done); }
        }
        m.setView([lat, lon], zoom, {animate: false});
        if (!waiting) resolve();
        setTimeout(resolve, 10000);
    })""", [lat, lon, zoom])


def card_field(page: Page, field: str) -> str:
    return page.locator(f"#card tr[data-field='{field}'] td").inner_text()


def test_page_loads_cleanly_draws_tiles_and_stays_on_its_origin(browser, live_server: LiveServer):
    page, rec = open_map(browser, live_server.url)
    try:
        assert rec.errors == []
        assert [m for m in rec.console if m[0] in ("error", "warning")] == []
        foreign = [u for u in rec.requests if not u.startswith(live_server.url + "/")]
        assert foreign == [], foreign
        ok = [t for t in rec.tiles if t[1] == 200]
        assert ok and all(size > 0 for _, _, size in ok), rec.tiles
        assert any("/tiles/blocks/" in u for u, _, _ in ok)
        drawn = page.evaluate("renewalMap.layers.blocks.drawn().length")
        assert drawn > 0
        assert page.locator("h1").inner_text() == "慈溪市老旧工业区块改造提升"
        assert page.evaluate("renewalMap.firstPaintMs") < 10000
    finally:
        page.context.close()


def test_click_on_a_block_opens_its_card(browser, live_server, web_db, web_settings):
    block = block_rows(web_db)[0]
    create_user(web_db, "test-viewer", "viewer")  # tax figures need a login (issue 8)
    token = bearer(web_settings, "viewer")["Authorization"].removeprefix("Bearer ")
    page, rec = open_map(browser, live_server.url, token=token)
    try:
        go(page, block.lat, block.lon, 13)
        x, y = point_on_page(page, block.lat, block.lon)
        page.mouse.move(x, y)
        page.wait_for_function("renewalMap.layers.blocks.hoverKey !== null")
        assert page.evaluate("renewalMap.layers.blocks.hoverKey") == block.code
        page.mouse.click(x, y)
        page.wait_for_selector(f"#card .card-code:text-is('{block.code}')")
        card = live_server_card(web_db, block.code)
        assert page.locator("#card .card-title").inner_text().startswith(block.name)
        assert card_field(page, "town") == block.town_name
        assert card_field(page, "status") == {"listed": "已列入", "surveyed": "已排查", "planned": "方案已批",
                                              "in_progress": "实施中", "accepted": "已验收"}[block.status]
        assert card_field(page, "land_area").startswith(f"{fmt(card['land_m2'] * 15 / 10000, 1)} 亩")
        assert card_field(page, "far").startswith(fmt(card["counted_m2"] / card["land_m2"], 2))
        tax_wan = card["tax"] / (card["land_m2"] * 15 / 10000) / 10000
        assert card_field(page, "tax_per_mu").startswith(f"{fmt(tax_wan, 2)} 万元/亩")
        assert ("5万及以下" in card_field(page, "tax_per_mu")) == (round(tax_wan, 9) <= 5)
        assert card_field(page, "above_scale").startswith(str(card["above"]))
        links = page.locator("#card .links a")
        hrefs = [links.nth(i).get_attribute("href") for i in range(links.count())]
        assert f"api/blocks/{block.code}/metrics" in hrefs
        assert f"api/export?layer=parcels&block={block.code}&format=gpkg" in hrefs
        metrics = page.request.get(f"{live_server.url}/api/blocks/{block.code}/metrics")
        assert metrics.ok
        assert rec.errors == []
    finally:
        page.context.close()


def live_server_card(web_db, code: str) -> dict:
    """The block's figures straight from the tables (counted floor area: storeys over 8 m high count twice,
    illegal buildings not at all)."""
    with web_db.connect() as conn:
        land, tax = conn.execute(text(
            "SELECT sum(ST_Area(p.geom)), sum(p.tax::float8) FROM parcels p JOIN blocks b ON b.id = p.block_id "
            "WHERE b.code = :c"), {"c": code}).one()
        counted = conn.execute(text(
            "SELECT sum(COALESCE(g.floor_area::float8, ST_Area(g.geom) * g.floors) "
            "* CASE WHEN g.floor_h > 8 THEN 2 ELSE 1 END) FROM buildings g JOIN parcels p ON p.id = g.parcel_id "
            "JOIN blocks b ON b.id = p.block_id WHERE b.code = :c AND NOT g.illegal"), {"c": code}).scalar_one()
        above = conn.execute(text(
            "SELECT count(*) FROM enterprises e JOIN parcels p ON p.id = e.parcel_id JOIN blocks b "
            "ON b.id = p.block_id WHERE b.code = :c AND e.above_scl"), {"c": code}).scalar_one()
    return {"land_m2": land, "tax": tax, "counted_m2": counted, "above": above}


def test_click_on_a_parcel_shows_its_compliance_and_shortfall(browser, live_server, web_db):
    with web_db.connect() as conn:
        rows = conn.execute(text("""
            WITH f AS (
                SELECT p.code, ST_Area(p.geom) AS land, ST_Transform(ST_PointOnSurface(p.geom), 4326) AS pt,
                       COALESCE((SELECT sum(COALESCE(g.floor_area::float8, ST_Area(g.geom) * g.floors)
                                 * CASE WHEN g.floor_h > 8 THEN 2 ELSE 1 END)
                                 FROM buildings g WHERE g.parcel_id = p.id AND NOT g.illegal), 0) AS counted
                FROM parcels p)
            SELECT code, land, counted, ST_X(pt) AS lon, ST_Y(pt) AS lat FROM f
            WHERE counted < 2 * land ORDER BY land DESC LIMIT 1""")).one()
    page, _ = open_map(browser, live_server.url)
    try:
        go(page, rows.lat, rows.lon, 17)
        x, y = point_on_page(page, rows.lat, rows.lon)
        page.mouse.click(x, y)
        page.wait_for_selector(f"#card .card-code:text-is('{rows.code}')")
        assert card_field(page, "far").startswith(fmt(rows.counted / rows.land, 2))
        assert "未达标" in card_field(page, "far")
        assert card_field(page, "shortfall") == f"{fmt(2 * rows.land - rows.counted, 0)} m²"
        assert page.evaluate("renewalMap.layers.parcels.selectedKey") == rows.code
    finally:
        page.context.close()


def pixel_alpha(page: Page, pane: str, x: float, y: float) -> int:
    """Alpha of the pixel drawn by a tile layer's canvas at page coordinates (0: nothing drawn)."""
    return page.evaluate("""([pane, x, y]) => {
        for (const c of document.querySelectorAll(`.leaflet-${pane}-pane canvas`)) {
            const r = c.getBoundingClientRect();
            if (x < r.left || x >= r.right || y < r.top || y >= r.bottom) continue;
            const k = c.width / r.width;
            const px = Math.floor((x - r.left) * k), py = Math.floor((y - r.top) * k);
            const d = c.getContext('2d').getImageData(px, py, 1, 1).data;
            if (d[3]) return d[3];
        }
        return 0;
    }""", [pane, x, y])


def test_status_filter_hides_other_blocks(browser, live_server, web_db):
    blocks = block_rows(web_db)
    statuses = {b.status for b in blocks}
    assert len(statuses) > 1
    keep = blocks[0].status
    other = next(b for b in blocks if b.status != keep)
    page, _ = open_map(browser, live_server.url)
    try:
        go(page, other.lat, other.lon, 13)
        x, y = point_on_page(page, other.lat, other.lon)
        assert pixel_alpha(page, "blocks", x, y) > 0
        before = page.evaluate("renewalMap.layers.blocks.drawn().map(p => p.status)")
        assert other.status in before
        totals_before = page.locator("#totals tr[data-field='blocks_n'] td").inner_text()
        page.select_option("#f-status", keep)
        page.wait_for_function("(n) => document.querySelector(\"#totals tr[data-field='blocks_n'] td\")"
                               ".textContent !== n", arg=totals_before)
        after = page.evaluate("renewalMap.layers.blocks.drawn().map(p => p.status)")
        assert set(after) <= {keep}
        assert pixel_alpha(page, "blocks", x, y) == 0
        page.mouse.click(x, y)
        page.wait_for_timeout(300)
        assert other.code not in page.locator("#card").inner_text()
        n_keep = sum(1 for b in blocks if b.status == keep)
        assert page.locator("#totals tr[data-field='blocks_n'] td").inner_text() == str(n_keep)
        page.select_option("#f-status", "")
        page.wait_for_function("() => renewalMap.layers.blocks.drawn().length > 0")
        assert pixel_alpha(page, "blocks", x, y) > 0
    finally:
        page.context.close()


def test_compliance_filter_hides_passing_parcels(browser, live_server, web_db):
    block = block_rows(web_db)[0]
    page, _ = open_map(browser, live_server.url)
    try:
        go(page, block.lat, block.lon, 15)
        passes = page.evaluate("renewalMap.layers.parcels.drawn().map(p => p.pass)")
        assert True in passes and False in passes
        page.select_option("#f-compliance", "fail")
        assert set(page.evaluate("renewalMap.layers.parcels.drawn().map(p => p.pass)")) == {False}
        page.wait_for_function("() => document.querySelector(\"#totals tr[data-field='share_failing'] td\")"
                               ".textContent === '100.0%'")
    finally:
        page.context.close()


def test_language_switch(browser, live_server, web_db):
    block = block_rows(web_db)[0]
    page, _ = open_map(browser, live_server.url)
    try:
        assert page.locator("html").get_attribute("lang") == "zh-CN"
        assert "实施中" in page.locator("#legend").inner_text()
        go(page, block.lat, block.lon, 13)
        page.mouse.click(*point_on_page(page, block.lat, block.lon))
        page.wait_for_selector(f"#card .card-code:text-is('{block.code}')")
        page.click("#lang")
        assert page.locator("h1").inner_text() == "Cixi old industrial block renovation"
        assert page.locator("html").get_attribute("lang") == "en"
        assert "In progress" in page.locator("#legend").inner_text()
        assert page.locator("#card tr[data-field='town'] th").inner_text() == "Town"
        assert page.locator("#lang").inner_text() == "中文"
        assert page.locator("#f-compliance option[value='fail']").inner_text() == "Failing"
        page.reload()
        page.wait_for_selector("body[data-ready='1']")
        assert page.locator("h1").inner_text() == "Cixi old industrial block renovation"
        page.click("#lang")
        assert page.locator("h1").inner_text() == "慈溪市老旧工业区块改造提升"
    finally:
        page.context.close()


def test_search_finds_a_block_and_opens_its_card(browser, live_server, web_db):
    block = block_rows(web_db)[1]
    page, _ = open_map(browser, live_server.url)
    try:
        page.fill("#search", block.code)
        page.wait_for_selector("#search-results li[data-i]")
        page.click("#search-results li[data-i='0']")
        page.wait_for_selector(f"#card .card-code:text-is('{block.code}')")
        assert page.evaluate("renewalMap.layers.blocks.selectedKey") == block.code
        assert page.evaluate("renewalMap.map.getZoom()") >= 13
    finally:
        page.context.close()


@pytest.mark.parametrize(("width", "height"), [(1366, 800), (820, 1180)])
def test_screenshots_laptop_and_tablet(browser, live_server, web_db, width, height):
    block = block_rows(web_db)[0]
    page, rec = open_map(browser, live_server.url, width=width, height=height)
    try:
        tablet = width < 900
        assert page.locator("#panel-toggle").is_visible() is tablet
        go(page, block.lat, block.lon, 15)
        x, y = point_on_page(page, block.lat, block.lon)
        page.mouse.click(x, y)
        page.wait_for_selector("#card .card-title[data-kind='parcel']")
        assert page.locator("#panel").is_visible()
        page.evaluate("(code) => renewalMap.openCard('block', code)", block.code)
        page.wait_for_selector(f"#card .card-code:text-is('{block.code}')")
        page.mouse.move(x + 40, y + 30)
        page.wait_for_timeout(300)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / ("map.png" if not tablet else "map-tablet.png")))
        assert rec.errors == []
    finally:
        page.context.close()


def test_basemap_when_configured(browser, web_settings):
    """With RENEWAL_BASEMAP_URL set, the page adds that XYZ layer (here a local stand-in)."""
    settings = web_settings.model_copy(update={
        "basemap_url": "static/favicon.svg?z={z}&x={x}&y={y}", "basemap_attribution": "本地底图"})
    with LiveServer(settings) as server:
        page, rec = open_map(browser, server.url)
        try:
            assert any("/static/favicon.svg?z=" in u for u in rec.requests)
            assert "本地底图" in page.locator(".leaflet-control-attribution").inner_text()
        finally:
            page.context.close()
