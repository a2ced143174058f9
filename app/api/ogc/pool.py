"""The lean path of the items endpoint: an asyncpg pool, statements prepared once per connection.

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
from sqlalchemy.engine import make_url

from app.errors import DatabaseUnavailable, RenewalError
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


def dsn(settings: Settings) -> str:
    """The configured database as a libpq URL for asyncpg."""
    return make_url(settings.sqlalchemy_url).set(drivername="postgresql").render_as_string(hide_password=False)


async def _keep_session(_conn: asyncpg.Connection) -> None:
    """Pool reset hook: the statements change no session state, so skip the reset round trip."""


class FeaturePool:
    """An asyncpg pool for the items endpoint, with the cached list of existing layer tables."""

    def __init__(self, settings: Settings, size: int = 10) -> None:
        self.settings = settings
        self.size = size
        self._pool: asyncpg.Pool | None = None
        self._tables: tuple[float, frozenset[str]] | None = None

    async def open(self) -> None:
        """Create the pool; connections open on first use, so a database that is away does not stop startup."""
        self._pool = await asyncpg.create_pool(
            dsn(self.settings), min_size=0, max_size=self.size, timeout=self.settings.db_connect_timeout_s,
            reset=_keep_session,
            server_settings={"application_name": "renewal-ogc",
                             "statement_timeout": str(self.settings.db_statement_timeout_ms)},
        )

    async def close(self) -> None:
        """Close the pool's connections."""
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    async def fetchrow(self, sql: str, params: dict[str, Any]) -> asyncpg.Record | None:
        """One row of a statement with named parameters; database errors translated."""
        if self._pool is None:
            await self.open()
        assert self._pool is not None
        query, values = positional(sql, params)
        try:
            return await self._pool.fetchrow(query, *values)
        except (OSError, TimeoutError, asyncpg.CannotConnectNowError, asyncpg.ConnectionDoesNotExistError,
                asyncpg.TooManyConnectionsError) as err:
            log.warning("database unavailable: %s", str(err).splitlines()[0] if str(err) else type(err).__name__)
            raise DatabaseUnavailable("the database does not answer; try again shortly") from None
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
    await pool.open()
    app.state.ogc_pool = pool
    yield
    await pool.close()
