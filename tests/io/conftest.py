"""Fixtures of the import/export tests: fresh databases, the hand-made layers loaded, an API on them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from app.api import create_app
from app.db.engine import make_engine
from app.io import importer
from app.io.safety import IOLimits
from app.planning.config import PlanningRules
from app.settings import Settings
from tests import handmade
from tests.conftest import login_as

TABLES = ("towns", "blocks", "parcels", "buildings", "enterprises")
LIMITS = IOLimits()  # the import limits, passed to every import as the API and the CLI pass theirs
RULES = PlanningRules()  # the planning rules of exported figures


def counts(engine: Engine) -> dict[str, int]:
    """Rows per table."""
    with engine.connect() as conn:
        return {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in TABLES}  # noqa: S608


def snapshot(engine: Engine) -> dict[str, list[tuple]]:
    """Every row's code and geometry checksum per spatial table: 'unchanged' means exactly that."""
    with engine.connect() as conn:
        return {t: [tuple(r) for r in conn.execute(text(
            f"SELECT code, md5(ST_AsEWKB(geom)::text) FROM {t} ORDER BY code"))]  # noqa: S608
            for t in TABLES[:4]}


def load_handmade(engine: Engine, tmp_path: Path, upto: str = "buildings") -> None:
    """Import the hand-made layers in order, up to and including ``upto``."""
    for name, gdf in handmade.layers().items():
        importer.import_file(engine, handmade.write(gdf, tmp_path / f"hm_{name}.gpkg"), name, limits=LIMITS)
        if name == upto:
            return


@pytest.fixture()
def fresh(databases, base_settings) -> Iterator[Engine]:
    """An engine on a new, migrated, empty database."""
    eng = make_engine(base_settings, databases.create())
    yield eng
    eng.dispose()


@pytest.fixture()
def loaded(fresh, tmp_path) -> Engine:
    """A fresh database holding the hand-made towns, block, parcels and buildings."""
    load_handmade(fresh, tmp_path)
    return fresh


@pytest.fixture()
def api(loaded, base_settings) -> Iterator[tuple[TestClient, Engine]]:
    """The API on its own database holding the hand-made layers (tests may change it)."""
    settings: Settings = base_settings.model_copy(update={"database_url": loaded.url.render_as_string(False)})
    with TestClient(create_app(settings)) as client:
        yield login_as(client, "admin"), loaded  # imports need an editor or admin, exports a login (issue 8)


@pytest.fixture()
def fresh_second(databases, base_settings) -> Iterator[Engine]:
    """A second engine on another new, empty database (round trips between two databases)."""
    eng = make_engine(base_settings, databases.create())
    yield eng
    eng.dispose()
