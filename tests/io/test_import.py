"""Imports: shapefile zips (GBK too), modes, dry runs, the validation report, enterprises CSV, bad files by HTTP."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import cast

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from shapely.geometry import MultiPolygon, Polygon, box
from sqlalchemy import text

from app.io import exporter, importer
from app.io.safety import IOLimits
from tests import handmade
from tests.io.conftest import LIMITS, RULES, counts, snapshot

X, Y = handmade.X0, handmade.Y0


def shp_zip(gdf: gpd.GeoDataFrame, path: Path, name: str, encoding: str = "UTF-8", cpg: bool = True) -> Path:
    """``gdf`` as a zipped shapefile, optionally without its .cpg."""
    folder = path.parent / f"{path.stem}_parts"
    folder.mkdir(exist_ok=True)
    pyogrio.write_dataframe(gdf, folder / f"{name}.shp", encoding=encoding)
    with zipfile.ZipFile(path, "w") as zf:
        for part in sorted(folder.iterdir()):
            if part.suffix == ".cpg" and not cpg:
                continue
            zf.write(part, part.name)
    return path


def bowtie() -> Polygon:
    return Polygon([(X, Y), (X + 50, Y + 50), (X + 50, Y), (X, Y + 50), (X, Y)])


def parcels_frame() -> gpd.GeoDataFrame:
    return handmade.layers()["parcels"].copy()


def owners(engine) -> dict[str, str]:
    with engine.connect() as conn:
        return dict(conn.execute(text("SELECT code, owner FROM parcels ORDER BY code")).all())


def test_shapefile_zip_round_trip(loaded, fresh_second, tmp_path):
    for name in ("towns", "blocks", "parcels", "buildings"):
        out = tmp_path / f"{name}.zip"
        exporter.export(loaded, name, out, fmt="shp", rules=RULES)
        report = importer.import_file(fresh_second, out, name, limits=LIMITS)
        assert report.inserted == counts(loaded)[name] and report.encoding is None  # .cpg read by GDAL
    for name in ("towns", "blocks", "parcels", "buildings"):
        a = pyogrio.read_dataframe(exporter.export(loaded, name, tmp_path / f"a_{name}.gpkg", rules=RULES).path)
        b = pyogrio.read_dataframe(exporter.export(fresh_second, name, tmp_path / f"b_{name}.gpkg", rules=RULES).path)
        pd.testing.assert_frame_equal(a.drop(columns="geometry"), b.drop(columns="geometry"))
        assert (a.geometry.area - b.geometry.area).abs().max() < 0.01


@pytest.mark.parametrize("given", [None, "gbk"])
def test_gbk_shapefile_without_cpg(fresh, tmp_path, given):
    layers = handmade.layers()
    for name in ("towns", "blocks", "parcels"):
        path = shp_zip(layers[name], tmp_path / f"{name}.zip", name, encoding="CP936", cpg=False)
        report = importer.import_file(fresh, path, name, encoding=given, limits=LIMITS)
        assert report.encoding == "CP936"
    with fresh.connect() as conn:
        assert conn.execute(text("SELECT name FROM towns")).scalar_one() == "观海卫镇"
        assert conn.execute(text("SELECT name, industry FROM blocks")).one() == ("双湖村工业区块", "智能家电")
    assert owners(fresh)["330282107001GB00002"] == "宁波市“新华”五金厂（普通合伙）"


def test_utf8_shapefile_without_cpg_is_detected(fresh, tmp_path):
    path = shp_zip(handmade.layers()["towns"], tmp_path / "towns.zip", "towns", cpg=False)
    assert importer.import_file(fresh, path, "towns", limits=LIMITS).encoding == "UTF-8"
    with fresh.connect() as conn:
        assert conn.execute(text("SELECT name FROM towns")).scalar_one() == "观海卫镇"


def test_invalid_geometry_is_repaired_and_listed(fresh, tmp_path):
    layers = handmade.layers()
    for name in ("towns", "blocks"):
        importer.import_file(fresh, handmade.write(layers[name], tmp_path / f"{name}.gpkg"), name, limits=LIMITS)
    bad = parcels_frame()
    bad.loc[0, "geometry"] = MultiPolygon([bowtie()])
    report = importer.import_file(fresh, handmade.write(bad, tmp_path / "bad.gpkg"), "parcels", limits=LIMITS)
    assert report.inserted == 3
    assert [(i.n, i.code, i.severity) for i in report.repaired] == [(1, "330282107001GB00001", "repaired")]
    assert "invalid geometry (Self-intersection" in report.repaired[0].text()
    with fresh.connect() as conn:
        valid, area = conn.execute(text("SELECT ST_IsValid(geom), ST_Area(geom) FROM parcels "
                                        "WHERE code = '330282107001GB00001'")).one()
    assert valid and area == pytest.approx(1250.0)


def test_upsert_updates_by_code_and_keeps_children(loaded, tmp_path):
    more = parcels_frame()
    more.loc[0, "owner"] = "慈溪市甬兴电器股份有限公司"
    extra = more.iloc[[2]].copy()
    extra["code"] = "330282107001GB00004"
    extra["geometry"] = [box(X + 200, Y + 101, X + 300, Y + 109)]
    more = pd.concat([more, extra], ignore_index=True)
    report = importer.import_file(loaded, handmade.write(more, tmp_path / "p.gpkg"), "parcels", mode="upsert",
                                  limits=LIMITS)
    assert (report.inserted, report.updated, report.deleted) == (1, 3, 0)
    assert owners(loaded)["330282107001GB00001"] == "慈溪市甬兴电器股份有限公司"
    assert counts(loaded)["buildings"] == 4


def replacement() -> gpd.GeoDataFrame:
    """Parcels 1 and 3 of the block; parcel 3 now covers parcel 2's ground, whose buildings must move."""
    p = parcels_frame().iloc[[0, 2]].reset_index(drop=True)
    p.loc[1, "geometry"] = box(X + 100, Y, X + 300, Y + 200)
    return p


def test_replace_per_town_deletes_what_the_file_lacks_and_moves_children(loaded, tmp_path):
    before = snapshot(loaded)
    path = handmade.write(replacement(), tmp_path / "p.gpkg")
    dry = importer.import_file(loaded, path, "parcels", mode="replace", dry_run=True, limits=LIMITS)
    assert (dry.inserted, dry.updated, dry.deleted, dry.moved_children) == (0, 2, 1, 2)
    assert snapshot(loaded) == before
    report = importer.import_file(loaded, path, "parcels", mode="replace", limits=LIMITS)
    assert (report.inserted, report.updated, report.deleted, report.moved_children) == (0, 2, 1, 2)
    assert sorted(owners(loaded)) == ["330282107001GB00001", "330282107001GB00003"]
    with loaded.connect() as conn:
        moved = conn.execute(text("SELECT g.code, p.code FROM buildings g JOIN parcels p ON p.id = g.parcel_id "
                                  "ORDER BY g.code")).all()
    assert [p for _, p in moved] == ["330282107001GB00001", "330282107001GB00003", "330282107001GB00003",
                                     "330282107001GB00003"]


def test_replace_refuses_to_strand_buildings(loaded, tmp_path):
    before = snapshot(loaded)
    only_first = parcels_frame().iloc[[0]]
    with pytest.raises(importer.ImportRejected, match=r"building 330282107001GB00002F0001 stands on parcel "
                                                      r"330282107001GB00002, which the file drops"):
        importer.import_file(loaded, handmade.write(only_first, tmp_path / "p.gpkg"), "parcels", mode="replace",
                             limits=LIMITS)
    assert snapshot(loaded) == before


def test_validation_report_lists_every_problem(loaded, tmp_path):
    before = snapshot(loaded)
    b = handmade.layers()["buildings"].copy()
    b["code"] = [c.replace("F000", "F100") for c in b["code"]]
    b.loc[0, "floor_h"] = 120.0
    b.loc[1, "floors"] = -1
    b.loc[2, "use"] = "garage"
    with pytest.raises(importer.ImportRejected) as caught:
        importer.import_file(loaded, handmade.write(b, tmp_path / "b.gpkg"), "buildings", limits=LIMITS)
    report = caught.value.report
    assert [(i.n, i.field) for i in report.errors] == [(1, "floor_h"), (2, "floors"), (3, "use")]
    assert "field 'floor_h' (层高(m)) must be ≤ 100, got 120.0" in report.errors[0].text()
    assert "(and 2 more errors; see the report)" in str(caught.value)
    p = parcels_frame()
    p["code"] = [c + "X" for c in p["code"]]
    p.loc[0, "term_end"] = "1985-06-30"
    with pytest.raises(importer.ImportRejected, match=r"feature 1 \(code 330282107001GB00001X\): field 'term_end' "
                                                      r"\(土地使用权终止日期\) must be ≥ 1990-01-01, got 1985-06-30"):
        importer.import_file(loaded, handmade.write(p, tmp_path / "p.gpkg"), "parcels", limits=LIMITS)
    assert snapshot(loaded) == before


def test_overlaps_and_buildings_outside_are_warnings_or_errors_when_strict(loaded, tmp_path):
    overlap = parcels_frame().iloc[[0]].copy()
    overlap["code"] = "330282107001GB00009"
    overlap["geometry"] = [box(X + 90, Y + 150, X + 110, Y + 200)]  # 10 m × 50 m over parcel 2, 0 over parcel 1
    path = handmade.write(overlap, tmp_path / "o.gpkg")
    before = snapshot(loaded)
    with pytest.raises(importer.ImportRejected, match="overlaps existing parcel 330282107001GB00002 by 500.00 m²"):
        importer.import_file(loaded, path, "parcels", strict=True, limits=LIMITS)
    assert snapshot(loaded) == before
    report = importer.import_file(loaded, path, "parcels", dry_run=True, limits=LIMITS)
    assert [i.text() for i in report.warnings] == [
        "feature 1 (code 330282107001GB00009): overlaps existing parcel 330282107001GB00002 by 500.00 m²"]
    shed = handmade.layers()["buildings"].iloc[[0]].copy()
    shed["code"] = "330282107001GB00001F0009"
    shed["geometry"] = [box(X + 80, Y + 10, X + 120, Y + 20)]  # half on parcel 1, half on parcel 2
    report = importer.import_file(loaded, handmade.write(shed, tmp_path / "s.gpkg"), "buildings", limits=LIMITS)
    assert [i.message for i in report.warnings] == ["200.00 m² lie outside its parcel 330282107001GB00001"]


ENTERPRISES = (
    "统一社会信用代码,企业名称,宗地编号,规上工业企业,主营业务收入(元),税收(元),产值(元),能耗(吨标准煤),亩均效益分类\n"
    "91330282MA2AAAAA0X,慈溪市甬兴电器有限公司,330282107001GB00001,是,250000000,1500000,50000000,1200.5,A\n"
    "91330282MA2BBBBB1Y,宁波市“新华”五金厂（普通合伙）,330282107001GB00002,否,9000000,120000,9000000,,C\n"
)


@pytest.mark.parametrize("encoding", ["utf-8-sig", "gbk"])
def test_enterprises_csv(loaded, tmp_path, encoding):
    path = tmp_path / "enterprises.csv"
    path.write_bytes(ENTERPRISES.encode(encoding))
    report = importer.import_file(loaded, path, "enterprises", limits=LIMITS)
    assert report.inserted == 2 and report.encoding == ("GBK" if encoding == "gbk" else "UTF-8")
    with loaded.connect() as conn:
        rows = conn.execute(text("SELECT e.name, p.code, e.above_scl, e.class, e.energy_tce FROM enterprises e "
                                 "JOIN parcels p ON p.id = e.parcel_id ORDER BY e.credit_code")).all()
    assert rows[0][:4] == ("慈溪市甬兴电器有限公司", "330282107001GB00001", True, "A")
    assert rows[1][0] == "宁波市“新华”五金厂（普通合伙）" and rows[1][4] is None
    updated = ENTERPRISES.replace(",A\n", ",B\n")
    path.write_bytes(updated.encode(encoding))
    assert importer.import_file(loaded, path, "enterprises", mode="upsert", limits=LIMITS).updated == 2
    bad = tmp_path / "bad.csv"
    bad.write_text("credit_code,name,parcel_code\n91330282MA2CCCCC2Z,某企业,330282107001GB09999\n", encoding="utf-8")
    with pytest.raises(importer.ImportRejected, match="parcel_code '330282107001GB09999' is not a known parcel"):
        importer.import_file(loaded, bad, "enterprises", limits=LIMITS)


# --- bad files over HTTP: each gets its 4xx and leaves the database as it was ----------------------------------


def _zip_bytes(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def _shp_members(tmp_path: Path, gdf: gpd.GeoDataFrame, name: str) -> dict[str, bytes]:
    folder = tmp_path / f"m_{name}"
    folder.mkdir(exist_ok=True)
    pyogrio.write_dataframe(gdf, folder / f"{name}.shp", encoding="UTF-8")
    return {p.name: p.read_bytes() for p in folder.iterdir()}


def bad_uploads(tmp_path: Path) -> list[tuple[str, str, bytes, int, str]]:
    parcels = _shp_members(tmp_path, parcels_frame(), "parcels")
    lines = parcels_frame()
    lines["geometry"] = lines.geometry.boundary
    return [
        ("not-a-zip", "parcels.zip", "这不是压缩包".encode(), 422, "parcels.zip is not a zip archive"),
        ("path-traversal", "parcels.zip", _zip_bytes({"../../etc/parcels.shp": b"x", "parcels.dbf": b"y"}), 422,
         "points outside the archive's folder"),
        ("absolute-path", "parcels.zip", _zip_bytes({"/tmp/parcels.shp": b"x"}), 422,
         "points outside the archive's folder"),
        ("zip-bomb", "parcels.zip", _zip_bytes({"parcels.shp": b"\0" * (20 << 20)}), 422, "likely zip bomb"),
        ("missing-dbf", "parcels.zip", _zip_bytes({k: v for k, v in parcels.items() if not k.endswith(".dbf")}),
         422, "no parcels.dbf"),
        ("missing-shp", "parcels.zip", _zip_bytes({k: v for k, v in parcels.items() if not k.endswith(".shp")}),
         422, "a .dbf but no .shp"),
        ("wrong-geometry-type", "parcels.zip", _zip_bytes(_shp_members(tmp_path, lines, "lines")), 422,
         "; parcels need polygons"),
        ("too-large", "parcels.zip", b"PK\x03\x04" + b"\0" * (300 << 10), 413, "larger than the limit"),
    ]


def use_limits(client: TestClient, limits: IOLimits) -> None:
    """Serve the API under test with other import limits (its settings otherwise as they were)."""
    app = cast(FastAPI, client.app)
    app.state.settings = app.state.settings.model_copy(update={"limits": limits})


CASES = ["not-a-zip", "path-traversal", "absolute-path", "zip-bomb", "missing-dbf", "missing-shp",
         "wrong-geometry-type", "too-large"]


@pytest.mark.parametrize("case", CASES)
def test_bad_upload_is_refused_and_changes_nothing(api, tmp_path, case):
    client, engine = api
    use_limits(client, IOLimits(max_upload_mb=0.25, max_unpacked_mb=64))
    label, filename, data, status, message = next(c for c in bad_uploads(tmp_path) if c[0] == case)
    before = snapshot(engine)
    r = client.post("/api/import", data={"layer": "parcels", "mode": "replace"},
                    files={"file": (filename, data, "application/zip")})
    assert r.status_code == status, r.text
    assert message in r.json()["detail"]
    assert snapshot(engine) == before


def test_upload_limit_of_unpacked_size(api, tmp_path):
    client, engine = api
    use_limits(client, IOLimits(max_unpacked_mb=0.5))
    data = _zip_bytes({"parcels.shp": bytes(range(256)) * 4096})  # 1 MiB that compresses little
    r = client.post("/api/import", data={"layer": "parcels"}, files={"file": ("p.zip", data, "application/zip")})
    assert r.status_code == 422 and "would unpack to" in r.json()["detail"]


def test_http_import_reports_and_dry_runs(api, tmp_path):
    client, engine = api
    use_limits(client, IOLimits())
    more = parcels_frame()
    more.loc[0, "owner"] = "新权属人"
    more.loc[1, "geometry"] = MultiPolygon([Polygon([(X + 100, Y), (X + 200, Y + 200), (X + 200, Y),
                                                     (X + 100, Y + 200), (X + 100, Y)])])
    data = _zip_bytes(_shp_members(tmp_path, more, "parcels"))
    before = snapshot(engine)
    r = client.post("/api/import", data={"layer": "parcels", "mode": "upsert", "dry_run": "true"},
                    files={"file": ("parcels.zip", data, "application/zip")})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["ok"] and body["dry_run"] and (body["inserted"], body["updated"]) == (0, 3)
    assert body["counts"]["repaired"] == 1 and body["issues"][0]["n"] == 2
    assert snapshot(engine) == before
    r = client.post("/api/import", data={"layer": "parcels", "mode": "upsert", "strict": "true"},
                    files={"file": ("parcels.zip", data, "application/zip")})
    assert r.status_code == 422 and r.json()["report"]["counts"]["errors"] == 1
    assert snapshot(engine) == before
    r = client.post("/api/import", data={"layer": "parcels"}, files={"file": ("parcels.zip", data, "application/zip")})
    assert r.status_code == 409 and r.json()["code"] == "Conflict" and len(r.json()["report"]["issues"]) == 4
    r = client.post("/api/import", data={"layer": "parcels", "mode": "upsert"},
                    files={"file": ("parcels.zip", data, "application/zip")})
    assert r.status_code == 200 and r.json()["updated"] == 3
    assert owners(engine)["330282107001GB00001"] == "新权属人"
    r = client.post("/api/import", data={"layer": "roads"}, files={"file": ("parcels.zip", data, "application/zip")})
    assert r.status_code == 400 and r.json()["field"] == "layer"


# --- issue 17: errors name the user's own file and the caller's own parameters ----------------------------------
def _no_server_path(detail: str) -> None:
    assert "/tmp" not in detail and "renewal-" not in detail and "/" not in detail.split(":")[0], detail


def test_http_errors_name_the_uploaded_file_only(api, tmp_path):
    client, engine = api
    use_limits(client, IOLimits())
    before = snapshot(engine)
    r = client.post("/api/import", data={"layer": "parcels"},
                    files={"file": ("宗地 清单.txt", "这不是地理数据".encode(), "text/plain")})
    assert r.status_code == 422, r.text
    assert {k: v for k, v in r.json().items() if k != "messages"} == {
        "code": "InvalidFile", "field": "file",
        "detail": "宗地_清单.txt is not a file the import reads: give a zipped shapefile (.zip holding "
                  ".shp, .shx, .dbf, .prj), a GeoPackage (.gpkg), GeoJSON (.geojson) or CSV"}
    assert r.json()["messages"]["zh"].startswith("宗地_清单.txt 不是可导入的文件")
    broken = _zip_bytes({"parcels.geojson": b"{not json"})
    r = client.post("/api/import", data={"layer": "parcels"}, files={"file": ("p.zip", broken, "application/zip")})
    assert r.status_code == 422
    assert r.json()["detail"].startswith("cannot read parcels.geojson: 'parcels.geojson' not recognized")
    assert "/" not in r.json()["detail"].replace(".geojson", "")  # no folder of the server, no GDAL hint
    assert snapshot(engine) == before


def test_http_crs_hint_speaks_of_the_form_field(api, tmp_path):
    client, _ = api
    use_limits(client, IOLimits())
    members = {k: v for k, v in _shp_members(tmp_path, parcels_frame(), "parcels").items() if not k.endswith(".prj")}
    r = client.post("/api/import", data={"layer": "parcels"},  # a shapefile without .prj: no CRS
                    files={"file": ("parcels.zip", _zip_bytes(members), "application/zip")})
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert detail == "parcels.shp declares no CRS; give one with crs=EPSG:4549 (its EPSG code)", detail
    assert "--crs" not in detail


def test_cli_errors_name_the_file_not_its_folder(fresh, tmp_path):
    import os
    import subprocess
    import sys

    notes = tmp_path / "some.txt"
    notes.write_text("not a map", encoding="utf-8")
    env = {**os.environ, "DATABASE_URL": fresh.url.render_as_string(hide_password=False)}
    run = subprocess.run([sys.executable, "-m", "app.cli", "import", str(notes), "--layer", "parcels"], env=env,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 2
    message = " ".join(run.stderr.split())
    assert "some.txt is not a file the import reads" in message and str(tmp_path) not in message
