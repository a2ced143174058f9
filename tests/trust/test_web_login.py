"""The map page's login (web/auth.js): offered when reading requires one, in Debian's Chromium."""

from __future__ import annotations

from playwright.sync_api import Browser

from tests.conftest import TEST_PASSWORD, LiveServer
from tests.web.conftest import Recorder


def test_map_offers_a_login_when_reading_requires_one(browser: Browser, trust_settings) -> None:
    settings = trust_settings.model_copy(update={"read_requires_login": True})
    with LiveServer(settings) as server:
        context = browser.new_context(viewport={"width": 1366, "height": 800}, locale="zh-CN")
        page = context.new_page()
        rec = Recorder()
        rec.attach(page)
        try:
            page.goto(server.url + "/")
            page.wait_for_selector("#auth-form:not([hidden])", timeout=15000)
            assert page.locator("#auth-note").inner_text() == "浏览需要登录"
            page.fill("#auth-username", "vera")
            page.fill("#auth-password", "wrong password")
            page.click("#auth-submit")
            # the API's code in the UI's language, not its English detail (no eval: the CSP forbids it)
            page.wait_for_selector("#auth-error:text-is('登录失败：用户名或密码错误')")
            assert page.locator("#auth-note").inner_text() == "浏览需要登录"
            page.fill("#auth-password", TEST_PASSWORD)
            with page.expect_navigation():
                page.click("#auth-submit")
            page.wait_for_selector("body[data-ready='1']", timeout=30000)
            assert page.locator("#auth-user").inner_text() == "vera"
            assert page.locator("#auth-button").inner_text() == "退出"
            tiles = [(url, status) for url, status, _ in rec.tiles]
            assert tiles and all(status in (200, 204) for _, status in tiles), tiles
            assert not [m for m in rec.console if "Content Security Policy" in m[1]]
            assert rec.errors == []
            with page.expect_navigation():  # log out: the page asks again
                page.click("#auth-button")
            page.wait_for_selector("#auth-form:not([hidden])", timeout=15000)
        finally:
            context.close()


def test_map_works_without_login_when_reading_is_open(browser: Browser, trust_settings) -> None:
    with LiveServer(trust_settings) as server:
        context = browser.new_context(viewport={"width": 1366, "height": 800}, locale="zh-CN")
        page = context.new_page()
        rec = Recorder()
        rec.attach(page)
        try:
            page.goto(server.url + "/")
            page.wait_for_selector("body[data-ready='1']", timeout=30000)
            assert page.locator("#auth-form").is_hidden()
            assert page.locator("#auth-button").inner_text() == "登录"
            assert rec.errors == [] and not [m for m in rec.console if "Content Security Policy" in m[1]]
        finally:
            context.close()
