"""Run every benchmark (``make bench``): sample load, planning figures, export, features, tiles.

Installs what the comparisons need when missing: Debian's wrk (as root) and tipg in its own venv
(/tmp/tipgvenv, never the project's). The scale-1 sample is loaded once into ``renewal_bench1``.
Figures go to bench/results/*.json; each benchmark also prints its table.

    .venv/bin/python -m bench.run [--only sample,metrics,export,features,tiles]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

from bench.bench_features import BENCH_URL, ensure_bench_db

TIPG_VENV = Path("/tmp/tipgvenv")
ALL = ("sample", "metrics", "export", "features", "tiles")


def ensure_tools() -> None:
    """wrk from Debian's packages and tipg in its own venv, installed once."""
    if shutil.which("wrk") is None and os.geteuid() == 0:
        subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], check=False)
    if not (TIPG_VENV / "bin" / "uvicorn").exists():
        subprocess.run([sys.executable, "-m", "venv", str(TIPG_VENV)], check=True)
        subprocess.run([str(TIPG_VENV / "bin" / "pip"), "install", "-q", "tipg", "uvicorn"], check=True)


def main() -> None:
    """Run the chosen benchmarks one after the other (never concurrently: they share two cores)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", default=",".join(ALL), help="comma-separated subset of " + ", ".join(ALL))
    chosen = parser.parse_args().only.split(",")
    ensure_tools()
    ensure_bench_db()
    commands = {
        "sample": ["bench.bench_sample", "--scale", "1"],
        "metrics": ["bench.bench_metrics", "--database-url", BENCH_URL],
        "export": ["bench.bench_export"],
        "features": ["bench.bench_features"],
        "tiles": ["bench.bench_tiles"],
    }
    for name in chosen:
        print(f"== {name}", flush=True)
        subprocess.run([sys.executable, "-m", *commands[name]], check=True)


if __name__ == "__main__":
    main()
