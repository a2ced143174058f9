"""Bootstrap: `renewal db up` is idempotent and fast the second time; DATABASE_URL leaves the cluster alone."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from sqlalchemy import text

from app.db.engine import make_engine
from app.io import sample_load


def renewal(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "app.cli", *args], capture_output=True, text=True,
                          env=env or dict(os.environ), timeout=600)


def test_db_up_twice_reuses_the_cluster(base_settings):
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    if base_settings.database_url:
        env["DATABASE_URL"] = base_settings.database_url
    first = renewal("db", "up", env=env)
    assert first.returncode == 0, first.stderr
    started = time.monotonic()
    second = renewal("db", "up", env=env)
    assert second.returncode == 0, second.stderr
    assert time.monotonic() - started < 10
    if not base_settings.database_url:
        assert "reusing the PostgreSQL already listening on 127.0.0.1:54329" in second.stderr
        assert "initialising" not in second.stderr


def test_database_url_leaves_the_local_cluster_alone(tmp_path):
    env = {**os.environ, "DATABASE_URL": "postgresql://nobody@127.0.0.1:9/none",
           "RENEWAL_PG_DATA": str(tmp_path / "never"), "RENEWAL_PG_PORT": "1"}
    up = renewal("db", "up", env=env)
    assert up.returncode == 0, up.stderr
    assert "DATABASE_URL is set: using that server, the local cluster is not touched" in up.stderr
    down = renewal("db", "down", env=env)
    assert down.returncode == 0
    assert "DATABASE_URL is set: nothing to stop" in down.stderr
    assert not (tmp_path / "never").exists()


def test_unreachable_database_url_fails_clearly():
    env = {**os.environ, "DATABASE_URL": "postgresql://nobody@127.0.0.1:9/none"}
    result = renewal("sample", "--if-empty", env=env)
    assert result.returncode == 3
    assert "cannot reach the database at postgresql+psycopg://nobody@127.0.0.1:9/none" in result.stderr


def _fingerprint(engine) -> dict[str, str]:
    with engine.connect() as conn:
        return {
            table: conn.execute(text(
                f"SELECT md5(string_agg(t::text, '|' ORDER BY t.id)) FROM {table} t"  # noqa: S608
            )).scalar_one()
            for table in sample_load.TABLES
        }


def test_same_seed_same_sample_in_the_database(databases, base_settings):
    engines = [make_engine(base_settings, databases.create()) for _ in range(3)]
    try:
        sample_load.load(engines[0], scale=0.02, seed=11)
        sample_load.load(engines[1], scale=0.02, seed=11)
        sample_load.load(engines[2], scale=0.02, seed=12)
        assert _fingerprint(engines[0]) == _fingerprint(engines[1])
        assert _fingerprint(engines[0])["parcels"] != _fingerprint(engines[2])["parcels"]
        with engines[0].connect() as conn:
            assert not sample_load.is_empty(engines[0])
            assert conn.execute(text("SELECT count(*) FROM towns")).scalar_one() == 24
    finally:
        for e in engines:
            e.dispose()
