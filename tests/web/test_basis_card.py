"""The parcel card says which minimum 容积率 applies (适用标准 / Rule basis, issue 14, docs/rules.md §9.3), in one
language at a time (Debian's Chromium, 0.02 sample: industrial parcels take the programme's 2.0, warehouse parcels
no floor)."""

from __future__ import annotations

from sqlalchemy import text

from app.planning import far_basis
from tests.conftest import LiveServer
from tests.web.conftest import open_map
from tests.web.visible_text import chinese_texts, english_words, visible_texts

EXPECTED = {
    "programme": {"zh": ("攻坚行动计划下限 2.0", "达标 ≥ 2.0", "未达标 < 2.0"),
                  "en": ("Programme floor 2.0", "Passes ≥ 2.0", "Fails < 2.0")},
    "none": {"zh": ("不设下限（仅报告）", "不设下限", "不设下限"),
             "en": ("No floor (reported only)", "No floor claimed", "No floor claimed")},
}


def test_card_shows_the_rule_basis(browser, live_server: LiveServer, web_db) -> None:
    with web_db.connect() as conn:
        uses = conn.execute(text("SELECT code, land_use FROM parcels ORDER BY code")).all()
    industrial = next(c for c, u in uses if far_basis.land_use_class(u) == "industrial")
    warehouse = next(c for c, u in uses if far_basis.land_use_class(u) == "warehouse")
    page, rec = open_map(browser, live_server.url)
    try:
        for lang in ("zh", "en"):
            for parcel, basis in ((industrial, "programme"), (warehouse, "none")):
                page.evaluate("([kind, code]) => renewalMap.openCard(kind, code)", ["parcel", parcel])
                page.wait_for_selector(f"#card .card-code:text-is('{parcel}')")
                row = page.locator("#card tr[data-field='rule_basis']")
                assert row.locator("th").inner_text() == {"zh": "适用标准", "en": "Rule basis"}[lang]
                label, *badges = EXPECTED[basis][lang]
                assert row.locator("td").inner_text().strip() == label
                badge = page.locator("#card tr[data-field='far'] .badge").inner_text()
                assert badge in badges, badge
                texts = visible_texts(page)
                assert (english_words(texts) if lang == "zh" else chinese_texts(texts)) == [], lang
            page.click("#lang")
            page.wait_for_function("(lang) => document.documentElement.lang === lang",
                                   arg="en" if lang == "zh" else "zh-CN")
        assert rec.errors == []
    finally:
        page.context.close()
