"""The lean asyncpg pool of the tile and OGC items paths, against the real server: bounds, errors, recovery."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import asyncpg
import pytest

from app.db.lean_pool import LeanPool
from app.errors import DatabaseUnavailable
from app.settings import Settings
from tests.conftest import free_port

T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` on a fresh event loop in a thread of its own (the session's Playwright owns this thread's)."""
    with ThreadPoolExecutor(1) as worker:
        return worker.submit(asyncio.run, coro).result()


def test_never_more_connections_than_its_size_and_every_caller_served(settings: Settings) -> None:
    """40 callers on 3 connections: all 40 answers right, at most 3 backends ever open, all 3 idle after."""

    async def main() -> tuple[list[int], int, dict[str, int]]:
        pool = LeanPool(settings, 3, "renewal-test-bound")
        peak = 0

        async def one(i: int) -> int:
            nonlocal peak
            value = await pool.fetchval("SELECT $1::int * 2 FROM pg_sleep(0.01)", i)
            peak = max(peak, pool.stats()["open"])
            return int(value)

        try:
            answers = await asyncio.gather(*(one(i) for i in range(40)))
            backends = await pool.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'renewal-test-bound'")
            return answers, peak, {**pool.stats(), "backends": int(backends)}
        finally:
            await pool.close()

    answers, peak, stats = run(main())
    assert answers == [2 * i for i in range(40)]
    assert peak == 3
    assert stats == {"size": 3, "open": 3, "idle": 3, "waiting": 0, "backends": 3}


def test_a_failed_statement_keeps_its_connection(settings: Settings) -> None:
    """A statement error reaches the caller as asyncpg's own error; the connection stays in the pool."""

    async def main() -> tuple[int, int, dict[str, int]]:
        pool = LeanPool(settings, 1, "renewal-test-error")
        try:
            pid = await pool.fetchval("SELECT pg_backend_pid()")
            with pytest.raises(asyncpg.DivisionByZeroError):
                await pool.fetchval("SELECT 1 / $1::int", 0)
            return int(pid), int(await pool.fetchval("SELECT pg_backend_pid()")), pool.stats()
        finally:
            await pool.close()

    before, after, stats = run(main())
    assert before == after
    assert stats["open"] == 1


def test_a_backend_killed_while_idle_is_replaced_unseen(settings: Settings) -> None:
    """The server ends the pool's idle backend: the next call notices, opens a new connection and succeeds."""

    async def main() -> tuple[int, int, dict[str, int]]:
        pool = LeanPool(settings, 1, "renewal-test-kill-idle")
        other = await asyncpg.connect(pool._dsn)  # noqa: SLF001 (the same database)
        try:
            first = int(await pool.fetchval("SELECT pg_backend_pid()"))
            await other.execute("SELECT pg_terminate_backend($1)", first)
            await asyncio.sleep(0.2)
            second = int(await pool.fetchval("SELECT pg_backend_pid()"))
            return first, second, pool.stats()
        finally:
            await other.close()
            await pool.close()

    first, second, stats = run(main())
    assert second != first
    assert stats["open"] == 1


def test_a_backend_killed_mid_statement_gives_503_then_recovers(settings: Settings) -> None:
    """The server ends the backend while it runs a statement: that caller gets DatabaseUnavailable (503, not
    a 500), the slot is freed, and the next call runs on a new connection."""

    async def main() -> tuple[int, int, int]:
        pool = LeanPool(settings, 1, "renewal-test-kill-busy")
        other = await asyncpg.connect(pool._dsn)  # noqa: SLF001 (the same database)
        try:
            first = int(await pool.fetchval("SELECT pg_backend_pid()"))
            slow = asyncio.create_task(pool.fetchval("SELECT 1 FROM pg_sleep(5)"))
            await asyncio.sleep(0.2)
            await other.execute("SELECT pg_terminate_backend($1)", first)
            with pytest.raises(DatabaseUnavailable):
                await asyncio.wait_for(slow, timeout=3)
            opened_after_failure = pool.stats()["open"]
            second = int(await pool.fetchval("SELECT pg_backend_pid()"))
            return first, second, opened_after_failure
        finally:
            await other.close()
            await pool.close()

    first, second, opened_after_failure = run(main())
    assert opened_after_failure == 0
    assert second != first


def test_a_cancelled_caller_leaks_no_connection(settings: Settings) -> None:
    """With one connection: a caller cancelled while waiting, and one cancelled mid-statement, leave the
    slot free for the next caller (no deadlock, never two connections)."""

    async def main() -> tuple[int, dict[str, int]]:
        pool = LeanPool(settings, 1, "renewal-test-cancel")
        try:
            busy = asyncio.create_task(pool.fetchval("SELECT 1 FROM pg_sleep(0.3)"))
            await asyncio.sleep(0.05)
            waiting = asyncio.create_task(pool.fetchval("SELECT 2"))
            await asyncio.sleep(0.05)
            waiting.cancel()
            busy.cancel()
            for task in (busy, waiting):
                with pytest.raises(asyncio.CancelledError):
                    await task
            value = await asyncio.wait_for(pool.fetchval("SELECT 3"), timeout=5)
            return int(value), pool.stats()
        finally:
            await pool.close()

    value, stats = run(main())
    assert value == 3
    assert stats["open"] == 1 and stats["waiting"] == 0


def test_no_server_gives_503_and_frees_the_slot(settings: Settings) -> None:
    """Nothing listens on the port: DatabaseUnavailable, and no slot stays taken by the failed attempt."""
    url = f"postgresql://renewal@127.0.0.1:{free_port()}/renewal"
    away = settings.model_copy(update={"database_url": url, "db_connect_timeout_s": 2})

    async def main() -> dict[str, int]:
        pool = LeanPool(away, 2, "renewal-test-away")
        for _ in range(3):
            with pytest.raises(DatabaseUnavailable, match="does not answer"):
                await pool.fetchval("SELECT 1")
        return pool.stats()

    assert run(main())["open"] == 0


def test_a_closed_pool_refuses_work(settings: Settings) -> None:
    """After close(), callers get DatabaseUnavailable (shutting down) and no connection is left open."""

    async def main() -> dict[str, int]:
        pool = LeanPool(settings, 2, "renewal-test-close")
        assert await pool.fetchval("SELECT 1") == 1
        await pool.close()
        with pytest.raises(DatabaseUnavailable, match="shutting down"):
            await pool.fetchval("SELECT 1")
        return pool.stats()

    assert run(main())["open"] == 0
