"""The lean path of the items endpoint: the lean asyncpg pool, statements prepared once per connection.

Items are the hot path of the OGC API (GIS clients page through whole layers; the map asks for towns
and blocks): they run on the event loop without the thread pool, SQLAlchemy or a ping per checkout,
and the statement (the same text for the same kind of request) is prepared once per connection. Values
stay bound: the ``:name`` parameters of the statement builders become ``$n`` with an explicit cast from
the Python type, so the server never guesses a type.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from fastapi import FastAPI

from app.db.lean_pool import LeanPool
from app.errors import RenewalError
from app.io.layers import LAYERS, Layer
from app.settings import Settings

log = logging.getLogger("renewal.ogc")
_PARAM = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")
_TABLES_TTL_S = 30.0


class InternalError(RenewalError):
    """A database error answered as a generic message with an incident id (the details are logged)."""

    status, code = 500, "InternalError"


def _cast(value: Any) -> str:
    """The SQL type a bound Python value is sent as."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "bigint" if -(2**63) <= value < 2**63 else "numeric"  # a huge literal compares, never overflows
    if isinstance(value, float):
        return "float8"
    if isinstance(value, (bytes, bytearray, memoryview)):
        return "bytea"
    if isinstance(value, dt.datetime):
        return "timestamptz"
    if isinstance(value, dt.date):
        return "date"
    if isinstance(value, list):
        return (_cast(value[0]) if value else "text") + "[]"
    return "text"


def positional(sql: str, params: dict[str, Any]) -> tuple[str, list[Any]]:
    """``:name`` parameters as ``$n`` with casts, and the values in order (a name used twice binds once)."""
    order: dict[str, int] = {}
    values: list[Any] = []

    def repl(m: re.Match[str]) -> str:
        name = m.group(1)
        if name not in params:
            return m.group(0)
        if name not in order:
            values.append(params[name])
            order[name] = len(values)
        return f"CAST(${order[name]} AS {_cast(params[name])})"

    return _PARAM.sub(repl, sql), values


class FeaturePool:
    """The lean pool of the items endpoint, with the cached list of existing layer tables."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._pool = LeanPool(settings, settings.ogc_pool_size, "renewal-ogc")  # connects on first use
        self._tables: tuple[float, frozenset[str]] | None = None

    async def close(self) -> None:
        """Close the pool's connections."""
        await self._pool.close()

    async def fetchrow(self, sql: str, params: dict[str, Any]) -> asyncpg.Record | None:
        """One row of a statement with named parameters; a failed statement logged under an incident id."""
        query, values = positional(sql, params)
        try:
            return await self._pool.fetchrow(query, *values)
        except asyncpg.PostgresError as err:
            incident = uuid.uuid4().hex[:12]
            log.error("items query failed, incident %s: %s", incident, err)
            raise InternalError(f"internal error, incident {incident}") from None

    async def layers(self) -> dict[str, Layer]:
        """Layers of the registry whose table exists (cached for a few seconds)."""
        now = time.monotonic()
        if self._tables is None or now - self._tables[0] > _TABLES_TTL_S:
            row = await self.fetchrow("SELECT array_agg(t) FROM unnest(:tables) t WHERE to_regclass(t) IS NOT NULL",
                                      {"tables": [layer.table for layer in LAYERS.values()]})
            self._tables = (now, frozenset(row[0] or []) if row else frozenset())
        return {name: layer for name, layer in LAYERS.items() if layer.table in self._tables[1]}

    def forget_tables(self) -> None:
        """Re-read the table list on next use."""
        self._tables = None


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Open the items pool with the application and close it at shutdown."""
    pool = FeaturePool(app.state.settings)
    app.state.ogc_pool = pool
    yield
    await pool.close()
