"""A small asyncpg connection pool for the hot read paths (vector tiles, OGC API items).

Why not ``asyncpg.Pool``: every checkout there goes through a timeout context, a holder queue and an
inactivity timer, which at a few thousand tiles a second is a measurable share of the server's CPU
(bench/bench_tiles.py: z17 parcels 4,500 → 6,900 tiles/s on two cores with this pool). This one keeps a LIFO
stack of idle connections (the busiest connections stay hot, the rest stay idle) and a FIFO queue of waiters;
statements are prepared once per connection by asyncpg's statement cache.

Connections open on first use, so a database that is away does not stop the application from starting; a
connection that broke is dropped and its slot given to the next caller, which opens a new one. Loss of the
database surfaces as :class:`app.errors.DatabaseUnavailable` (503); statement errors as ``asyncpg``'s own.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

from app.errors import DatabaseUnavailable
from app.settings import Settings

log = logging.getLogger("renewal.db")

UNAVAILABLE = (OSError, TimeoutError, asyncpg.CannotConnectNowError, asyncpg.ConnectionDoesNotExistError,
               asyncpg.TooManyConnectionsError, asyncpg.AdminShutdownError, asyncpg.CrashShutdownError)
"""Errors that mean the database (or the connection to it) is gone, not that a statement failed."""


def asyncpg_dsn(settings: Settings) -> str:
    """The configured database as a libpq URL that asyncpg understands (no SQLAlchemy driver suffix)."""
    url = make_url(settings.sqlalchemy_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


class LeanPool:
    """At most ``size`` asyncpg connections to the configured database, shared by the callers of one event loop."""

    def __init__(self, settings: Settings, size: int, application_name: str) -> None:
        self.size = size
        self._dsn = asyncpg_dsn(settings)
        self._connect_timeout_s = settings.db_connect_timeout_s
        self._server_settings = {"application_name": application_name,
                                 "statement_timeout": str(settings.db_statement_timeout_ms)}
        self._idle: list[asyncpg.Connection] = []
        self._waiters: deque[asyncio.Future[asyncpg.Connection | None]] = deque()
        self._opened = 0  # connections open or being opened, in use or idle
        self._closed = False

    async def fetchval(self, sql: str, *args: Any) -> Any:
        """The first value of the first row of ``sql``."""
        return await self._run(asyncpg.Connection.fetchval, sql, args)

    async def fetchrow(self, sql: str, *args: Any) -> asyncpg.Record | None:
        """The first row of ``sql`` (None when it returns none)."""
        return await self._run(asyncpg.Connection.fetchrow, sql, args)

    async def _run(self, method: Callable[..., Awaitable[Any]], sql: str, args: tuple[Any, ...]) -> Any:
        """``method(conn, sql, *args)`` on a pooled connection, which goes back unless it broke."""
        conn = await self._acquire()
        try:
            result = await method(conn, sql, *args)
        except UNAVAILABLE as err:
            self._drop(conn)
            raise _unavailable(err) from None
        except asyncpg.PostgresError:
            self._release(conn)  # the statement failed; the connection is fine
            raise
        except BaseException:
            self._drop(conn)  # interrupted mid-statement (cancelled): its state is unknown
            raise
        self._release(conn)
        return result

    async def close(self) -> None:
        """Close the idle connections now and the busy ones when they come back; refuse new work."""
        self._closed = True
        idle, self._idle = self._idle, []
        self._opened -= len(idle)
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_exception(DatabaseUnavailable("the service is shutting down"))
        for conn in idle:
            try:
                await asyncio.wait_for(conn.close(), timeout=2)
            except (OSError, TimeoutError, asyncpg.InterfaceError):
                conn.terminate()

    def stats(self) -> dict[str, int]:
        """Connections open, idle and callers waiting (diagnostics)."""
        return {"size": self.size, "open": self._opened, "idle": len(self._idle), "waiting": len(self._waiters)}

    async def _acquire(self) -> asyncpg.Connection:
        """An idle connection, a new one while there is room, or the next one released."""
        while True:
            if self._closed:
                raise DatabaseUnavailable("the service is shutting down")
            while self._idle:
                conn = self._idle.pop()
                if not conn.is_closed():
                    return conn
                self._opened -= 1
            if self._opened < self.size:
                return await self._connect()
            waiter: asyncio.Future[asyncpg.Connection | None] = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                conn_or_slot = await waiter
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled():  # handed a connection just as we were cancelled
                    self._release(waiter.result())
                raise
            if conn_or_slot is not None:
                return conn_or_slot
            # None: a connection was dropped and its slot is ours; go round and open one

    async def _connect(self) -> asyncpg.Connection:
        """Open a connection in a free slot; on failure give the slot back and say the database is away."""
        self._opened += 1
        try:
            return await asyncpg.connect(self._dsn, timeout=self._connect_timeout_s,
                                         server_settings=self._server_settings)
        except BaseException as err:
            self._opened -= 1
            self._release(None)
            if isinstance(err, UNAVAILABLE):
                raise _unavailable(err) from None
            raise

    def _release(self, conn: asyncpg.Connection | None) -> None:
        """Hand ``conn`` (or, when None, a free slot) to the first live waiter, else keep it idle."""
        if conn is not None and (self._closed or conn.is_closed()):
            if not conn.is_closed():
                conn.terminate()
            self._opened -= 1
            conn = None
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(conn)
                return
        if conn is not None:
            self._idle.append(conn)

    def _drop(self, conn: asyncpg.Connection) -> None:
        """Close a connection that broke or was interrupted, and give its slot to the next caller."""
        conn.terminate()
        self._release(conn)


def _unavailable(err: BaseException) -> DatabaseUnavailable:
    """Loss of the database, logged in one line, as the error callers see (503)."""
    log.warning("database unavailable: %s", str(err).splitlines()[0] if str(err) else type(err).__name__)
    return DatabaseUnavailable("the database does not answer; try again shortly")
