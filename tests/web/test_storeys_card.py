"""The parcel card lists the buildings whose storeys or basement are recorded (issue 14), in one language at a time
(Debian's Chromium, 0.02 sample: a few buildings carry storey heights and garage or plant-room basements)."""

from __future__ import annotations

from sqlalchemy import text

from tests.conftest import LiveServer
from tests.web.conftest import open_map
from tests.web.visible_text import chinese_texts, english_words, visible_texts


def test_card_shows_storeys_and_basements(browser, live_server: LiveServer, web_db) -> None:
    with web_db.connect() as conn:
        parcel, building, heights, floors, use = conn.execute(text(
            "SELECT p.code, g.code, array_to_string(g.storey_hs::float8[], ' / '), g.basement_floors, g.basement_use "
            "FROM buildings g JOIN parcels p ON p.id = g.parcel_id "
            "WHERE g.storey_hs IS NOT NULL AND g.basement_floors > 0 ORDER BY g.code LIMIT 1")).one()
    page, rec = open_map(browser, live_server.url)
    try:
        for lang in ("zh", "en"):
            page.evaluate("([kind, code]) => renewalMap.openCard(kind, code)", ["parcel", parcel])
            page.wait_for_selector(f"#card .card-code:text-is('{parcel}')")
            row = page.locator("#card tr[data-field='surveyed']")
            line = next(x for x in row.locator("td").inner_text().split("\n") if x.startswith(building[len(parcel):]))
            assert f"{heights} m" in line, line
            basement = {"zh": f"地下{floors}层（{'车库' if use == 'garage' else '设备用房'}）",
                        "en": f"basement ×{floors} ({'garage' if use == 'garage' else 'plant room'})"}[lang]
            assert basement in line, line
            assert row.locator("th").inner_text() == {"zh": "层高与地下室", "en": "Storeys as surveyed"}[lang]
            texts = visible_texts(page)
            assert (english_words(texts) if lang == "zh" else chinese_texts(texts)) == [], lang
            page.click("#lang")
            page.wait_for_function("(lang) => document.documentElement.lang === lang",
                                   arg="en" if lang == "zh" else "zh-CN")
        assert rec.errors == []
    finally:
        page.context.close()
