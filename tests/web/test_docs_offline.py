"""/docs and /redoc render in Chromium with every off-origin request blocked, as on an intranet."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Route

from tests.web.conftest import LiveServer


@pytest.mark.parametrize(("path", "ready"), [
    ("/docs", ".swagger-ui .info .title"),
    ("/redoc", "h1"),
])
def test_api_docs_render_without_other_hosts(browser: Browser, live_server: LiveServer, path: str, ready: str) -> None:
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    blocked: list[str] = []
    failed: list[str] = []

    def gate(route: Route) -> None:
        if route.request.url.startswith(live_server.url):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    context.route("**/*", gate)
    page.on("requestfailed", lambda r: failed.append(r.url))
    page.goto(live_server.url + path)
    page.wait_for_selector(ready, timeout=30000)
    assert "renewal" in page.inner_text(ready)
    page.wait_for_load_state("networkidle")
    icon = page.evaluate("document.querySelector('link[rel~=icon]')?.href")
    context.close()
    assert blocked == [] and failed == []
    assert icon == live_server.url + "/static/favicon.svg"
