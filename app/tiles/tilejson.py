"""TileJSON 3.0.0 documents of the tile layers, with tile URLs that carry the data and rule version."""

from __future__ import annotations

import asyncpg

from app.db import pool as read_pool
from app.planning.config import PlanningRules
from app.tiles.layers import TileLayer

BOUNDS_SQL = """
SELECT ARRAY[ST_XMin(bb), ST_YMin(bb), ST_XMax(bb), ST_YMax(bb)]
FROM (SELECT ST_Transform(ST_SetSRID(ST_Extent(geom)::geometry, $1::int), 4326) AS bb FROM towns) e
WHERE bb IS NOT NULL
"""
"""The towns' extent in CRS84 (``$1`` the storage SRID)."""
WORLD = [-180.0, -85.051129, 180.0, 85.051129]


async def bounds(pool: asyncpg.Pool, srid: int) -> list[float]:
    """The extent of the data in CRS84 degrees (minx, miny, maxx, maxy), the Web Mercator world without data."""
    found = await read_pool.fetchval(pool, BOUNDS_SQL, srid)
    return [round(v, 6) for v in found] if found else WORLD


def tile_url(base_url: str, layer: TileLayer, tag: str | None) -> str:
    """The tile URL template of ``layer`` under ``base_url``, with ``?v=<tag>`` when the version is known."""
    url = f"{base_url}tiles/{layer.name}/{{z}}/{{x}}/{{y}}.mvt"
    return f"{url}?v={tag}" if tag else url


def document(layer: TileLayer, base_url: str, extent: list[float], tag: str | None,
             rules: PlanningRules) -> dict[str, object]:
    """TileJSON 3.0.0 of ``layer``: tile URL, zoom range, bounds and centre (CRS84), fields, versions."""
    centre_zoom = max(layer.minzoom, min(11, layer.maxzoom))
    return {
        "tilejson": "3.0.0",
        "name": layer.name,
        "description": f"{layer.title_zh} {layer.title_en}",
        "version": "1.0.0",
        "attribution": "renewal; 县界 © OpenStreetMap contributors (ODbL)",
        "scheme": "xyz",
        "tiles": [tile_url(base_url, layer, tag)],
        "minzoom": layer.minzoom,
        "maxzoom": layer.maxzoom,
        "bounds": extent,
        "center": [round((extent[0] + extent[2]) / 2, 6), round((extent[1] + extent[3]) / 2, 6), centre_zoom],
        "vector_layers": [{"id": layer.name, "description": f"{layer.title_zh} {layer.title_en}",
                           "minzoom": layer.minzoom, "maxzoom": layer.maxzoom, "fields": layer.fields}],
        "data_version": tag,
        "rule_version": rules.rule_version if layer.name == "parcels" else None,
    }
