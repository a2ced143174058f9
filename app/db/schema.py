"""Facts the database holds about its own schema, read from it rather than from configuration."""

from __future__ import annotations

from sqlalchemy import Connection, text

_STORAGE_SRID = text("SELECT Find_SRID(current_schema(), 'parcels', 'geom')")


def storage_srid(conn: Connection) -> int:
    """The storage CRS (EPSG code) of the layers, as the migrations created them (``RENEWAL_SRID`` then)."""
    return int(conn.execute(_STORAGE_SRID).scalar_one())
