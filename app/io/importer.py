"""Import a layer from a file in one transaction: all features or none, with a report per feature.

Sources: zipped shapefile (checked by ``safety.safe_extract``), a bare shapefile, GeoPackage, GeoJSON, and
CSV (enterprises; or any layer with a WKT column and ``crs``). The CRS comes from the file or ``crs``;
shapefiles without ``.cpg`` are read as UTF-8 when their text decodes as such, else as GBK (CP936),
unless ``encoding`` says otherwise.

Checks (DOMAIN.md, ARCHITECTURE.md): required fields, types and ranges (negative floors, storey height over
100 m, land-use terms ending before 1990...), duplicate codes, polygon geometry, parent (town, block,
parcel) by code or location; parcel overlaps and buildings reaching outside their parcel above a
tolerance are warnings. Invalid geometry is repaired with ``ST_MakeValid`` and listed, or refused with
``strict`` (which also turns warnings into errors).

Modes: ``append`` (an existing code is a conflict), ``upsert`` (existing codes are updated, others
inserted) and ``replace`` (upsert, and features of the layer in the towns the file covers that the file
does not hold are deleted; their children are moved by location to the new features). ``dry_run`` does
everything and rolls back, reporting what would change.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import math
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

import geopandas as gpd
import pandas as pd
import pyogrio
import shapely
from psycopg import sql
from pyproj import CRS
from pyproj.exceptions import CRSError
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from app.errors import Conflict, InvalidFile, InvalidParameter
from app.io import crs as crsmod
from app.io.layers import Field, Layer, get_layer
from app.io.safety import IOLimits, get_limits, is_zip, safe_extract
from app.settings import get_settings

Mode = Literal["append", "upsert", "replace"]
MODES: tuple[str, ...] = ("append", "upsert", "replace")
Severity = Literal["error", "repaired", "warning"]

_PG_TYPES = {"str": "text", "int": "integer", "float": "float8", "date": "date", "bool": "boolean"}
_TRUE = {"true", "t", "1", "yes", "y", "是"}
_FALSE = {"false", "f", "0", "no", "n", "否"}
_ENCODINGS = {"utf-8": "UTF-8", "utf8": "UTF-8", "gbk": "CP936", "cp936": "CP936", "gb2312": "CP936",
              "gb18030": "GB18030"}
_READABLE = (".shp", ".gpkg", ".geojson", ".json", ".csv")
_REPORT_ISSUES_MAX = 1000


@dataclass(frozen=True)
class _Target:
    """Where a layer's fields go: interchange field → table column, the parent key column, insert defaults."""

    columns: dict[str, str]
    parent_fk: str | None
    defaults: dict[str, str]


_TARGETS: dict[str, _Target] = {
    "towns": _Target({"code": "code", "name": "name"}, None, {}),
    "blocks": _Target(
        {"code": "code", "name": "name", "status": "status", "mode": "mode", "industry": "industry",
         "plan_year": "plan_year", "fire_haz": "fire_hazard", "illeg_bldg": "illegal_buildings",
         "low_ind": "low_industry", "poor_env": "poor_environment"},
        "town_id",
        {"status": "'listed'", "fire_hazard": "false", "illegal_buildings": "false", "low_industry": "false",
         "poor_environment": "false"},
    ),
    "parcels": _Target(
        {"code": "code", "land_use": "land_use", "owner": "owner", "term_end": "term_end", "supp_m2": "supp_m2",
         "green_m2": "green_m2", "invest": "invest", "output": "output", "tax": "tax"},
        "block_id", {},
    ),
    "buildings": _Target(
        {"code": "code", "floors": "floors", "floor_h": "floor_h", "floor_area": "floor_area", "use": "use",
         "illegal": "illegal"},
        "parcel_id", {"use": "'production'", "illegal": "false"},
    ),
    "enterprises": _Target(
        {"credit_code": "credit_code", "name": "name", "above_scl": "above_scl", "revenue": "revenue", "tax": "tax",
         "output": "output", "energy_tce": "energy_tce", "class": "class", "class_year": "class_year"},
        "parcel_id", {"above_scl": "false"},
    ),
}

# The town (id) of a row ``x`` of each table, and of a staged feature's parent ``s.parent_id``: the scope
# of ``replace``.
_TOWN_OF_ROW = {
    "blocks": "x.town_id",
    "parcels": "(SELECT b.town_id FROM blocks b WHERE b.id = x.block_id)",
    "buildings": "(SELECT b.town_id FROM parcels p JOIN blocks b ON b.id = p.block_id WHERE p.id = x.parcel_id)",
    "enterprises": "(SELECT b.town_id FROM parcels p JOIN blocks b ON b.id = p.block_id WHERE p.id = x.parcel_id)",
}
_TOWN_OF_STAGE = {
    "blocks": "s.parent_id",
    "parcels": "(SELECT b.town_id FROM blocks b WHERE b.id = s.parent_id)",
    "buildings": "(SELECT b.town_id FROM parcels p JOIN blocks b ON b.id = p.block_id WHERE p.id = s.parent_id)",
    "enterprises": "(SELECT b.town_id FROM parcels p JOIN blocks b ON b.id = p.block_id WHERE p.id = s.parent_id)",
}
# Children moved by location when ``replace`` deletes their parent: (child table, key column).
_CHILDREN = {"blocks": ("parcels", "block_id"), "parcels": ("buildings", "parcel_id")}

_RESOLVE_BY_CODE = 'UPDATE stage s SET parent_id = p.id FROM {parent} p WHERE p.code = s."{code_field}"'
_RESOLVE_BY_LOCATION = """
UPDATE stage s SET parent_id = (
    SELECT p.id FROM {parent} p
    WHERE p.geom && s.geom AND ST_Intersects(p.geom, s.geom)
    ORDER BY ST_Area(ST_Intersection(p.geom, s.geom)) DESC, p.id
    LIMIT 1)
WHERE s."{code_field}" IS NULL
"""
_UNRESOLVED = 'SELECT n, "{key}", "{code_field}" FROM stage WHERE parent_id IS NULL {only_named} ORDER BY n'
_MATCH = 'UPDATE stage s SET target_id = t.id FROM {table} t WHERE t.{key} = s."{key}"'
_REPAIR = """
UPDATE stage SET geom = ST_Multi(ST_CollectionExtract(ST_MakeValid(geom), 3))
WHERE NOT ST_IsValid(geom)
RETURNING n, "{key}", ST_IsEmpty(geom)
"""
_DELETED = """
SELECT x.id, x.{key} FROM {table} x
WHERE {town_of_row} IN (SELECT DISTINCT {town_of_stage} FROM stage s)
  AND NOT EXISTS (SELECT 1 FROM stage s WHERE s."{key}" = x.{key})
ORDER BY x.{key}
"""
# Interiors overlapping by more than the tolerance: within the file, and with parcels that stay.
_OVERLAPS_IN_FILE = """
SELECT a.n, a.code, b.code, ST_Area(ST_Intersection(a.geom, b.geom))
FROM stage a JOIN stage b ON a.n < b.n AND a.geom && b.geom
WHERE ST_Relate(a.geom, b.geom, 'T********') AND ST_Area(ST_Intersection(a.geom, b.geom)) > :tol
ORDER BY a.n, b.n
"""
_OVERLAPS_EXISTING = """
SELECT s.n, s.code, p.code, ST_Area(ST_Intersection(s.geom, p.geom))
FROM stage s JOIN parcels p ON p.geom && s.geom
WHERE ST_Relate(s.geom, p.geom, 'T********') AND ST_Area(ST_Intersection(s.geom, p.geom)) > :tol
  AND p.id <> ALL(CAST(:deleted AS int[]))
  AND NOT EXISTS (SELECT 1 FROM stage m WHERE m.target_id = p.id)
ORDER BY s.n
"""
_OUTSIDE_PARCEL = """
SELECT s.n, s.code, p.code, ST_Area(ST_Difference(s.geom, p.geom))
FROM stage s JOIN parcels p ON p.id = s.parent_id
WHERE NOT ST_CoveredBy(s.geom, p.geom) AND ST_Area(ST_Difference(s.geom, p.geom)) > :tol
ORDER BY s.n
"""
_REATTACH = """
UPDATE {child} c SET {fk} = COALESCE((
    SELECT x.id FROM {table} x
    WHERE x.id <> ALL(CAST(:deleted AS int[])) AND x.geom && c.geom AND ST_Intersects(x.geom, c.geom)
    ORDER BY ST_Area(ST_Intersection(x.geom, c.geom)) DESC, x.id
    LIMIT 1), c.{fk})
WHERE c.{fk} = ANY(CAST(:deleted AS int[]))
"""
_STRANDED = """
SELECT c.code, x.code FROM {child} c JOIN {table} x ON x.id = c.{fk}
WHERE c.{fk} = ANY(CAST(:deleted AS int[])) ORDER BY c.code
"""


@dataclass
class Issue:
    """One finding about one feature (``n`` is its 1-based position in the file) or about the file."""

    n: int | None
    code: str | None
    field: str | None
    severity: Severity
    message: str

    def text(self) -> str:
        """The finding as one line naming the feature."""
        return f"{_feature(self.n, self.code)}: {self.message}" if self.n is not None else self.message


@dataclass
class ImportReport:
    """What an import did or, in a dry run, would do, with the findings per feature."""

    layer: str
    mode: str
    dry_run: bool
    strict: bool
    file: str
    encoding: str | None = None
    crs: str | None = None
    features: int = 0
    inserted: int = 0
    updated: int = 0
    deleted: int = 0
    moved_children: int = 0
    issues: list[Issue] = field(default_factory=list)

    def add(self, n: int | None, code: Any, fld: str | None, severity: Severity, message: str) -> None:
        """Record a finding."""
        self.issues.append(Issue(n, None if code is None else str(code), fld, severity, message))

    @property
    def errors(self) -> list[Issue]:
        """Findings that stop the import."""
        return [i for i in self.issues if i.severity == "error"]

    @property
    def repaired(self) -> list[Issue]:
        """Geometries repaired with ST_MakeValid."""
        return [i for i in self.issues if i.severity == "repaired"]

    @property
    def warnings(self) -> list[Issue]:
        """Findings that do not stop the import."""
        return [i for i in self.issues if i.severity == "warning"]

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data (at most 1,000 findings listed)."""
        body = {k: v for k, v in asdict(self).items() if k != "issues"}
        body["ok"] = not self.errors
        body["counts"] = {"errors": len(self.errors), "repaired": len(self.repaired), "warnings": len(self.warnings)}
        body["issues"] = [asdict(i) | {"text": i.text()} for i in self.issues[:_REPORT_ISSUES_MAX]]
        body["issues_truncated"] = len(self.issues) > _REPORT_ISSUES_MAX
        return body


class ImportRejected(InvalidFile):
    """The file has errors; nothing was written. ``report`` lists every finding."""

    def __init__(self, report: ImportReport) -> None:
        errors = report.errors
        first = errors[0]
        more = f" (and {len(errors) - 1} more errors; see the report)" if len(errors) > 1 else ""
        super().__init__(first.text() + more, field=first.field)
        self.report = report


class ImportConflict(Conflict):
    """Codes in the file already exist (mode append); nothing was written."""

    def __init__(self, report: ImportReport) -> None:
        errors = report.errors
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        super().__init__(errors[0].text() + more, field="code")
        self.report = report


class ImportHooks(Protocol):
    """What the caller runs inside the import's transaction (``app.auth.imports``: who may import what, and
    the audit row): ``check`` once the file is staged and matched, before anything is written (raise to
    refuse); ``done`` after the write, before commit."""

    def check(self, conn: Connection, layer: Layer, mode: str) -> None:
        """Refuse the import by raising; nothing is written yet."""

    def done(self, conn: Connection, layer: Layer, report: ImportReport) -> None:
        """Record what was written, in the same transaction."""


def _feature(n: int | None, code: object) -> str:
    """How a message names a feature: its 1-based position in the file and its code."""
    return f"feature {n}" + (f" (code {code})" if code not in (None, "") else "")


# --- reading -------------------------------------------------------------------------------------------------


def dbf_encoding(dbf: Path) -> str:
    """The text encoding of a DBF without ``.cpg``: CP936 by its language id, else UTF-8 if it decodes, else GBK."""
    with dbf.open("rb") as fh:
        head = fh.read(32)
        if len(head) < 32:
            return "UTF-8"
        if head[29] in (0x4D, 0x7A):  # language driver ids of CP936 (GDAL's table)
            return "CP936"
        header_len = int.from_bytes(head[8:10], "little")
        fh.seek(header_len)
        sample = fh.read(8 << 20)
    if all(b < 0x80 for b in sample):
        return "UTF-8"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
    except UnicodeDecodeError:
        return "CP936"
    return "UTF-8"


def _find_source(files: list[Path], layer_name: str) -> Path:
    """The dataset inside an unpacked zip: its one shapefile (or GeoPackage, GeoJSON, CSV)."""
    shps = [f for f in files if f.suffix.lower() == ".shp" and not f.name.startswith("._")]
    if len(shps) > 1:
        named = [f for f in shps if f.stem.lower() == layer_name]
        if len(named) != 1:
            raise InvalidFile(f"the zip holds {len(shps)} shapefiles ({', '.join(f.name for f in shps)}); "
                              f"keep one, or name it {layer_name}.shp", field="file")
        shps = named
    if shps:
        shp = shps[0]
        siblings = {f.suffix.lower(): f for f in files if f.parent == shp.parent and f.stem == shp.stem}
        if ".dbf" not in siblings:
            raise InvalidFile(f"the zip has {shp.name} but no {shp.stem}.dbf (the attributes); refused", field="file")
        return shp
    if any(f.suffix.lower() == ".dbf" for f in files):
        raise InvalidFile("the zip has a .dbf but no .shp (the geometry); refused", field="file")
    others = [f for f in files if f.suffix.lower() in _READABLE[1:]]
    if len(others) == 1:
        return others[0]
    raise InvalidFile("the zip holds no shapefile (.shp with .dbf), GeoPackage, GeoJSON or CSV", field="file")


@contextmanager
def opened(path: Path, layer_name: str, limits: IOLimits | None = None) -> Iterator[Path]:
    """The readable dataset behind ``path``: a zip is unpacked safely into a temporary folder first."""
    if not path.exists():
        raise InvalidFile(f"{path.name} does not exist", field="file")
    zipped = is_zip(path)
    if path.suffix.lower() == ".zip" and not zipped:
        raise InvalidFile(f"{path.name} is not a zip archive", field="file")
    if not zipped:
        yield path
        return
    work = Path(tempfile.mkdtemp(prefix="renewal-import-"))
    try:
        files = safe_extract(path, work, limits)
        yield _find_source(files, layer_name)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _shapefile_encoding(shp: Path, encoding: str | None) -> str | None:
    """The encoding to read a shapefile with: the given one, its .cpg's (GDAL reads it), or detected."""
    if encoding:
        enc = _ENCODINGS.get(encoding.lower())
        if enc is None:
            raise InvalidParameter(f"encoding must be utf-8 or gbk, not {encoding!r}", field="encoding")
        return enc
    if any(shp.with_suffix(s).exists() for s in (".cpg", ".CPG")):
        return None
    dbf = next((shp.with_suffix(s) for s in (".dbf", ".DBF") if shp.with_suffix(s).exists()), None)
    return dbf_encoding(dbf) if dbf else None


def read_file(path: Path, crs: str | None = None, encoding: str | None = None) -> gpd.GeoDataFrame:
    """Read a vector dataset with pyogrio; the CRS comes from ``crs`` if given, else from the file."""
    options: dict[str, Any] = {}
    restore_shx = False
    if path.suffix.lower() == ".shp":
        enc = _shapefile_encoding(path, encoding)
        if enc:
            options["encoding"] = enc
        restore_shx = not any(path.with_suffix(s).exists() for s in (".shx", ".SHX"))
    try:
        if restore_shx:  # GDAL rebuilds a missing .shx index from the .shp
            pyogrio.set_gdal_config_options({"SHAPE_RESTORE_SHX": True})
        gdf = pyogrio.read_dataframe(path, **options)
    except Exception as err:  # pyogrio raises several error types for unreadable data
        raise InvalidFile(f"cannot read {path.name}: {err}", field="file") from err
    finally:
        if restore_shx:
            pyogrio.set_gdal_config_options({"SHAPE_RESTORE_SHX": None})
    if not isinstance(gdf, gpd.GeoDataFrame) or gdf.geometry.name not in gdf.columns:
        raise InvalidFile(f"{path.name} has no geometry column", field="file")
    gdf.attrs["encoding"] = options.get("encoding")
    if crs:
        try:
            gdf = gdf.set_crs(CRS.from_user_input(crs), allow_override=True)
        except CRSError as err:
            raise InvalidParameter(f"unknown CRS {crs!r}: {err}", field="crs") from err
    elif gdf.crs is None:
        raise InvalidFile(f"{path.name} declares no CRS; give one with --crs (e.g. EPSG:4549)", field="crs")
    return gdf


def read_table_csv(path: Path, layer: Layer, encoding: str | None = None) -> pd.DataFrame:
    """A CSV without geometry (enterprises): UTF-8 (with or without BOM) or GBK; headers as names or labels."""
    data = path.read_bytes()
    if encoding:
        enc = _ENCODINGS.get(encoding.lower())
        if enc is None:
            raise InvalidParameter(f"encoding must be utf-8 or gbk, not {encoding!r}", field="encoding")
        py_enc = {"UTF-8": "utf-8-sig", "CP936": "gbk", "GB18030": "gb18030"}[enc]
    elif data.startswith(codecs.BOM_UTF8):
        py_enc = "utf-8-sig"
    else:
        try:
            data.decode("utf-8")
            py_enc = "utf-8"
        except UnicodeDecodeError:
            py_enc = "gb18030"  # a superset of GBK, as Excel in China saves CSV
    try:
        rows = list(csv.reader(io.StringIO(data.decode(py_enc), newline="")))
    except (UnicodeDecodeError, csv.Error) as err:
        raise InvalidFile(f"cannot read {path.name} as CSV: {err}", field="file") from err
    if not rows:
        raise InvalidFile(f"{path.name} is empty", field="file")
    by_label = {f.label_zh: f.name for f in layer.fields}
    header = [by_label.get(h.strip(), h.strip()) for h in rows[0]]
    body = [r + [""] * (len(header) - len(r)) for r in rows[1:] if any(c.strip() for c in r)]
    df = pd.DataFrame([r[: len(header)] for r in body], columns=header, dtype=object)
    df.attrs["encoding"] = "GBK" if py_enc == "gb18030" else "UTF-8"
    return df


# --- checking ------------------------------------------------------------------------------------------------


class _Bad(ValueError):
    """A value that does not fit its field."""


def _value(f: Field, raw: Any) -> Any:
    """Convert one raw value to the field's type and check its range; None when missing."""
    if raw is None or (isinstance(raw, float) and math.isnan(raw)) or (isinstance(raw, str) and not raw.strip()) \
            or raw is pd.NaT:
        if f.required:
            raise _Bad(f"required field {f.name!r} ({f.label_zh}) is empty")
        return None
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
        for f in fields:
            try:
                values.append(_value(f, columns[f.name][i]))
            except _Bad as bad:
                report.add(i + 1, codes[i], f.name, "error", str(bad))
                values.append(None)
        code = values[0]
        if code is not None:
            if code in seen:
                report.add(i + 1, codes[i], layer.key, "error", f"code {code!r} repeats feature {seen[code]}")
            else:
                seen[code] = i + 1
        rows.append((i + 1, *values, wkb[i]))
    return rows


# --- writing -------------------------------------------------------------------------------------------------


def _q(name: str) -> str:
    """A registry identifier, double-quoted for SQL."""
    return '"' + name.replace('"', '""') + '"'


def _stage(conn: Connection, layer: Layer, rows: list[tuple[Any, ...]]) -> None:
    """Create the temporary staging table and COPY the prepared rows into it."""
    fields = layer.imported_fields
    columns: list[sql.Composable] = [sql.SQL("n integer")]
    columns += [sql.SQL("{} {}").format(sql.Identifier(f.name), sql.SQL(_PG_TYPES[f.kind])) for f in fields]
    columns += [sql.SQL("geom geometry"), sql.SQL("parent_id integer"), sql.SQL("target_id integer")]
    raw = conn.connection.driver_connection
    assert raw is not None
    with raw.cursor() as cur:
        cur.execute(sql.SQL("CREATE TEMP TABLE stage ({}) ON COMMIT DROP").format(sql.SQL(", ").join(columns)))
        names = sql.SQL(", ").join(sql.Identifier(n) for n in ["n", *(f.name for f in fields), "geom"])
        with cur.copy(sql.SQL("COPY stage ({}) FROM STDIN").format(names)) as copy:
            for row in rows:
                copy.write_row(row)
        cur.execute(sql.SQL("CREATE INDEX ON stage ({})").format(sql.Identifier(layer.key)))
        if layer.geometry:
            cur.execute("CREATE INDEX ON stage USING gist (geom)")
        cur.execute("ANALYZE stage")


def _repair(conn: Connection, layer: Layer, report: ImportReport) -> None:
    """Repair invalid geometries in the stage with ST_MakeValid (polygons kept); empty results are errors."""
    if not layer.geometry:
        return
    for n, code, empty in conn.execute(text(_REPAIR.format(key=layer.key))):
        if empty:
            report.add(n, code, "geometry", "error", "geometry is empty once repaired with ST_MakeValid")
        elif not any(i.n == n and i.severity == "repaired" for i in report.issues):
            report.add(n, code, "geometry", "repaired", "invalid geometry repaired with ST_MakeValid")


def _resolve_parent(conn: Connection, layer: Layer, report: ImportReport) -> None:
    """Fill ``stage.parent_id`` from the parent's code, else from location; report features left over."""
    if layer.parent is None:
        return
    code_field, parent_name = layer.parent
    parent = get_layer(parent_name)
    ident = {"parent": parent.table, "code_field": code_field}  # identifiers from the registry only
    conn.execute(text(_RESOLVE_BY_CODE.format(**ident)))
    if layer.geometry:
        conn.execute(text(_RESOLVE_BY_LOCATION.format(**ident)))
    only_named = "" if layer.geometry else f'AND "{code_field}" IS NOT NULL'
    singular = parent_name[:-1]
    for n, code, parent_code in conn.execute(text(_UNRESOLVED.format(key=layer.key, code_field=code_field,
                                                                       only_named=only_named))):
        if parent_code is not None:
            report.add(n, code, code_field, "error", f"{code_field} {parent_code!r} is not a known {singular}")
        else:
            report.add(n, code, code_field, "error", f"lies in no {singular}; give {code_field}")


def _check_spatial(conn: Connection, layer: Layer, report: ImportReport, deleted: list[int], strict: bool,
                   limits: IOLimits) -> None:
    """Parcel overlaps and buildings reaching outside their parcel, above the tolerances."""
    severity: Severity = "error" if strict else "warning"
    if layer.name == "parcels":
        tol = limits.overlap_tolerance_m2
        for n, code, other, area in conn.execute(text(_OVERLAPS_IN_FILE), {"tol": tol}):
            report.add(n, code, "geometry", severity, f"overlaps parcel {other} of the file by {area:.2f} m²")
        for n, code, other, area in conn.execute(text(_OVERLAPS_EXISTING), {"tol": tol, "deleted": deleted}):
            report.add(n, code, "geometry", severity, f"overlaps existing parcel {other} by {area:.2f} m²")
    if layer.name == "buildings":
        for n, code, parcel, area in conn.execute(text(_OUTSIDE_PARCEL), {"tol": limits.outside_tolerance_m2}):
            report.add(n, code, "geometry", severity, f"{area:.2f} m² lie outside its parcel {parcel}")


def _deleted(conn: Connection, layer: Layer) -> list[tuple[int, str]]:
    """Rows that ``replace`` deletes: the layer's rows in the towns the file covers that the file lacks."""
    if layer.name not in _TOWN_OF_ROW:
        return []
    rows = conn.execute(text(_DELETED.format(key=layer.key, table=layer.table, town_of_row=_TOWN_OF_ROW[layer.name],
                                             town_of_stage=_TOWN_OF_STAGE[layer.name])))
    return [(int(i), str(c)) for i, c in rows]


def _write(conn: Connection, layer: Layer, present: set[str], report: ImportReport, deleted: list[int]) -> None:
    """Update matched rows, insert new ones, move children of deleted rows, delete them."""
    target = _TARGETS[layer.name]
    fields = [f for f in layer.imported_fields if f.name in target.columns]
    insert_cols = [_q(target.columns[f.name]) for f in fields]
    insert_vals = [f"COALESCE(s.{_q(f.name)}, {target.defaults[target.columns[f.name]]})"
                   if target.columns[f.name] in target.defaults else f"s.{_q(f.name)}" for f in fields]
    sets = []
    for f in fields:
        if f.name not in present or f.name == layer.key:
            continue
        col = target.columns[f.name]
        sets.append(f"{_q(col)} = COALESCE(s.{_q(f.name)}, t.{_q(col)})" if col in target.defaults
                    else f"{_q(col)} = s.{_q(f.name)}")
    if target.parent_fk:
        insert_cols.append(target.parent_fk)
        insert_vals.append("s.parent_id")
        if layer.geometry or (layer.parent and layer.parent[0] in present):
            sets.append(f"{target.parent_fk} = s.parent_id")
    if layer.geometry:
        insert_cols.append("geom")
        insert_vals.append("s.geom")
        sets.append("geom = s.geom")
    if sets:
        updated = conn.execute(text(
            f"UPDATE {layer.table} t SET {', '.join(sets)} FROM stage s WHERE t.id = s.target_id"  # noqa: S608
        ))
        report.updated = int(updated.rowcount)
    inserted = conn.execute(text(
        f"INSERT INTO {layer.table} ({', '.join(insert_cols)}) "  # noqa: S608
        f"SELECT {', '.join(insert_vals)} FROM stage s WHERE s.target_id IS NULL ORDER BY s.n"
    ))
    report.inserted = int(inserted.rowcount)
    if not deleted:
        return
    if layer.name in _CHILDREN:
        child, fk = _CHILDREN[layer.name]
        moved = conn.execute(text(_REATTACH.format(child=child, fk=fk, table=layer.table)), {"deleted": deleted})
        report.moved_children = int(moved.rowcount)
        for child_code, parent_code in conn.execute(text(_STRANDED.format(child=child, fk=fk, table=layer.table)),
                                                    {"deleted": deleted}):
            report.add(None, None, "mode", "error",
                       f"{child[:-1]} {child_code} stands on {layer.name[:-1]} {parent_code}, which the file drops, "
                       f"and lies on no {layer.name[:-1]} that stays")
    if layer.name == "parcels":
        freed = conn.execute(text("UPDATE enterprises SET parcel_id = NULL WHERE parcel_id = ANY(CAST(:d AS int[]))"),
                             {"d": deleted})
        if freed.rowcount:
            report.add(None, None, "mode", "warning",
                       f"{freed.rowcount} enterprises were on dropped parcels and now have none")
    if report.errors:
        return
    gone = conn.execute(text(f"DELETE FROM {layer.table} WHERE id = ANY(CAST(:d AS int[]))"),  # noqa: S608
                        {"d": deleted})
    report.deleted = int(gone.rowcount)


def import_rows(conn: Connection, layer: Layer, rows: list[tuple[Any, ...]], *, mode: str = "append",
                present: set[str] | None = None, report: ImportReport | None = None, strict: bool = True,
                limits: IOLimits | None = None, hooks: ImportHooks | None = None) -> int:
    """Write prepared rows of ``layer`` inside the caller's transaction; returns the number inserted or updated.

    Raises ``ImportConflict`` (append mode, existing codes) or ``ImportRejected`` (other errors); the caller
    rolls back.
    """
    if mode not in MODES:
        raise InvalidParameter(f"mode must be one of {', '.join(MODES)}, not {mode!r}", field="mode")
    report = report or ImportReport(layer.name, mode, False, strict, "")
    limits = limits or get_limits()
    present = present if present is not None else {f.name for f in layer.imported_fields}
    _stage(conn, layer, rows)
    _repair(conn, layer, report)
    _resolve_parent(conn, layer, report)
    conn.execute(text(_MATCH.format(table=layer.table, key=layer.key)))
    if mode == "append":
        singular = layer.name[:-1]
        for n, code in conn.execute(text(
            f'SELECT n, "{layer.key}" FROM stage WHERE target_id IS NOT NULL ORDER BY n'  # noqa: S608
        )):
            report.add(n, code, layer.key, "error", f"a {singular} with code {code!r} already exists")
        conflicts = [i for i in report.errors if i.message.startswith(f"a {singular} with code")]
        if conflicts and len(conflicts) == len(report.errors):
            raise ImportConflict(report)
    if hooks is not None:
        hooks.check(conn, layer, mode)
    deleted_rows = _deleted(conn, layer) if mode == "replace" else []
    deleted = [i for i, _ in deleted_rows]
    if layer.geometry and not report.errors:
        _check_spatial(conn, layer, report, deleted, strict, limits)
    if report.errors:
        raise ImportRejected(report)
    _write(conn, layer, present, report, deleted)
    if report.errors:
        raise ImportRejected(report)
    if hooks is not None:
        hooks.done(conn, layer, report)
    return report.inserted + report.updated


def import_file(engine: Engine, path: Path, layer_name: str, *, crs: str | None = None, encoding: str | None = None,
                mode: str = "append", dry_run: bool = False, strict: bool = False,
                limits: IOLimits | None = None, hooks: ImportHooks | None = None) -> ImportReport:
    """Import ``path`` into ``layer_name`` in one transaction (all features or none) and report on it.

    ``strict`` refuses invalid geometry instead of repairing it, and makes warnings errors; ``dry_run``
    rolls everything back and reports what would change.
    """
    layer = get_layer(layer_name, tables=True)
    if not layer.importable:
        raise InvalidParameter(f"{layer.name} are made by the service, not imported", field="layer")
    if mode not in MODES:
        raise InvalidParameter(f"mode must be one of {', '.join(MODES)}, not {mode!r}", field="mode")
    srid = get_settings().srid
    report = ImportReport(layer.name, mode, dry_run, strict, path.name)
    with opened(path, layer.name, limits) as source:
        if not layer.geometry:
            if source.suffix.lower() != ".csv":
                raise InvalidFile(f"{layer.name} are imported from CSV, not {source.suffix or source.name}",
                                  field="file")
            frame: pd.DataFrame = read_table_csv(source, layer, encoding)
        else:
            frame = read_file(source, crs, encoding)
            report.crs = frame.crs.to_string() if frame.crs is not None else None
        report.encoding = frame.attrs.get("encoding")
        shortened = {f.shp_name: f.name for f in layer.fields if f.shp_name != f.name and f.name not in frame.columns}
        frame = frame.rename(columns={k: v for k, v in shortened.items() if k in frame.columns})
        present = {f.name for f in layer.imported_fields if f.name in frame.columns}
        rows = _prepare(layer, frame, srid, report, strict)
        del frame
    if report.errors:
        raise ImportRejected(report)
    try:
        with engine.connect() as conn:
            trans = conn.begin()
            try:
                import_rows(conn, layer, rows, mode=mode, present=present, report=report, strict=strict,
                            limits=limits, hooks=hooks)
            except BaseException:
                trans.rollback()
                raise
            if dry_run:
                trans.rollback()
            else:
                trans.commit()
                with conn.begin():
                    conn.execute(text(f"ANALYZE {layer.table}"))
    except OperationalError:
        raise  # the database is away (503), or a statement was cancelled: not the file's fault
    except IntegrityError as err:
        # Checked before writing, so only a concurrent writer or a reference from elsewhere gets here.
        state = getattr(err.orig, "sqlstate", None)
        if state == "23505":
            raise Conflict("another import or edit wrote the same codes meanwhile; nothing was written",
                           field="file") from err
        if state == "23503":
            raise Conflict("features to be replaced are still used elsewhere (e.g. by a joint development); "
                           "nothing was written", field="file") from err
        raise InvalidFile("the database refused a value of the file (a constraint failed); nothing was written",
                          field="file") from err
    except DBAPIError as err:
        raise InvalidFile("the database refused the import; nothing was written", field="file") from err
    return report

