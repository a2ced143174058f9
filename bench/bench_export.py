"""Benchmark: export all parcels of the scale-1 sample to a shapefile zip and a GeoPackage, against ogr2ogr.

    .venv/bin/python -m bench.bench_export [--repeat 5]

In the same run and alternating, so both see the same machine: ``renewal``'s exporter (in process, warm),
with the planning figures joined (the default) and without them; ``ogr2ogr`` (Debian's gdal-bin) reading
the parcels table from the same database into a shapefile (.shp, and .shp.zip for the zip step) and a
GeoPackage. Medians of ``--repeat`` runs. Writes bench/results/export.json and prints a table.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.bench_features import BENCH_URL, RESULTS, ensure_bench_db

PG = "PG:host=127.0.0.1 port=54329 user=renewal dbname=renewal_bench1"


def _median_time(fn: Callable[[], Any], repeat: int) -> tuple[float, list[float]]:
    """Median wall time of ``fn`` over ``repeat`` runs (seconds)."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), [round(t, 3) for t in times]


def main() -> None:
    """Run the exports and compare."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5, help="Runs of each export (median reported).")
    args = parser.parse_args()
    parcels = ensure_bench_db()
    os.environ["DATABASE_URL"] = BENCH_URL
    from app.db.engine import make_engine
    from app.io import exporter
    from app.settings import get_settings

    get_settings.cache_clear()
    engine = make_engine(get_settings(), pool_size=2, statement_timeout_ms=0)
    work = Path(tempfile.mkdtemp(prefix="bench-export-"))

    def ours(fmt: str, figures: bool) -> Callable[[], Any]:
        out = work / f"renewal_{fmt}_{figures}{'.zip' if fmt == 'shp' else '.gpkg'}"
        return lambda: exporter.export(engine, "parcels", out, fmt=fmt, figures=figures, rules=get_settings().rules)

    def ogr(driver: str, name: str) -> Callable[[], Any]:
        def run() -> None:
            target = work / name
            for leftover in work.glob(f"{Path(name).stem.split('.')[0]}.*"):
                leftover.unlink()
            cmd = ["ogr2ogr", "-f", driver, str(target), PG, "parcels", "-nln", "parcels"]
            if driver == "ESRI Shapefile":
                cmd += ["-lco", "ENCODING=UTF-8"]
            subprocess.run(cmd, check=True, capture_output=True)
        return run

    cases: dict[str, Callable[[], Any]] = {
        "renewal shp zip (figures)": ours("shp", True),
        "renewal shp zip": ours("shp", False),
        "ogr2ogr shp": ogr("ESRI Shapefile", "ogr.shp"),
        "ogr2ogr shp.zip": ogr("ESRI Shapefile", "ogrz.shp.zip"),
        "renewal gpkg (figures)": ours("gpkg", True),
        "renewal gpkg": ours("gpkg", False),
        "ogr2ogr gpkg": ogr("GPKG", "ogr.gpkg"),
    }
    for fn in cases.values():  # warm caches (imports, PostgreSQL buffers) once
        fn()
    timings: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(args.repeat):  # alternate, so load changes touch every case alike
        for name, fn in cases.items():
            timings[name] += _median_time(fn, 1)[1]
    medians = {name: round(statistics.median(ts), 3) for name, ts in timings.items()}
    ratios = {
        "shp zip / ogr2ogr shp": round(medians["renewal shp zip"] / medians["ogr2ogr shp"], 2),
        "shp zip / ogr2ogr shp.zip": round(medians["renewal shp zip"] / medians["ogr2ogr shp.zip"], 2),
        "shp zip with figures / ogr2ogr shp": round(medians["renewal shp zip (figures)"] / medians["ogr2ogr shp"], 2),
        "gpkg / ogr2ogr gpkg": round(medians["renewal gpkg"] / medians["ogr2ogr gpkg"], 2),
        "gpkg with figures / ogr2ogr gpkg": round(medians["renewal gpkg (figures)"] / medians["ogr2ogr gpkg"], 2),
    }
    results = {"database": "renewal_bench1", "parcels": parcels, "repeat": args.repeat, "median_s": medians,
               "runs_s": timings, "ratios": ratios, "cpus": os.cpu_count()}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "export.json").write_text(json.dumps(results, indent=2) + "\n")
    shutil.rmtree(work, ignore_errors=True)
    engine.dispose()
    print(f"{'export of all parcels':28} {'median s':>9}")
    for name, value in medians.items():
        print(f"{name:28} {value:>9.3f}")
    for name, value in ratios.items():
        print(f"{name:36} {value:>5.2f}x")


if __name__ == "__main__":
    main()
