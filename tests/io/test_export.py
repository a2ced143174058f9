"""Exports in every format read back through pyogrio/GDAL: same features, attributes (Chinese), CRS, areas."""

from __future__ import annotations

import csv
import datetime as dt
import math
import numbers
import re
import subprocess
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import pyogrio
import pytest
import shapely
from sqlalchemy import text

from app.errors import InvalidParameter, NotFound
from app.io import exporter
from tests import handmade
from tests.io.conftest import RULES

LAYERS = ("towns", "blocks", "parcels", "buildings")
FORMATS = ("shp", "gpkg", "geojson", "csv", "xlsx")
LONG_OWNER = "慈溪市" + "甬" * 140 + "有限公司"  # 147 characters: 441 bytes in UTF-8, 294 in GBK


def _suffix(fmt: str) -> str:
    return ".zip" if fmt == "shp" else f".{fmt}"


def read_export(path: Path, fmt: str, layer: str) -> gpd.GeoDataFrame | pd.DataFrame:
    """An exported file as read by GDAL (pyogrio), sorted by code, columns under their field names."""
    if fmt == "csv":  # no CRS in a CSV: it is the storage CRS unless asked otherwise
        df = pyogrio.read_dataframe(path, KEEP_GEOM_COLUMNS="NO")
        df = df.set_crs(4549) if isinstance(df, gpd.GeoDataFrame) else df
    elif fmt == "xlsx":
        names = pyogrio.read_dataframe(path, layer="字段说明", read_geometry=False)
        label_to_name = dict(zip(names["列名"], names["字段"], strict=True))
        sheet = pyogrio.list_layers(path)[0][0]
        df = pyogrio.read_dataframe(path, layer=sheet, read_geometry=False).rename(columns=label_to_name)
    else:
        df = pyogrio.read_dataframe(path)
    if fmt == "shp":  # names cut to 10 characters come back through the alias table
        with zipfile.ZipFile(path) as zf:
            table = csv.DictReader(zf.read(f"{layer}_fields.csv").decode("utf-8-sig").splitlines())
            df = df.rename(columns={row["field"]: row["name"] for row in table})
    return df.sort_values("code").reset_index(drop=True)


def _multi(geom: shapely.Geometry) -> shapely.Geometry:
    """A polygon as a one-part multipolygon, normalized (shapefiles flip ring order and drop 'Multi')."""
    return shapely.normalize(geom if geom.geom_type == "MultiPolygon" else shapely.MultiPolygon([geom]))


def _missing(v: object) -> bool:
    return v is None or v is pd.NaT or (isinstance(v, float) and math.isnan(v))


def _same(got: object, want: object) -> bool:
    """Equal as the formats carry them: numbers within 1e-6, dates as ISO text, booleans as 0/1, nulls alike."""
    if _missing(want) or _missing(got):
        return _missing(want) and (_missing(got) or got == "")
    if isinstance(want, (bool, np.bool_)):
        return str(got).strip().lower() in (("true", "1", "1.0") if want else ("false", "0", "0.0"))
    if isinstance(got, (dt.date, pd.Timestamp)):
        return str(got)[:10] == str(want)
    if isinstance(want, numbers.Number):
        return math.isclose(float(got), float(want), rel_tol=1e-9, abs_tol=1e-6)  # type: ignore[arg-type]
    return str(got) == str(want)


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_round_trips(loaded, tmp_path, fmt):
    original = handmade.layers()
    for name in LAYERS:
        out = tmp_path / f"{name}{_suffix(fmt)}"
        result = exporter.export(loaded, name, out, fmt=fmt, rules=RULES)
        got = read_export(out, fmt, name)
        want = original[name].sort_values("code").reset_index(drop=True)
        assert result.count == len(want) == len(got)
        assert list(got["code"]) == list(want["code"])
        for col in want.columns:
            if col == "geometry" or (name, col) in (("parcels", "block_code"), ("buildings", "parcel_code")):
                continue
            for g, w in zip(got[col], want[col], strict=True):
                assert _same(g, w), (fmt, name, col, g, w)
        if fmt == "xlsx":  # figures for reports: no geometry, the planar area as a column
            assert got["area_m2"].tolist() == pytest.approx(want.geometry.area.tolist(), abs=0.01)
        else:
            assert got.crs.to_epsg() == 4549
            assert got.geometry.area.tolist() == pytest.approx(want.geometry.area.tolist(), abs=0.01)
            assert all(shapely.equals_exact(_multi(g), _multi(w), tolerance=1e-6)
                       for g, w in zip(got.geometry.values, want.geometry.values, strict=True))
    parcels = read_export(tmp_path / f"parcels{_suffix(fmt)}", fmt, "parcels")
    assert parcels["owner"][1] == "宁波市“新华”五金厂（普通合伙）"
    assert list(parcels["block_code"]) == ["QK107-001"] * 3  # parcel 2 was placed by location


def test_shapefile_zip_is_complete_and_declares_utf8(loaded, tmp_path):
    out = tmp_path / "parcels.zip"
    exporter.export(loaded, "parcels", out, fmt="shp", rules=RULES)
    with zipfile.ZipFile(out) as zf:
        assert zf.testzip() is None
        names = set(zf.namelist())
        assert {"parcels.shp", "parcels.shx", "parcels.dbf", "parcels.prj", "parcels.cpg",
                "parcels_fields.csv"} <= names
        assert zf.read("parcels.cpg").decode().strip() == "UTF-8"
        assert "CGCS2000_3_Degree_GK_CM_120E" in zf.read("parcels.prj").decode()
        aliases = list(csv.DictReader(zf.read("parcels_fields.csv").decode("utf-8-sig").splitlines()))
    labels = {row["field"]: row["alias"] for row in aliases}
    assert labels["owner"] == "土地权属人" and labels["far"] == "容积率" and labels["tax_per_mu"] == "亩均税收(元/亩)"
    info = pyogrio.read_info(out)
    assert all(len(name) <= 10 for name in info["fields"])
    assert set(labels) == set(info["fields"])
    buildings = tmp_path / "buildings.zip"
    exporter.export(loaded, "buildings", buildings, fmt="shp", rules=RULES)
    assert "parcel_cod" in pyogrio.read_info(buildings)["fields"]  # parcel_code has 11 characters


def test_planning_figures_travel_with_parcels_and_blocks(loaded, tmp_path):
    parcels = read_export(exporter.export(loaded, "parcels", tmp_path / "p.gpkg", rules=RULES).path, "gpkg", "parcels")
    assert parcels["land_m2"].tolist() == pytest.approx([9600.0, 20000.0, 19000.0], abs=0.01)
    assert parcels["land_mu"][0] == pytest.approx(9600.0 * 15 / 10000)
    # parcel 1: one building 30 m × 30 m, 3 floors of 4.5 m → 2,700 m² on 9,600 m²
    assert parcels["far"][0] == pytest.approx(2700.0 / 9600.0)
    assert parcels["bldg_dens"][0] == pytest.approx(900.0 / 9600.0)
    assert parcels["tax_per_mu"][0] == pytest.approx(1_500_000.0 / (9600.0 * 15 / 10000))
    assert set(parcels["rule_ver"]) == {"rules-1"}
    blocks = read_export(exporter.export(loaded, "blocks", tmp_path / "b.gpkg", rules=RULES).path, "gpkg", "blocks")
    assert blocks["land_m2"][0] == pytest.approx(48600.0, abs=0.01)
    bare = read_export(exporter.export(loaded, "parcels", tmp_path / "bare.gpkg", figures=False, rules=RULES).path,
                       "gpkg", "p")
    assert "far" not in bare.columns


def test_gbk_shapefile_for_older_arcgis(loaded, tmp_path):
    out = tmp_path / "parcels_gbk.zip"
    result = exporter.export(loaded, "parcels", out, fmt="shp", encoding="gbk", rules=RULES)
    assert result.encoding == "CP936"
    with zipfile.ZipFile(out) as zf:
        assert zf.read("parcels.cpg").decode().strip() == "CP936"
        dbf = zf.read("parcels.dbf")
    assert "慈溪市甬兴电器有限公司".encode("gbk") in dbf
    assert "慈溪市甬兴电器有限公司".encode() not in dbf
    got = read_export(out, "shp", "parcels")
    assert got["owner"][1] == "宁波市“新华”五金厂（普通合伙）"


@pytest.mark.parametrize("encoding", ["utf-8", "gbk"])
def test_long_text_is_cut_on_a_character_boundary_and_reported(loaded, tmp_path, encoding):
    with loaded.begin() as conn:
        conn.execute(text("UPDATE parcels SET owner = :o WHERE code = '330282107001GB00003'"), {"o": LONG_OWNER})
    out = tmp_path / "parcels.zip"
    result = exporter.export(loaded, "parcels", out, fmt="shp", encoding=encoding, rules=RULES)
    assert [(t.code, t.field) for t in result.truncated] == [("330282107001GB00003", "owner")]
    kept = result.truncated[0].kept
    width = 3 if encoding == "utf-8" else 2
    assert LONG_OWNER.startswith(kept) and len(kept.encode(encoding)) <= 254
    assert len(kept) == 254 // width
    got = read_export(out, "shp", "parcels")
    assert got["owner"][2] == kept
    with zipfile.ZipFile(out) as zf:
        report = zf.read("parcels_truncated.csv").decode("utf-8-sig")
    assert "330282107001GB00003,owner" in report


def test_export_in_another_crs(loaded, tmp_path):
    out = tmp_path / "blocks.zip"
    exporter.export(loaded, "blocks", out, fmt="shp", crs="EPSG:4490", rules=RULES)
    got = pyogrio.read_dataframe(out)
    assert got.crs.to_epsg() == 4490
    lon, lat = got.geometry[0].centroid.coords[0]
    assert (round(lon, 2), round(lat, 2)) == (121.25, 30.2)
    assert got.to_crs(4549).geometry.area[0] == pytest.approx(60000.0, rel=1e-6)


def test_filters(loaded, tmp_path):
    def count(layer: str, **flt: str) -> int:
        return exporter.export(loaded, layer, tmp_path / f"{layer}.gpkg", flt=exporter.ExportFilter(**flt),
                               rules=RULES).count

    assert count("parcels", town="330282107") == 3
    assert count("buildings", block="QK107-001") == 4
    assert count("parcels", status="planned") == 3
    assert count("parcels", status="accepted") == 0
    x, y = handmade.X0, handmade.Y0
    assert count("parcels", bbox=f"{x + 150},{y + 10},{x + 250},{y + 20}",
                 bbox_crs="http://www.opengis.net/def/crs/EPSG/0/4549") == 2
    assert count("buildings", bbox="121.24,30.19,121.26,30.21") == 4
    with pytest.raises(NotFound, match="no town with code '330282999'"):
        count("parcels", town="330282999")
    with pytest.raises(InvalidParameter, match="status must be one of"):
        count("parcels", status="done")
    with pytest.raises(InvalidParameter, match="towns cannot be filtered by block"):
        count("towns", block="QK107-001")


def test_failed_export_leaves_nothing(loaded, tmp_path):
    out = tmp_path / "sub" / "parcels.zip"
    with pytest.raises(NotFound):
        exporter.export(loaded, "parcels", out, fmt="shp", flt=exporter.ExportFilter(town="330282999"), rules=RULES)
    assert not out.exists()
    assert not out.parent.exists() or not any(out.parent.iterdir())
    with pytest.raises(InvalidParameter, match="unknown format 'dwg'"):
        exporter.export(loaded, "parcels", out, fmt="dwg", rules=RULES)


def test_csv_has_bom_and_wkt_or_no_geometry(loaded, tmp_path):
    out = tmp_path / "p.csv"
    exporter.export(loaded, "parcels", out, fmt="csv", rules=RULES)
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(raw.decode("utf-8-sig").splitlines()))
    assert rows[0]["WKT"].startswith("MULTIPOLYGON")
    assert shapely.from_wkt(rows[1]["WKT"]).area == pytest.approx(20000.0, abs=0.01)
    exporter.export(loaded, "parcels", out, fmt="csv", geometry="none", rules=RULES)
    header = out.read_text(encoding="utf-8-sig").splitlines()[0].split(",")
    assert "WKT" not in header and header[0] == "code"


def test_enterprises_export_as_tables(loaded, tmp_path):
    with loaded.begin() as conn:
        conn.execute(text("INSERT INTO enterprises (credit_code, name, parcel_id, above_scl, tax, class) "
                          "SELECT '91330282MA2AAAAA0X', '慈溪市甬兴电器有限公司', id, true, 1500000, 'A' "
                          "FROM parcels WHERE code = '330282107001GB00001'"))
    out = tmp_path / "e.xlsx"
    assert exporter.export(loaded, "enterprises", out, fmt="xlsx", rules=RULES).count == 1
    sheet = pyogrio.read_dataframe(out, layer="企业", read_geometry=False)
    assert sheet["企业名称"][0] == "慈溪市甬兴电器有限公司" and sheet["宗地编号"][0] == "330282107001GB00001"
    with pytest.raises(InvalidParameter, match="unknown layer 'enterprises'"):
        exporter.export(loaded, "enterprises", tmp_path / "e.gpkg", fmt="gpkg", rules=RULES)


def test_http_export_streams_a_file(api):
    client, _ = api
    r = client.get("/api/export", params={"layer": "parcels", "format": "shp", "town": "330282107"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/zip"
    assert 'filename="parcels_330282107.shp.zip"' in r.headers["content-disposition"]
    assert r.headers["x-feature-count"] == "3"
    assert r.content[:2] == b"PK"
    r = client.get("/api/export", params={"layer": "blocks", "format": "xlsx"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/vnd.openxmlformats")
    r = client.get("/api/export", params={"layer": "parcels", "format": "dwg"})
    assert r.status_code == 400 and r.json()["field"] == "format"
    r = client.get("/api/export", params={"layer": "parcels", "town": "330282999"})
    assert r.status_code == 404 and r.json() == {"code": "NotFound", "detail": "no town with code '330282999'",
                                                 "field": "town", "messages": {
                                                     "en": "no town with code '330282999'",
                                                     "zh": "没有编号为 '330282999' 的镇街"}}


def test_codes_never_reach_the_file_system(api, tmp_path):
    """A block code with path separators only changes the download name (sanitised), never where files go."""
    client, engine = api
    evil = "QK/../../../../tmp/evil"
    with engine.begin() as conn:
        conn.execute(text("UPDATE blocks SET code = :c WHERE code = 'QK107-001'"), {"c": evil})
    r = client.get("/api/export", params={"layer": "buildings", "format": "gpkg", "block": evil})
    assert r.status_code == 200, r.text
    assert 'filename="buildings_QK_.._.._.._.._tmp_evil.gpkg"' in r.headers["content-disposition"]
    assert not Path("/tmp/evil.gpkg").exists()


# --- issue 17: reals as a person reads them ---------------------------------------------------------------------
RE_FIELD = re.compile(r"^\w+: (Real|Integer64|Integer|String|Date) \(\d+\.\d+\)$")


def _ogr_fields(path: Path) -> dict[str, str]:
    """``name: Type (width.precision)`` of every field, as ogrinfo (GDAL's command line) reports them."""
    out = subprocess.run(["ogrinfo", "-so", "-al", "-ro", f"/vsizip/{path}"], capture_output=True, text=True,
                         check=True).stdout
    return dict(line.split(": ", 1) for line in out.splitlines() if RE_FIELD.match(line))


def test_shapefile_reals_carry_their_precision(loaded, tmp_path):
    out = tmp_path / "parcels.zip"
    exporter.export(loaded, "parcels", out, fmt="shp", rules=RULES)
    fields = _ogr_fields(out)
    assert {k: fields[k] for k in ("land_m2", "land_mu", "far", "bldg_dens", "tax_per_mu", "tax_mu_wan", "supp_m2",
                                   "invest")} == {
        "land_m2": "Real (16.2)", "land_mu": "Real (16.4)", "far": "Real (10.4)", "bldg_dens": "Real (10.4)",
        "tax_per_mu": "Real (19.0)", "tax_mu_wan": "Real (14.4)", "supp_m2": "Real (16.2)", "invest": "Real (19.2)"}
    assert not any(spec.endswith(".15)") for spec in fields.values())
    got = read_export(out, "shp", "parcels")
    # parcel 1: 2,700 m² counted on 9,600 m² = 0.28125 → 0.2813; 14.4 亩; 1,500,000 ÷ 14.4 亩 = 104,166.67 → 104,167
    assert (got["far"][0], got["land_mu"][0], got["tax_per_mu"][0]) == (0.2813, 14.4, 104167.0)
    assert got["supp_m2"][0] == 1200.5 and got["invest"][0] == 12_000_000.0  # as recorded
    with zipfile.ZipFile(out) as zf:
        dbf = zf.read("parcels.dbf")
    assert b"    0.2813" in dbf and b"0.281250000" not in dbf
    buildings = tmp_path / "buildings.zip"
    exporter.export(loaded, "buildings", buildings, fmt="shp", rules=RULES)
    assert _ogr_fields(buildings)["floor_h"] == "Real (8.2)"
    assert read_export(buildings, "shp", "buildings")["floor_h"].tolist() == [4.5, 8.0, 9.5, 3.6]


def test_xlsx_and_csv_reals_are_rounded_with_number_formats(loaded, tmp_path):
    out = tmp_path / "parcels.xlsx"
    exporter.export(loaded, "parcels", out, fmt="xlsx", rules=RULES)
    sheet = openpyxl.load_workbook(out)["宗地"]
    assert sheet.freeze_panes == "A2"
    header = [c.value for c in sheet[1]]
    first = {h: c for h, c in zip(header, sheet[2], strict=True)}
    assert (first["容积率"].value, first["容积率"].number_format) == (0.2813, "#,##0.0000")
    assert (first["用地面积(m²)"].value, first["用地面积(m²)"].number_format) == (9600.0, "#,##0.00")
    assert (first["亩均税收(元/亩)"].value, first["亩均税收(元/亩)"].number_format) == (104167.0, "#,##0")
    assert first["面积(m²)"].value == 9600.0
    csv_out = tmp_path / "parcels.csv"
    exporter.export(loaded, "parcels", csv_out, fmt="csv", geometry="none", rules=RULES)
    row = next(csv.DictReader(csv_out.read_text(encoding="utf-8-sig").splitlines()))
    assert (row["far"], row["land_mu"], row["tax_per_mu"]) == ("0.2813", "14.4", "104167.0")


def test_http_export_bbox_in_metres_gets_a_hint(api):
    client, _ = api
    x, y = handmade.X0, handmade.Y0
    r = client.get("/api/export", params={"layer": "parcels", "bbox": f"{x},{y},{x + 100},{y + 100}"})
    assert r.status_code == 400
    assert r.json()["field"] == "bbox" and "bbox-crs=http://www.opengis.net/def/crs/EPSG/0/4549" in r.json()["detail"]
