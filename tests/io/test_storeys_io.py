"""Storey heights, basements and garage storeys (issue 14) in files: validated per feature on import, written back
by every export format (read back with pyogrio), kept on a round trip, and served by the OGC buildings collection."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from app.api import create_app
from app.db.engine import make_engine
from app.io import exporter, importer
from tests import handmade
from tests.conftest import login_as
from tests.io.conftest import LIMITS, RULES
from tests.io.test_export import read_export
from tests.planning import storeys

NUMBER = re.compile(r"-?[0-9]+(\.[0-9]*)?")
NEW_FIELDS = ("storey_hs", "bsmt_n", "bsmt_use", "bsmt_m2", "garage_n")
# What the files carry once stored: storey heights as shortest decimals, floor_h the highest storey when absent.
STORED = {
    "S1F0001": ("9,4.5,4.5,4.5", None, None, None, None, 9.0),
    "S2F0001": (None, 1, "commercial", 1200.0, 2, 4.5),
    "S2F0002": (None, 2, "garage", None, None, 4.0),
    "S3F0001": ("9,4.5,4.5,4.5,10", 1, "plant", None, 2, 10.0),
    "S3F0002": ("12,4,4", None, None, None, None, 12.0),
    "S4F0001": (None, None, None, None, None, 9.0),
    "S4F0002": ("8,8.01", 0, None, None, None, 8.0),
}


def load(engine: Engine, folder: Path, data: dict[str, gpd.GeoDataFrame] | None = None) -> None:
    """Import the storey cases' layers (or ``data``) in order."""
    for name, gdf in (data or storeys.layers()).items():
        importer.import_file(engine, handmade.write(gdf, folder / f"{name}.gpkg"), name, limits=LIMITS)


@pytest.fixture(scope="module")
def stored(databases, base_settings, tmp_path_factory) -> Iterator[Engine]:
    eng = make_engine(base_settings, databases.create())
    load(eng, tmp_path_factory.mktemp("storeys_io"))
    yield eng
    eng.dispose()


def _missing(v: object) -> bool:
    return v is None or (not isinstance(v, str) and pd.isna(v))  # type: ignore[arg-type]


def _value(v: object) -> object:
    """A value read back by pyogrio as the stored value: whole numbers as int, reals as float, blanks as None."""
    if _missing(v) or v == "":
        return None
    if isinstance(v, str):  # CSV: text; a lone number is read as a number
        return _value(float(v)) if NUMBER.fullmatch(v) else v
    f = float(v)  # type: ignore[arg-type]
    return int(f) if f.is_integer() else f


@pytest.mark.parametrize("fmt", ["shp", "gpkg", "geojson", "csv", "xlsx"])
def test_export_writes_the_fields_back(stored, tmp_path, fmt):
    out = tmp_path / ("buildings.zip" if fmt == "shp" else f"buildings.{fmt}")
    exporter.export(stored, "buildings", out, fmt=fmt, rules=RULES)
    got = read_export(out, fmt, "buildings").set_index("code")
    for name, (heights, basements, use, area, garages, floor_h) in STORED.items():
        row = got.loc[storeys.code(name)]
        values = tuple(_value(row[f]) for f in NEW_FIELDS)
        want = (heights, basements, use, area, garages)
        assert values == pytest.approx(want) if fmt != "shp" else values[:1] + values[2:] == pytest.approx(
            want[:1] + want[2:]), (fmt, name, values)
        assert float(row["floor_h"]) == floor_h, (fmt, name)
        if basements is not None or fmt != "shp":  # a DBF integer without value reads as 0
            assert _value(row["bsmt_n"]) == basements, (fmt, name)


@pytest.mark.parametrize("fmt", ["shp", "gpkg", "geojson"])
def test_round_trip_keeps_every_value(stored, fresh, tmp_path, fmt):
    """Import → export → import elsewhere: the same rows, and the same counted floor area."""
    columns = ("code, floors, floor_h, floor_area, storey_hs, basement_floors, basement_use, basement_area, "
               "garage_floors, md5(ST_AsEWKB(ST_Normalize(geom))::text)")
    for name in ("towns", "blocks", "parcels", "buildings"):
        out = tmp_path / (f"{name}.zip" if fmt == "shp" else f"{name}.{fmt}")
        exporter.export(stored, name, out, fmt=fmt, rules=RULES)
        importer.import_file(fresh, out, name, limits=LIMITS)
    statement = text(f"SELECT {columns} FROM buildings ORDER BY code")  # noqa: S608
    with stored.connect() as a, fresh.connect() as b:
        before, after = a.execute(statement).all(), b.execute(statement).all()
    if fmt == "shp":  # a DBF has no NULL integer: empty basement storeys come back as 0 (no basement either way)
        before = [r[:5] + (r[5] or 0,) + r[6:8] + (r[8] or 0,) + r[9:] for r in before]
        after = [r[:5] + (r[5] or 0,) + r[6:8] + (r[8] or 0,) + r[9:] for r in after]
    geometry_exact = fmt != "geojson"  # GeoJSON keeps 15 significant digits
    assert [r[:-1] if not geometry_exact else r for r in after] == [r[:-1] if not geometry_exact else r
                                                                    for r in before]


def test_geojson_arrays_and_chinese_commas_are_read(fresh, tmp_path):
    data = storeys.layers()
    buildings = data["buildings"]
    buildings["storey_hs"] = buildings["storey_hs"].astype(object)
    buildings.at[0, "storey_hs"] = "9，4.5；4.5, 4.5"
    load(fresh, tmp_path, data)
    with fresh.connect() as conn:
        heights = conn.execute(text("SELECT storey_hs::float8[] FROM buildings WHERE code = :c"),
                               {"c": storeys.code("S1F0001")}).scalar_one()
    assert heights == [9.0, 4.5, 4.5, 4.5]
    path = tmp_path / "arrays.geojson"
    path.write_text(gpd.GeoDataFrame(
        {"code": ["Z1"], "parcel_code": [storeys.S["S1"]], "floors": [2]}, geometry=[storeys.b(0, 60, 60, 80, 80)],
        crs=4549).to_crs(4326).to_json().replace('"floors": 2', '"floors": 2, "storey_hs": [8.5, 4]'))
    importer.import_file(fresh, path, "buildings", limits=LIMITS)
    with fresh.connect() as conn:
        row = conn.execute(text("SELECT storey_hs::float8[], floor_h::float8 FROM buildings WHERE code = 'Z1'")).one()
    assert tuple(row) == ([8.5, 4.0], 8.5)


def test_every_problem_is_named_per_feature(stored, tmp_path):
    b = storeys.layers()["buildings"].iloc[:1].copy()
    rows = []
    for i, change in enumerate([
        {"storey_hs": "9,abc,4.5,4.5"},  # a height that is not a number
        {"storey_hs": "9,4.5,4.5"},  # 3 heights for 4 floors
        {"storey_hs": "9,4.5,4.5,120"},  # out of range
        {"storey_hs": None, "floor_h": None},  # no height at all
        {"bsmt_n": 1, "bsmt_use": "shop"},  # unknown basement use
        {"bsmt_n": 2, "bsmt_use": None},  # basement storeys without their use
        {"bsmt_use": "garage", "bsmt_m2": 500.0},  # a basement without storeys
        {"garage_n": 3},  # garages above the second floor of a 4-storey building: at most 2
    ], start=1):
        row = b.iloc[0].copy()
        row["code"] = f"BAD{i}"
        for name, value in change.items():
            row[name] = value
        rows.append(row)
    bad = gpd.GeoDataFrame(rows, crs=4549)
    bad["bsmt_n"] = bad["bsmt_n"].astype("Int32")
    bad["garage_n"] = bad["garage_n"].astype("Int32")
    with pytest.raises(importer.ImportRejected) as caught:
        importer.import_file(stored, handmade.write(bad, tmp_path / "bad.gpkg"), "buildings", limits=LIMITS)
    errors = [(i.n, i.field, i.message) for i in caught.value.report.errors]
    assert errors == [
        (1, "storey_hs", "field 'storey_hs' (各层层高(m)): 'abc' is not a number; give metres, comma-separated, "
                         "bottom up (e.g. 9,4.5,4.5)"),
        (2, "storey_hs", "field 'storey_hs' (各层层高(m)) gives 3 storey heights for 4 floors (层数): one height per "
                         "storey, bottom up"),
        (3, "storey_hs", "field 'storey_hs' (各层层高(m)): each value must be between 0.01 and 100, got 120"),
        (4, "floor_h", "field 'floor_h' (层高(m)) is empty: give floor_h, or storey_hs with each storey's height"),
        (5, "bsmt_use", "field 'bsmt_use' (地下室用途) must be one of garage, plant, commercial, got 'shop'"),
        (6, "bsmt_use", "field 'bsmt_use' (地下室用途) is empty for 2 basement storeys: give garage, plant or "
                        "commercial"),
        (7, "bsmt_use", "field 'bsmt_use' describes a basement, but 'bsmt_n' (地下室层数) is empty: give the "
                        "basement storeys"),
        (7, "bsmt_m2", "field 'bsmt_m2' describes a basement, but 'bsmt_n' (地下室层数) is empty: give the "
                       "basement storeys"),
        (8, "garage_n", "field 'garage_n' (二层以上停车库层数) counts garage storeys above the second floor: at most "
                        "floors − 2 = 2, got 3"),
    ]


def test_an_update_without_the_storeys_keeps_them_consistent(stored, tmp_path):
    """Changing floors from a file without storey_hs would leave 4 stored heights for 5 floors: refused."""
    b = storeys.layers()["buildings"].iloc[:1][["code", "parcel_code", "floors", "floor_h", "use", "geometry"]].copy()
    b["floors"] = 5
    b["floor_h"] = 4.5
    with pytest.raises(importer.ImportRejected) as caught:
        importer.import_file(stored, handmade.write(b, tmp_path / "b.gpkg"), "buildings", mode="upsert",
                             limits=LIMITS)
    (error,) = caught.value.report.errors
    assert (error.field, error.message) == ("storey_hs", (
        "field 'storey_hs' (各层层高(m)) gives 4 storey heights for 5 floors (层数): one height per storey, bottom up "
        "(with the stored storey_hs, bsmt_n, bsmt_use, bsmt_m2, garage_n, which the file lacks)"))
    b["storey_hs"] = "9,4.5,4.5,4.5,4.5"
    report = importer.import_file(stored, handmade.write(b, tmp_path / "b2.gpkg"), "buildings", mode="upsert",
                                  limits=LIMITS, dry_run=True)
    assert report.updated == 1 and not report.errors


@pytest.fixture(scope="module")
def ogc(stored, base_settings) -> Iterator[TestClient]:
    settings = base_settings.model_copy(update={"database_url": stored.url.render_as_string(False)})
    with TestClient(create_app(settings)) as client:
        yield login_as(client, "viewer")


def test_ogc_buildings_carry_the_fields(ogc):
    body = ogc.get(f"/ogc/collections/buildings/items/{storeys.code('S3F0001')}").json()
    props = body["properties"]
    assert {f: props[f] for f in NEW_FIELDS} == {"storey_hs": "9,4.5,4.5,4.5,10", "bsmt_n": 1, "bsmt_use": "plant",
                                                 "bsmt_m2": None, "garage_n": 2}
    queryables = ogc.get("/ogc/collections/buildings/queryables").json()["properties"]
    assert queryables["storey_hs"]["title"] == "各层层高(m)"
    assert queryables["bsmt_use"]["enum"] == ["garage", "plant", "commercial"]
    items = ogc.get("/ogc/collections/buildings/items", params={"bsmt_use": "commercial"}).json()
    assert [f["id"] for f in items["features"]] == [storeys.code("S2F0001")]
    items = ogc.get("/ogc/collections/buildings/items", params={"filter": "garage_n >= 2"}).json()
    assert sorted(f["id"] for f in items["features"]) == [storeys.code("S2F0001"), storeys.code("S3F0001")]


def test_shapefile_names_fit(stored, tmp_path):
    out = exporter.export(stored, "buildings", tmp_path / "b.zip", fmt="shp", rules=RULES).path
    names = set(pyogrio.read_info(f"/vsizip/{out}")["fields"])
    assert set(NEW_FIELDS) <= names and all(len(n) <= 10 for n in names)
