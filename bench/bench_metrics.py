"""Benchmark: planning figures and compliance of a whole city against the bare FAR statement (issue 3).

    .venv/bin/python -m bench.bench_metrics \\
        --database-url postgresql://renewal@127.0.0.1:54329/renewal_bench01 \\
        --database-url postgresql://renewal@127.0.0.1:54329/renewal_bench1 \\
        --database-url postgresql://renewal@127.0.0.1:54329/renewal_bench10

Each database holds one loaded sample (``renewal db migrate && renewal sample --scale S``). For each, the
best of ``--repeat`` interleaved rounds of:

- the bare statement computing only FAR from the stored projected geometry (BARE below), fetched the
  ordinary way (SQLAlchemy) and with a binary cursor, the way the engine fetches its bulk rows;
- the engine: every figure of every parcel returned as objects; the city and block roll-ups (every
  parcel's figures computed, blocks and city returned); the city compliance list for far_min (one page).

Prints a table and writes bench/results/metrics.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.engine import make_url

from app.db.engine import make_engine
from app.planning import metrics
from app.planning.config import PlanningRules
from app.settings import get_settings

RESULTS = Path(__file__).parent / "results"
BARE_SQL = """
SELECT p.id, sum(COALESCE(b.floor_area, ST_Area(b.geom) * b.floors)) / ST_Area(p.geom) AS far
FROM parcels p LEFT JOIN buildings b ON b.parcel_id = p.id
GROUP BY p.id
"""
BARE = text(BARE_SQL)
REFERENCE = "bare FAR, SQLAlchemy fetch"
STRICT = "bare FAR, binary fetch"


def _bare_binary(conn: Connection) -> int:
    raw = conn.connection.driver_connection
    assert raw is not None
    with raw.cursor(binary=True) as cur:
        cur.execute(BARE_SQL)
        return len(cur.fetchall())


def cases(conn: Connection, rules: PlanningRules) -> dict[str, Callable[[], Any]]:
    return {
        REFERENCE: lambda: conn.execute(BARE).all(),
        STRICT: lambda: _bare_binary(conn),
        "engine: every parcel's figures": lambda: metrics.parcel_figures(conn, rules),
        "engine: city + block roll-ups": lambda: metrics.area_figures(conn, "city", None, rules),
        "engine: city compliance far_min": lambda: metrics.compliance(conn, rules, "far_min", limit=50),
    }


def measure(url: str, repeat: int) -> dict[str, Any]:
    engine = make_engine(get_settings(), url, pool_size=1)
    rules = PlanningRules()
    try:
        with engine.connect() as conn:
            counts = conn.execute(text("SELECT (SELECT count(*) FROM parcels), (SELECT count(*) FROM buildings), "
                                       "(SELECT count(*) FROM blocks)")).one()
            checks = cases(conn, rules)
            best = {name: float("inf") for name in checks}
            for _ in range(repeat):  # interleaved rounds: load on a shared machine hits every case alike
                for name, run in checks.items():
                    started = time.perf_counter()
                    run()
                    best[name] = min(best[name], time.perf_counter() - started)
    finally:
        engine.dispose()
    return {"database": make_url(url).database, "parcels": counts[0], "buildings": counts[1], "blocks": counts[2],
            "best_s": {k: round(v, 4) for k, v in best.items()},
            "ratio_to_bare": {k: round(v / best[REFERENCE], 2) for k, v in best.items()},
            "ratio_to_bare_binary": {k: round(v / best[STRICT], 2) for k, v in best.items()},
            "us_per_parcel": {k: round(v / counts[0] * 1e6, 2) for k, v in best.items()}}


def growth(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Time ratio ÷ parcel ratio between consecutive scales (1.0 = linear)."""
    ordered = sorted(runs, key=lambda r: r["parcels"])
    out = []
    for small, large in zip(ordered, ordered[1:], strict=False):
        n = large["parcels"] / small["parcels"]
        out.append({"from": small["database"], "to": large["database"], "parcel_ratio": round(n, 2),
                    "time_ratio_over_parcel_ratio": {k: round(large["best_s"][k] / small["best_s"][k] / n, 2)
                                                     for k in small["best_s"]}})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", action="append", required=True, help="a loaded sample (repeatable)")
    parser.add_argument("--repeat", type=int, default=5, help="rounds; the best is kept")
    args = parser.parse_args()
    runs = [measure(url, args.repeat) for url in args.database_url]
    for run in runs:
        print(f"\n{run['database']}: {run['parcels']:,} parcels, {run['buildings']:,} buildings, "
              f"{run['blocks']:,} blocks (best of {args.repeat})")
        print(f"  {'':34} {'seconds':>9} {'× bare':>8} {'× bare bin':>11} {'µs/parcel':>10}")
        for name, best in run["best_s"].items():
            print(f"  {name:34} {best:9.3f} {run['ratio_to_bare'][name]:8.2f} "
                  f"{run['ratio_to_bare_binary'][name]:11.2f} {run['us_per_parcel'][name]:10.2f}")
    scaling = growth(runs)
    for step in scaling:
        print(f"\n{step['from']} → {step['to']} ({step['parcel_ratio']}× parcels): time ratio ÷ parcel ratio")
        for name, value in step["time_ratio_over_parcel_ratio"].items():
            print(f"  {name:34} {value:5.2f}")
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / "metrics.json"
    out.write_text(json.dumps({"bare_sql": " ".join(BARE_SQL.split()), "repeat": args.repeat,
                               "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
                               "runs": runs, "growth": scaling}, indent=2, ensure_ascii=False) + "\n")
    print(f"\nwritten {out}")


if __name__ == "__main__":
    main()
