"""Collections of the OGC API: the layers of the registry whose tables exist (parcels with their planning
figures, :func:`app.io.figures.item_layer`), their extents and queryables."""

from __future__ import annotations

import time
from typing import Any

import asyncpg

from app.db import pool as read_pool
from app.errors import NotFound
from app.io import crs as crsmod
from app.io.figures import item_layer
from app.io.layers import LAYERS, Field, Layer

_TTL_S = 30.0
"""Seconds the list of tables and the extents are kept (an import forgets them at once)."""

_EXISTING_TABLES = "SELECT array_agg(t) FROM unnest($1::text[]) t WHERE to_regclass(t) IS NOT NULL"

# Spatial extent in the storage CRS; the temporal extent from the layer's date or year, if it has one.
_EXTENT_SQL = "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT ST_Extent({geom}) e FROM {table}) x"
_TEMPORAL_SQL = "SELECT min({expr}), max({expr}) FROM {from_sql}"

_SERVED = {name: item_layer(layer) for name, layer in LAYERS.items()}
"""The registry's layers as the OGC API serves them."""

_JSON_TYPES = {"str": "string", "int": "integer", "float": "number", "date": "string", "bool": "boolean"}


class FeatureLayers:
    """The collections of one database: the registry's layers whose table exists, and their extents (cached)."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self._tables: tuple[float, frozenset[str]] | None = None
        self._extents: dict[str, tuple[float, dict[str, Any]]] = {}

    async def available(self) -> dict[str, Layer]:
        """Layers of the registry whose table exists, by collection id."""
        if self._tables is None or time.monotonic() - self._tables[0] > _TTL_S:
            found = await read_pool.fetchval(self.pool, _EXISTING_TABLES, [layer.table for layer in LAYERS.values()])
            self._tables = (time.monotonic(), frozenset(found or ()))
        return {name: layer for name, layer in _SERVED.items() if layer.table in self._tables[1]}

    async def get(self, cid: str) -> Layer:
        """The layer served as collection ``cid``, or 404."""
        layers = await self.available()
        if cid not in layers:
            raise NotFound(f"no collection {cid!r}; collections: {', '.join(layers)}",
                           zh=f"没有数据集 {cid!r}；数据集有：{'、'.join(layers)}", field="collectionId")
        return layers[cid]

    def forget(self) -> None:
        """Forget cached tables and extents (after an import)."""
        self._tables = None
        self._extents.clear()

    async def extent(self, layer: Layer, storage_srid: int) -> dict[str, Any]:
        """The collection's extent: CRS84 bbox, and a temporal interval if the layer has dates."""
        hit = self._extents.get(layer.name)
        if hit is not None and time.monotonic() - hit[0] < _TTL_S:
            return hit[1]
        row = await read_pool.fetchrow(self.pool, _EXTENT_SQL.format(geom="geom", table=layer.table))
        out: dict[str, Any] = {}
        if row is not None and row[0] is not None:
            bounds = (float(row[0]), float(row[1]), float(row[2]), float(row[3]))
            out["spatial"] = {
                "bbox": [list(crsmod.storage_bounds_to_crs84(bounds, storage_srid))],
                "crs": crsmod.CRS84_URI,
            }
        else:
            out["spatial"] = {"bbox": [[-180.0, -90.0, 180.0, 90.0]], "crs": crsmod.CRS84_URI}
        if layer.temporal is not None:
            expr, kind = layer.temporal
            base = LAYERS.get(layer.name, layer)  # the registry's FROM, without the figures' joins (and their $n)
            span = await read_pool.fetchrow(self.pool, _TEMPORAL_SQL.format(expr=expr, from_sql=base.from_sql))
            lo, hi = (span[0], span[1]) if span is not None else (None, None)
            if kind == "year":
                interval = [f"{lo}-01-01T00:00:00Z" if lo else None, f"{hi}-12-31T23:59:59Z" if hi else None]
            else:
                interval = [f"{lo.isoformat()}T00:00:00Z" if lo else None,
                            f"{hi.isoformat()}T23:59:59Z" if hi else None]
            out["temporal"] = {"interval": [interval], "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"}
        self._extents[layer.name] = (time.monotonic(), out)
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
