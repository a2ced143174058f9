"""Test fixtures: a throwaway PostGIS database (created, migrated with Alembic, dropped) per session."""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
import uvicorn
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, Playwright, sync_playwright
from psycopg import sql
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from app.api import create_app
from app.db import cluster, migrate
from app.db.engine import make_engine
from app.settings import Settings, get_settings

TEST_PASSWORD = "correct horse battery staple"
"""Password of the accounts the helpers below create."""
CHROMIUM = "/usr/bin/chromium"
"""Debian's Chromium: the only browser the tests drive (Playwright never downloads one)."""
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]


def _admin_conninfo(settings: Settings) -> dict[str, object]:
    """libpq parameters for the maintenance database of the server under test."""
    url = make_url(settings.sqlalchemy_url)
    return {"host": url.host, "port": url.port or 5432, "user": url.username, "password": url.password,
            "dbname": "postgres", "autocommit": True, "connect_timeout": 5}


class Databases:
    """Creates and drops throwaway databases on the server under test."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.created: list[str] = []

    def create(self, migrated: bool = True) -> str:
        """A new empty database (migrated to head unless told otherwise); returns its URL."""
        name = f"renewal_test_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(**_admin_conninfo(self.settings)) as conn:  # type: ignore[arg-type]
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        self.created.append(name)
        url = make_url(self.settings.sqlalchemy_url).set(database=name).render_as_string(hide_password=False)
        if migrated:
            migrate.upgrade(url)
        return url

    def drop_all(self) -> None:
        """Drop every database this object created."""
        with psycopg.connect(**_admin_conninfo(self.settings)) as conn:  # type: ignore[arg-type]
            for name in self.created:
                conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture(scope="session")
def base_settings() -> Settings:
    """Settings of the server under test; the local cluster is started when no DATABASE_URL is set."""
    settings = get_settings()
    cluster.up(settings, say=lambda _m: None)
    return settings


@pytest.fixture(scope="session")
def databases(base_settings: Settings) -> Iterator[Databases]:
    """Factory of throwaway databases, all dropped at the end of the session."""
    dbs = Databases(base_settings)
    yield dbs
    dbs.drop_all()


@pytest.fixture(scope="session")
def db_url(databases: Databases) -> str:
    """The session's migrated throwaway database."""
    return databases.create()


@pytest.fixture(scope="session")
def settings(base_settings: Settings, db_url: str) -> Settings:
    """Settings pointing at the session's throwaway database."""
    return base_settings.model_copy(update={"database_url": db_url})


@pytest.fixture(scope="session")
def engine(settings: Settings) -> Iterator[Engine]:
    """Engine on the session's throwaway database."""
    eng = make_engine(settings)
    yield eng
    eng.dispose()


@pytest.fixture(scope="session")
def client(settings: Settings) -> Iterator[TestClient]:
    """The API on the session's throwaway database."""
    with TestClient(create_app(settings)) as c:
        yield c


# ---------------------------------------------------------------- accounts and tokens (issue 8)
def create_user(engine: Engine, username: str, role: str, town: str | None = None,
                password: str = TEST_PASSWORD) -> None:
    """Create an account in ``engine``'s database unless it exists (audited as actor ``test``)."""
    from app.auth import users

    with engine.begin() as conn:
        if users.get(conn, username) is None:
            users.create(conn, actor="test", username=username, password=password, role=role, town_code=town)


def bearer(settings: Settings, role: str = "viewer", username: str | None = None, town: str | None = None,
           ttl_s: int = 6 * 3600) -> dict[str, str]:
    """An ``Authorization`` header with a token signed for ``settings`` (no account needed: reads check only
    the signature; writes need the account too, see ``login_as``)."""
    from app.auth import tokens

    token, _ = tokens.issue(settings, tokens.Principal(username or f"test-{role}", role, town), ttl_s=ttl_s)
    return {"Authorization": f"Bearer {token}"}


def login_as(client: TestClient, role: str = "admin", town: str | None = None) -> TestClient:
    """Make every later request of ``client`` carry the token of an account with ``role`` (created in the
    client's database if needed): for tests of reads of money figures and of writes."""
    app = client.app
    username = f"test-{role}" + (f"-{town}" if town else "")
    create_user(app.state.engine, username, role, town)  # type: ignore[attr-defined]
    client.headers.update(bearer(app.state.settings, role, username, town))  # type: ignore[attr-defined]
    return client


def sample_settings(databases: Databases, base_settings: Settings) -> Settings:
    """Settings on a new throwaway database holding the 0.02 sample (seed 42)."""
    from app.io import sample_load

    url = databases.create()
    eng = make_engine(base_settings, url)
    try:
        sample_load.load(eng, scale=0.02, seed=42)
    finally:
        eng.dispose()
    return base_settings.model_copy(update={"database_url": url})


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveServer:
    """The app served by stock uvicorn in a background thread, as `renewal serve` serves it; ``wrap``: an ASGI
    wrapper around the app (e.g. one that counts requests); ``options`` are uvicorn's (``log_level``...)."""

    def __init__(self, settings: Settings, wrap: Callable[[Any], Any] | None = None, **options: Any) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        options = {"log_level": "warning", "access_log": False, **options}
        app = create_app(settings)
        config = uvicorn.Config(wrap(app) if wrap else app, host="127.0.0.1", port=self.port, **options)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the app did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    """One Playwright for the whole session: its sync API cannot be started twice in one thread."""
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    """Debian's Chromium, headless, shared by every browser test."""
    b = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield b
    b.close()
