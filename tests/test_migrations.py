"""Alembic migrations: up, constraints enforced, down, and up again."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.exc import IntegrityError

from app.db import migrate

TABLES = {"towns", "blocks", "parcels", "buildings", "enterprises", "block_statuses", "renovation_modes",
          "building_uses"}
SQUARE = "SRID=4549;MULTIPOLYGON(((600000 3340000,600100 3340000,600100 3340100,600000 3340100,600000 3340000)))"


@pytest.fixture()
def fresh_url(databases):
    return databases.create(migrated=False)


def test_up_down_up(fresh_url):
    engine = create_engine(fresh_url)
    try:
        migrate.upgrade(fresh_url)
        assert TABLES <= set(inspect(engine).get_table_names())
        with engine.connect() as conn:
            labels = dict(conn.execute(text("SELECT code, label_zh FROM block_statuses")).all())
            assert labels == {"listed": "已列入", "surveyed": "已排查", "planned": "方案已批",
                              "in_progress": "实施中", "accepted": "已验收"}
            modes = dict(conn.execute(text("SELECT code, label_zh FROM renovation_modes")).all())
            assert modes["sorting"] == "梳理式改造"
            srid = conn.execute(text("SELECT Find_SRID('public', 'parcels', 'geom')")).scalar_one()
            assert srid == 4549
            gist = conn.execute(text(
                "SELECT count(*) FROM pg_indexes WHERE indexdef LIKE '%USING gist (geom)%'")).scalar_one()
            assert gist == 5  # towns, blocks, parcels, buildings, joint_developments
        migrate.downgrade(fresh_url)
        assert not TABLES & set(inspect(engine).get_table_names())
        migrate.upgrade(fresh_url)
        assert TABLES <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def _insert_town(conn, geom: str = SQUARE, code: str = "330282107") -> None:
    conn.execute(text("INSERT INTO towns (code, name, geom) VALUES (:c, '观海卫镇', ST_GeomFromEWKT(:g))"),
                 {"c": code, "g": geom})


@pytest.mark.parametrize(
    ("statement", "constraint"),
    [
        ("INSERT INTO blocks (code, name, town_id, status, geom) SELECT 'B1', 'x', id, 'done', geom FROM towns",
         "blocks_status_fkey"),
        ("INSERT INTO blocks (code, name, town_id, mode, geom) SELECT 'B1', 'x', id, 'rebuild', geom FROM towns",
         "blocks_mode_fkey"),
        ("INSERT INTO towns (code, name, geom) VALUES ('330282108', 'x', ST_GeomFromEWKT("
         "'SRID=4549;MULTIPOLYGON(((0 0,10 10,10 0,0 10,0 0)))'))", "towns_geom_valid"),
        ("INSERT INTO towns (code, name, geom) VALUES ('330282108', 'x', "
         "ST_GeomFromEWKT('SRID=4549;MULTIPOLYGON EMPTY'))", "towns_geom_valid"),
        ("INSERT INTO towns (code, name, geom) SELECT '330282107', 'dup', geom FROM towns", "towns_code_key"),
        ("INSERT INTO blocks (code, name, town_id, geom) SELECT 'B1', 'x', 999, geom FROM towns",
         "blocks_town_id_fkey"),
    ],
)
def test_constraints(engine, statement, constraint):
    with engine.connect() as conn:
        trans = conn.begin()
        try:
            _insert_town(conn)
            with pytest.raises(IntegrityError) as info:
                conn.execute(text(statement))
            assert info.value.orig.diag.constraint_name == constraint
        finally:
            trans.rollback()
