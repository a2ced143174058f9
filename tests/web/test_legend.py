"""One style for every map: the page's scripts hard-code no threshold and no colour of the legend, they draw with
what GET /api/map/legend serves, and the SVG report maps and the folium town map use the legend's colours."""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import text

from app.planning import legend
from app.planning.config import PlanningRules
from app.programme import report_map, svgmap
from tests.web.conftest import LiveServer, open_map

WEB = Path(__file__).resolve().parents[2] / "web"
PAGES = sorted([*WEB.glob("*.js"), *WEB.glob("*.html")])
DRAWING = {"map.js", "dashboard.js", "index.html", "dashboard.html"}  # the map and the dashboard


def _legend_colours(rules: PlanningRules, short: bool) -> set[str]:
    """Every colour the legend defines, lower case; with ``short`` also the #rgb form of those that have one."""
    found = set(re.findall(r"#[0-9a-f]{6}", repr(legend.legend(rules)).lower()))
    if short:
        found |= {f"#{c[1]}{c[3]}{c[5]}" for c in found if c[1] == c[2] and c[3] == c[4] and c[5] == c[6]}
    return found


def test_pages_hard_code_no_threshold_and_no_legend_colour() -> None:
    """No colour of the legend in any script or page of web/ (nor, in the map's and the dashboard's, its #rgb
    form: auth.js may write its login in #222), no FAR floor, no 万 threshold, no comparison with one."""
    assert {p.name for p in PAGES} >= DRAWING
    for page in PAGES:
        colours = _legend_colours(PlanningRules(), short=page.name in DRAWING)
        source = page.read_text(encoding="utf-8")
        hexes = {h.lower() for h in re.findall(r"#[0-9a-fA-F]{6}\b|#[0-9a-fA-F]{3}\b", source)}
        assert not hexes & colours, (page.name, sorted(hexes & colours))
        assert not re.search(r"(?<![\w.])2\.0(?![\d])", source), page.name  # the FAR floor
        assert not re.search(r"\d\s*万", source), page.name  # 5万, 15 万元/亩 ...
        assert not re.search(r"[<>]=?\s*(?:2|5|15)(?![\d.])", source), page.name  # comparisons with a threshold


def test_svg_maps_use_the_legends_colours(web_db) -> None:
    rules = PlanningRules()
    with web_db.connect() as conn:
        town, block = conn.execute(text(
            "SELECT t.code, b.code FROM towns t JOIN blocks b ON b.town_id = t.id JOIN parcels p ON p.block_id = b.id "
            "GROUP BY t.code, b.code ORDER BY count(*) DESC LIMIT 1")).one()
        town_svg = svgmap.area_map(conn, rules, town)
        block_svg = svgmap.block_map(conn, block, rules)
    fills = set(re.findall(r'<path d="[^"]*" fill="(#\w+)" fill-opacity="0.75"', town_svg))
    assert fills and fills <= set(legend.STATUS_COLOURS.values())
    assert f'fill="none" stroke="{legend.FAIL.line}"' in town_svg  # failing parcels outlined in the legend's red
    parcels = set(re.findall(r'fill="(#\w+)" fill-opacity="0.8"', block_svg))
    assert parcels == {legend.PASS.colour, legend.FAIL.colour}  # the largest block has both
    assert f'stroke="{legend.PARCEL_LINE[0]}"' in block_svg  # unflagged parcels: the neutral outline


def test_folium_map_uses_the_legends_colours(web_db, tmp_path) -> None:
    with web_db.connect() as conn:
        town = conn.execute(text("SELECT t.code FROM towns t JOIN blocks b ON b.town_id = t.id "
                                 "GROUP BY t.code ORDER BY count(*) DESC LIMIT 1")).scalar_one()
        statuses = {s for (s,) in conn.execute(text(
            "SELECT DISTINCT b.status FROM blocks b JOIN towns t ON t.id = b.town_id WHERE t.code = :t"), {"t": town})}
    rules = PlanningRules(far_min=1.5)
    done = report_map.town_map(web_db, town, tmp_path / "town.html", rules)
    html = done.path.read_text(encoding="utf-8")
    assert set(re.findall(r'"_colour": "(#\w+)"', html)) == {legend.STATUS_COLOURS[s] for s in statuses}
    for s in legend.STATUSES:
        assert f"<i style='background:{s.colour}'></i>{s.zh}" in html
    assert "容积率下限 1.5" in html


def test_page_draws_with_the_served_legend(browser, web_settings) -> None:
    """With other thresholds configured the page's bands, badges and outlines follow them, with no reload of code."""
    rules = PlanningRules(far_min=1.5, old_block_tax_per_mu_wan=4.0, target_tax_per_mu_wan=12.0)
    with LiveServer(web_settings.model_copy(update={"rules": rules})) as server:
        page, rec = open_map(browser, server.url)
        try:
            assert any(u.endswith("/api/map/legend") for u in rec.requests)
            served = page.evaluate("renewalMap.legend()")
            assert served == legend.legend(rules)
            shown = page.locator("#legend").inner_text()
            assert all(b.label in shown for b in legend.far_bands(rules)) and "1.12 – 1.50" in shown
            badges = page.evaluate("[3.9, 4, 4.01, 11.9, 12].map((v) => renewalMap.taxBadge(v))")
            assert ["4万及以下（入选线）" in badges[0], "4万及以下（入选线）" in badges[1], "4万–12万" in badges[2],
                    "4万–12万" in badges[3], "≥12万（2026目标）" in badges[4]] == [True] * 5  # 以下 includes 4万
            styles = page.evaluate(
                "[true, false].map((pass) => renewalMap.layers.parcels.options.style({pass, far: 1.49}))")
            assert [(s["stroke"], s["width"], s["fill"]) for s in styles] == [
                (legend.PASS.line, legend.PASS.width, legend.far_colour(1.49, rules)),
                (legend.FAIL.line, legend.FAIL.width, legend.far_colour(1.49, rules))]
            assert rec.errors == []
        finally:
            page.context.close()
