"""The map asks the server for a tile once: versioned tile URLs are cached by the browser for good."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser

from tests.web.conftest import LiveServer


class TileCounter:
    """ASGI wrapper that records the tile requests reaching the server."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.paths: list[str] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"].endswith(".mvt"):
            self.paths.append(f"{scope['path']}?{scope['query_string'].decode()}")
        await self.app(scope, receive, send)


@pytest.fixture(scope="module")
def counted(web_settings) -> Iterator[tuple[LiveServer, TileCounter]]:
    counter: list[TileCounter] = []

    def wrap(app: Any) -> TileCounter:
        counter.append(TileCounter(app))
        return counter[0]

    with LiveServer(web_settings, wrap=wrap) as server:
        yield server, counter[0]


def _settle(page: Any) -> None:
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(300)


def test_panning_away_and_back_requests_no_tile_again(browser: Browser, counted) -> None:
    server, counter = counted
    context = browser.new_context(viewport={"width": 1200, "height": 800}, locale="zh-CN")
    page = context.new_page()
    page.goto(server.url + "/")
    page.wait_for_selector("body[data-ready='1']", timeout=30000)
    page.evaluate("renewalMap.map.setZoom(15, {animate: false})")
    _settle(page)
    first = list(counter.paths)
    assert first and all("?v=" in p for p in first)  # the map uses TileJSON's versioned URLs
    for dx, dy in ((1200, 0), (0, 900), (-1200, 0)):  # away: new tiles
        page.evaluate(f"renewalMap.map.panBy([{dx}, {dy}], {{animate: false}})")
        _settle(page)
    assert len(counter.paths) > len(first)
    away = len(counter.paths)
    page.evaluate("renewalMap.map.panBy([0, -900], {animate: false})")  # and back where it started
    _settle(page)
    assert [p for p in counter.paths[away:] if p in first] == []
    seen = len(counter.paths)
    page.reload()  # a new page: nothing in the map's memory, only the browser's HTTP cache
    page.wait_for_selector("body[data-ready='1']", timeout=30000)
    page.evaluate("renewalMap.map.setZoom(15, {animate: false})")
    _settle(page)
    again = counter.paths[seen:]
    context.close()
    assert [p for p in again if p in first] == []  # every tile it already had came from the cache
