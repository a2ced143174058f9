"""Positional parameters (``$1``, ``$2``…) for asyncpg, each with an explicit cast from its Python type.

Conditions are written with a placeholder handed out as the value is added, so a statement's text depends
only on the shape of the request (asyncpg prepares it once per connection) and the server never guesses a
value's type.
"""

from __future__ import annotations

import datetime as dt
from typing import Any


def sql_type(value: Any) -> str:
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
        return (sql_type(value[0]) if value else "text") + "[]"
    return "text"


class Params:
    """The values of one statement, in order; calling it with a value returns the value's placeholder."""

    def __init__(self) -> None:
        self.values: list[Any] = []

    def __call__(self, value: Any) -> str:
        """Bind ``value``: ``CAST($n AS type)``."""
        self.values.append(value)
        return f"CAST(${len(self.values)} AS {sql_type(value)})"

    def first(self, values: list[Any]) -> None:
        """Bind ``values`` as ``$1``, ``$2``… before any other: for SQL written with those placeholders (and its
        own casts), such as the planning figures of :func:`app.io.figures.item_layer`."""
        if self.values:
            raise ValueError("values bound as $1, $2… must come before any other")
        self.values.extend(values)
