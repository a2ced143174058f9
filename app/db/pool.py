"""The one asyncpg pool of the hot reads (vector tiles, OGC API items), owned by the application's lifespan.

Everything else goes through SQLAlchemy (:mod:`app.db.engine`). The pool is asyncpg's own; it opens no
connection up front (``min_size=0``), so a database that is away does not stop the service from starting,
and statements are prepared once per connection by asyncpg's statement cache. Loss of the database
surfaces as :class:`app.errors.DatabaseUnavailable` (503); a failed statement as asyncpg's own error, which
the API answers as a 500 with an incident id.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

from app.errors import DatabaseUnavailable
from app.settings import Settings

log = logging.getLogger("renewal.db")

UNAVAILABLE = (OSError, TimeoutError, asyncpg.CannotConnectNowError, asyncpg.ConnectionDoesNotExistError,
               asyncpg.TooManyConnectionsError, asyncpg.AdminShutdownError, asyncpg.CrashShutdownError,
               asyncpg.InterfaceError)
"""Errors that mean the database (or the connection to it) is gone, not that a statement failed."""


def asyncpg_dsn(settings: Settings) -> str:
    """The configured database as a libpq URL that asyncpg understands (no SQLAlchemy driver suffix)."""
    return make_url(settings.sqlalchemy_url).set(drivername="postgresql").render_as_string(hide_password=False)


async def _no_reset(_conn: asyncpg.Connection) -> None:
    """Nothing to reset when a connection goes back: the read paths run single statements that leave no session
    state (no SET, LISTEN, advisory lock or open cursor), so asyncpg's default reset (``RESET ALL``, ``UNLISTEN``,
    … after every release) would only double the round trips of every tile."""


async def create_read_pool(settings: Settings) -> asyncpg.Pool:
    """The read pool: at most ``read_pool_size`` connections, opened on first use."""
    pool: asyncpg.Pool = await asyncpg.create_pool(
        asyncpg_dsn(settings), min_size=0, max_size=settings.read_pool_size, reset=_no_reset,
        max_inactive_connection_lifetime=0,  # idle connections stay open: no timer set and cancelled per release
        timeout=settings.db_connect_timeout_s,
        server_settings={"application_name": "renewal-read",
                         "statement_timeout": str(settings.db_statement_timeout_ms)},
    )
    return pool


async def close_read_pool(pool: asyncpg.Pool, timeout_s: float = 5.0) -> None:
    """Close the pool, waiting ``timeout_s`` for busy connections before terminating them."""
    try:
        await asyncio.wait_for(pool.close(), timeout=timeout_s)
    except TimeoutError:
        pool.terminate()


async def fetchval(pool: asyncpg.Pool, sql: str, *args: Any) -> Any:
    """The first value of the first row of ``sql`` with positional arguments ``$1…``."""
    try:
        return await pool.fetchval(sql, *args)
    except UNAVAILABLE as err:
        raise unavailable(err) from None


async def fetchrow(pool: asyncpg.Pool, sql: str, *args: Any) -> asyncpg.Record | None:
    """The first row of ``sql`` (None when it returns none)."""
    try:
        return await pool.fetchrow(sql, *args)
    except UNAVAILABLE as err:
        raise unavailable(err) from None


def unavailable(err: BaseException) -> DatabaseUnavailable:
    """Loss of the database, logged in one line, as the error callers see (503)."""
    log.warning("database unavailable: %s", str(err).splitlines()[0] if str(err) else type(err).__name__)
    return DatabaseUnavailable("the database does not answer; try again shortly",
                               zh="数据库没有响应，请稍后再试")
