"""Migration 0005: down and up again, the version trigger, and the models matching the schema it makes."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from geoalchemy2 import alembic_helpers
from sqlalchemy import create_engine, inspect, text

from app.db import migrate
from app.models import Base

TABLES = {"block_status_history", "enterprise_baselines", "block_checklists", "block_plans"}
SQUARE = "SRID=4549;MULTIPOLYGON(((600000 3340000,600100 3340000,600100 3340100,600000 3340100,600000 3340000)))"


def test_down_to_0004_and_up_again(databases):
    url = databases.create()
    engine = create_engine(url)
    try:
        assert TABLES <= set(inspect(engine).get_table_names())
        migrate.downgrade(url, "0004")
        assert not TABLES & set(inspect(engine).get_table_names())
        assert "version" not in {c["name"] for c in inspect(engine).get_columns("blocks")}
        migrate.upgrade(url)
        assert TABLES <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_every_update_bumps_the_version(databases):
    url = databases.create()
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO towns (code, name, geom) VALUES ('330282107', '观海卫镇', "
                              "ST_GeomFromEWKT(:g))"), {"g": SQUARE})
            conn.execute(text("INSERT INTO blocks (code, name, town_id, geom) SELECT 'QK107-001', 'x', id, geom "
                              "FROM towns"))
            assert conn.execute(text("SELECT version FROM blocks")).scalar_one() == 1
            conn.execute(text("UPDATE blocks SET industry = '模具'"))  # any writer, e.g. an import
            conn.execute(text("UPDATE blocks SET version = 1"))  # not even this sets it back
            assert conn.execute(text("SELECT version FROM blocks")).scalar_one() == 3
    finally:
        engine.dispose()


def test_models_match_the_migration(databases):
    url = databases.create()
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"include_object": alembic_helpers.include_object,
                                                             "compare_type": True})
            diffs = compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()
    mine = TABLES | {"blocks"}

    def table_of(diff: object) -> str | None:
        item = diff[0] if isinstance(diff, list) else diff
        for part in item[1:] if isinstance(item, tuple) else ():
            name = getattr(part, "name", None) if not isinstance(part, str) else part
            table = getattr(getattr(part, "table", None), "name", None)
            if table in mine or name in mine:
                return str(table or name)
        return None

    assert [d for d in diffs if table_of(d)] == []
