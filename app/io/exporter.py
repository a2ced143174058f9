"""Export a layer with its interchange attributes: zipped shapefile, GeoPackage, GeoJSON, CSV or XLSX.

Rows come from PostGIS through a server-side cursor in batches and go straight to the writer (pyogrio
appends for the GDAL formats, ``csv`` and openpyxl's write-only mode otherwise), so a city-size layer
is never held in memory whole; a second thread fetches the next batch while one is written. Files are
written beside the target under a temporary name and renamed at the end, so a failed export never
leaves half a file. Planning figures (FAR, density, 亩均税收...) travel with parcels and blocks when the
planning engine provides them (``app.io.figures``).

Shapefiles: field names ≤ 10 characters from the registry, ``.cpg`` saying ``UTF-8`` (or ``CP936`` on
request), text cut at 254 bytes on a character boundary and reported, and an alias table
``<layer>_fields.csv`` inside the zip mapping each field to its Chinese label.

Reals carry the precision of their field in the registry (:class:`app.io.layers.Precision`: 0.01 m²,
0.0001 亩 and 容积率, money as recorded or in whole yuan): the DBF declares each real field with its width
and decimals (GDAL would write 24 characters with 15 decimals), XLSX cells hold the rounded value with a
matching number format under a frozen header row, and CSV values are rounded alike. GeoPackage and
GeoJSON keep the binary doubles.
"""

from __future__ import annotations

import csv
import queue
import shutil
import struct
import tempfile
import threading
import time
import zipfile
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyogrio.raw
import shapely
from sqlalchemy import Engine, text

from app.db import schema, streaming
from app.errors import InvalidParameter, NotFound
from app.io import crs as crsmod
from app.io.figures import FigureSource, figure_source
from app.io.formats import EXPORT_FORMATS, ExportFormat
from app.io.layers import M2, Field, Kind, Layer, Precision, get_layer
from app.planning.config import PlanningRules
from app.planning.lists import half_up, number_cells

BATCH_ROWS = 10_000
SHP_TEXT_BYTES = 254
SHP_ENCODINGS = {"utf-8": "UTF-8", "utf8": "UTF-8", "gbk": "CP936", "cp936": "CP936", "gb2312": "CP936"}
AREA_FIELD = Field("area_m2", "面积(m²)", "float", description="planar area in the storage CRS", precision=M2)

Progress = Callable[[int, int], None]

# {select}, {from_sql}, {joins}, {where}, {order}: SQL from the registry; values bound (psycopg style).
_EXPORT_SQL = "SELECT {select} FROM {from_sql}{joins} WHERE {where} ORDER BY {order}"
_COUNT_SQL = "SELECT count(*) FROM {from_sql} WHERE {where}"


@dataclass(frozen=True)
class ExportFilter:
    """Which features to export: by town code, block code, block status, or a bbox (in ``bbox_crs``).

    ``bbox_crs_param`` is how the caller spells the bbox CRS parameter in messages (``bbox-crs`` in the API,
    ``--bbox-crs`` on the command line).
    """

    town: str | None = None
    block: str | None = None
    status: str | None = None
    bbox: str | None = None
    bbox_crs: str | None = None
    bbox_crs_param: str = "bbox-crs"


@dataclass
class Truncation:
    """A text value cut to fit a shapefile field (254 bytes), on a character boundary."""

    code: str
    field: str
    bytes_before: int
    kept: str


@dataclass
class ExportResult:
    """What an export wrote."""

    count: int
    path: Path
    fmt: str
    crs: str
    encoding: str | None = None
    truncated: list[Truncation] = field(default_factory=list)


@dataclass
class _Query:
    """The export statement (psycopg parameters), its count statement and the output columns."""

    sql: str
    count_sql: str
    params: dict[str, Any]
    columns: list[Field]
    geometry: str | None  # "wkb", "wkt" or None
    prelude: str | None = None  # run first on the fetching connection (materialised planning figures)
    prelude_params: dict[str, Any] | None = None


def export_format(fmt: str) -> ExportFormat:
    """The export format called ``fmt``, or an error listing them."""
    try:
        return EXPORT_FORMATS[fmt.lower()]
    except KeyError:
        raise InvalidParameter(f"unknown format {fmt!r}; use one of {', '.join(EXPORT_FORMATS)}",
                               zh=f"未知的格式 {fmt!r}；请使用 {'、'.join(EXPORT_FORMATS)} 之一",
                               field="format") from None


def _where(layer: Layer, flt: ExportFilter, storage_srid: int) -> tuple[str, dict[str, Any]]:
    """The WHERE clause of an export (psycopg placeholders) from the filter."""
    parts: list[str] = []
    params: dict[str, Any] = {}
    for scope, value in (("town", flt.town), ("block", flt.block), ("status", flt.status)):
        if value is None:
            continue
        if scope not in layer.scopes:
            raise InvalidParameter(f"{layer.name} cannot be filtered by {scope}",
                                   zh=f"{layer.name} 不能按 {scope} 筛选", field=scope)
        if scope == "status":
            choices = get_layer("blocks").field("status").choices or ()
            if value not in choices:
                raise InvalidParameter(f"status must be one of {', '.join(choices)}",
                                       zh=f"status 应为 {'、'.join(choices)} 之一", field="status")
        parts.append(f"{layer.scopes[scope]} = %({scope})s")
        params[scope] = value
    if flt.bbox:
        bbox_crs = crsmod.parse_ogc_crs(flt.bbox_crs, storage_srid, flt.bbox_crs_param)
        area = crsmod.bbox_to_storage(crsmod.parse_bbox(flt.bbox), bbox_crs, storage_srid,
                                      crs_param=flt.bbox_crs_param)
        if not layer.geometry:
            raise InvalidParameter(f"{layer.name} has no geometry to filter by bbox",
                                   zh=f"{layer.name} 没有几何，不能按 bbox 筛选", field="bbox")
        params["bbox"] = shapely.to_wkb(shapely.set_srid(area, storage_srid), include_srid=True)
        parts.append(f"{layer.geom_sql} && ST_GeomFromEWKB(%(bbox)s) "
                     f"AND ST_Intersects({layer.geom_sql}, ST_GeomFromEWKB(%(bbox)s))")
    return (" AND ".join(parts) or "TRUE"), params


def build_query(layer: Layer, flt: ExportFilter, out_srid: int, storage_srid: int, geometry: str | None,
                area: bool = False, source: FigureSource | None = None) -> _Query:
    """The export statement for ``layer``: interchange fields, planning figures, and geometry as WKB or WKT."""
    columns = list(layer.fields) + (list(source.fields) if source else [])
    if area and layer.geometry:
        columns.append(Field(AREA_FIELD.name, AREA_FIELD.label_zh, "float", expr=f"ST_Area({layer.geom_sql})",
                             description=AREA_FIELD.description, precision=AREA_FIELD.precision))
    select = [f.sql(layer.alias) for f in columns]
    geom = layer.geom_sql
    if out_srid != storage_srid:
        geom = f"ST_Transform({geom}, {int(out_srid)})"
    if geometry == "wkb" and layer.geometry:
        select.append(f"ST_AsBinary({geom})")
    elif geometry == "wkt" and layer.geometry:
        select.append(f"ST_AsText({geom})")
    else:
        geometry = None
    joins = f" LEFT JOIN {source.table} fig ON fig.{source.key} = {layer.id_sql}" if source else ""
    where, params = _where(layer, flt, storage_srid)
    sql = _EXPORT_SQL.format(select=", ".join(select), from_sql=layer.from_sql, joins=joins, where=where,
                             order=layer.id_sql)
    return _Query(sql, _COUNT_SQL.format(from_sql=layer.from_sql, where=where), params, columns, geometry,
                  source.prelude if source else None, source.params if source else None)


def _check_scope_exists(engine: Engine, flt: ExportFilter) -> None:
    """A town or block filter naming no town or block is a 404, not an empty file."""
    checks = (("town", flt.town, "SELECT 1 FROM towns WHERE code = :v"),
              ("block", flt.block, "SELECT 1 FROM blocks WHERE code = :v"))
    with engine.connect() as conn:
        for name, value, sql in checks:
            if value is not None and conn.execute(text(sql), {"v": value}).first() is None:
                raise NotFound(f"no {name} with code {value!r}",
                               zh=f"没有编号为 {value!r} 的{'镇街' if name == 'town' else '区块'}", field=name)


def _count(engine: Engine, query: _Query) -> int:
    """How many features the export will write (same WHERE, index-assisted)."""
    with engine.connect() as conn:
        found = conn.exec_driver_sql(query.count_sql, query.params).scalar()
        conn.rollback()
    return int(found or 0)


def _batches(engine: Engine, query: _Query, batch_rows: int) -> Iterator[list[tuple[Any, ...]]]:
    """Rows in batches from a server-side cursor, the next batch fetched while the caller works."""
    buf: queue.Queue[list[tuple[Any, ...]] | BaseException | None] = queue.Queue(maxsize=2)
    stop = threading.Event()

    def produce() -> None:
        try:
            with engine.connect() as conn:
                if query.prelude:
                    conn.exec_driver_sql(query.prelude, query.prelude_params)
                    conn.exec_driver_sql("ANALYZE export_fig")
                for rows in streaming.batches(conn, query.sql, query.params, batch_rows, name="renewal_export"):
                    if stop.is_set():
                        break
                    buf.put(rows)
                conn.rollback()
            buf.put(None)
        except BaseException as err:  # handed to the consumer, which re-raises it
            buf.put(err)

    worker = threading.Thread(target=produce, name="export-fetch", daemon=True)
    worker.start()
    try:
        while True:
            item = buf.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while worker.is_alive():  # unblock a producer waiting on a full queue
            try:
                buf.get_nowait()
            except queue.Empty:
                worker.join(timeout=0.05)


def _column(kind: Kind, values: tuple[Any, ...]) -> tuple[np.ndarray, np.ndarray | None]:
    """A numpy column for pyogrio and its null mask (None when there are no nulls or NaN marks them)."""
    if kind == "float":
        return np.array(values, dtype=np.float64), None
    if kind in ("int", "bool"):
        mask = np.fromiter((v is None for v in values), dtype=bool, count=len(values))
        dtype = np.int64 if kind == "int" else np.bool_
        filled: np.ndarray = np.array([0 if v is None else v for v in values], dtype=dtype)
        return filled, (mask if mask.any() else None)
    return np.array(values, dtype=object), None


def _truncate(values: np.ndarray, encoding: str, codes: np.ndarray, name: str, report: list[Truncation]) -> None:
    """Cut text values longer than 254 bytes in ``encoding`` on a character boundary, in place, and report them."""
    py_enc = "utf-8" if encoding == "UTF-8" else "gbk"
    short = SHP_TEXT_BYTES // 4  # at most 4 bytes a character: shorter strings always fit
    for i in [i for i, v in enumerate(values.tolist()) if v is not None and len(v) > short]:
        raw = values[i].encode(py_enc, errors="replace")
        if len(raw) <= SHP_TEXT_BYTES:
            continue
        kept = raw[:SHP_TEXT_BYTES].decode(py_enc, errors="ignore")
        values[i] = kept
        report.append(Truncation(str(codes[i]), name, len(raw), kept))


def _write_ogr(batches: Iterator[list[tuple[Any, ...]]], query: _Query, path: Path, fmt: ExportFormat,
               layer: Layer, crs_text: str, encoding: str | None, progress: Progress | None, total: int,
               report: list[Truncation]) -> int:
    """Append batches to a GDAL dataset (shapefile, GeoPackage, GeoJSON); returns the feature count."""
    names = [f.shp_name if fmt.name == "shp" else f.name for f in query.columns]
    kinds = [f.kind for f in query.columns]
    text_cols = [i for i, k in enumerate(kinds) if k in ("str", "date")]
    n = 0
    first = True
    for rows in batches:
        cols = list(zip(*rows, strict=True))
        data: list[np.ndarray] = []
        masks: list[np.ndarray | None] = []
        for kind, values in zip(kinds, cols[: len(kinds)], strict=True):
            arr, mask = _column(kind, values)
            data.append(arr)
            masks.append(mask)
        if encoding is not None:  # shapefile: fit text into 254 bytes
            for i in text_cols:
                _truncate(data[i], encoding, data[0], names[i], report)
        geometry = np.array(cols[-1], dtype=object)
        _write_batch(path, fmt, layer, geometry, data, masks, names, crs_text, encoding, append=not first)
        first = False
        n += len(rows)
        if progress:
            progress(n, total)
    if first:  # no feature: still a valid, empty file
        empty = [np.array([], dtype=object if k in ("str", "date") else np.float64 if k == "float"
                          else np.int64 if k == "int" else np.bool_) for k in kinds]
        _write_batch(path, fmt, layer, np.array([], dtype=object), empty, [None] * len(kinds), names, crs_text,
                     encoding, append=False)
    return n


def _write_batch(path: Path, fmt: ExportFormat, layer: Layer, geometry: np.ndarray, data: list[np.ndarray],
                 masks: list[np.ndarray | None], names: list[str], crs_text: str, encoding: str | None,
                 append: bool) -> None:
    """Write or append one batch with pyogrio."""
    options: dict[str, Any] = {}
    if fmt.driver == "GPKG":
        options["layer"] = layer.name
    if fmt.driver == "ESRI Shapefile":
        options["encoding"] = encoding
    field_mask = masks if any(m is not None for m in masks) else None
    pyogrio.raw.write(str(path), geometry=geometry, field_data=data, fields=names, field_mask=field_mask,
                      driver=fmt.driver, geometry_type=layer.geometry_type, crs=crs_text, append=append,
                      **options)


_DBF_NUMERIC = frozenset(b"NF")
_DBF_CHUNK_ROWS = 50_000


@dataclass(frozen=True)
class _DbfField:
    """A field descriptor of a DBF header: its offset in the header, name, type, width and decimals."""

    at: int
    name: str
    type: int
    width: int
    decimals: int


def _dbf_fields(header: bytes) -> list[_DbfField]:
    """The field descriptors of a DBF header (32 bytes each after the first 32, up to the 0x0D terminator)."""
    out = []
    at = 32
    while at + 32 <= len(header) and header[at] != 0x0D:
        name = header[at:at + 11].split(b"\0", 1)[0].decode("ascii", "replace")
        out.append(_DbfField(at, name, header[at + 11], header[at + 16], header[at + 17]))
        at += 32
    return out


def _parse_reals(column: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """DBF numeric text (fixed width) as floats, and the mask of nulls (blank or ``*``-filled)."""
    null = (column == b"") | np.char.isspace(column) | (np.strings.find(column, b"*") >= 0)
    return np.where(null, b"0", column).astype(np.float64), null


def _real_widths(dbf: Path, dtype: np.dtype, header_len: int, count: int,
                 targets: dict[int, tuple[_DbfField, Precision]]) -> dict[int, int]:
    """Per target field, the width its values need at the registry's decimals (at least the registry's width):
    the longest integer part as written (sign included), one more digit for a carry of the rounding, and
    the decimals."""
    widths = {i: precision.width for i, (_, precision) in targets.items()}
    for start in range(0, count, _DBF_CHUNK_ROWS):
        records = np.fromfile(dbf, dtype=dtype, count=min(_DBF_CHUNK_ROWS, count - start),
                              offset=header_len + start * dtype.itemsize)
        for i, (f, precision) in targets.items():
            stripped = np.char.strip(records[f"f{i}"])
            written = stripped[(stripped != b"") & ~np.char.startswith(stripped, b"*")]
            if written.size:
                integer = int(np.strings.str_len(written).max()) - (f.decimals + 1 if f.decimals else 0)
                needed = integer + 1 + (precision.decimals + 1 if precision.decimals else 0)
                widths[i] = max(widths[i], needed)
    return widths


def _formatted(values: np.ndarray, width: int, decimals: int) -> np.ndarray:
    """Reals as fixed-width DBF text, ``width`` characters each (one ``%`` over the whole chunk: fast)."""
    text = ((f"%{width}.{decimals}f" * len(values)) % tuple(values.tolist())).encode("ascii")
    if len(text) != width * len(values):
        raise ValueError("a value is wider than its DBF field")
    return np.frombuffer(text, dtype=f"S{width}")


def narrow_dbf_reals(dbf: Path, precisions: dict[str, Precision]) -> None:
    """Rewrite the real fields of a DBF named in ``precisions`` with their width and decimals, in place.

    GDAL declares every real 24 characters wide with 15 decimals; each such field named here is declared
    with the registry's decimals and the width its values need (at least the registry's), and its values
    are rounded to them. Other fields, nulls and the header's other bytes are kept. The file is streamed
    in chunks and replaced when complete.
    """
    with dbf.open("rb") as fh:
        head = fh.read(32)
        count = struct.unpack_from("<I", head, 4)[0]
        header_len, record_len = struct.unpack_from("<HH", head, 8)
        fh.seek(0)
        header = bytearray(fh.read(header_len))
    fields = _dbf_fields(bytes(header))
    old = np.dtype([("deleted", "S1"), *((f"f{i}", f"S{f.width}") for i, f in enumerate(fields))])
    if old.itemsize != record_len:
        raise ValueError(f"{dbf.name}: the field widths do not add up to the record length")
    targets = {i: (f, precisions[f.name]) for i, f in enumerate(fields)
               if f.type in _DBF_NUMERIC and f.name in precisions}
    if not targets:
        return
    widths = _real_widths(dbf, old, header_len, count, targets)
    new = np.dtype([("deleted", "S1"), *((f"f{i}", f"S{widths.get(i, f.width)}") for i, f in enumerate(fields))])
    struct.pack_into("<H", header, 10, new.itemsize)
    offset = 1
    for i, f in enumerate(fields):
        if i in targets:
            header[f.at + 16] = widths[i]
            header[f.at + 17] = targets[i][1].decimals
        if any(header[f.at + 12:f.at + 16]):  # writers that record each field's offset in the record
            struct.pack_into("<I", header, f.at + 12, offset)
        offset += widths.get(i, f.width)
    part = dbf.with_name(dbf.name + ".part")
    with part.open("wb") as out:
        out.write(header)
        for start in range(0, count, _DBF_CHUNK_ROWS):
            records = np.fromfile(dbf, dtype=old, count=min(_DBF_CHUNK_ROWS, count - start),
                                  offset=header_len + start * old.itemsize)
            rewritten = np.empty(len(records), dtype=new)
            for name in old.names or ():
                rewritten[name] = records[name]
            for i, (_, precision) in targets.items():
                width = widths[i]
                values, null = _parse_reals(records[f"f{i}"])
                text = _formatted(_half_up(values, precision.decimals), width, precision.decimals)
                rewritten[f"f{i}"] = np.where(null, b"*" * width, text)
            out.write(rewritten.tobytes())
        out.write(b"\x1a")
    part.replace(dbf)


def _alias_table(path: Path, columns: list[Field]) -> None:
    """The alias table shipped with a shapefile: field in the file, interchange name, Chinese label, type."""
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["field", "name", "alias", "type", "note"])
        for f in columns:
            w.writerow([f.shp_name, f.name, f.label_zh, f.kind, f.description])


def _truncation_report(path: Path, report: list[Truncation]) -> None:
    """The list of text values cut to 254 bytes (UTF-8 with BOM)."""
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["code", "field", "bytes_before", "kept"])
        for t in report:
            w.writerow([t.code, t.field, t.bytes_before, t.kept])


def _deflate(src: Path, dst: Path) -> tuple[int, int, int]:
    """Raw-deflate ``src`` into ``dst`` (level 1: fast); returns (crc32, size, compressed size)."""
    comp = zlib.compressobj(1, zlib.DEFLATED, -15)
    crc = size = 0
    with src.open("rb") as fi, dst.open("wb") as fo:
        while chunk := fi.read(1 << 20):
            crc = zlib.crc32(chunk, crc)
            size += len(chunk)
            fo.write(comp.compress(chunk))
        fo.write(comp.flush())
    return crc, size, dst.stat().st_size


def zip_files(members: list[Path], out: Path) -> None:
    """Zip ``members`` (flat, UTF-8 names) into ``out``, compressing them in parallel threads.

    zlib releases the GIL, so the .shp and .dbf of a large shapefile compress at the same time. Archives
    that would need ZIP64 (a member over 2 GiB) are written by ``zipfile`` instead.
    """
    if any(m.stat().st_size > 2**31 for m in members):
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1, allowZip64=True) as zf:
            for m in members:
                zf.write(m, m.name)
        return
    parts = [m.with_name(m.name + ".deflate") for m in members]
    with ThreadPoolExecutor(max_workers=2) as pool:
        sums = list(pool.map(_deflate, members, parts))
    now = time.localtime()
    dos_time = (now.tm_hour << 11) | (now.tm_min << 5) | (now.tm_sec // 2)
    dos_date = ((now.tm_year - 1980) << 9) | (now.tm_mon << 5) | now.tm_mday
    central = b""
    with out.open("wb") as fo:
        for member, part, (crc, size, csize) in zip(members, parts, sums, strict=True):
            name = member.name.encode()
            offset = fo.tell()
            fo.write(struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0x800, 8, dos_time, dos_date, crc, csize, size,
                                 len(name), 0) + name)
            with part.open("rb") as fi:
                shutil.copyfileobj(fi, fo, 1 << 20)
            part.unlink()
            central += struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0x800, 8, dos_time, dos_date, crc, csize,
                                   size, len(name), 0, 0, 0, 0, 0o100644 << 16, offset) + name
        start = fo.tell()
        fo.write(central)
        fo.write(struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(members), len(members), len(central), start, 0))


def _rounding(columns: list[Field]) -> list[tuple[int, int]]:
    """(column index, decimals) of the reals that have a precision in the registry."""
    return [(i, f.precision.decimals) for i, f in enumerate(columns) if f.kind == "float" and f.precision]


def _rounded(rows: list[tuple[Any, ...]], rounding: list[tuple[int, int]]) -> Iterator[list[Any]]:
    """Rows with their reals rounded to their field's decimals, halves away from zero (``rounding`` from
    :func:`_rounding`)."""
    for row in rows:
        values = list(row)
        for i, decimals in rounding:
            if values[i] is not None:
                values[i] = half_up(values[i], decimals)
        yield values


def _half_up(values: np.ndarray, decimals: int) -> np.ndarray:
    """:func:`app.planning.lists.half_up` over an array."""
    scale = 10.0 ** decimals
    return np.copysign(np.floor(np.abs(values) * scale + 0.5), values) / scale + 0.0


def _write_csv(batches: Iterator[list[tuple[Any, ...]]], query: _Query, path: Path, progress: Progress | None,
               total: int) -> int:
    """CSV in UTF-8 with BOM (Excel shows Chinese); geometry as a WKT column, which GDAL reads back."""
    n = 0
    rounding = _rounding(query.columns)
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh)
        header = [f.name for f in query.columns] + (["WKT"] if query.geometry else [])
        w.writerow(header)
        for rows in batches:
            w.writerows(_rounded(rows, rounding))
            n += len(rows)
            if progress:
                progress(n, total)
    return n


def _write_xlsx(batches: Iterator[list[tuple[Any, ...]]], query: _Query, layer: Layer, path: Path,
                progress: Progress | None, total: int) -> int:
    """An Excel workbook: one sheet of features with Chinese column labels (frozen) and reals rounded to their
    field's decimals with a matching number format, one sheet describing the fields."""
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(layer.label_zh[:31])
    ws.freeze_panes = "A2"
    ws.append([f.label_zh for f in query.columns])
    cells = number_cells(ws, [f.precision.excel_format if f.kind == "float" and f.precision else None
                              for f in query.columns])
    rounding = _rounding(query.columns)
    n = 0
    for rows in batches:
        for row in _rounded(rows, rounding):
            ws.append(cells(row))
        n += len(rows)
        if progress:
            progress(n, total)
    info = wb.create_sheet("字段说明")
    info.append(["序号", "列名", "字段", "类型", "说明"])  # a number column lets GDAL see the header row
    for i, f in enumerate(query.columns, 1):
        info.append([i, f.label_zh, f.name, f.kind, f.description])
    wb.save(path)
    return n


def export(engine: Engine, layer_name: str, out: Path, *, rules: PlanningRules, fmt: str = "gpkg",
           crs: str | None = None, flt: ExportFilter | None = None, encoding: str = "utf-8", geometry: str = "wkt",
           figures: bool = True, progress: Progress | None = None, batch_rows: int = BATCH_ROWS) -> ExportResult:
    """Write ``layer_name`` to ``out`` in ``fmt``; storage CRS unless ``crs`` is given; nothing left on failure.

    ``encoding`` applies to shapefiles (``utf-8`` or ``gbk``/``cp936``); ``geometry`` to CSV (``wkt`` or
    ``none``). Enterprises (no geometry) export to CSV and XLSX. ``figures`` adds the planning figures
    under ``rules`` to parcels and blocks.
    """
    export_fmt = export_format(fmt)
    layer = get_layer(layer_name, tables=export_fmt.name in ("csv", "xlsx"))
    flt = flt or ExportFilter()
    shp_encoding: str | None = None
    if export_fmt.name == "shp":
        shp_encoding = SHP_ENCODINGS.get(encoding.lower())
        if shp_encoding is None:
            raise InvalidParameter(f"shapefile encoding must be utf-8 or gbk, not {encoding!r}",
                                   zh=f"shapefile 编码应为 utf-8 或 gbk，而不是 {encoding!r}", field="encoding")
    if geometry not in ("wkt", "none"):
        raise InvalidParameter("geometry must be wkt or none",
                               zh="geometry 应为 wkt 或 none", field="geometry")
    with engine.connect() as conn:
        storage_srid = schema.storage_srid(conn)  # the CRS the migrations created the layers in
    out_srid = crsmod.epsg_of(crsmod.parse_any_crs(crs)) if crs else storage_srid
    if export_fmt.name == "csv":
        geom_mode: str | None = "wkt" if geometry == "wkt" else None
    elif export_fmt.name == "xlsx":
        geom_mode = None
    else:
        geom_mode = "wkb"
    source = (figure_source(layer.name, engine.dialect, rules=rules, town=flt.town, block=flt.block)
              if figures else None)
    query = build_query(layer, flt, out_srid, storage_srid, geom_mode, area=export_fmt.name == "xlsx",
                        source=source)
    _check_scope_exists(engine, flt)
    total = _count(engine, query) if progress else 0
    if progress:
        progress(0, total)

    out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    report: list[Truncation] = []
    crs_text = f"EPSG:{out_srid}"
    try:
        batches = _batches(engine, query, batch_rows)
        if export_fmt.name == "shp":
            shp = work / f"{layer.name}.shp"
            n = _write_ogr(batches, query, shp, export_fmt, layer, crs_text, shp_encoding, progress, total, report)
            narrow_dbf_reals(shp.with_suffix(".dbf"), {f.shp_name: f.precision for f in query.columns
                                                       if f.kind == "float" and f.precision})
            _alias_table(work / f"{layer.name}_fields.csv", query.columns)
            if report:
                _truncation_report(work / f"{layer.name}_truncated.csv", report)
            part = work / "out.zip"
            members = [work / f"{layer.name}{suffix}" for suffix in
                       (".shp", ".shx", ".dbf", ".prj", ".cpg", "_fields.csv", "_truncated.csv")]
            zip_files([m for m in members if m.exists()], part)
        elif export_fmt.driver is not None:
            part = work / f"{layer.name}{export_fmt.suffix}"
            n = _write_ogr(batches, query, part, export_fmt, layer, crs_text, None, progress, total, report)
        elif export_fmt.name == "csv":
            part = work / "out.csv"
            n = _write_csv(batches, query, part, progress, total)
        else:
            part = work / "out.xlsx"
            n = _write_xlsx(batches, query, layer, part, progress, total)
        part.replace(out)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return ExportResult(n, out, export_fmt.name, crs_text, shp_encoding, report)


def export_layer(engine: Engine, layer_name: str, out: Path, *, rules: PlanningRules, fmt: str = "gpkg",
                 crs: str | None = None, **kwargs: Any) -> int:
    """Write ``layer_name`` to ``out`` (see ``export``); returns the number of features written."""
    return export(engine, layer_name, out, rules=rules, fmt=fmt, crs=crs, **kwargs).count
