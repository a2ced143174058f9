"""Items of a collection as GeoJSON built inside PostGIS: one statement returns numberMatched and the bytes.

The WHERE clause is assembled from parts whose SQL comes from the layer registry (property expressions,
the geometry column) and whose values are bound. The count uses the same WHERE, so a bbox count is a
GiST index scan. Features are concatenated as text in the database (geometry from ``ST_AsGeoJSON``,
properties from ``json_build_object``) and handed to the client as one UTF-8 byte string. Values are bound
as positional parameters as the conditions are added (:class:`app.ogc.params.Params`).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import shapely

from app.db import pool as read_pool
from app.errors import InvalidParameter
from app.io import crs as crsmod
from app.io.figures import item_rule_values
from app.io.layers import Field, Layer
from app.ogc.cql2 import compile_filter
from app.ogc.params import Params
from app.planning.config import PlanningRules

MAX_LIMIT = 10_000
DEFAULT_LIMIT = 100

# {count}, {feature}, {from_sql}, {where}, {order}: registry SQL only; every value is bound.
_ITEMS_SQL = """
SELECT {count} AS matched,
       (SELECT convert_to(COALESCE(string_agg(q.f, ','), ''), 'UTF8') FROM (
            SELECT {feature} AS f
            FROM {from_sql}
            WHERE {where}
            ORDER BY {order}
            LIMIT {limit} OFFSET {offset}
        ) q) AS features
"""
_COUNT_SQL = "(SELECT count(*) FROM {from_sql} WHERE {where})"
# With a bbox the matching features are found once (an index search and the exact test per candidate),
# then counted and paged by primary key (``id`` of every layer table); without one the page's ordered scan
# stops at the limit, so the two-scan form above stays cheaper for whole layers.
_ITEMS_IN_BBOX_SQL = """
WITH m AS MATERIALIZED (SELECT {id} AS k FROM {count_from} WHERE {where})
SELECT (SELECT count(*) FROM m) AS matched,
       (SELECT convert_to(COALESCE(string_agg(q.f, ','), ''), 'UTF8') FROM (
            SELECT {feature} AS f
            FROM {from_sql}
            WHERE {id} IN (SELECT k FROM m)
            ORDER BY {order}
            LIMIT {limit} OFFSET {offset}
        ) q) AS features
"""
_ONE_SQL = "SELECT convert_to({feature}, 'UTF8') FROM {from_sql} WHERE {id} = {fid}"

_TRUE = {"true", "t", "1", "yes", "y", "是"}
_FALSE = {"false", "f", "0", "no", "n", "否"}


@dataclass
class Where:
    """Conditions joined by AND, with their bound values (``bind(value)`` gives a value's placeholder)."""

    parts: list[str] = field(default_factory=list)
    bind: Params = field(default_factory=Params)
    joins: bool = False  # whether a condition reads a joined table (else the count skips the joins)
    bbox: bool = False  # whether a bbox limits the features (then they are found once: _ITEMS_IN_BBOX_SQL)

    def add(self, sql: str) -> None:
        """Add one condition (its values bound with :attr:`bind`)."""
        self.parts.append(sql)

    @property
    def sql(self) -> str:
        """The condition, ``TRUE`` when there is none."""
        return " AND ".join(self.parts) if self.parts else "TRUE"


_KIND_ZH = {"int": "整数", "float": "数字", "bool": "布尔值", "date": "日期"}
"""A property's kind in the Chinese sentence of a bad value."""

def geometry_sql(layer: Layer, out: crsmod.OgcCrs, storage_srid: int) -> str:
    """SQL of the geometry in the output CRS and axis order (srid from the validated CRS list)."""
    geom = layer.geom_sql
    if out.srid != storage_srid:
        geom = f"ST_Transform({geom}, {int(out.srid)})"
    if out.lat_lon:
        geom = f"ST_FlipCoordinates({geom})"
    return f"ST_AsGeoJSON({geom}, {out.digits})"


def feature_sql(layer: Layer, fields: list[Field], out: crsmod.OgcCrs, storage_srid: int) -> str:
    """SQL of one GeoJSON Feature as text: id (the code), geometry and the properties in registry order."""
    props = ", ".join(f"'{f.name}', {f.sql(layer.alias)}" for f in fields)
    return (
        "'{\"type\":\"Feature\",\"id\":' || to_json(" + layer.id_sql + ")::text"
        " || ',\"geometry\":' || COALESCE(" + geometry_sql(layer, out, storage_srid) + ", 'null')"
        " || ',\"properties\":' || json_build_object(" + props + ")::text || '}'"
    )


def add_bbox(where: Where, layer: Layer, raw: str, bbox_crs: crsmod.OgcCrs, storage_srid: int) -> None:
    """Features whose geometry intersects the bbox (index search on the envelope, then exact)."""
    area = crsmod.bbox_to_storage(crsmod.parse_bbox(raw), bbox_crs, storage_srid)
    if area.is_empty:
        where.add("FALSE")
        return
    where.bbox = True
    ewkb = shapely.to_wkb(shapely.set_srid(area, storage_srid), include_srid=True)
    geom = layer.geom_sql
    box = f"ST_GeomFromEWKB({where.bind(ewkb)})"
    if shapely.equals(area, shapely.box(*area.bounds)):
        where.add(f"{geom} && {box}")
    else:
        where.add(f"{geom} && {box} AND ST_Intersects({geom}, {box})")


def convert(f: Field, raw: str, field_name: str) -> Any:
    """A query-string value converted to the field's type."""
    try:
        if f.kind == "int":
            return int(raw)
        if f.kind == "float":
            return float(raw)
        if f.kind == "date":
            return dt.date.fromisoformat(raw[:10])
        if f.kind == "bool":
            low = raw.strip().lower()
            if low not in _TRUE | _FALSE:
                raise ValueError(raw)
            return low in _TRUE
    except ValueError:
        raise InvalidParameter(f"{field_name}: {raw!r} is not a valid {f.kind}",
                               zh=f"{field_name}：{raw!r} 不是有效的{_KIND_ZH.get(f.kind, f.kind)}",
                               field=field_name) from None
    return raw


def add_properties(where: Where, layer: Layer, filters: dict[str, str]) -> None:
    """Equality filters on properties (``status=planned``); a comma separates alternatives."""
    for name, raw in sorted(filters.items()):
        f = layer.field(name)
        split = f.kind != "str" or f.choices is not None  # free text may hold commas
        values = [convert(f, v, name) for v in raw.split(",")] if split else [raw]
        expr = f.where_sql(layer.alias)
        if not expr.startswith(f"{layer.alias}."):
            where.joins = True
        if len(values) == 1:
            where.add(f"{expr} = {where.bind(values[0])}")
        else:
            where.add(f"{expr} = ANY({where.bind(values)})")


_DT = re.compile(r"^\d{4}-\d{2}-\d{2}(T.*)?$")


def _instant(raw: str) -> dt.date | None:
    """One end of a datetime interval: a date (from an RFC 3339 date or date-time), or None when open."""
    raw = raw.strip()
    if raw in ("", ".."):
        return None
    if not _DT.match(raw):
        raise InvalidParameter(f"datetime: {raw!r} is not an RFC 3339 date or date-time",
                               zh=f"datetime：{raw!r} 不是 RFC 3339 日期或日期时间", field="datetime")
    try:
        if "T" in raw:
            return dt.datetime.fromisoformat(raw.replace("Z", "+00:00")).date()
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise InvalidParameter(f"datetime: {raw!r} is not a valid date",
                               zh=f"datetime：{raw!r} 不是有效的日期", field="datetime") from None


def add_datetime(where: Where, layer: Layer, raw: str) -> None:
    """Features whose date (parcels: term_end) or year (blocks: plan_year) meets the instant or interval."""
    if layer.temporal is None:
        return  # no temporal property: the parameter does not restrict this collection
    parts = raw.split("/")
    if len(parts) > 2:
        raise InvalidParameter("datetime: an instant or an interval start/end",
                               zh="datetime：应为一个时刻，或 起/止 区间", field="datetime")
    start = _instant(parts[0])
    end = _instant(parts[1]) if len(parts) == 2 else start
    if start and end and start > end:
        raise InvalidParameter("datetime: the interval ends before it starts",
                               zh="datetime：区间的结束早于开始", field="datetime")
    expr, kind = layer.temporal
    if start:
        where.add(f"{expr} >= {where.bind(start.year if kind == 'year' else start)}")
    if end:
        where.add(f"{expr} <= {where.bind(end.year if kind == 'year' else end)}")
    if not start and not end:
        where.add(f"{expr} IS NOT NULL")


def add_filter(where: Where, layer: Layer, raw: str, filter_crs: crsmod.OgcCrs, storage_srid: int) -> None:
    """A CQL2-text filter."""
    where.add(compile_filter(raw, layer, filter_crs, storage_srid, where.bind))
    where.joins = True


def items_where(layer: Layer, storage_srid: int, *, rules: PlanningRules, bbox: str | None = None,
                bbox_crs: str | None = None, properties: dict[str, str] | None = None, datetime: str | None = None,
                filter: str | None = None, filter_lang: str | None = None, filter_crs: str | None = None) -> Where:
    """The conditions of an items request: bbox (in ``bbox_crs``), property equalities, datetime, CQL2 filter;
    the layer's planning-rule values under ``rules`` are bound first (``$1``…)."""
    where = Where()
    where.bind.first(item_rule_values(layer, rules))
    if bbox is not None:
        add_bbox(where, layer, bbox, crsmod.parse_ogc_crs(bbox_crs, storage_srid, "bbox-crs"), storage_srid)
    elif bbox_crs is not None:
        crsmod.parse_ogc_crs(bbox_crs, storage_srid, "bbox-crs")
    if properties:
        add_properties(where, layer, properties)
    if datetime:
        add_datetime(where, layer, datetime)
    if filter:
        if filter_lang not in (None, "cql2-text"):
            raise InvalidParameter(f"filter-lang {filter_lang!r} is not supported; use cql2-text",
                                   zh=f"不支持 filter-lang {filter_lang!r}，请使用 cql2-text", field="filter-lang")
        add_filter(where, layer, filter, crsmod.parse_ogc_crs(filter_crs, storage_srid, "filter-crs"), storage_srid)
    return where


def order_sql(layer: Layer, sortby: str | None) -> str:
    """ORDER BY from ``sortby`` (``+name``/``-name``, comma-separated), always ending with the code."""
    parts: list[str] = []
    if sortby:
        for item in sortby.split(","):
            item = item.strip()
            if not item:
                continue
            desc = item.startswith("-")
            name = item.lstrip("+-").strip()
            if name.upper().endswith(" DESC") or name.upper().endswith(" ASC"):
                desc = name.upper().endswith(" DESC")
                name = name.rsplit(" ", 1)[0].strip()
            if not layer.has_field(name):
                raise InvalidParameter(f"sortby: unknown property {name!r}",
                                       zh=f"sortby：未知的属性 {name!r}", field="sortby")
            expr = layer.field(name).where_sql(layer.alias)
            parts.append(f"{expr} {'DESC NULLS LAST' if desc else 'ASC NULLS LAST'}")
    parts.append(layer.id_sql)
    return ", ".join(parts)


def select_fields(layer: Layer, properties: str | None) -> list[Field]:
    """The properties to return: all, or those named in ``properties`` (in registry order)."""
    if properties is None:
        return list(layer.fields)
    names = [p.strip() for p in properties.split(",") if p.strip()]
    unknown = [n for n in names if not layer.has_field(n) and n not in ("geometry", "geom")]
    if unknown:
        raise InvalidParameter(f"properties: unknown property {unknown[0]!r}",
                               zh=f"properties：未知的属性 {unknown[0]!r}", field="properties")
    return [f for f in layer.fields if f.name in names]


@dataclass
class Page:
    """A page of features: the comma-separated Feature objects as UTF-8 bytes, and the counts."""

    features: bytes
    matched: int
    returned: int


async def run_items(pool: asyncpg.Pool, layer: Layer, fields: list[Field], where: Where, order: str, limit: int,
                    offset: int, out: crsmod.OgcCrs, storage_srid: int) -> Page:
    """Run the items statement: numberMatched and the page's features in one round trip."""
    # Joins follow foreign keys that are NOT NULL: without a condition on a joined table they change no count.
    count_from = layer.from_sql if where.joins else f"{layer.table} {layer.alias}"
    feature = feature_sql(layer, fields, out, storage_srid)
    paging = {"limit": where.bind(limit), "offset": where.bind(offset)}
    if where.bbox:
        sql = _ITEMS_IN_BBOX_SQL.format(id=f"{layer.alias}.id", count_from=count_from, where=where.sql, feature=feature,
                                        from_sql=layer.from_sql, order=order, **paging)
    else:
        sql = _ITEMS_SQL.format(count=_COUNT_SQL.format(from_sql=count_from, where=where.sql), feature=feature,
                                from_sql=layer.from_sql, where=where.sql, order=order, **paging)
    row = await read_pool.fetchrow(pool, sql, *where.bind.values)
    assert row is not None
    matched, features = int(row[0]), row[1]
    returned = max(0, min(limit, matched - offset))
    return Page(bytes(features) if features is not None else b"", matched, returned)


async def run_one(pool: asyncpg.Pool, layer: Layer, fid: str, out: crsmod.OgcCrs, storage_srid: int, *,
                  rules: PlanningRules) -> bytes | None:
    """One feature by its code, or None (also when ``fid`` cannot be a code of the layer, e.g. not a number)."""
    try:
        key = convert(layer.field(layer.key), fid, "featureId")
    except InvalidParameter:
        return None
    if isinstance(key, int) and not -(2**31) <= key < 2**31:  # ids are PostgreSQL integers
        return None
    bind = Params()
    bind.first(item_rule_values(layer, rules))
    sql = _ONE_SQL.format(feature=feature_sql(layer, list(layer.fields), out, storage_srid),
                          from_sql=layer.from_sql, id=layer.id_sql, fid=bind(key))
    row = await read_pool.fetchrow(pool, sql, *bind.values)
    return bytes(row[0]) if row is not None else None
