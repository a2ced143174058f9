"""Programme fixtures: the hand-built data set in throwaway databases, the API on them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from app.api import create_app
from app.db.engine import make_engine
from app.settings import Settings
from tests.conftest import login_as
from tests.programme import data

EDITOR = f"test-town_editor-{data.TOWN}"
"""The account the write tests act as: the town editor of 胜山镇 (issue 8: writes need a login)."""


class Site:
    """A throwaway database holding the hand-built data set, its engine and the API on it."""

    def __init__(self, settings: Settings, engine: Engine, client: TestClient) -> None:
        self.settings = settings
        self.engine = engine
        self.client = client


def _site(databases, base_settings, tmp_path, role: str, town: str | None) -> Iterator[Site]:
    url = databases.create()
    settings = base_settings.model_copy(update={"database_url": url})
    engine = make_engine(settings)
    data.load(engine, tmp_path)
    with TestClient(create_app(settings)) as client:
        yield Site(settings, engine, login_as(client, role, town))
    engine.dispose()


@pytest.fixture(scope="session")
def site(databases, base_settings, tmp_path_factory) -> Iterator[Site]:
    """Read-only, read as a logged-in viewer: tests must not change it (use ``fresh_site`` to write)."""
    yield from _site(databases, base_settings, tmp_path_factory.mktemp("programme"), "viewer", None)


@pytest.fixture()
def fresh_site(databases, base_settings, tmp_path) -> Iterator[Site]:
    """A database of its own, for tests that write, as the town editor of 胜山镇."""
    yield from _site(databases, base_settings, tmp_path, "town_editor", data.TOWN)
