"""One language at a time, and numbers grouped in thousands, on the map and the dashboard (Debian's Chromium,
0.02 sample).

In Chinese mode no English word shows (codes, formats such as GPKG and the sources' names aside): not in the
header, the panels, a block's and a parcel's card with the programme's rows (the overdue steps, which the API
labels bilingually), the legend, the totals, the attribution, the login box, the dashboard's targets, charts and
tables. In English mode no Chinese shows except names from the data, which the page marks ``data-name`` (towns,
blocks, holders, firms, land uses…), and the language switch itself, tagged with its language. The language
chosen on one page holds on the other. Every number of four digits or more is grouped (1,152; 7,951 亩).
"""

from __future__ import annotations

import json
import urllib.request

from playwright.sync_api import Page
from sqlalchemy import text

from tests.conftest import bearer, create_user
from tests.web.conftest import LiveServer, open_map
from tests.web.visible_text import chinese_texts, english_words, ungrouped_numbers, visible_texts


def overdue_block(server: LiveServer) -> str:
    """A block that runs late (its card lists the overdue steps), from the API."""
    with urllib.request.urlopen(server.url + "/api/programme/overdue") as resp:  # noqa: S310 (our test server)
        towns = json.load(resp)
    return next(b["code"] for t in towns for b in t["blocks"])


def a_parcel(web_db, block: str) -> str:
    with web_db.connect() as conn:
        return conn.execute(text(
            "SELECT p.code FROM parcels p JOIN blocks b ON b.id = p.block_id JOIN enterprises e ON e.parcel_id = p.id "
            "WHERE b.code = :b ORDER BY ST_Area(p.geom) DESC LIMIT 1"), {"b": block}).scalar_one()


def check(page: Page, lang: str, where: str) -> None:
    """The page shows one language (``lang``) and grouped numbers."""
    texts = visible_texts(page)
    assert texts, where
    if lang == "zh":
        assert english_words(texts) == [], where
    else:
        assert chinese_texts(texts) == [], where
    assert ungrouped_numbers(visible_texts(page, codes=False)) == [], where


def open_login_box(page: Page) -> None:
    page.click("#auth-button")
    page.wait_for_selector("#auth-form:not([hidden])")


def close_login_box(page: Page) -> None:
    page.click("#auth-cancel")
    page.wait_for_selector("#auth-form[hidden]", state="attached")


def show_card(page: Page, kind: str, code: str) -> None:
    page.evaluate("([kind, code]) => renewalMap.openCard(kind, code)", [kind, code])
    page.wait_for_selector(f"#card .card-code:text-is('{code}')")
    page.wait_for_selector("#card tr[data-field='programme']")  # the programme's rows came in


def test_map_speaks_one_language_at_a_time(browser, live_server: LiveServer, web_db, web_settings) -> None:
    block = overdue_block(live_server)
    parcel = a_parcel(web_db, block)
    create_user(web_db, "test-viewer", "viewer")
    token = bearer(web_settings, "viewer")["Authorization"].removeprefix("Bearer ")
    page, rec = open_map(browser, live_server.url, token=token)  # logged in: the money rows show too
    try:
        assert page.locator("#auth-user").inner_text() == "test-viewer"
        for lang in ("zh", "en"):
            where = f"map ({lang})"
            check(page, lang, where)
            show_card(page, "block", block)
            card = page.locator("#card").inner_text()
            assert ("Overdue" if lang == "en" else "逾期") in card, where
            assert "works finished" not in card or lang == "en", card  # the API's bilingual title is not shown
            check(page, lang, f"{where}, block card")
            show_card(page, "parcel", parcel)
            check(page, lang, f"{where}, parcel card")
            page.click("#j-mode")  # the joint-development panel
            check(page, lang, f"{where}, joint panel")
            page.click("#j-mode")
            page.evaluate("document.querySelector('#legend').scrollIntoView()")
            attribution = page.locator(".leaflet-control-attribution").inner_text()
            assert ("县界" in attribution) == (lang == "zh"), attribution
            page.evaluate("renewalUI.forget()")  # the login box as an anonymous user sees it
            open_login_box(page)
            check(page, lang, f"{where}, login box")
            assert page.locator("#auth-submit").inner_text() == ("登录" if lang == "zh" else "Log in")
            close_login_box(page)
            assert page.locator("#auth-button").inner_text() == ("登录" if lang == "zh" else "Log in")
            page.evaluate(f"sessionStorage.setItem('renewal.token', '{token}')")
            page.click("#lang")
            page.wait_for_function("(lang) => document.documentElement.lang === lang",
                                   arg="en" if lang == "zh" else "zh-CN")
        assert rec.errors == []
    finally:
        page.context.close()


def test_dashboard_speaks_one_language_at_a_time(browser, live_server: LiveServer) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(live_server.url + "/dashboard")
        page.wait_for_selector("body[data-ready='1']", timeout=30000)
        assert page.locator("#status").inner_text() == ""
        overdue = page.locator("#overdue").inner_text()
        assert "works" not in overdue and "plans approved" not in overdue, overdue
        check(page, "zh", "dashboard (zh)")
        open_login_box(page)
        check(page, "zh", "dashboard (zh), login box")
        close_login_box(page)
        page.click("#lang")
        page.wait_for_function("document.documentElement.lang === 'en'")
        assert page.locator("h1").inner_text() == "Cixi old industrial blocks · progress"
        assert page.locator("#auth-button").inner_text() == "Log in"
        check(page, "en", "dashboard (en)")
        open_login_box(page)
        check(page, "en", "dashboard (en), login box")
        close_login_box(page)
        # the language chosen here holds on the map
        page.click("header nav a[href='./']")
        page.wait_for_selector("body[data-ready='1']", timeout=30000)
        assert page.locator("h1").inner_text() == "Cixi old industrial block renovation"
        check(page, "en", "map after the dashboard (en)")
        assert errors == []
    finally:
        context.close()
