"""Collections of the OGC API: the spatial layers of the registry whose tables exist, with their metadata."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Connection, text

from app.errors import NotFound
from app.io import crs as crsmod
from app.io.layers import LAYERS, Field, Layer

_TABLES_TTL_S = 30.0
_EXTENT_TTL_S = 30.0
_tables_cache: dict[str, tuple[float, frozenset[str]]] = {}
_extent_cache: dict[tuple[str, str], tuple[float, dict[str, Any]]] = {}

_EXISTING_TABLES = "SELECT t FROM unnest(CAST(:tables AS text[])) t WHERE to_regclass(t) IS NOT NULL"

# Spatial extent in the storage CRS; the temporal extent from the layer's date or year, if it has one.
_EXTENT_SQL = "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT ST_Extent({geom}) e FROM {table}) x"
_TEMPORAL_SQL = "SELECT min({expr}), max({expr}) FROM {from_sql}"

_JSON_TYPES = {"str": "string", "int": "integer", "float": "number", "date": "string", "bool": "boolean"}


def _cache_key(conn: Connection) -> str:
    """One cache per database."""
    return conn.engine.url.render_as_string(hide_password=True)


def available(conn: Connection) -> list[Layer]:
    """Layers of the registry whose table exists in this database (cached for a few seconds)."""
    key = _cache_key(conn)
    hit = _tables_cache.get(key)
    if hit is None or time.monotonic() - hit[0] > _TABLES_TTL_S:
        tables = [layer.table for layer in LAYERS.values()]
        found = frozenset(conn.execute(text(_EXISTING_TABLES), {"tables": tables}).scalars())
        hit = (time.monotonic(), found)
        _tables_cache[key] = hit
    return [layer for layer in LAYERS.values() if layer.table in hit[1]]


def collection_layer(conn: Connection, cid: str) -> Layer:
    """The layer served as collection ``cid``, or 404."""
    layers = {layer.name: layer for layer in available(conn)}
    if cid not in layers:
        raise NotFound(f"no collection {cid!r}; collections: {', '.join(layers)}", field="collectionId")
    return layers[cid]


def clear_caches() -> None:
    """Forget cached tables and extents (after an import)."""
    _tables_cache.clear()
    _extent_cache.clear()


def extent(conn: Connection, layer: Layer, storage_srid: int) -> dict[str, Any]:
    """The collection's extent: CRS84 bbox, the bbox in the storage CRS, and a temporal interval if any."""
    key = (_cache_key(conn), layer.name)
    hit = _extent_cache.get(key)
    if hit is not None and time.monotonic() - hit[0] < _EXTENT_TTL_S:
        return hit[1]
    row = conn.execute(text(_EXTENT_SQL.format(geom="geom", table=layer.table))).one()
    out: dict[str, Any] = {}
    if row[0] is not None:
        bounds = (float(row[0]), float(row[1]), float(row[2]), float(row[3]))
        out["spatial"] = {
            "bbox": [list(crsmod.storage_bounds_to_crs84(bounds, storage_srid))],
            "crs": crsmod.CRS84_URI,
        }
    else:
        out["spatial"] = {"bbox": [[-180.0, -90.0, 180.0, 90.0]], "crs": crsmod.CRS84_URI}
    if layer.temporal is not None:
        expr, kind = layer.temporal
        lo, hi = conn.execute(text(_TEMPORAL_SQL.format(expr=expr, from_sql=layer.from_sql))).one()
        if kind == "year":
            interval = [f"{lo}-01-01T00:00:00Z" if lo else None, f"{hi}-12-31T23:59:59Z" if hi else None]
        else:
            interval = [f"{lo.isoformat()}T00:00:00Z" if lo else None, f"{hi.isoformat()}T23:59:59Z" if hi else None]
        out["temporal"] = {"interval": [interval], "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"}
    _extent_cache[key] = (time.monotonic(), out)
    return out


def property_schema(f: Field) -> dict[str, Any]:
    """JSON Schema of one property, with its Chinese title."""
    schema: dict[str, Any] = {"title": f.label_zh, "type": _JSON_TYPES[f.kind]}
    if f.kind == "date":
        schema["format"] = "date"
    if f.choices:
        schema["enum"] = list(f.choices)
    if f.min is not None and f.kind in ("int", "float"):
        schema["minimum"] = f.min
    if f.max is not None and f.kind in ("int", "float"):
        schema["maximum"] = f.max
    if f.description:
        schema["description"] = f.description
    return schema


def queryables(layer: Layer, url: str, title: str | None = None) -> dict[str, Any]:
    """The queryables (Part 3) or schema (Part 5) of a collection: every property with its Chinese title."""
    props: dict[str, Any] = {
        "geometry": {"title": "几何", "format": "geometry-multipolygon",
                     "$ref": "https://geojson.org/schema/MultiPolygon.json"},
    }
    for f in layer.fields:
        props[f.name] = property_schema(f)
    return {
        "$schema": "https://json-schema.org/draft/2019-09/schema",
        "$id": url,
        "type": "object",
        "title": title or f"{layer.label_zh} ({layer.name})",
        "properties": props,
        "additionalProperties": False,
    }
