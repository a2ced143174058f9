"""Load the generated Cixi sample (geodata.sample) into PostGIS with COPY, in one transaction."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Connection, Engine, text

from app.db import streaming
from app.db.schema import storage_srid
from app.errors import Conflict
from app.programme import sample as programme_sample

TABLES = ("towns", "blocks", "parcels", "buildings", "enterprises")
Progress = Callable[[str, int, int], None]
_RESTART_IDS = {table: text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608 (names above)
                            f"COALESCE(max(id), 0) + 1, false) FROM {table}") for table in TABLES}
"""After COPY with explicit ids: each table's id sequence continues after its largest id."""


def is_empty(engine: Engine) -> bool:
    """Whether the database holds no towns yet (a fresh database)."""
    with engine.connect() as conn:
        return not conn.execute(text("SELECT EXISTS (SELECT 1 FROM towns)")).scalar_one()


def _rows(df: pd.DataFrame, srid: int) -> list[tuple[Any, ...]]:
    """Rows of a sample table ready for COPY: geometry as hex EWKB, NaN and None as NULL."""
    out = df.astype(object).where(df.notna(), None)
    if "geom" in out.columns:
        out["geom"] = shapely.to_wkb(shapely.set_srid(np.asarray(df["geom"].values), srid),
                                     hex=True, include_srid=True)
    return list(out.itertuples(index=False, name=None))


def load(engine: Engine, *, scale: float, seed: int, replace: bool = False,
         progress: Progress | None = None,
         on_loaded: Callable[[Connection, dict[str, int]], None] | None = None) -> dict[str, int]:
    """Generate the sample for (scale, seed) and COPY it in; returns the row count per table.

    ``on_loaded`` runs in the loading transaction once the rows are in (the CLI writes its audit row there).
    """
    from geodata.sample import generate

    with engine.connect() as conn:
        srid = storage_srid(conn)  # the CRS the migrations created the layers in
    data = generate(scale=scale, seed=seed, srid=srid, progress=progress)
    counts: dict[str, int] = {}
    with engine.begin() as conn:
        if replace:
            conn.execute(text("TRUNCATE towns, blocks, parcels, buildings, enterprises, joint_developments "
                              "RESTART IDENTITY CASCADE"))
        elif conn.execute(text("SELECT EXISTS (SELECT 1 FROM towns)")).scalar_one():
            raise Conflict("the database already holds data; use --replace to reload the sample",
                           zh="数据库中已有数据；用 --replace 重新载入示例数据")
        for table in TABLES:
            df: pd.DataFrame = getattr(data, table)
            rows = _rows(df, srid)

            def step(i: int, table: str = table, total: int = len(rows)) -> None:
                if progress:
                    progress(f"load {table}", i, total)

            counts[table] = streaming.copy_rows(conn, table, list(df.columns), rows, step)
            step(len(rows))
            conn.execute(_RESTART_IDS[table])
        # The programme's synthetic step history and firm baseline years, so progress and deadlines have data.
        counts["block_history"] = programme_sample.seed(conn)["history_rows"]
        if on_loaded is not None:
            on_loaded(conn, counts)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE"))
    return counts
