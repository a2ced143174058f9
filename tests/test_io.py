"""Import and export of the four spatial layers: round trips, CRS handling, bad files change nothing."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
import shapely
from shapely.geometry import MultiPolygon, Polygon, box
from sqlalchemy import Engine, text

from app.db.engine import make_engine
from app.errors import Conflict, InvalidFile, InvalidParameter
from app.io import exporter, importer, sample_load
from app.io.safety import IOLimits
from app.planning.config import PlanningRules
from tests import handmade

ORDER = ("towns", "blocks", "parcels", "buildings")
LIMITS = IOLimits()
RULES = PlanningRules()


@pytest.fixture()
def fresh(databases, base_settings):
    """An engine on a new, migrated, empty database."""
    url = databases.create()
    eng = make_engine(base_settings, url)
    yield eng
    eng.dispose()


def counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in ORDER}  # noqa: S608


def import_handmade(engine: Engine, tmp_path: Path, driver: str = "GPKG", suffix: str = "gpkg") -> None:
    for name, gdf in handmade.layers().items():
        path = handmade.write(gdf, tmp_path / f"{name}.{suffix}", driver)
        importer.import_file(engine, path, name, limits=LIMITS)


def read_back(engine: Engine, name: str, tmp_path: Path, fmt: str = "gpkg", crs: str | None = None):
    out = tmp_path / f"out_{name}.{fmt}"
    n = exporter.export_layer(engine, name, out, fmt=fmt, crs=crs, rules=RULES)
    gdf = pyogrio.read_dataframe(out)
    assert len(gdf) == n
    return gdf.sort_values("code").reset_index(drop=True)


@pytest.mark.parametrize(("driver", "suffix"), [("GPKG", "gpkg"), ("GeoJSON", "geojson")])
def test_handmade_round_trip(fresh, tmp_path, driver, suffix):
    import_handmade(fresh, tmp_path, driver, suffix)
    assert counts(fresh) == {"towns": 1, "blocks": 1, "parcels": 3, "buildings": 4}
    original = handmade.layers()
    for name in ORDER:
        got = read_back(fresh, name, tmp_path, fmt=suffix)
        want = original[name].sort_values("code").reset_index(drop=True)
        assert list(got["code"]) == list(want["code"])
        for col in want.columns:
            if col == "geometry":
                continue
            if name == "parcels" and col == "block_code":
                assert list(got[col]) == ["QK107-001"] * 3  # parcel 2 found by location
            elif name == "buildings" and col == "parcel_code":
                assert got[col][2] == "330282107001GB00002"  # building 3 found by location
            elif col == "term_end":  # GDAL's GeoJSON reader turns ISO date strings into dates
                assert [str(v)[:10] for v in got[col]] == list(want[col])
            else:
                pd.testing.assert_series_equal(got[col].astype(object).where(got[col].notna(), None),
                                               want[col].astype(object).where(want[col].notna(), None),
                                               check_names=False, check_dtype=False)
        areas = got.geometry.to_crs(4549).area if got.crs.to_epsg() != 4549 else got.geometry.area
        assert areas.round(2).tolist() == pytest.approx(want.geometry.area.tolist(), abs=0.01)
    parcels = read_back(fresh, "parcels", tmp_path)
    assert parcels.geometry.area.tolist() == pytest.approx([9600.0, 20000.0, 19000.0], abs=0.01)
    assert parcels["owner"][1] == "宁波市“新华”五金厂（普通合伙）"


@pytest.mark.parametrize("epsg", [4528, 4490, 4326])
def test_crs_variants_land_in_the_same_place(fresh, tmp_path, epsg):
    layers = handmade.layers()
    for name in ("towns", "blocks"):
        importer.import_file(fresh, handmade.write(layers[name], tmp_path / f"{name}.gpkg"), name, limits=LIMITS)
    moved = layers["parcels"].to_crs(epsg)
    if epsg == 4528:  # zone-prefixed easting: 40 500 000 false easting (EPSG:4528, docs/rules.md §2.3)
        assert moved.geometry.bounds["minx"].min() == pytest.approx(40_620_000.0)
    importer.import_file(fresh, handmade.write(moved, tmp_path / "parcels.gpkg"), "parcels", limits=LIMITS)
    got = read_back(fresh, "parcels", tmp_path)
    assert got.geometry.area.tolist() == pytest.approx([9600.0, 20000.0, 19000.0], abs=0.01)
    assert got.geometry.bounds["minx"].min() == pytest.approx(handmade.X0, abs=0.001)


def test_crs_given_on_the_command_line(fresh, tmp_path):
    layers = handmade.layers()
    path = tmp_path / "towns.shp"
    handmade.write(layers["towns"].to_crs(4528), path, "ESRI Shapefile")
    path.with_suffix(".prj").unlink()
    with pytest.raises(InvalidFile, match="declares no CRS; give one with --crs"):
        importer.import_file(fresh, path, "towns", limits=LIMITS)
    importer.import_file(fresh, path, "towns", crs="EPSG:4528", limits=LIMITS)
    got = read_back(fresh, "towns", tmp_path)
    assert got.geometry.area[0] == pytest.approx(9_000_000.0, abs=0.01)
    assert got["name"][0] == "观海卫镇"


def test_export_in_other_crs(fresh, tmp_path):
    import_handmade(fresh, tmp_path)
    got = read_back(fresh, "blocks", tmp_path, fmt="geojson", crs="EPSG:4326")
    assert got.crs.to_epsg() == 4326
    lon, lat = got.geometry[0].centroid.coords[0]
    assert (round(lon, 2), round(lat, 2)) == (121.25, 30.2)


def bowtie() -> Polygon:
    x, y = handmade.X0, handmade.Y0
    return Polygon([(x, y), (x + 50, y + 50), (x + 50, y), (x, y + 50), (x, y)])


def bad_cases():
    layers = handmade.layers()
    p = layers["parcels"].copy()
    invalid = p.copy()
    invalid.loc[1, "geometry"] = bowtie()
    missing = p.drop(columns=["code"])
    negative = layers["buildings"].copy()
    negative.loc[2, "floors"] = -2
    dup = p.copy()
    dup.loc[2, "code"] = dup.loc[0, "code"]
    unknown_block = p.copy()
    unknown_block.loc[2, "block_code"] = "QK999-999"
    lines = p.copy()
    lines["geometry"] = p.geometry.boundary
    outside = p.copy()
    outside.loc[2, "block_code"] = None
    outside.loc[2, "geometry"] = MultiPolygon([box(handmade.X0 + 5000, handmade.Y0, handmade.X0 + 5100,
                                                   handmade.Y0 + 90)])
    return [
        ("parcels", invalid, InvalidFile,
         r"feature 2 \(code 330282107001GB00002\): invalid geometry \(Self-intersection"),
        ("parcels", missing, InvalidFile, r"the file has no field 'code' \(宗地编号\), required for parcels"),
        ("buildings", negative, InvalidFile, r"feature 3 \(code 330282107001GB00002F0002\): field 'floors' \(层数\) "
                                            r"must be ≥ 1, got -2"),
        ("parcels", dup, InvalidFile, r"feature 3 \(code 330282107001GB00001\): code '330282107001GB00001' "
                                      r"repeats feature 1"),
        ("parcels", unknown_block, InvalidFile, r"feature 3 \(code 330282107001GB00003\): block_code 'QK999-999' "
                                                r"is not a known block"),
        ("parcels", lines, InvalidFile, r"feature 1 \(code 330282107001GB00001\): geometry is a MultiLineString"),
        ("parcels", outside, InvalidFile, r"feature 3 \(code 330282107001GB00003\): lies in no block; give block_code"),
    ]


@pytest.mark.parametrize(("layer", "gdf", "error", "message"), bad_cases(),
                         ids=["invalid-geometry", "missing-field", "negative-floors", "duplicate-code",
                              "unknown-block", "wrong-geometry-type", "outside-every-block"])
def test_bad_file_changes_nothing(fresh, tmp_path, layer, gdf, error, message):
    layers = handmade.layers()
    for name in ("towns", "blocks") + (("parcels",) if layer == "buildings" else ()):
        importer.import_file(fresh, handmade.write(layers[name], tmp_path / f"ok_{name}.gpkg"), name, limits=LIMITS)
    before = counts(fresh)
    with pytest.raises(error, match=message):  # strict: invalid geometry is refused, not repaired (issue 6)
        importer.import_file(fresh, handmade.write(gdf, tmp_path / "bad.gpkg"), layer, strict=True, limits=LIMITS)
    assert counts(fresh) == before


def test_existing_code_is_a_conflict_and_nothing_is_written(fresh, tmp_path):
    import_handmade(fresh, tmp_path)
    more = handmade.layers()["parcels"].copy()
    more["code"] = ["330282107001GB00009", "330282107001GB00002", "330282107001GB00008"]
    before = counts(fresh)
    with pytest.raises(Conflict, match=r"feature 2 \(code 330282107001GB00002\): a parcel with code "
                                       r"'330282107001GB00002' already exists"):
        importer.import_file(fresh, handmade.write(more, tmp_path / "more.gpkg"), "parcels", limits=LIMITS)
    assert counts(fresh) == before


def test_unknown_layer(fresh, tmp_path):
    path = handmade.write(handmade.layers()["towns"], tmp_path / "t.gpkg")
    with pytest.raises(InvalidParameter,
                       match="unknown layer 'roads'; known layers: towns, blocks, parcels, buildings"):
        importer.import_file(fresh, path, "roads", limits=LIMITS)


def test_not_a_vector_file(fresh, tmp_path):
    path = tmp_path / "notes.gpkg"
    path.write_text("这不是地理数据")
    with pytest.raises(InvalidFile, match="cannot read notes.gpkg"):
        importer.import_file(fresh, path, "towns", limits=LIMITS)


def test_cli_reports_bad_file_and_exits_nonzero(databases, tmp_path):
    url = databases.create()
    gdf = handmade.layers()["towns"].copy()
    gdf["geometry"] = [MultiPolygon([bowtie()])]
    path = handmade.write(gdf, tmp_path / "bad_towns.gpkg")
    env = {**os.environ, "DATABASE_URL": url}
    bad = subprocess.run([sys.executable, "-m", "app.cli", "import", str(path), "--layer", "towns",
                          "--strict"], env=env, capture_output=True, text=True)
    assert bad.returncode == 2
    assert "feature 1 (code 330282107): invalid geometry" in bad.stderr
    good = subprocess.run([sys.executable, "-m", "app.cli", "import",
                           str(handmade.write(handmade.layers()["towns"], tmp_path / "t.gpkg")), "--layer", "towns"],
                          env=env, capture_output=True, text=True)
    assert good.returncode == 0, good.stderr
    assert "imported 1 towns" in good.stderr
    out = tmp_path / "towns_out.geojson"
    exported = subprocess.run([sys.executable, "-m", "app.cli", "export", "--layer", "towns", "--format", "geojson",
                               "--out", str(out)], env=env, capture_output=True, text=True)
    assert exported.returncode == 0, exported.stderr
    assert gpd.read_file(out)["name"].tolist() == ["观海卫镇"]


def test_sample_round_trip(databases, base_settings, tmp_path):
    """The 0.02 sample exported and imported into an empty database gives back the same export."""
    first = make_engine(base_settings, databases.create())
    second = make_engine(base_settings, databases.create())
    try:
        sample_load.load(first, scale=0.02, seed=7)
        for name in ORDER:
            out = tmp_path / f"{name}.gpkg"
            exporter.export_layer(first, name, out, rules=RULES)
            importer.import_file(second, out, name, limits=LIMITS)
        assert counts(first) == counts(second)
        (tmp_path / "a").mkdir()
        (tmp_path / "b").mkdir()
        for name in ORDER:
            a = read_back(first, name, tmp_path / "a")
            b = read_back(second, name, tmp_path / "b")
            pd.testing.assert_frame_equal(a.drop(columns="geometry"), b.drop(columns="geometry"))
            assert shapely.equals_exact(a.geometry.values, b.geometry.values, tolerance=1e-6).all()
            assert (a.geometry.area - b.geometry.area).abs().max() < 0.01
    finally:
        first.dispose()
        second.dispose()


@pytest.mark.parametrize(("declared", "message"), [
    ("EPSG:4549", "eastings such as 40,619,000 carry a zone number (40) but the CRS (EPSG:4549) has none: "
                  "the data is probably EPSG:4528"),
    ("EPSG:4527", "eastings start with zone 40 but the CRS (EPSG:4527) is zone 39: the data is probably EPSG:4528"),
])
def test_zone_mixups_are_caught(fresh, tmp_path, declared, message):
    layers = handmade.layers()
    path = tmp_path / "towns.shp"
    handmade.write(layers["towns"].to_crs(4528), path, "ESRI Shapefile")
    path.with_suffix(".prj").unlink()
    with pytest.raises(InvalidParameter, match=re.escape(message)):
        importer.import_file(fresh, path, "towns", crs=declared, limits=LIMITS)
    assert counts(fresh)["towns"] == 0


def test_plain_eastings_declared_zone_prefixed(fresh, tmp_path):
    path = handmade.write(handmade.layers()["towns"], tmp_path / "towns.gpkg")
    with pytest.raises(InvalidParameter, match=re.escape(
            "eastings such as 619,000 carry no zone number but the CRS (EPSG:4528) is zone-prefixed: "
            "the data is probably EPSG:4549")):
        importer.import_file(fresh, path, "towns", crs="EPSG:4528", limits=LIMITS)


def test_far_away_data_is_refused(fresh, tmp_path):
    gdf = handmade.layers()["towns"].to_crs(4326)
    gdf = gdf.set_geometry(gdf.geometry.translate(xoff=-100))  # 21°E: Europe
    with pytest.raises(InvalidParameter, match=r"the features lie around 21\.2\d\d°E 30\.2\d\d°N, outside the area"):
        importer.import_file(fresh, handmade.write(gdf, tmp_path / "t.gpkg"), "towns", limits=LIMITS)
