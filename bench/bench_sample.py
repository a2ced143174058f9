"""Benchmark: generate and load the Cixi sample into a fresh database (issue 2: scale 1 under 2 minutes).

    .venv/bin/python -m bench.bench_sample --scale 1 [--scale 10]

Each scale is loaded into its own throwaway database on the configured server (the project's own
cluster unless DATABASE_URL is set), which is dropped afterwards. Writes bench/results/sample.json.
"""

from __future__ import annotations

import argparse
import json
import time
import uuid
from pathlib import Path

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

from app.db import cluster, migrate
from app.db.engine import make_engine
from app.io import sample_load
from app.settings import get_settings
from geodata.sample import generate

RESULTS = Path(__file__).parent / "results"


def run(scale: float, seed: int) -> dict[str, float | int]:
    settings = get_settings()
    cluster.up(settings, say=lambda _m: None)
    url = make_url(settings.sqlalchemy_url)
    name = f"renewal_bench_sample_{uuid.uuid4().hex[:8]}"
    admin = {"host": url.host, "port": url.port, "user": url.username, "password": url.password,
             "dbname": "postgres", "autocommit": True}
    with psycopg.connect(**admin) as conn:  # type: ignore[arg-type]
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    target = url.set(database=name).render_as_string(hide_password=False)
    try:
        migrate.upgrade(target)
        started = time.perf_counter()
        generate(scale=scale, seed=seed, srid=settings.srid)
        generated = time.perf_counter() - started
        engine = make_engine(settings, target, pool_size=1, statement_timeout_ms=0)
        started = time.perf_counter()
        counts = sample_load.load(engine, scale=scale, seed=seed)
        total = time.perf_counter() - started
        engine.dispose()
    finally:
        with psycopg.connect(**admin) as conn:  # type: ignore[arg-type]
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
    return {"scale": scale, "generate_s": round(generated, 2), "generate_and_load_s": round(total, 2), **counts}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=float, action="append", help="scales to load (repeatable)")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    rows = [run(s, args.seed) for s in (args.scale or [1.0])]
    for row in rows:
        print(f"scale {row['scale']:>5}: generate {row['generate_s']:>6.2f} s, generate + load "
              f"{row['generate_and_load_s']:>6.2f} s  ({row['parcels']:,} parcels, {row['buildings']:,} buildings)")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "sample.json").write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
