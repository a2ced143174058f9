"""Benchmark: OGC API items (GeoJSON, limit=500, numberMatched) in random ~1 km² bboxes, renewal vs tipg.

    .venv/bin/python -m bench.bench_features [--duration 20] [--clients 16]

Both servers run as one uvicorn worker on the scale-1 sample in database ``renewal_bench1`` (created and
loaded only when it holds no parcels; see ``ensure_bench_db``). tipg runs from its own venv
(``/tmp/tipgvenv``: ``python3 -m venv /tmp/tipgvenv && /tmp/tipgvenv/bin/pip install tipg uvicorn``), never
from the project's. 16 clients on keep-alive connections each request the next random bbox (1 km × 1 km
around a random parcel, in CRS84) as soon as the previous answer is read, for a fixed time after a warm-up.
Writes bench/results/features.json and prints a table.
"""

from __future__ import annotations

import argparse
import asyncio
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
from pathlib import Path
from typing import Any

import psycopg
from pyproj import Transformer

from bench.bench_tiles import WRK_LUA

RESULTS = Path(__file__).parent / "results"
BENCH_DB = "renewal_bench1"
ADMIN = "postgresql://renewal@127.0.0.1:54329/postgres"
BENCH_URL = f"postgresql://renewal@127.0.0.1:54329/{BENCH_DB}"
TIPG_VENV = Path("/tmp/tipgvenv")


def ensure_bench_db(url: str = BENCH_URL) -> int:
    """The scale-1 sample's parcel count in ``renewal_bench1``; created and loaded only when absent or empty."""
    with psycopg.connect(ADMIN, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (BENCH_DB,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{BENCH_DB}"')
    env = {**os.environ, "DATABASE_URL": url}
    with psycopg.connect(url) as conn:
        has_table = conn.execute("SELECT to_regclass('parcels') IS NOT NULL").fetchone()
        parcels = conn.execute("SELECT count(*) FROM parcels").fetchone() if has_table and has_table[0] else (0,)
    if not parcels or parcels[0] == 0:
        renewal = str(Path(sys.executable).with_name("renewal"))
        subprocess.run([renewal, "db", "migrate"], env=env, check=True)
        subprocess.run([renewal, "sample", "--scale", "1", "--seed", "42", "--if-empty"], env=env, check=True)
        with psycopg.connect(url) as conn:
            parcels = conn.execute("SELECT count(*) FROM parcels").fetchone()
    return int(parcels[0]) if parcels else 0


def free_port() -> int:
    """A free TCP port on the loopback address."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(cmd: list[str], env: dict[str, str], probe: str, port: int) -> subprocess.Popen[bytes]:
    """Start a server and wait until ``probe`` answers 200."""
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            status, _ = asyncio.run(_one("127.0.0.1", port, probe))
            if status == 200:
                return proc
        except OSError:
            pass
        time.sleep(0.3)
    proc.terminate()
    raise RuntimeError(f"server did not start: {' '.join(cmd)}")


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """One HTTP/1.1 response: status and body (Content-Length or chunked)."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in lines[1:] if h)}
    if "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
    else:
        parts = []
        while True:
            size = int((await reader.readline()).strip(), 16)
            if size == 0:
                await reader.readline()
                break
            parts.append(await reader.readexactly(size))
            await reader.readline()
        body = b"".join(parts)
    return status, body


async def _one(host: str, port: int, path: str) -> tuple[int, bytes]:
    """A single request on a new connection."""
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAccept: application/geo+json\r\n\r\n".encode())
    await writer.drain()
    result = await _read_response(reader)
    writer.close()
    return result


async def _load(port: int, paths: list[str], clients: int, warmup_s: float, duration_s: float
                ) -> dict[str, Any]:
    """``clients`` keep-alive connections requesting ``paths`` in turn; latency of each request after warm-up."""
    latencies: list[float] = []
    returned: list[int] = []
    errors = 0
    start_at = time.monotonic()
    measure_from = start_at + warmup_s
    stop_at = measure_from + duration_s
    counter = iter(range(10**9))

    async def client(k: int) -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        checked = False
        while time.monotonic() < stop_at:
            path = paths[next(counter) % len(paths)]
            t0 = time.monotonic()
            writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/geo+json\r\n\r\n".encode())
            await writer.drain()
            status, body = await _read_response(reader)
            t1 = time.monotonic()
            if status != 200:
                errors += 1
                continue
            if not checked or k == 0:  # the answer is a real page with numberMatched
                doc = json.loads(body)
                assert "numberMatched" in doc, "numberMatched missing"
                returned.append(int(doc["numberReturned"]))
                checked = True
            if t0 >= measure_from:
                latencies.append(t1 - t0)
        writer.close()

    await asyncio.gather(*(client(k) for k in range(clients)))
    latencies.sort()
    n = len(latencies)
    return {
        "requests": n,
        "errors": errors,
        "rps": round(n / duration_s, 1),
        "p50_ms": round(1000 * latencies[n // 2], 1) if n else None,
        "p95_ms": round(1000 * latencies[int(n * 0.95)], 1) if n else None,
        "p99_ms": round(1000 * latencies[int(n * 0.99)], 1) if n else None,
        "mean_features": round(statistics.mean(returned), 1) if returned else None,
    }


def _wrk(port: int, paths: list[str], clients: int, warmup_s: float, duration_s: float) -> dict[str, Any]:
    """The same load from wrk (C, one thread): the client costs far less CPU than Python's on two cores."""
    lua = WRK_LUA.replace('if os.getenv("WRK_GZIP")', 'wrk.headers["Accept"] = "application/geo+json"\n'
                                                      'if os.getenv("WRK_GZIP")')
    with tempfile.TemporaryDirectory() as tmp:
        script, listing = Path(tmp) / "items.lua", Path(tmp) / "paths.txt"
        script.write_text(lua)
        listing.write_text("\n".join(paths) + "\n")
        env = {**os.environ, "WRK_PATHS": str(listing), "WRK_GZIP": "0"}
        base = f"http://127.0.0.1:{port}"
        runs = []
        for seconds in (warmup_s, duration_s):
            cmd = ["wrk", "-t1", f"-c{clients}", f"-d{max(1, round(seconds))}s", "--timeout", "10s", "-s",
                   str(script), base]
            out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout
            runs.append(json.loads(next(li for li in out.splitlines() if li.startswith("WRKJSON "))[8:]))
    r = runs[-1]
    return {"requests": r["requests"], "errors": r["errors"],
            "rps": round(r["requests"] / (r["duration_us"] / 1e6), 1),
            "p50_ms": round(r["p50_us"] / 1000, 1), "p95_ms": None, "p99_ms": round(r["p99_us"] / 1000, 1),
            "mean_features": None, "client": "wrk"}


def bboxes(url: str, count: int, seed: int) -> list[tuple[float, float, float, float]]:
    """``count`` CRS84 bboxes of 1 km × 1 km centred on random parcels (storage CRS EPSG:4549)."""
    with psycopg.connect(url) as conn:
        pts = conn.execute("SELECT ST_X(c), ST_Y(c) FROM (SELECT ST_PointOnSurface(geom) c FROM parcels) p").fetchall()
    rng = random.Random(seed)
    tr = Transformer.from_crs(4549, 4326, always_xy=True)
    out = []
    for x, y in rng.sample(pts, count):
        lo1, la1 = tr.transform(x - 500, y - 500)
        lo2, la2 = tr.transform(x + 500, y + 500)
        out.append((round(lo1, 6), round(la1, 6), round(lo2, 6), round(la2, 6)))
    return out


def main() -> None:
    """Run both servers in turn under the same load and compare."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=20.0, help="Measured seconds per server.")
    parser.add_argument("--warmup", type=float, default=3.0, help="Warm-up seconds per server.")
    parser.add_argument("--clients", type=int, default=16, help="Concurrent clients.")
    parser.add_argument("--limit", type=int, default=500, help="limit= of each request.")
    parser.add_argument("--seed", type=int, default=7, help="Seed of the bbox choice.")
    parser.add_argument("--skip-tipg", action="store_true", help="Measure renewal only.")
    parser.add_argument("--client", choices=("wrk", "python"), default="wrk" if shutil.which("wrk") else "python",
                        help="Load generator: wrk (default when installed) or the asyncio client here.")
    args = parser.parse_args()

    parcels = ensure_bench_db()
    boxes = bboxes(BENCH_URL, 2000, args.seed)
    results: dict[str, Any] = {"database": BENCH_DB, "parcels": parcels, "clients": args.clients,
                               "limit": args.limit, "duration_s": args.duration, "bbox": "1 km x 1 km, CRS84",
                               "cpus": os.cpu_count()}
    servers = [("renewal", [sys.executable, "-m", "uvicorn", "app.main:app"],  # as `renewal serve`
                "/ogc/collections/parcels/items", {"DATABASE_URL": BENCH_URL})]
    if not args.skip_tipg:
        if not (TIPG_VENV / "bin" / "uvicorn").exists():
            raise SystemExit(f"tipg is not installed: python3 -m venv {TIPG_VENV} && "
                             f"{TIPG_VENV}/bin/pip install tipg uvicorn")
        servers.append(("tipg", [str(TIPG_VENV / "bin" / "uvicorn"), "tipg.main:app"],
                        "/collections/public.parcels/items",
                        {"DATABASE_URL": BENCH_URL, "TIPG_NAME": "tipg", "TIPG_DB_SCHEMAS": '["public"]',
                         "TIPG_MAX_FEATURES_PER_QUERY": "10000"}))
    for name, cmd, items, extra in servers:
        port = free_port()
        env = {**os.environ, **extra}
        proc = start([*cmd, "--host", "127.0.0.1", "--port", str(port), "--workers", "1", "--log-level", "warning",
                      "--no-access-log"], env, f"{items}?limit=1", port)
        try:
            paths = [f"{items}?bbox={a},{b},{c},{d}&limit={args.limit}" for a, b, c, d in boxes]
            if args.client == "wrk":
                results[name] = _wrk(port, paths, args.clients, args.warmup, args.duration)
                results[name]["mean_features"] = asyncio.run(_load(port, paths[:50], 1, 0, 1))["mean_features"]
            else:
                results[name] = asyncio.run(_load(port, paths, args.clients, args.warmup, args.duration))
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    if "tipg" in results:
        results["speedup_rps"] = round(results["renewal"]["rps"] / results["tipg"]["rps"], 2)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "features.json").write_text(json.dumps(results, indent=2) + "\n")
    print(f"{'server':8} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'errors':>7} {'features':>9}")
    for name in ("renewal", "tipg"):
        if name in results:
            r = results[name]
            print(f"{name:8} {r['rps']!s:>8} {r['p50_ms']!s:>8} {r['p95_ms']!s:>8} {r['p99_ms']!s:>8} "
                  f"{r['errors']!s:>7} {r['mean_features']!s:>9}")
    if "speedup_rps" in results:
        print(f"renewal / tipg throughput: {results['speedup_rps']}x")


if __name__ == "__main__":
    main()
