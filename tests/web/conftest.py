"""Browser-test fixtures: the 0.02 sample in a throwaway database, the app on a free port, Debian's Chromium.

Playwright drives /usr/bin/chromium (never a downloaded browser; the one session-wide browser is in
tests/conftest.py, shared with the dashboard and login tests). Each page records its console messages,
page errors, requests and tile responses, so tests can assert on them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page
from sqlalchemy import Engine

from app.db.engine import make_engine
from app.settings import Settings
from tests.conftest import CHROMIUM, CHROMIUM_ARGS, LiveServer, sample_settings

__all__ = ["CHROMIUM", "CHROMIUM_ARGS", "LiveServer", "Recorder", "open_map"]


@pytest.fixture(scope="session")
def web_settings(databases, base_settings) -> Settings:
    """Settings on a throwaway database holding the 0.02 sample (seed 42)."""
    return sample_settings(databases, base_settings)


@pytest.fixture(scope="session")
def web_db(web_settings) -> Iterator[Engine]:
    eng = make_engine(web_settings)
    yield eng
    eng.dispose()


@pytest.fixture(scope="session")
def live_server(web_settings) -> Iterator[LiveServer]:
    with LiveServer(web_settings) as server:
        yield server


@dataclass
class Recorder:
    """What a page did: console messages, uncaught errors, requests and tile responses."""

    console: list[tuple[str, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    tiles: list[tuple[str, int, int]] = field(default_factory=list)

    def attach(self, page: Page) -> None:
        page.on("console", lambda m: self.console.append((m.type, m.text)))
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("request", lambda r: self.requests.append(r.url))
        page.on("response", self._response)

    def _response(self, resp: Any) -> None:
        if "/tiles/" in resp.url and urlsplit(resp.url).path.endswith(".mvt"):
            size = len(resp.body()) if resp.status == 200 else 0
            self.tiles.append((resp.url, resp.status, size))


def open_map(browser: Browser, url: str, width: int = 1366, height: int = 800,
             lang: str | None = None, token: str | None = None) -> tuple[Page, Recorder]:
    """A fresh page on the map, waited until its first paint; with what it records. ``token``: logged in with
    it (web/auth.js sends it), so that money figures show (issue 8)."""
    context = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN")
    page = context.new_page()
    rec = Recorder()
    rec.attach(page)
    if lang:
        page.add_init_script(f"localStorage.setItem('renewal.lang', '{lang}')")
    if token:
        page.add_init_script(f"sessionStorage.setItem('renewal.token', '{token}')")
    page.goto(url + "/")
    page.wait_for_selector("body[data-ready='1']", timeout=30000)
    return page, rec
