"""Reading an import's source: unpacking a zip safely, finding the dataset in it, reading it into a frame.

Sources: zipped shapefile (checked by ``safety.safe_extract``), a bare shapefile, GeoPackage, GeoJSON, and
CSV (enterprises; or any layer with a WKT column and ``crs``). The CRS comes from the file or ``crs``;
shapefiles without ``.cpg`` are read as UTF-8 when their text decodes as such, else as GBK (CP936),
unless ``encoding`` says otherwise. Nothing here touches the database.

Messages name a file by its own name, never by where the server keeps it (:func:`own_names`), and a
parameter as the caller spells it (``crs_param``: ``--crs`` on the command line, ``crs`` in the API).
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pyogrio
from pyproj import CRS
from pyproj.exceptions import CRSError

from app.errors import InvalidFile, InvalidParameter, RenewalError
from app.io.crs import param_hint
from app.io.import_report import ImportReport
from app.io.layers import Layer
from app.io.safety import IOLimits, is_zip, safe_extract

_ENCODINGS = {"utf-8": "UTF-8", "utf8": "UTF-8", "gbk": "CP936", "cp936": "CP936", "gb2312": "CP936",
              "gb18030": "GB18030"}
_READABLE = (".shp", ".gpkg", ".geojson", ".json", ".csv")
_KINDS = "a zipped shapefile (.zip holding .shp, .shx, .dbf, .prj), a GeoPackage (.gpkg), GeoJSON (.geojson) or CSV"
_PATH = re.compile(r"(?<![\w.:/])/(?:[^\s'\"/<>]*/)+([^\s'\"/<>]+)")
"""An absolute path in a message (also GDAL's /vsizip/…): only its last part is kept."""


def own_names(message: str) -> str:
    """``message`` with every absolute path cut to its file's own name (``/tmp/renewal-upload-x/a.txt`` → ``a.txt``)."""
    return _PATH.sub(r"\1", message)


def without_paths(err: RenewalError) -> RenewalError:
    """``err`` with its message naming files by their own names only (see :func:`own_names`)."""
    detail = own_names(err.detail)
    if detail != err.detail:
        err.detail = detail
        err.args = (detail,)
    return err


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
                              f"keep one, or name it {layer_name}.shp",
                              zh=f"压缩包里有 {len(shps)} 个 shapefile（{'、'.join(f.name for f in shps)}），请只保留"
                                 f"一个，或命名为 {layer_name}.shp", field="file")
        shps = named
    if shps:
        shp = shps[0]
        siblings = {f.suffix.lower(): f for f in files if f.parent == shp.parent and f.stem == shp.stem}
        if ".dbf" not in siblings:
            raise InvalidFile(f"the zip has {shp.name} but no {shp.stem}.dbf (the attributes); refused",
                              zh=f"压缩包里有 {shp.name} 但没有 {shp.stem}.dbf（属性），不予导入", field="file")
        return shp
    if any(f.suffix.lower() == ".dbf" for f in files):
        raise InvalidFile("the zip has a .dbf but no .shp (the geometry); refused",
                          zh="压缩包里有 .dbf 但没有 .shp（几何），不予导入", field="file")
    others = [f for f in files if f.suffix.lower() in _READABLE[1:]]
    if len(others) == 1:
        return others[0]
    raise InvalidFile("the zip holds no shapefile (.shp with .dbf), GeoPackage, GeoJSON or CSV",
                      zh="压缩包里没有 shapefile（.shp 和 .dbf）、GeoPackage、GeoJSON 或 CSV", field="file")


@contextmanager
def opened(path: Path, layer_name: str, *, limits: IOLimits) -> Iterator[Path]:
    """The readable dataset behind ``path``: a zip is unpacked safely into a temporary folder first."""
    if not path.exists():
        raise InvalidFile(f"{path.name} does not exist",
                          zh=f"{path.name} 不存在", field="file")
    zipped = is_zip(path)
    if path.suffix.lower() == ".zip" and not zipped:
        raise InvalidFile(f"{path.name} is not a zip archive",
                          zh=f"{path.name} 不是 zip 压缩包", field="file")
    if not zipped:
        yield path
        return
    work = Path(tempfile.mkdtemp(prefix="renewal-import-"))
    try:
        files = safe_extract(path, work, limits=limits)
        yield _find_source(files, layer_name)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _shapefile_encoding(shp: Path, encoding: str | None) -> str | None:
    """The encoding to read a shapefile with: the given one, its .cpg's (GDAL reads it), or detected."""
    if encoding:
        enc = _ENCODINGS.get(encoding.lower())
        if enc is None:
            raise InvalidParameter(f"encoding must be utf-8 or gbk, not {encoding!r}",
                                   zh=f"编码应为 utf-8 或 gbk，而不是 {encoding!r}", field="encoding")
        return enc
    if any(shp.with_suffix(s).exists() for s in (".cpg", ".CPG")):
        return None
    dbf = next((shp.with_suffix(s) for s in (".dbf", ".DBF") if shp.with_suffix(s).exists()), None)
    return dbf_encoding(dbf) if dbf else None


def read_file(path: Path, crs: str | None = None, encoding: str | None = None, *,
              crs_param: str = "--crs") -> gpd.GeoDataFrame:
    """Read a vector dataset with pyogrio; the CRS comes from ``crs`` if given, else from the file (a file
    without one is refused with a hint naming ``crs_param``)."""
    if path.suffix.lower() not in _READABLE:
        raise InvalidFile(f"{path.name} is not a file the import reads: give {_KINDS}",
                          zh=f"{path.name} 不是可导入的文件，请提供 {_KINDS}", field="file")
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
        why = own_names(str(err)).split("; It might help", 1)[0]  # GDAL's hint on driver prefixes is not for users
        raise InvalidFile(f"cannot read {path.name}: {why}",
                          zh=f"无法读取 {path.name}：{why}", field="file") from err
    finally:
        if restore_shx:
            pyogrio.set_gdal_config_options({"SHAPE_RESTORE_SHX": None})
    if not isinstance(gdf, gpd.GeoDataFrame) or gdf.geometry.name not in gdf.columns:
        raise InvalidFile(f"{path.name} has no geometry column",
                          zh=f"{path.name} 没有几何字段", field="file")
    gdf.attrs["encoding"] = options.get("encoding")
    if crs:
        try:
            gdf = gdf.set_crs(CRS.from_user_input(crs), allow_override=True)
        except CRSError as err:
            raise InvalidParameter(f"unknown CRS {crs!r}: {err}",
                                   zh=f"未知的坐标系 {crs!r}：{err}", field="crs") from err
    elif gdf.crs is None:
        raise InvalidFile(f"{path.name} declares no CRS; give one with {param_hint(crs_param, 'EPSG:4549')} "
                          "(its EPSG code)",
                          zh=f"{path.name} 未声明坐标系，请用 {param_hint(crs_param, 'EPSG:4549')} 指定（EPSG 代码）",
                          field="crs")
    return gdf


def read_table_csv(path: Path, layer: Layer, encoding: str | None = None) -> pd.DataFrame:
    """A CSV without geometry (enterprises): UTF-8 (with or without BOM) or GBK; headers as names or labels."""
    data = path.read_bytes()
    if encoding:
        enc = _ENCODINGS.get(encoding.lower())
        if enc is None:
            raise InvalidParameter(f"encoding must be utf-8 or gbk, not {encoding!r}",
                                   zh=f"编码应为 utf-8 或 gbk，而不是 {encoding!r}", field="encoding")
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
        raise InvalidFile(f"cannot read {path.name} as CSV: {own_names(str(err))}",
                          zh=f"无法按 CSV 读取 {path.name}：{own_names(str(err))}", field="file") from err
    if not rows:
        raise InvalidFile(f"{path.name} is empty",
                          zh=f"{path.name} 是空文件", field="file")
    by_label = {f.label_zh: f.name for f in layer.fields}
    header = [by_label.get(h.strip(), h.strip()) for h in rows[0]]
    body = [r + [""] * (len(header) - len(r)) for r in rows[1:] if any(c.strip() for c in r)]
    df = pd.DataFrame([r[: len(header)] for r in body], columns=header, dtype=object)
    df.attrs["encoding"] = "GBK" if py_enc == "gb18030" else "UTF-8"
    return df


def read_layer(source: Path, layer: Layer, report: ImportReport, *, crs: str | None = None,
               encoding: str | None = None, crs_param: str = "--crs") -> pd.DataFrame:
    """The features of ``source`` for ``layer``, columns under their interchange names (shapefile names of
    more than 10 characters restored); the CRS and encoding read go into ``report``. ``crs_param`` is how the
    caller spells the CRS parameter in messages."""
    if not layer.geometry:
        if source.suffix.lower() != ".csv":
            raise InvalidFile(f"{layer.name} are imported from CSV, not {source.suffix or source.name}",
                              zh=f"{layer.name} 从 CSV 导入，而不是 {source.suffix or source.name}",
                              field="file")
        frame: pd.DataFrame = read_table_csv(source, layer, encoding)
    else:
        frame = read_file(source, crs, encoding, crs_param=crs_param)
        report.crs = frame.crs.to_string() if frame.crs is not None else None
    report.encoding = frame.attrs.get("encoding")
    shortened = {f.shp_name: f.name for f in layer.fields if f.shp_name != f.name and f.name not in frame.columns}
    return frame.rename(columns={k: v for k, v in shortened.items() if k in frame.columns})
