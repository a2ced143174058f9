"""Benchmark: vector tiles/s and latency at z13, z15, z17 on the scale-1 sample, 16 concurrent clients.

    .venv/bin/python -m bench.bench_tiles [--database-url URL] [--seconds 15] [--layer parcels] [--repeat 3]

Targets, one after the other on the same database and the same random tiles that hold data:
  ours          the app (uvicorn, 1 worker), tile cache off (RENEWAL_TILE_CACHE_MB=0)
  ours_gzip     the same server, clients sending Accept-Encoding: gzip
  ours_cache    the app with its tile cache on, measured after a warm-up pass
  tipg          tipg (pip package in its own venv, /tmp/tipgvenv), 1 worker, its default tile query
  postgis       PostGIS alone: pgbench (-M prepared, 16 clients) running our tile statement, the tile picked
                by a primary-key lookup inside the same statement: the limit no server on this database passes
HTTP load comes from wrk (Debian package) with a Lua script that picks a random tile per request. Server
and PostgreSQL CPU (cores) are read from /proc during each run. First map paint: the app in headless
Chromium (Debian's), five fresh page loads. With ``--repeat N`` every target runs N times, interleaved, and the
run of median throughput is reported (all N in ``runs_tiles_s``): on a shared two-core machine single runs
of one target vary by ±7%. Writes bench/results/tiles.json and prints a table.

The database (default renewal_bench1 on the project's cluster) is created, migrated and loaded with the
scale-1 sample only when absent or empty; it is never loaded twice.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

from app.db import migrate
from app.db.engine import make_engine
from app.io import sample_load
from app.settings import get_settings
from app.tiles.layers import TILE_LAYERS

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
DEFAULT_URL = "postgresql://renewal@127.0.0.1:54329/renewal_bench1"
TIPG_VENV = Path("/tmp/tipgvenv")
CLIENTS = 16

WRK_LUA = r"""
local paths = {}
for line in io.lines(os.getenv("WRK_PATHS")) do paths[#paths + 1] = line end
if os.getenv("WRK_GZIP") == "1" then wrk.headers["Accept-Encoding"] = "gzip" end
math.randomseed(tonumber(os.getenv("WRK_SEED") or "1"))
request = function() return wrk.format("GET", paths[math.random(#paths)]) end
done = function(summary, latency, requests)
  io.write(string.format('WRKJSON {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"errors":%d,"bytes":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    summary.errors.status + summary.errors.connect + summary.errors.timeout + summary.errors.read, summary.bytes))
end
"""

# Tiles holding data: those of each feature's interior point.
TILES_SQL = """
SELECT DISTINCT floor((ST_X(c) + 20037508.342789244) / (40075016.685578488 / 2 ^ %(z)s))::int AS x,
       floor((20037508.342789244 - ST_Y(c)) / (40075016.685578488 / 2 ^ %(z)s))::int AS y
FROM (SELECT ST_Transform(ST_PointOnSurface(geom), 3857) AS c FROM {table}) s ORDER BY 1, 2
"""


def libpq(url: str) -> str:
    """A libpq URL (no SQLAlchemy driver suffix)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def ensure_database(url: str) -> dict[str, int]:
    """Create, migrate and load the scale-1 sample unless the database already holds it."""
    u = make_url(url)
    admin = {"host": u.host, "port": u.port or 5432, "user": u.username, "password": u.password,
             "dbname": "postgres", "autocommit": True}
    with psycopg.connect(**admin) as conn:  # type: ignore[arg-type]
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (u.database,)).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(u.database)))
    sa_url = u.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    migrate.upgrade(sa_url)
    engine = make_engine(get_settings(), sa_url, pool_size=1)
    try:
        if sample_load.is_empty(engine):
            print("loading the scale-1 sample (seed 42)...", file=sys.stderr)
            sample_load.load(engine, scale=1, seed=42)
    finally:
        engine.dispose()
    with psycopg.connect(libpq(url)) as conn:
        return {t: conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(t))).fetchone()[0]
                for t in ("blocks", "parcels", "buildings")}


def tile_sets(url: str, layer: str, zooms: list[int], limit: int, seed: int) -> dict[int, list[tuple[int, int]]]:
    """Random tiles that hold data, per zoom (at most ``limit``), also stored for pgbench's lookups."""
    table = TILE_LAYERS[layer].name
    rng = random.Random(seed)
    out: dict[int, list[tuple[int, int]]] = {}
    with psycopg.connect(libpq(url), autocommit=True) as conn:
        conn.execute("CREATE SCHEMA IF NOT EXISTS bench_tiles")
        for z in zooms:
            rows = conn.execute(sql.SQL(TILES_SQL).format(table=sql.Identifier(table)), {"z": z}).fetchall()
            tiles = [(int(x), int(y)) for x, y in rows]
            rng.shuffle(tiles)
            tiles = tiles[:limit]
            out[z] = tiles
            name = sql.Identifier("bench_tiles", f"{layer}_z{z}")
            conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(name))
            conn.execute(sql.SQL("CREATE TABLE {} (i int PRIMARY KEY, x int NOT NULL, y int NOT NULL)").format(name))
            with conn.cursor().copy(sql.SQL("COPY {} (i, x, y) FROM STDIN").format(name)) as copy:
                for i, (x, y) in enumerate(tiles, 1):
                    copy.write_row((i, x, y))
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds of processes (those still alive)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, IndexError):
            continue
    return total / tick


def busy_seconds() -> float:
    """CPU seconds the whole machine has spent busy (all CPUs, from /proc/stat)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


@contextmanager
def server(cmd: list[str], env: dict[str, str], probe: str, cwd: Path = ROOT) -> Iterator[subprocess.Popen[bytes]]:
    """A server process, waited for until ``probe`` answers; terminated afterwards."""
    proc = subprocess.Popen(cmd, env={**os.environ, **env}, cwd=cwd, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(probe, timeout=2) as resp:  # noqa: S310 (loopback only)
                    resp.read()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    err = proc.stderr.read().decode() if proc.stderr else ""
                    raise RuntimeError(f"{cmd[0]} did not start: {err[-2000:]}") from None
                time.sleep(0.2)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def wrk(base: str, paths: list[str], seconds: float, gzip: bool, pid: int | None, tmp: Path) -> dict[str, Any]:
    """16 connections, 1 thread, random paths; tiles/s, p50/p99 (ms) and the server's CPU."""
    lua = tmp / "tiles.lua"
    lua.write_text(WRK_LUA)
    listing = tmp / "paths.txt"
    listing.write_text("\n".join(paths) + "\n")
    env = {**os.environ, "WRK_PATHS": str(listing), "WRK_GZIP": "1" if gzip else "0"}
    busy_before, srv_before = busy_seconds(), cpu_seconds([pid] if pid else [])
    started = time.monotonic()
    cmd = ["wrk", "-t1", f"-c{CLIENTS}", f"-d{max(1, round(seconds))}s", "--timeout", "10s", "-s", str(lua), base]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout
    wall = time.monotonic() - started
    busy = (busy_seconds() - busy_before) / wall
    srv_cores = (cpu_seconds([pid] if pid else []) - srv_before) / wall
    line = next(li for li in out.splitlines() if li.startswith("WRKJSON "))
    r = json.loads(line[8:])
    rate = r["requests"] / (r["duration_us"] / 1e6)
    return {"tiles_s": round(rate, 1), "p50_ms": round(r["p50_us"] / 1000, 2), "p99_ms": round(r["p99_us"] / 1000, 2),
            "errors": r["errors"], "kib_per_tile": round(r["bytes"] / max(r["requests"], 1) / 1024, 2),
            "server_cores": round(srv_cores, 2) if pid else None, "machine_busy_cores": round(busy, 2)}


def pgbench(url: str, layer: str, z: int, n_tiles: int, seconds: float, tmp: Path) -> dict[str, Any]:
    """Our tile statement alone: pgbench, prepared, 16 clients, the tile chosen by a lookup in the statement."""
    lyr = TILE_LAYERS[layer]
    body = lyr.sql.strip()
    assert body.startswith("WITH ")
    pick = f"WITH pick AS MATERIALIZED (SELECT x, y FROM bench_tiles.{layer}_z{z} WHERE i = :i), "  # noqa: S608
    stmt = pick + body[5:]
    settings = get_settings()
    values = lyr.params(z, 0, 0, settings.srid, settings.rules)
    subst = {"$1": ":z", "$2": "(SELECT x FROM pick)", "$3": "(SELECT y FROM pick)", "$4": ":srid"}
    for k in range(5, len(values) + 1):
        subst[f"${k}"] = f":p{k}"
    for key in sorted(subst, key=len, reverse=True):
        stmt = stmt.replace(key, subst[key])
    lines = [f"\\set z {z}", f"\\set srid {values[3]}", f"\\set i random(1, {n_tiles})"]
    for k, v in enumerate(values[4:], 5):
        lines.append(f"\\set p{k} {int(v) if isinstance(v, bool) else v}")
    tmp.mkdir(parents=True, exist_ok=True)
    script = tmp / f"pgbench_z{z}.sql"
    script.write_text("\n".join(lines) + "\n" + stmt + ";\n")
    u = make_url(url)
    logdir = tmp / f"pglog{z}"
    logdir.mkdir()
    busy_before = busy_seconds()
    started = time.monotonic()
    out = subprocess.run(
        ["pgbench", "-h", u.host or "127.0.0.1", "-p", str(u.port or 5432), "-U", u.username or "postgres", "-n",
         "-M", "prepared", "-c", str(CLIENTS), "-j", "1", "-T", str(int(seconds)), "-f", str(script), "-l",
         "--log-prefix", str(logdir / "tx"), u.database or "postgres"],
        capture_output=True, text=True, check=True, env={**os.environ, "PGPASSWORD": u.password or ""}).stdout
    busy = (busy_seconds() - busy_before) / (time.monotonic() - started)
    tps = float(next(li for li in out.splitlines() if li.startswith("tps")).split("=")[1].split()[0])
    lat = sorted(int(li.split()[2]) for f in logdir.iterdir() for li in f.read_text().splitlines() if li.strip())
    return {"tiles_s": round(tps, 1), "p50_ms": round(lat[len(lat) // 2] / 1000, 2),
            "p99_ms": round(lat[int(len(lat) * 0.99)] / 1000, 2), "errors": 0, "server_cores": None,
            "machine_busy_cores": round(busy, 2), "transactions": len(lat)}


def ensure_tipg() -> Path:
    """tipg in its own venv (so the project's pins stay untouched)."""
    uvicorn = TIPG_VENV / "bin" / "uvicorn"
    if not uvicorn.exists():
        subprocess.run([sys.executable, "-m", "venv", str(TIPG_VENV)], check=True)
        subprocess.run([str(TIPG_VENV / "bin" / "pip"), "install", "-q", "tipg", "uvicorn[standard]"], check=True)
    return uvicorn


def first_paint(base: str, runs: int) -> dict[str, Any]:
    """Navigation start → blocks drawn (renewalMap.firstPaintMs), in fresh headless Chromium contexts."""
    from playwright.sync_api import sync_playwright

    from tests.conftest import CHROMIUM, CHROMIUM_ARGS

    times: list[float] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            for _ in range(runs):
                context = browser.new_context(viewport={"width": 1366, "height": 800})
                page = context.new_page()
                page.goto(base + "/")
                page.wait_for_selector("body[data-ready='1']", timeout=30000)
                times.append(float(page.evaluate("renewalMap.firstPaintMs")))
                context.close()
        finally:
            browser.close()
    return {"runs_ms": [round(t) for t in times], "median_ms": round(statistics.median(times)),
            "max_ms": round(max(times))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_TILES_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--layer", default="parcels", choices=sorted(TILE_LAYERS))
    parser.add_argument("--zoom", type=int, action="append", help="zoom levels (default 13, 15, 17)")
    parser.add_argument("--seconds", type=float, default=15.0, help="measured seconds per run")
    parser.add_argument("--warmup", type=float, default=3.0, help="warm-up seconds per run")
    parser.add_argument("--tiles", type=int, default=5000, help="distinct tiles per zoom at most")
    parser.add_argument("--targets", default="postgis,ours,ours_gzip,ours_cache,tipg")
    parser.add_argument("--paint-runs", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=1, help="measured runs per target, interleaved; the median "
                        "run is reported (3 on a machine that is not quiet)")
    args = parser.parse_args()
    zooms = args.zoom or [13, 15, 17]
    targets = args.targets.split(",")
    if shutil.which("wrk") is None:
        sys.exit("wrk is missing: apt-get install -y wrk")
    counts = ensure_database(args.database_url)
    tiles = tile_sets(args.database_url, args.layer, zooms, args.tiles, seed=1)
    app_env = {"DATABASE_URL": libpq(args.database_url)}
    results: dict[str, Any] = {
        "layer": args.layer, "clients": CLIENTS, "seconds": args.seconds, "database": counts,
        "cpus": os.cpu_count(), "loadavg_start": os.getloadavg(),
        "tiles_per_zoom": {z: len(t) for z, t in tiles.items()},
        "runs": {}}
    ours_path = f"/tiles/{args.layer}/{{z}}/{{x}}/{{y}}.mvt"
    tipg_path = f"/collections/public.{args.layer}/tiles/WebMercatorQuad/{{z}}/{{x}}/{{y}}"
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        port_nc, port_c, port_t = free_port(), free_port(), free_port()
        uv = [sys.executable, "-m", "uvicorn", "app.main:app", "--workers", "1", "--no-access-log",
              "--log-level", "warning"]  # stock uvicorn, as `renewal serve` runs it (access log off for all)
        tipg_server = (server([str(ensure_tipg()), "tipg.main:app", "--port", str(port_t), "--workers", "1",
                               "--no-access-log", "--log-level", "warning"],
                              {**app_env, "TIPG_DB_SCHEMAS": '["public"]', "TIPG_MAX_FEATURES_PER_TILE": "100000"},
                              f"http://127.0.0.1:{port_t}/collections", cwd=Path("/tmp"))
                       if "tipg" in targets else _null())
        with (server(uv + ["--port", str(port_nc)], {**app_env, "RENEWAL_TILE_CACHE_MB": "0"},
                     f"http://127.0.0.1:{port_nc}/healthz") as nocache,
              server(uv + ["--port", str(port_c)], {**app_env, "RENEWAL_TILE_CACHE_MB": "512"},
                     f"http://127.0.0.1:{port_c}/healthz") as cached,
              tipg_server as tipg):
            for z in zooms:
                ours = [ours_path.format(z=z, x=x, y=y) for x, y in tiles[z]]
                tipgs = [tipg_path.format(z=z, x=x, y=y) for x, y in tiles[z]]
                row: dict[str, Any] = {}
                repeats: dict[str, list[dict[str, Any]]] = {t: [] for t in targets}
                for rep in range(args.repeat):  # targets interleaved, so a slow spell of the machine hits all
                    for target in targets:
                        load = os.getloadavg()[0]
                        if target == "postgis":
                            pgbench(args.database_url, args.layer, z, len(tiles[z]), args.warmup, tmp / f"w{z}{rep}")
                            r = pgbench(args.database_url, args.layer, z, len(tiles[z]), args.seconds,
                                        tmp / f"m{z}{rep}")
                        else:
                            proc, paths, port, gz = {
                                "ours": (nocache, ours, port_nc, False), "ours_gzip": (nocache, ours, port_nc, True),
                                "ours_cache": (cached, ours, port_c, False),
                                "tipg": (tipg, tipgs, port_t, False)}[target]
                            base = f"http://127.0.0.1:{port}"
                            warm = max(args.warmup, 8.0) if target == "ours_cache" and rep == 0 else args.warmup
                            wrk(base, paths, warm, gz, None, tmp)
                            r = wrk(base, paths, args.seconds, gz, proc.pid, tmp)
                        r["loadavg_before"] = round(load, 2)
                        repeats[target].append(r)
                        print(f"z{z} {target:10s} {r['tiles_s']:9.1f} tiles/s  p50 {r['p50_ms']:6.2f} ms"
                              f"  p99 {r['p99_ms']:6.2f} ms", file=sys.stderr)
                for target, runs in repeats.items():  # the run of median throughput stands for the target
                    ranked = sorted(runs, key=lambda r: r["tiles_s"])
                    row[target] = {**ranked[len(ranked) // 2], "runs_tiles_s": [r["tiles_s"] for r in runs]}
                results["runs"][z] = row
            if "ours" in targets and args.paint_runs > 0:
                results["first_paint"] = first_paint(f"http://127.0.0.1:{port_c}", args.paint_runs)
    results["loadavg_end"] = os.getloadavg()
    results["ratios"] = {
        z: {k: round(v, 3) for k, v in {
            "ours/postgis": _ratio(r, "ours", "postgis"), "ours/tipg": _ratio(r, "ours", "tipg"),
            "ours_gzip/ours": _ratio(r, "ours_gzip", "ours"), "ours_cache/tipg": _ratio(r, "ours_cache", "tipg"),
        }.items() if v is not None} for z, r in results["runs"].items()}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "tiles.json").write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    print_table(results)


def _ratio(row: dict[str, Any], a: str, b: str) -> float | None:
    if a in row and b in row and row[b]["tiles_s"]:
        return float(row[a]["tiles_s"] / row[b]["tiles_s"])
    return None


@contextmanager
def _null() -> Iterator[None]:
    yield None


def print_table(results: dict[str, Any]) -> None:
    """The figures as a plain table on stdout."""
    print(f"layer {results['layer']}, {results['clients']} clients, {results['seconds']} s per run, "
          f"{results['cpus']} CPUs; parcels {results['database']['parcels']:,}")
    print(f"{'zoom':>4} {'target':<11} {'tiles/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'KiB':>6} {'server':>7} "
          f"{'busy':>5}")
    for z, row in results["runs"].items():
        for target, r in row.items():
            srv = f"{r['server_cores']:.2f}" if r.get("server_cores") is not None else "-"
            pg = f"{r['machine_busy_cores']:.2f}"
            kib = f"{r['kib_per_tile']:.1f}" if "kib_per_tile" in r else "-"
            print(f"{z:>4} {target:<11} {r['tiles_s']:>9.1f} {r['p50_ms']:>8.2f} {r['p99_ms']:>8.2f} {kib:>6} "
                  f"{srv:>7} {pg:>5}")
        ratios = results["ratios"][z]
        print("     " + "  ".join(f"{k} {v:.2f}" for k, v in ratios.items()))
    if "first_paint" in results:
        fp = results["first_paint"]
        print(f"first map paint (scale 1, headless Chromium): median {fp['median_ms']} ms, max {fp['max_ms']} ms")


if __name__ == "__main__":
    main()
