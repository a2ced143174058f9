"""Bulk reads and writes through psycopg itself: COPY in, binary streamed results, server-side cursors.

Everything else goes through SQLAlchemy; these are the three places where the driver's own interface is
worth it (tens of thousands of rows), kept here so that no domain module reaches for a raw cursor. Each
function works inside the caller's SQLAlchemy connection (and so its transaction), and turns a driver
error into SQLAlchemy's, so the API's error handlers apply.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

import psycopg
from psycopg import sql
from psycopg.rows import args_row
from sqlalchemy import Connection, TextClause
from sqlalchemy.exc import DBAPIError

T = TypeVar("T")

CHUNK_ROWS = 1000
"""Rows per chunk of a streamed result."""


def driver(conn: Connection) -> psycopg.Connection[Any]:
    """The psycopg connection under a SQLAlchemy connection."""
    raw = conn.connection.driver_connection
    if not isinstance(raw, psycopg.Connection):
        raise TypeError("the engine does not use the psycopg driver")
    return raw


def copy_rows(conn: Connection, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]],
              progress: Callable[[int], None] | None = None) -> int:
    """COPY ``rows`` into ``table`` (``columns`` in order); ``progress(i)`` every 2 % of the rows. Returns the count.

    ``table`` and ``columns`` are identifiers (quoted here), never values.
    """
    cols = sql.SQL(", ").join(sql.Identifier(c) for c in columns)
    step = max(1, len(rows) // 50)
    with driver(conn).cursor() as cur, cur.copy(
            sql.SQL("COPY {} ({}) FROM STDIN").format(sql.Identifier(table), cols)) as copy:
        for i, row in enumerate(rows):
            copy.write_row(row)
            if progress is not None and i % step == 0:
                progress(i)
    return len(rows)


def fetch_objects(conn: Connection, statement: TextClause, params: dict[str, Any], make: Callable[..., T]) -> list[T]:
    """``make(*row)`` for every row of ``statement``, fetched in binary (no text parsing of floats) and, with
    libpq ≥ 17, in chunks: the driver builds one chunk while the server computes the next."""
    compiled = statement.compile(dialect=conn.dialect)
    query, values = compiled.string, {name: params[name] for name in compiled.params}
    try:
        with driver(conn).cursor(binary=True, row_factory=args_row(make)) as cur:
            if psycopg.capabilities.has_stream_chunked():
                return list(cur.stream(query, values, binary=True, size=CHUNK_ROWS))
            cur.execute(query, values)
            return cur.fetchall()
    except psycopg.Error as err:
        raise DBAPIError.instance(query, None, err, psycopg.Error) from err


def batches(conn: Connection, query: str, params: dict[str, Any], batch_rows: int, *, first_rows: int = 2_000,
            name: str = "renewal_batches") -> Iterator[list[tuple[Any, ...]]]:
    """Rows of ``query`` (psycopg placeholders) in batches from a binary server-side cursor: a small first batch
    so that the caller starts sooner, then ``batch_rows`` at a time."""
    with driver(conn).cursor(name=name, binary=True) as cur:
        cur.itersize = batch_rows
        cur.execute(query, params)
        size = min(first_rows, batch_rows)
        while rows := cur.fetchmany(size):
            yield rows
            size = batch_rows
