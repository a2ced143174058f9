"""Validation of an import: every feature of a frame checked and turned into a row for the staging table.

Checks: required fields, types and ranges (negative floors, storey height over
100 m, land-use terms ending before 1990...), duplicate codes in the file, polygon geometry, coordinates
that fit the file's CRS. Invalid geometry is reported as repaired (``ST_MakeValid`` repairs it once staged)
or, with ``strict``, refused. Rows carry the geometry as EWKB hex in the storage CRS. Nothing here touches
the database: the checks that need it are in ``app.io.staging``.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from app.errors import InvalidParameter
from app.io import crs as crsmod
from app.io.import_report import ImportRejected, ImportReport
from app.io.layers import Field, Layer

_TRUE = {"true", "t", "1", "yes", "y", "是"}
_FALSE = {"false", "f", "0", "no", "n", "否"}


class _Bad(ValueError):
    """A value that does not fit its field."""


_SEPARATORS = re.compile(r"[,，;；]")
"""What separates the numbers of a list field (storey heights): commas and semicolons, also full-width."""


def _numbers(f: Field, raw: Any) -> str:
    """A list of numbers (``9,4.5,4.5,4.5``, or a JSON array from GeoJSON), each in the field's range, as the
    stage takes it: comma-separated shortest decimals."""
    if isinstance(raw, np.ndarray):  # a JSON array read by GDAL
        raw = raw.tolist()
    parts = [str(v) for v in raw] if isinstance(raw, (list, tuple)) else _SEPARATORS.split(str(raw))
    values = []
    for part in parts:
        try:
            value = float(part.strip())
            if not math.isfinite(value):
                raise ValueError(part)
        except ValueError:
            raise _Bad(f"field {f.name!r} ({f.label_zh}): {part.strip()!r} is not a number; give metres, "
                       "comma-separated, bottom up (e.g. 9,4.5,4.5)") from None
        if f.min is not None and value < f.min or f.max is not None and value > f.max:
            raise _Bad(f"field {f.name!r} ({f.label_zh}): each value must be between {f.min:g} and {f.max:g}, "
                       f"got {value:g}")
        values.append(value)
    return ",".join(repr(v) for v in values)


def _industry_code(f: Field, raw: Any) -> str:
    """A GB/T 4754 industry code (``C2438``, ``2438``, ``C24``, ``c 2438``) with its section letter: ``C2438``."""
    from app.planning.entry import parse_industry_code

    text_value = str(int(raw)) if isinstance(raw, float) and raw.is_integer() else str(raw)
    try:
        section, digits = parse_industry_code(re.sub(r"\s+", "", text_value), f.name)
    except InvalidParameter as err:
        raise _Bad(f"field {f.name!r} ({f.label_zh}): {err.detail}") from err
    return f"{section}{digits}"


def _value(f: Field, raw: Any) -> Any:
    """Convert one raw value to the field's type and check its range; None when missing."""
    if raw is None or (isinstance(raw, float) and math.isnan(raw)) or (isinstance(raw, str) and not raw.strip()) \
            or raw is pd.NaT or (isinstance(raw, (list, tuple, np.ndarray)) and len(raw) == 0):
        if f.required:
            raise _Bad(f"required field {f.name!r} ({f.label_zh}) is empty")
        return None
    if f.numbers:
        return _numbers(f, raw)
    if f.industry_code:
        return _industry_code(f, raw)
    value: Any
    try:
        if f.kind == "str":
            value = str(raw).strip()
        elif f.kind == "int":
            if isinstance(raw, float) and not raw.is_integer():
                raise ValueError(f"{raw} is not a whole number")
            value = int(float(raw)) if isinstance(raw, str) else int(raw)
        elif f.kind == "float":
            value = float(raw)
            if not math.isfinite(value):
                raise ValueError(f"{raw} is not a finite number")
        elif f.kind == "date":
            value = raw if isinstance(raw, dt.date) else dt.date.fromisoformat(str(raw)[:10])
            if isinstance(value, dt.datetime):
                value = value.date()
        else:
            text_value = str(raw).strip().lower()
            if text_value not in _TRUE | _FALSE:
                raise ValueError(f"{raw!r} is not a yes/no value")
            value = text_value in _TRUE
    except ValueError as err:
        raise _Bad(f"field {f.name!r} ({f.label_zh}): {err}") from err
    comparable = value.year if f.kind == "date" else value
    if f.min is not None and comparable < f.min:
        shown = f"{f.min:g}" if f.kind != "date" else f"{int(f.min)}-01-01"
        raise _Bad(f"field {f.name!r} ({f.label_zh}) must be ≥ {shown}, got {value}")
    if f.max is not None and comparable > f.max:
        raise _Bad(f"field {f.name!r} ({f.label_zh}) must be ≤ {f.max:g}, got {value}")
    if f.choices is not None and value not in f.choices:
        raise _Bad(f"field {f.name!r} ({f.label_zh}) must be one of {', '.join(f.choices)}, got {value!r}")
    return value


def prepare(layer: Layer, gdf: pd.DataFrame, srid: int, report: ImportReport | None = None,
            strict: bool = True) -> list[tuple[Any, ...]]:
    """Check every feature and return rows (n, *fields, EWKB hex) in the storage CRS.

    Findings go into ``report``; without one, the first error is raised (the behaviour of issue 2).
    """
    own = report or ImportReport(layer.name, "append", False, strict, "")
    rows = _prepare(layer, gdf, srid, own, strict)
    if report is None and own.errors:
        raise ImportRejected(own)
    return rows


def _prepare(layer: Layer, gdf: pd.DataFrame, srid: int, report: ImportReport, strict: bool
             ) -> list[tuple[Any, ...]]:
    """See ``prepare``."""
    fields = layer.imported_fields
    missing = [f.name for f in fields if f.required and f.name not in gdf.columns]
    if missing:
        report.add(None, None, missing[0], "error", f"the file has no field {missing[0]!r} "
                   f"({layer.field(missing[0]).label_zh}), required for {layer.name}")
        return []
    if gdf.empty:
        report.add(None, None, "file", "error", "the file holds no features")
        return []
    report.features = len(gdf)
    codes = gdf[layer.key].tolist()
    bad_rows: set[int] = set()
    wkb: list[Any] = [None] * len(gdf)
    if layer.geometry:
        geoms = gdf.geometry.values
        for i, geom in enumerate(geoms):
            if geom is None or geom.is_empty:
                report.add(i + 1, codes[i], "geometry", "error", "geometry is empty")
                bad_rows.add(i)
            elif geom.geom_type not in ("Polygon", "MultiPolygon"):
                report.add(i + 1, codes[i], "geometry", "error",
                           f"geometry is a {geom.geom_type}; {layer.name} need polygons")
                bad_rows.add(i)
            elif not geom.is_valid:
                reason = shapely.is_valid_reason(geom)
                if strict:
                    report.add(i + 1, codes[i], "geometry", "error", f"invalid geometry ({reason})")
                    bad_rows.add(i)
                else:
                    report.add(i + 1, codes[i], "geometry", "repaired",
                               f"invalid geometry ({reason}) repaired with ST_MakeValid")
        if not bad_rows or len(bad_rows) < len(gdf):
            usable = [g for i, g in enumerate(geoms) if i not in bad_rows and g is not None]
            crsmod.check_source_coordinates(gdf.crs, tuple(shapely.total_bounds(usable)), srid)
            projected = gpd.GeoSeries(
                [g if i not in bad_rows else None for i, g in enumerate(geoms)], crs=gdf.crs
            ).to_crs(epsg=srid).values
            for i, geom in enumerate(projected):
                if i in bad_rows or geom is None:
                    continue
                if not geom.is_valid and geoms[i].is_valid:
                    reason = shapely.is_valid_reason(geom)
                    if strict:
                        report.add(i + 1, codes[i], "geometry", "error",
                                   f"geometry becomes invalid in EPSG:{srid} ({reason})")
                        bad_rows.add(i)
                    else:
                        report.add(i + 1, codes[i], "geometry", "repaired",
                                   f"geometry becomes invalid in EPSG:{srid} ({reason}); repaired with ST_MakeValid")
                multi = geom if geom.geom_type == "MultiPolygon" else shapely.MultiPolygon([geom])
                wkb[i] = shapely.to_wkb(shapely.set_srid(multi, srid), hex=True, include_srid=True)
    columns = {f.name: gdf[f.name].tolist() if f.name in gdf.columns else [None] * len(gdf) for f in fields}
    rows = []
    seen: dict[str, int] = {}
    for i in range(len(gdf)):
        values: list[Any] = []
        refused: set[str] = set()
        for f in fields:
            try:
                values.append(_value(f, columns[f.name][i]))
            except _Bad as bad:
                report.add(i + 1, codes[i], f.name, "error", str(bad))
                values.append(None)
                refused.add(f.name)
        check = _ROW_CHECKS.get(layer.name)
        if check is not None:
            row = dict(zip((f.name for f in fields), values, strict=True))
            for name, message in check(row, refused):
                report.add(i + 1, codes[i], name, "error", message)
            values = [row[f.name] for f in fields]
        code = values[0]
        if code is not None:
            if code in seen:
                report.add(i + 1, codes[i], layer.key, "error", f"code {code!r} repeats feature {seen[code]}")
            else:
                seen[code] = i + 1
        rows.append((i + 1, *values, wkb[i]))
    return rows


def storey_heights(text: str | None) -> list[float] | None:
    """The storey heights of a staged ``storey_hs`` (comma-separated), or None."""
    return None if text is None else [float(v) for v in text.split(",")]


def building_problems(row: dict[str, Any], refused: set[str] | None = None) -> list[tuple[str, str]]:
    """What is wrong between a building's fields (field, message), once each field is valid on its own; fills
    ``floor_h`` with the highest storey when only ``storey_hs`` gives heights.

    One height per storey (``storey_hs`` as many as ``floors``); ``floor_h`` or ``storey_hs``; a basement's use
    and floor area only with basement storeys (``bsmt_n``), and its use with them; garage storeys above the
    second floor (``garage_n``) at most ``floors`` − 2. ``refused``: fields already refused on their own (empty
    here, and not reported again). The schema checks the same (migration 0007).
    """
    refused = refused or set()
    problems: list[tuple[str, str]] = []

    def given(name: str) -> bool:
        return row.get(name) is not None or name in refused

    heights = storey_heights(row.get("storey_hs"))
    floors = row.get("floors")
    if heights is not None and floors is not None and len(heights) != floors:
        problems.append(("storey_hs", f"field 'storey_hs' (各层层高(m)) gives {len(heights)} storey heights for "
                                      f"{floors} floors (层数): one height per storey, bottom up"))
    if not given("floor_h"):
        if heights is not None:
            row["floor_h"] = max(heights)
        elif not given("storey_hs"):
            problems.append(("floor_h", "field 'floor_h' (层高(m)) is empty: give floor_h, or storey_hs with "
                                        "each storey's height"))
    basements = row.get("bsmt_n")
    if not basements and "bsmt_n" not in refused:
        for name in ("bsmt_use", "bsmt_m2"):
            if row.get(name) is not None:
                problems.append((name, f"field {name!r} describes a basement, but 'bsmt_n' (地下室层数) is "
                                       f"{'0' if basements == 0 else 'empty'}: give the basement storeys"))
    elif basements and not given("bsmt_use"):
        problems.append(("bsmt_use", f"field 'bsmt_use' (地下室用途) is empty for {basements} basement storeys: "
                                     "give garage, plant or commercial"))
    garages = row.get("garage_n")
    if garages and floors is not None and garages > max(floors - 2, 0):
        problems.append(("garage_n", f"field 'garage_n' (二层以上停车库层数) counts garage storeys above the second "
                                     f"floor: at most floors − 2 = {max(floors - 2, 0)}, got {garages}"))
    return problems


_ROW_CHECKS = {"buildings": building_problems}
"""Checks across the fields of one feature, per layer (after each field is checked on its own)."""
