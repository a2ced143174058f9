"""Import a layer from a file (GeoPackage, GeoJSON, zipped shapefile) in one transaction.

Every feature is checked before anything is written; the first problem stops the import with a
message naming the feature and the field, and the database is left as it was.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Any

import geopandas as gpd
import pyogrio
import shapely
from psycopg import sql
from pyproj import CRS
from pyproj.exceptions import CRSError
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

from app.errors import Conflict, InvalidFile, InvalidParameter
from app.io.layers import Field, Layer, get_layer
from app.settings import get_settings

_PG_TYPES = {"str": "text", "int": "integer", "float": "float8", "date": "date", "bool": "boolean"}
_TRUE = {"true", "t", "1", "yes", "y", "是"}
_FALSE = {"false", "f", "0", "no", "n", "否"}

# Resolution of the parent (town, block, parcel) of features that do not name it: the parent polygon
# that holds the largest part of the feature (parcels and buildings) or its point on surface (blocks).
_RESOLVE_BY_CODE = """
UPDATE stage s SET parent_id = p.id FROM {parent} p WHERE p.code = s.{code_field}
"""
_RESOLVE_BY_LOCATION = """
UPDATE stage s SET parent_id = (
    SELECT p.id FROM {parent} p
    WHERE ST_Intersects(p.geom, s.geom)
    ORDER BY ST_Area(ST_Intersection(p.geom, s.geom)) DESC, p.id
    LIMIT 1)
WHERE s.{code_field} IS NULL
"""
_INSERT = {
    "towns": """
        INSERT INTO towns (code, name, geom) SELECT code, name, geom FROM stage ORDER BY n
    """,
    "blocks": """
        INSERT INTO blocks (code, name, town_id, status, mode, industry, plan_year,
                            fire_hazard, illegal_buildings, low_industry, poor_environment, geom)
        SELECT code, name, parent_id, COALESCE(status, 'listed'), mode, industry, plan_year,
               COALESCE(fire_haz, false), COALESCE(illeg_bldg, false), COALESCE(low_ind, false),
               COALESCE(poor_env, false), geom
        FROM stage ORDER BY n
    """,
    "parcels": """
        INSERT INTO parcels (code, block_id, land_use, owner, term_end, supp_m2, green_m2,
                             invest, output, tax, geom)
        SELECT code, parent_id, land_use, owner, term_end, supp_m2, green_m2, invest, output, tax, geom
        FROM stage ORDER BY n
    """,
    "buildings": """
        INSERT INTO buildings (code, parcel_id, floors, floor_h, floor_area, use, illegal, geom)
        SELECT code, parent_id, floors, floor_h, floor_area, COALESCE(use, 'production'),
               COALESCE(illegal, false), geom
        FROM stage ORDER BY n
    """,
}


def _feature(n: int, code: object) -> str:
    """How a message names a feature: its 1-based position in the file and its code."""
    return f"feature {n}" + (f" (code {code})" if code else "")


def read_file(path: Path, crs: str | None = None) -> gpd.GeoDataFrame:
    """Read a vector file with pyogrio; the CRS comes from ``crs`` if given, else from the file."""
    try:
        gdf = pyogrio.read_dataframe(path)
    except Exception as err:  # pyogrio raises several error types for unreadable data
        raise InvalidFile(f"cannot read {path.name}: {err}", field="file") from err
    if not isinstance(gdf, gpd.GeoDataFrame) or gdf.geometry.name not in gdf.columns:
        raise InvalidFile(f"{path.name} has no geometry column", field="file")
    if crs:
        try:
            gdf = gdf.set_crs(CRS.from_user_input(crs), allow_override=True)
        except CRSError as err:
            raise InvalidParameter(f"unknown CRS {crs!r}: {err}", field="crs") from err
    elif gdf.crs is None:
        raise InvalidFile(f"{path.name} declares no CRS; give one with --crs (e.g. EPSG:4549)", field="crs")
    return gdf


def _value(field: Field, raw: Any, where: str) -> Any:
    """Convert one raw value to the field's type and check its range; None when missing."""
    if raw is None or (isinstance(raw, float) and math.isnan(raw)) or (isinstance(raw, str) and not raw.strip()):
        if field.required:
            raise InvalidFile(f"{where}: required field {field.name!r} ({field.label_zh}) is empty",
                              field=field.name)
        return None
    try:
        value: Any
        if field.kind == "str":
            value = str(raw).strip()
        elif field.kind == "int":
            if isinstance(raw, float) and not raw.is_integer():
                raise ValueError(f"{raw} is not a whole number")
            value = int(raw)
        elif field.kind == "float":
            value = float(raw)
            if not math.isfinite(value):
                raise ValueError(f"{raw} is not a finite number")
        elif field.kind == "date":
            value = raw if isinstance(raw, dt.date) else dt.date.fromisoformat(str(raw)[:10])
            if isinstance(value, dt.datetime):
                value = value.date()
        else:
            text_value = str(raw).strip().lower()
            if text_value not in _TRUE | _FALSE:
                raise ValueError(f"{raw!r} is not a yes/no value")
            value = text_value in _TRUE
    except ValueError as err:
        raise InvalidFile(f"{where}: field {field.name!r} ({field.label_zh}): {err}", field=field.name) from err
    if field.min is not None and value < field.min:
        raise InvalidFile(f"{where}: field {field.name!r} ({field.label_zh}) must be ≥ {field.min:g}, got {value}",
                          field=field.name)
    if field.max is not None and value > field.max:
        raise InvalidFile(f"{where}: field {field.name!r} ({field.label_zh}) must be ≤ {field.max:g}, got {value}",
                          field=field.name)
    if field.choices is not None and value not in field.choices:
        raise InvalidFile(f"{where}: field {field.name!r} ({field.label_zh}) must be one of "
                          f"{', '.join(field.choices)}, got {value!r}", field=field.name)
    return value


def prepare(layer: Layer, gdf: gpd.GeoDataFrame, srid: int) -> list[tuple[Any, ...]]:
    """Check every feature and return rows (n, *fields, EWKB hex) in the storage CRS, or raise."""
    missing = [f.name for f in layer.fields if f.required and f.name not in gdf.columns]
    if missing:
        raise InvalidFile(f"the file has no field {missing[0]!r} ({layer.field(missing[0]).label_zh}), "
                          f"required for {layer.name}", field=missing[0])
    if gdf.empty:
        raise InvalidFile("the file holds no features", field="file")
    geoms = gdf.geometry.values
    codes = gdf["code"].tolist()
    for i, geom in enumerate(geoms):
        where = _feature(i + 1, codes[i])
        if geom is None or geom.is_empty:
            raise InvalidFile(f"{where}: geometry is empty", field="geometry")
        if geom.geom_type not in ("Polygon", "MultiPolygon"):
            raise InvalidFile(f"{where}: geometry is a {geom.geom_type}; {layer.name} need polygons",
                              field="geometry")
        if not geom.is_valid:
            raise InvalidFile(f"{where}: invalid geometry ({shapely.is_valid_reason(geom)})", field="geometry")
    projected = gdf.geometry.to_crs(epsg=srid).values
    invalid_after = ~shapely.is_valid(projected)
    if invalid_after.any():
        i = int(invalid_after.argmax())
        raise InvalidFile(f"{_feature(i + 1, codes[i])}: geometry becomes invalid in EPSG:{srid} "
                          f"({shapely.is_valid_reason(projected[i])})", field="geometry")
    multi = [g if g.geom_type == "MultiPolygon" else shapely.MultiPolygon([g]) for g in projected]
    wkb = shapely.to_wkb(shapely.set_srid(multi, srid), hex=True, include_srid=True)
    columns = {f.name: gdf[f.name].tolist() if f.name in gdf.columns else [None] * len(gdf) for f in layer.fields}
    rows = []
    seen: dict[str, int] = {}
    for i in range(len(gdf)):
        where = _feature(i + 1, codes[i])
        values = tuple(_value(f, columns[f.name][i], where) for f in layer.fields)
        code = values[0]
        if code in seen:
            raise InvalidFile(f"{where}: code {code!r} repeats feature {seen[code]}", field="code")
        seen[code] = i + 1
        rows.append((i + 1, *values, wkb[i]))
    return rows


def _stage(conn: Connection, layer: Layer, rows: list[tuple[Any, ...]]) -> None:
    """Create the temporary staging table and COPY the prepared rows into it."""
    columns: list[sql.Composable] = [sql.SQL("n integer")]
    columns += [sql.SQL("{} {}").format(sql.Identifier(f.name), sql.SQL(_PG_TYPES[f.kind])) for f in layer.fields]
    columns += [sql.SQL("geom geometry"), sql.SQL("parent_id integer")]
    raw = conn.connection.driver_connection
    assert raw is not None
    with raw.cursor() as cur:
        cur.execute(sql.SQL("CREATE TEMP TABLE stage ({}) ON COMMIT DROP").format(sql.SQL(", ").join(columns)))
        names = sql.SQL(", ").join(sql.Identifier(n) for n in ["n", *(f.name for f in layer.fields), "geom"])
        with cur.copy(sql.SQL("COPY stage ({}) FROM STDIN").format(names)) as copy:
            for row in rows:
                copy.write_row(row)


def _resolve_parent(conn: Connection, layer: Layer) -> None:
    """Fill ``stage.parent_id`` from the parent's code, else from location; raise on any feature left over."""
    if layer.parent is None:
        return
    code_field, parent_name = layer.parent
    parent = get_layer(parent_name)
    ident = {"parent": parent.table, "code_field": code_field}  # identifiers from the registry only
    conn.execute(text(_RESOLVE_BY_CODE.format(**ident)))
    conn.execute(text(_RESOLVE_BY_LOCATION.format(**ident)))
    bad = conn.execute(text(
        f"SELECT n, code, {code_field} FROM stage WHERE parent_id IS NULL ORDER BY n LIMIT 1"  # noqa: S608
    )).first()
    if bad is not None:
        where = _feature(bad[0], bad[1])
        if bad[2] is not None:
            raise InvalidFile(f"{where}: {code_field} {bad[2]!r} is not a known {parent_name[:-1]}",
                              field=code_field)
        raise InvalidFile(f"{where}: lies in no {parent_name[:-1]}; give {code_field}", field=code_field)


def import_rows(conn: Connection, layer: Layer, rows: list[tuple[Any, ...]]) -> int:
    """Write prepared rows of ``layer`` inside the caller's transaction; returns the count."""
    _stage(conn, layer, rows)
    dup = conn.execute(text(
        f"SELECT s.n, s.code FROM stage s JOIN {layer.table} t ON t.code = s.code ORDER BY s.n LIMIT 1"  # noqa: S608
    )).first()
    if dup is not None:
        raise Conflict(f"{_feature(dup[0], dup[1])}: a {layer.name[:-1]} with code {dup[1]!r} already exists",
                       field="code")
    _resolve_parent(conn, layer)
    result = conn.execute(text(_INSERT[layer.name]))
    return int(result.rowcount)


def import_file(engine: Engine, path: Path, layer_name: str, *, crs: str | None = None) -> int:
    """Import ``path`` into ``layer_name`` in one transaction; all features or none."""
    layer = get_layer(layer_name)
    srid = get_settings().srid
    rows = prepare(layer, read_file(path, crs), srid)
    try:
        with engine.begin() as conn:
            n = import_rows(conn, layer, rows)
            conn.execute(text(f"ANALYZE {layer.table}"))
    except DBAPIError as err:
        diag = getattr(err.orig, "diag", None)
        detail = getattr(diag, "message_primary", None) or str(err.orig).splitlines()[0]
        raise InvalidFile(f"the database refused the import: {detail}", field="file") from err
    return n
