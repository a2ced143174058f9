"""Migration 0007 (storeys, basements and garage storeys of buildings): its checks, down to 0006 and up again, and
the declared model matching what it makes."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from geoalchemy2 import alembic_helpers
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.exc import IntegrityError

from app.db import migrate
from app.models import Base

SQUARE = "SRID=4549;MULTIPOLYGON(((600000 3340000,600100 3340000,600100 3340100,600000 3340100,600000 3340000)))"
COLUMNS = {"storey_hs", "basement_floors", "basement_use", "basement_area", "garage_floors"}


@pytest.fixture(scope="module")
def url(databases):
    return databases.create()


def _building(conn, **values: object) -> None:
    """Insert a 4-storey building with ``values`` on a fresh town, block and parcel (rolled back by the caller)."""
    conn.execute(text("INSERT INTO towns (code, name, geom) VALUES ('330282113', '胜山镇', ST_GeomFromEWKT(:g))"),
                 {"g": SQUARE})
    conn.execute(text("INSERT INTO blocks (code, name, town_id, geom) SELECT 'QK113-010', 'x', id, geom FROM towns"))
    conn.execute(text("INSERT INTO parcels (code, block_id, geom) SELECT 'P1', id, geom FROM blocks"))
    row = {"floors": 4, "floor_h": 4.5, **values}
    names = ", ".join(row)
    params = ", ".join(f"CAST(:{k} AS numeric[])" if k == "storey_hs" else f":{k}" for k in row)
    conn.execute(text(f"INSERT INTO buildings (code, parcel_id, geom, {names}) "  # noqa: S608 (names from the test)
                      f"SELECT 'B1', id, geom, {params} FROM parcels"), row)


@pytest.mark.parametrize(("values", "constraint"), [
    ({"storey_hs": "{9,4.5,4.5}"}, "buildings_storey_hs_valid"),  # 3 heights for 4 floors
    ({"storey_hs": "{9,4.5,4.5,0}"}, "buildings_storey_hs_valid"),
    ({"storey_hs": "{9,4.5,4.5,101}"}, "buildings_storey_hs_valid"),
    ({"storey_hs": "{9,4.5,NULL,4.5}"}, "buildings_storey_hs_valid"),
    ({"storey_hs": "{{9,4.5},{4.5,4.5}}"}, "buildings_storey_hs_valid"),
    ({"basement_floors": 1}, "buildings_basement_given"),  # storeys without their use
    ({"basement_use": "garage"}, "buildings_basement_given"),  # a use without storeys
    ({"basement_floors": 0, "basement_area": 100}, "buildings_basement_given"),
    ({"basement_floors": 1, "basement_use": "shop"}, "buildings_basement_use_known"),
    ({"basement_floors": 21, "basement_use": "garage"}, "buildings_basement_floors_range"),
    ({"basement_floors": 1, "basement_use": "garage", "basement_area": -1}, "buildings_basement_area_nonneg"),
    ({"garage_floors": 3}, "buildings_garage_floors_range"),  # above the second floor of 4: at most 2
])
def test_checks(url, values, constraint) -> None:
    engine = create_engine(url)
    try:
        with engine.connect() as conn, conn.begin() as trans:
            with pytest.raises(IntegrityError) as info:
                _building(conn, **values)
            assert info.value.orig.diag.constraint_name == constraint
            trans.rollback()
    finally:
        engine.dispose()


def test_consistent_rows_pass(url) -> None:
    engine = create_engine(url)
    try:
        with engine.connect() as conn, conn.begin() as trans:
            _building(conn, storey_hs="{9,4.5,4.5,4.5}", basement_floors=2, basement_use="commercial",
                      basement_area=1200, garage_floors=2)
            assert conn.execute(text("SELECT storey_hs::text FROM buildings")).scalar_one() == "{9.00,4.50,4.50,4.50}"
            trans.rollback()
    finally:
        engine.dispose()


def test_down_to_0006_and_up_again(databases) -> None:
    url = databases.create()
    engine = create_engine(url)
    try:
        assert COLUMNS <= {c["name"] for c in inspect(engine).get_columns("buildings")}
        migrate.downgrade(url, "0006")
        inspector = inspect(engine)
        assert not COLUMNS & {c["name"] for c in inspector.get_columns("buildings")}
        assert not [c for c in inspector.get_check_constraints("buildings") if "storey" in c["name"]
                    or "basement" in c["name"] or "garage" in c["name"]]
        migrate.upgrade(url)
        assert COLUMNS <= {c["name"] for c in inspect(engine).get_columns("buildings")}
    finally:
        engine.dispose()


def test_the_model_matches_the_migration(url) -> None:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"include_object": alembic_helpers.include_object,
                                                             "compare_type": True})
            diffs = compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()

    def on_buildings(diff: object) -> bool:
        item = diff[0] if isinstance(diff, list) else diff
        return any(getattr(part, "name", part) == "buildings" or getattr(getattr(part, "table", None), "name", None)
                   == "buildings" for part in (item[1:] if isinstance(item, tuple) else ()))

    assert [d for d in diffs if on_buildings(d)] == []
