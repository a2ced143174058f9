"""Faults: the database stopped (503 at once, recovery by itself) and an import killed halfway (nothing left)."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import geopandas as gpd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from app.api import create_app
from app.db import cluster
from app.db.engine import make_engine
from app.io import exporter, sample_load
from app.planning.config import PlanningRules
from app.settings import Settings
from tests.test_health import Relay
from tests.trust.conftest import BLOCK_A, PARCEL_A, Trust, login

DOWN_LIMIT_S = 5.0
"""A request while the database is away must be answered (503) within this."""


@contextmanager
def database_away(settings: Settings, base: Settings) -> Iterator[tuple[Settings, Callable[[], None],
                                                                           Callable[[], None]]]:
    """Settings for an app, and stop/start functions that take its database away and bring it back.

    With the project's own cluster (no DATABASE_URL, and this checkout's cluster is the one running) the
    cluster itself is stopped and started again (``app.db.cluster``), and always restarted at the end;
    otherwise (DATABASE_URL elsewhere, or another checkout's cluster reused on the port) the app goes
    through a TCP relay that is switched off and on (as tests/test_health.py does).
    """
    if base.database_url is None and (cluster.data_dir(base) / "postmaster.pid").exists():
        def stop() -> None:
            cluster.down(base, say=lambda _m: None)

        def start() -> None:
            cluster.up(base, say=lambda _m: None)

        try:
            yield settings, stop, start
        finally:
            if not cluster.is_listening(base.pg_port):
                cluster.up(base, say=lambda _m: None)
    else:
        url = make_url(settings.sqlalchemy_url)
        relay = Relay(url.host or "127.0.0.1", url.port or 5432)
        relay.start()
        relayed = url.set(port=relay.port).render_as_string(hide_password=False)
        try:
            yield settings.model_copy(update={"database_url": relayed}), relay.stop, relay.start
        finally:
            if relay.listener is not None and relay.listener.fileno() == -1:
                relay.start()


def _timed(call: Callable[[], object]) -> tuple[object, float]:
    started = time.monotonic()
    out = call()
    return out, time.monotonic() - started


def test_stopped_database_gives_503_fast_then_recovers(trust: Trust, base_settings: Settings) -> None:
    token = trust.tokens["ada"]
    auth = {"Authorization": f"Bearer {token}"}
    columns = itertools.count(54000)
    checks: dict[str, Callable[[TestClient], object]] = {
        "health": lambda api: api.get("/healthz"),
        "card (SQLAlchemy)": lambda api: api.get(f"/api/blocks/{BLOCK_A}/card"),
        "metrics": lambda api: api.get(f"/api/parcels/{PARCEL_A}/metrics", headers=auth),
        "OGC items (asyncpg)": lambda api: api.get("/ogc/collections/blocks/items"),
        "OGC item": lambda api: api.get(f"/ogc/collections/parcels/items/{PARCEL_A}"),
        # a tile never asked before each time: a cached one would rightly be served without the database
        "tile (asyncpg)": lambda api: api.get(f"/tiles/parcels/16/{next(columns)}/26845.mvt"),
        "login": lambda api: api.post("/api/auth/token", data={"username": "nobody", "password": "whatever1"}),
        "write (account check)": lambda api: api.patch(f"/api/blocks/{BLOCK_A}", json={"industry": "x"},
                                                       headers={**auth, "If-Match": '"v1"'}),
    }
    with database_away(trust.settings, base_settings) as (settings, stop, start):
        settings = settings.model_copy(update={"db_connect_timeout_s": 2})
        with TestClient(create_app(settings), raise_server_exceptions=False, client=("198.51.100.7", 5000)) as api:
            for name, check in checks.items():  # warm every pool
                assert check(api).status_code < 500, name  # type: ignore[attr-defined]
            stop()
            try:
                timings: dict[str, float] = {}
                for name, check in checks.items():
                    resp, took = _timed(lambda c=check: c(api))  # type: ignore[misc]
                    timings[name] = took
                    assert resp.status_code == 503, (name, resp.status_code, resp.text)  # type: ignore[attr-defined]
                    assert resp.json() == {"code": "DatabaseUnavailable",  # type: ignore[attr-defined]
                                           "detail": "the database does not answer; try again shortly",
                                           "field": None,
                                           "messages": {"en": "the database does not answer; try again shortly",
                                                        "zh": "数据库没有响应，请稍后再试"}}, name
                    assert took < DOWN_LIMIT_S, (name, took)
                    assert "content-security-policy" in resp.headers  # type: ignore[attr-defined]
                # reading pages and assets that need no database still work
                assert api.get("/").status_code == 200 and api.get("/static/map.js").status_code == 200
            finally:
                start()
            deadline = time.monotonic() + 60
            pending = dict(checks)
            while pending and time.monotonic() < deadline:
                for name, check in list(pending.items()):
                    if check(api).status_code < 500:  # type: ignore[attr-defined]
                        del pending[name]
                time.sleep(0.2)
            assert not pending, f"did not recover: {sorted(pending)}"
            assert login(api, "ada")  # a real login works again
    print("\ntime to 503 with the database stopped: "
          + ", ".join(f"{name} {took * 1000:.0f} ms" for name, took in timings.items()))


# ---------------------------------------------------------------- an import killed halfway
def _snapshot(engine: Engine) -> tuple[int, str, int]:
    """Rows, a checksum of every parcel row, and the audit rows."""
    with engine.connect() as conn:
        n, digest = conn.execute(text("SELECT count(*), md5(string_agg(md5(p::text), ',' ORDER BY p.id)) "
                                      "FROM parcels p")).one()
        audit = conn.execute(text("SELECT count(*) FROM audit_log")).scalar_one()
    return int(n), str(digest), int(audit)


@pytest.mark.slow
def test_import_killed_halfway_leaves_nothing_behind(databases, base_settings: Settings, tmp_path: Path) -> None:
    url = databases.create()
    engine = make_engine(base_settings, url)
    try:
        sample_load.load(engine, scale=0.3, seed=7)
        path = tmp_path / "parcels.gpkg"
        exporter.export(engine, "parcels", path, fmt="gpkg", rules=PlanningRules())
        gdf = gpd.read_file(path)
        gdf["tax"] = gdf["tax"].fillna(0) * 2 + 1  # an upsert that changes every parcel
        gdf.to_file(path, driver="GPKG")
        before = _snapshot(engine)
        database = make_url(url).database
        env = {**os.environ, "DATABASE_URL": url}
        proc = subprocess.Popen([sys.executable, "-m", "app.cli", "import", str(path), "--layer", "parcels",
                                 "--mode", "upsert"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        writing = text("SELECT pid, query FROM pg_stat_activity WHERE datname = :db AND pid <> pg_backend_pid() "
                       "AND backend_xid IS NOT NULL")
        killed_at = None
        deadline = time.monotonic() + 120
        with engine.connect() as conn:
            while time.monotonic() < deadline and proc.poll() is None:
                row = conn.execute(writing, {"db": database}).first()
                conn.rollback()
                if row is not None and ("UPDATE parcels" in row.query or "INSERT INTO parcels" in row.query
                                        or killed_at is None and time.monotonic() > deadline - 60):
                    proc.send_signal(signal.SIGKILL)
                    killed_at = (row.pid, row.query.split("\n")[0][:60])
                    break
                time.sleep(0.01)
        proc.wait(timeout=30)
        assert killed_at is not None, "the import finished before it could be killed: " + proc.stderr.read().decode()
        assert proc.returncode == -signal.SIGKILL
        pid = killed_at[0]
        with engine.connect() as conn:  # the server notices the dead client and rolls its transaction back
            for _ in range(300):
                alive = conn.execute(text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"),
                                     {"pid": pid}).scalar_one()
                conn.rollback()
                if not alive:
                    break
                time.sleep(0.1)
            assert not alive, "the killed import's backend is still there"
            locks = conn.execute(text("SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                                      "WHERE c.relname IN ('parcels', 'blocks', 'data_version')")).scalar_one()
        assert _snapshot(engine) == before  # nothing written, no audit row
        assert locks == 0
        # and the same import runs to the end afterwards (no lock or temporary table left over)
        done = subprocess.run([sys.executable, "-m", "app.cli", "import", str(path), "--layer", "parcels",
                               "--mode", "upsert"], env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        n, digest, audit = _snapshot(engine)
        assert n == before[0] and digest != before[1] and audit == before[2] + 1
        print(f"\nimport killed during: {killed_at[1]!r}; {n} parcels unchanged")
    finally:
        engine.dispose()


def test_a_silent_database_host_gives_503_after_the_connect_timeout(trust_settings: Settings) -> None:
    """A host that accepts connections and never answers (a hung server, a black-holed route) costs at most the
    connect timeout, then 503: no request hangs."""
    import socket

    silent = socket.create_server(("127.0.0.1", 0))
    silent.listen(64)
    port = silent.getsockname()[1]
    url = make_url(trust_settings.sqlalchemy_url).set(port=port).render_as_string(hide_password=False)
    settings = trust_settings.model_copy(update={"database_url": url, "db_connect_timeout_s": 1})
    try:
        with TestClient(create_app(settings), raise_server_exceptions=False) as api:
            for path in ("/healthz", f"/api/blocks/{BLOCK_A}/card", "/ogc/collections/blocks/items",
                         "/tiles/blocks/14/13733/6710.mvt"):
                resp, took = _timed(lambda p=path: api.get(p))  # type: ignore[misc]
                assert resp.status_code == 503, (path, resp.status_code, resp.text)  # type: ignore[attr-defined]
                assert took < 1 + DOWN_LIMIT_S, (path, took)
    finally:
        silent.close()
