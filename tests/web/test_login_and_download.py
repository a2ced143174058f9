"""Downloads from the UI and the one login of every page, in Debian's Chromium on the 0.02 sample.

The block card's "导出宗地 (GPKG)" is fetched with the tab's token and saved under the server's file name: a
logged-in user gets a GeoPackage, an anonymous one is asked to log in (the page's login box opens, no JSON page)
and gets the file once logged in. The dashboard's login box is closed on load, 取消 closes it, and logging in
closes it and shows the user in the header without a reload (logging in through the joint-development panel
does the same: tests/web/test_joint_map.py).
"""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page
from sqlalchemy import text

from tests.conftest import TEST_PASSWORD, bearer, create_user
from tests.web.conftest import LiveServer, open_map

GPKG_MAGIC = b"SQLite format 3\x00"


def largest_block(web_db) -> str:
    with web_db.connect() as conn:
        return conn.execute(text("SELECT code FROM blocks ORDER BY ST_Area(geom) DESC LIMIT 1")).scalar_one()


def export_link(page: Page, block: str):
    page.evaluate("(code) => renewalMap.openCard('block', code)", block)
    page.wait_for_selector(f"#card .card-code:text-is('{block}')")
    link = page.locator("#card .links a.download")
    assert link.inner_text() == "导出宗地 (GPKG)"
    assert link.get_attribute("href") == f"api/export?layer=parcels&block={block}&format=gpkg"
    return link


def saved_file(download, tmp_path: Path) -> bytes:
    target = tmp_path / download.suggested_filename
    download.save_as(target)
    return target.read_bytes()


def test_logged_in_user_downloads_a_geopackage(browser, live_server: LiveServer, web_db, web_settings,
                                               tmp_path) -> None:
    block = largest_block(web_db)
    create_user(web_db, "test-viewer", "viewer")
    token = bearer(web_settings, "viewer")["Authorization"].removeprefix("Bearer ")
    page, rec = open_map(browser, live_server.url, token=token)
    try:
        link = export_link(page, block)
        start = page.url
        with page.expect_response(lambda r: "/api/export?" in r.url) as answer, page.expect_download() as dl:
            link.click()
        assert answer.value.status == 200
        assert answer.value.request.headers["authorization"] == f"Bearer {token}"
        assert dl.value.suggested_filename == f"parcels_{block}.gpkg"  # the server's Content-Disposition name
        assert saved_file(dl.value, tmp_path).startswith(GPKG_MAGIC)
        assert page.url == start and page.locator("#auth-form").is_hidden()
        assert page.locator("#card .download-state").is_hidden()  # the "downloading" note went away
        assert rec.errors == []
    finally:
        page.context.close()


def test_anonymous_user_is_asked_to_log_in_then_downloads(browser, live_server: LiveServer, web_db,
                                                          tmp_path) -> None:
    block = largest_block(web_db)
    create_user(web_db, "test-downloader", "viewer")
    page, rec = open_map(browser, live_server.url)
    try:
        link = export_link(page, block)
        start = page.url
        with page.expect_response(lambda r: "/api/export?" in r.url) as refused:
            link.click()
        assert refused.value.status == 401
        page.wait_for_selector("#auth-form:not([hidden])")
        assert page.locator("#auth-note").inner_text() == "下载需要登录"
        assert page.url == start  # no JSON page
        assert "Unauthorized" not in page.locator("body").inner_text()

        # 取消: nothing is downloaded; asked again on the next click
        page.click("#auth-cancel")
        assert page.locator("#auth-form").is_hidden()
        link.click()
        page.wait_for_selector("#auth-form:not([hidden])")

        page.fill("#auth-username", "test-downloader")
        page.fill("#auth-password", TEST_PASSWORD)
        with page.expect_download() as dl:
            page.click("#auth-submit")
        assert saved_file(dl.value, tmp_path).startswith(GPKG_MAGIC)
        assert dl.value.suggested_filename == f"parcels_{block}.gpkg"
        assert page.locator("#auth-form").is_hidden()
        assert page.locator("#auth-user").inner_text() == "test-downloader"  # the header knows
        assert page.url == start
        assert rec.errors == []
    finally:
        page.context.close()


def covered(page: Page, selector: str) -> bool:
    """Whether something else lies over the middle of an element."""
    return page.evaluate("""(sel) => {
        const el = document.querySelector(sel);
        const r = el.getBoundingClientRect();
        const top = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
        return !el.contains(top);
    }""", selector)


def test_dashboard_login_is_closed_on_load_cancels_and_logs_in(browser, live_server: LiveServer, web_db) -> None:
    create_user(web_db, "test-dash", "viewer")
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(live_server.url + "/dashboard")
        page.wait_for_selector("body[data-ready='1']", timeout=30000)
        assert page.locator("#auth-form").is_hidden()
        third = ".target[data-key='tax_per_mu_wan']"
        assert not covered(page, third)
        assert page.locator("#auth-button").inner_text() == "登录"

        page.click("#auth-button")
        assert page.locator("#auth-form").is_visible()
        page.click("#auth-cancel")  # 取消 closes it
        assert page.locator("#auth-form").is_hidden()
        assert not covered(page, third)

        page.evaluate("window.notReloaded = true")
        page.click("#auth-button")
        page.fill("#auth-username", "test-dash")
        page.fill("#auth-password", "wrong password")
        page.click("#auth-submit")
        page.wait_for_selector("#auth-error:text-is('登录失败：用户名或密码错误')")
        page.fill("#auth-password", TEST_PASSWORD)
        with page.expect_response(lambda r: "/api/programme/progress" in r.url):  # read again, logged in
            page.click("#auth-submit")
        assert page.locator("#auth-form").is_hidden()
        assert page.locator("#auth-user").inner_text() == "test-dash"
        assert page.locator("#auth-button").inner_text() == "退出"
        assert page.evaluate("window.notReloaded") is True
        page.wait_for_selector("body[data-ready='1']")
        assert not covered(page, third)
        assert page.locator("#status").inner_text() == ""

        with page.expect_navigation():  # logging out reloads: nothing of the account stays
            page.click("#auth-button")
        page.wait_for_selector("body[data-ready='1']", timeout=30000)
        assert page.locator("#auth-button").inner_text() == "登录" and page.locator("#auth-form").is_hidden()
        assert errors == []
    finally:
        context.close()
