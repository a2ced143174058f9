"""Facts the database holds about itself (storage CRS, PostGIS version), read from it rather than from configuration."""

from __future__ import annotations

from sqlalchemy import Connection, text

_STORAGE_SRID = text("SELECT Find_SRID(CAST(current_schema() AS varchar), 'parcels', 'geom')")


def storage_srid(conn: Connection) -> int:
    """The storage CRS (EPSG code) of the layers, as the migrations created them (``RENEWAL_SRID`` then)."""
    return int(conn.execute(_STORAGE_SRID).scalar_one())


def postgis_version(conn: Connection) -> str:
    """The PostGIS library version of the server (e.g. ``3.3.2``)."""
    return str(conn.execute(text("SELECT postgis_lib_version()")).scalar_one())
