"""Joint developments (联合开发) on hand-built parcels with known areas (storage CRS EPSG:4549, metres)."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys

import mapbox_vector_tile
import pyogrio
import pytest
import shapely
from fastapi.testclient import TestClient
from sqlalchemy import text

from app.api import create_app
from app.db.engine import make_engine
from app.errors import InvalidParameter, NotConnected
from app.io import importer
from app.io.safety import IOLimits
from tests.api.test_tiles import tile_of
from tests.conftest import login_as

X0, Y0 = 620_000.0, 3_340_000.0


def rect(x0: float, y0: float, x1: float, y1: float) -> str:
    """EWKT of a rectangle given in metres relative to (X0, Y0)."""
    a, b, c, d = X0 + x0, Y0 + y0, X0 + x1, Y0 + y1
    return f"SRID=4549;MULTIPOLYGON((({a} {b},{c} {b},{c} {d},{a} {d},{a} {b})))"


PARCELS = {
    # three in a row, 100 m × 100 m each: 10 000 m² = 15 亩 each
    "ROW-A": ("甲公司", "2045-01-01", rect(0, 0, 100, 100)),
    "ROW-B": ("乙公司", "2050-01-01", rect(100, 0, 200, 100)),
    "ROW-C": ("丙公司", "2060-01-01", rect(200, 0, 300, 100)),
    # a 0.3 m digitizing gap
    "GAP-A": ("甲公司", "2050-01-01", rect(0, 1000, 100, 1100)),
    "GAP-B": ("乙公司", "2050-01-01", rect(100.3, 1000, 200.3, 1100)),
    # a 2 m gap
    "FAR-A": ("甲公司", "2050-01-01", rect(0, 1500, 100, 1600)),
    "FAR-B": ("乙公司", "2050-01-01", rect(102, 1500, 202, 1600)),
    # corner touch only
    "CNR-A": ("甲公司", "2050-01-01", rect(0, 2000, 100, 2100)),
    "CNR-B": ("乙公司", "2050-01-01", rect(100, 2100, 200, 2200)),
    # four parcels around a foreign courtyard (100 m × 100 m, owned by 丁)
    "RNG-S": ("甲公司", "2050-01-01", rect(0, 3000, 300, 3100)),
    "RNG-N": ("乙公司", "2050-01-01", rect(0, 3200, 300, 3300)),
    "RNG-W": ("甲公司", "2050-01-01", rect(0, 3100, 100, 3200)),
    "RNG-E": ("乙公司", "2050-01-01", rect(200, 3100, 300, 3200)),
    "RNG-YARD": ("丁公司", "2050-01-01", rect(100, 3100, 200, 3200)),
    # two large parcels, 400 m × 200 m = 80 000 m² = 120 亩 each: 240 亩 together
    "BIG-A": ("甲公司", "2050-01-01", rect(0, 4000, 400, 4200)),
    "BIG-B": ("乙公司", "2050-01-01", rect(400, 4000, 800, 4200)),
    # for the OGC API and export test
    "OGC-A": ("甲公司", "2050-01-01", rect(0, 5000, 100, 5100)),
    "OGC-B": ("乙公司", "2055-01-01", rect(100, 5000, 200, 5100)),
}
BUILDINGS = [
    # ROW-A: 50 × 40 = 2000 m² footprint, 3 floors of 4.5 m: 6000 m² counted once
    ("ROW-A-F1", "ROW-A", 3, 4.5, rect(10, 10, 60, 50)),
    # ROW-B: 2000 m², 1 floor of 9 m (> 8 m): 2000 m² counted twice = 4000 m²
    ("ROW-B-F1", "ROW-B", 1, 9.0, rect(110, 10, 160, 50)),
]


@pytest.fixture(scope="module")
def jd_url(databases, base_settings):
    url = databases.create()
    engine = make_engine(base_settings, url)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO towns (code, name, geom) VALUES ('330282113', '胜山镇', ST_GeomFromEWKT(:g))"),
                     {"g": rect(-1000, -1000, 2000, 7000)})
        conn.execute(text("INSERT INTO blocks (code, name, town_id, geom) "
                          "SELECT 'QK113-001', '联合开发测试区块', id, ST_GeomFromEWKT(:g) FROM towns"),
                     {"g": rect(-500, -500, 1500, 6000)})
        for code, (owner, term, geom) in PARCELS.items():
            conn.execute(text("INSERT INTO parcels (code, block_id, owner, term_end, geom) "
                              "SELECT :c, id, :o, CAST(:t AS date), ST_GeomFromEWKT(:g) FROM blocks"),
                         {"c": code, "o": owner, "t": term, "g": geom})
        for code, parcel, floors, floor_h, geom in BUILDINGS:
            conn.execute(text("INSERT INTO buildings (code, parcel_id, floors, floor_h, geom) "
                              "SELECT :c, id, :f, :h, ST_GeomFromEWKT(:g) FROM parcels WHERE code = :p"),
                         {"c": code, "p": parcel, "f": floors, "h": floor_h, "g": geom})
    engine.dispose()
    return url


@pytest.fixture(scope="module")
def client(jd_url, base_settings):
    with TestClient(create_app(base_settings.model_copy(update={"database_url": jd_url}))) as c:
        yield login_as(c, "admin")  # saving needs a reviewer or an admin (issue 8)


def body(parcels, members, **extra):
    return {"parcels": parcels, "members": [{"owner": o, "share_pct": s} for o, s in members],
            "valuation_date": "2025-01-01", **extra}


ROW = body(["ROW-A", "ROW-B", "ROW-C"], [("甲公司", 40), ("乙公司", 35), ("丙公司", 25)],
           p50_yuan_per_mu=136_000, planned_floor_area_m2=60_000, name="胜山联合园")


def test_three_in_a_row(client):
    resp = client.post("/api/joint-developments/preview", json=ROW)
    assert resp.status_code == 200, resp.text
    f = resp.json()
    assert f["geometry"]["type"] == "MultiPolygon" and len(f["geometry"]["coordinates"]) == 1
    assert f["land_area_m2"] == pytest.approx(30_000, abs=0.01)
    assert f["outline_area_m2"] == pytest.approx(30_000, abs=0.01)
    assert f["land_area_mu"] == pytest.approx(45)  # 30 000 × 15 / 10 000
    # counted: 6000 (ROW-A) + 2000 × 2 (ROW-B, 9 m storey) = 10 000 m²; FAR 10 000 / 30 000
    assert f["far_floor_area_m2"] == pytest.approx(10_000, abs=0.01)
    assert f["far"] == pytest.approx(1 / 3)
    assert f["floor_area_for_target_m2"] == pytest.approx(60_000)  # 2.0 × 30 000
    assert f["floor_area_to_add_m2"] == pytest.approx(50_000)
    assert f["planned_far"] == pytest.approx(2.0)
    assert f["term_end"] == "2060-01-01"
    tops = {t["code"]: t for t in f["top_ups"]}
    assert set(tops) == {"ROW-A", "ROW-B"}
    assert tops["ROW-A"]["years_made_up"] == pytest.approx(15)
    assert tops["ROW-A"]["top_up_yuan"] == pytest.approx(391_945, abs=1)  # see test_joint_formulas
    assert tops["ROW-B"]["top_up_yuan"] == pytest.approx(221_952, abs=1)
    assert f["top_up_total_yuan"] == pytest.approx(391_945 + 221_952, abs=2)
    split = {s["owner"]: s["floor_area_m2"] for s in f["split"]}
    assert split == pytest.approx({"甲公司": 24_000, "乙公司": 21_000, "丙公司": 15_000})
    assert "one_case_one_discussion" not in f and "acquisition_line_mu" not in f


def test_save_read_and_list(client):
    resp = client.post("/api/joint-developments", json=ROW)
    assert resp.status_code == 201, resp.text
    saved = resp.json()
    again = client.get(f"/api/joint-developments/{saved['id']}")
    assert again.status_code == 200
    assert again.json()["name"] == "胜山联合园"
    assert again.json()["land_area_m2"] == pytest.approx(30_000, abs=0.01)
    listed = client.get("/api/joint-developments").json()
    assert {"id": saved["id"], "parcels": ["ROW-A", "ROW-B", "ROW-C"]}.items() <= next(
        j for j in listed if j["id"] == saved["id"]).items()
    # a parcel belongs to one active project only
    clash = client.post("/api/joint-developments", json=body(["ROW-C", "ROW-B"], [("丙公司", 50), ("乙公司", 50)]))
    assert clash.status_code == 409
    assert (clash.json()["code"], clash.json()["field"]) == ("Conflict", "parcels")
    assert clash.json()["detail"] == (f"parcels: ROW-B already belongs to active joint development {saved['id']} "
                                      "(胜山联合园)")
    assert client.get("/api/joint-developments/999999").status_code == 404


def test_collection_in_ogc_api_and_exports(client, tmp_path):
    saved = client.post("/api/joint-developments", json=body(
        ["OGC-A", "OGC-B"], [("甲公司", 50), ("乙公司", 50)], name="环湾联合体")).json()
    collections = client.get("/ogc/collections", headers={"Accept": "application/json"}).json()["collections"]
    ids = [c["id"] for c in collections]
    assert "joint_developments" in ids
    items = client.get("/ogc/collections/joint_developments/items", params={"limit": 100}).json()
    feature = next(f for f in items["features"] if f["properties"]["name"] == "环湾联合体")
    assert feature["properties"]["parcels"] == "OGC-A,OGC-B"
    assert feature["properties"]["area_mu"] == pytest.approx(30)  # 20 000 m² × 15 / 10 000
    assert feature["properties"]["term_end"] == "2055-01-01"
    one = client.get(f"/ogc/collections/joint_developments/items/{saved['id']}")
    assert one.status_code == 200, one.text
    assert one.json()["properties"]["name"] == "环湾联合体"
    for bad in ("abc", "99999999999", "424242"):
        assert client.get(f"/ogc/collections/joint_developments/items/{bad}").status_code == 404
    lon, lat = shapely.geometry.shape(one.json()["geometry"]).centroid.coords[0]
    x, y = tile_of(lon, lat, 15)
    tile = client.get(f"/tiles/joint_developments/15/{x}/{y}.mvt")
    assert tile.status_code == 200, tile.text
    names = [f["properties"]["name"] for f in mapbox_vector_tile.decode(tile.content)["joint_developments"]["features"]]
    assert "环湾联合体" in names
    assert feature["properties"]["town_code"] == "330282113"
    resp = client.get("/api/export", params={"layer": "joint_developments", "format": "gpkg"})
    assert resp.status_code == 200, resp.text
    out = tmp_path / "jd.gpkg"
    out.write_bytes(resp.content)
    gdf = pyogrio.read_dataframe(out)
    row = gdf[gdf["name"] == "环湾联合体"].iloc[0]
    assert row["code"] == saved["id"]
    assert row.geometry.area == pytest.approx(20_000, abs=0.01)  # storage CRS, m²


def test_joint_developments_are_not_imported(jd_url, base_settings, tmp_path):
    path = tmp_path / "jd.geojson"
    path.write_text('{"type":"FeatureCollection","features":[]}')
    engine = make_engine(base_settings, jd_url)
    try:
        with pytest.raises(InvalidParameter, match="joint_developments are made by the service, not imported"):
            importer.import_file(engine, path, "joint_developments", limits=IOLimits())
    finally:
        engine.dispose()


def test_narrow_gap_is_merged_without_sliver(client):
    f = client.post("/api/joint-developments/preview",
                    json=body(["GAP-A", "GAP-B"], [("甲公司", 50), ("乙公司", 50)])).json()
    assert len(f["geometry"]["coordinates"]) == 1
    assert f["holes"] == 0
    assert f["land_area_m2"] == pytest.approx(20_000, abs=0.01)
    assert f["outline_area_m2"] == pytest.approx(20_030, abs=0.01)  # the 0.3 m × 100 m sliver closed


def test_wide_gap_is_rejected(client):
    resp = client.post("/api/joint-developments/preview",
                       json=body(["FAR-A", "FAR-B"], [("甲公司", 50), ("乙公司", 50)]))
    assert resp.status_code == 422
    body_ = resp.json()
    assert (body_["code"], body_["field"]) == ("NotConnected", "parcels")
    assert body_["detail"] == "parcels: FAR-B is cut off from FAR-A (no shared boundary within 0.5 m)"


def test_corner_touch_is_not_adjacency(client):
    resp = client.post("/api/joint-developments/preview",
                       json=body(["CNR-A", "CNR-B"], [("甲公司", 50), ("乙公司", 50)]))
    assert resp.status_code == 422
    assert resp.json()["detail"] == "parcels: CNR-B is cut off from CNR-A (no shared boundary within 0.5 m)"


def test_foreign_courtyard_stays_a_hole(client):
    f = client.post("/api/joint-developments/preview",
                    json=body(["RNG-S", "RNG-N", "RNG-W", "RNG-E"], [("甲公司", 60), ("乙公司", 40)])).json()
    assert len(f["geometry"]["coordinates"]) == 1
    assert len(f["geometry"]["coordinates"][0]) == 2  # outer ring and one hole
    assert f["holes"] == 1
    assert f["outline_area_m2"] == pytest.approx(300 * 300 - 100 * 100, abs=0.01)


def test_a_consortium_over_200_mu_is_no_case_for_one_case_one_discussion(client):
    """一事一议 is the plan's path for state-owned acquisitions of ≥ 200 亩 (ProgrammeRules.state_acquisition_mu,
    the incentives calculator), not for a consortium of holders: a 240 亩 joint development carries no such flag."""
    f = client.post("/api/joint-developments/preview",
                    json=body(["BIG-A", "BIG-B"], [("甲公司", 50), ("乙公司", 50)])).json()
    assert f["land_area_mu"] == pytest.approx(240)  # 160 000 m² × 15 / 10 000
    assert "one_case_one_discussion" not in f and "acquisition_line_mu" not in f
    assert "一事一议" not in json.dumps(f, ensure_ascii=False)


def test_stored_figures_lose_the_old_flag(client, jd_url, base_settings):
    """Projects saved by earlier versions carried one_case_one_discussion: it is left out on reading."""
    engine = make_engine(base_settings, jd_url)
    with engine.begin() as conn:
        jd_id = conn.execute(text(
            "INSERT INTO joint_developments (name, tolerance_m, rate, valuation_date, term_end, land_area_m2, figures, "
            "geom) VALUES ('旧记录', 0.5, 0.06, DATE '2025-01-01', DATE '2050-01-01', 10000, CAST(:f AS jsonb), "
            "ST_GeomFromEWKT(:g)) RETURNING id"),
            {"f": json.dumps({"name": "旧记录", "land_area_mu": 240.0, "one_case_one_discussion": True,
                              "acquisition_line_mu": 200.0}),
             "g": rect(0, 9000, 100, 9100)}).scalar_one()
    engine.dispose()
    again = client.get(f"/api/joint-developments/{jd_id}").json()
    assert again["name"] == "旧记录" and again["land_area_mu"] == 240.0
    assert "one_case_one_discussion" not in again and "acquisition_line_mu" not in again


def test_tolerance_factors_come_from_the_rules(jd_url, base_settings):
    """RENEWAL_RULE_JOINT_SHARED_BOUNDARY_FACTOR and _CLOSING_FACTOR, in place of literals (hand-worked)."""
    from app.planning import joint_sql
    from app.planning.config import PlanningRules

    def proposal(codes, tolerance=0.5, owners=("甲公司", "乙公司")):
        members = [joint_sql.Member(o, 100 / len(owners)) for o in owners]
        return joint_sql.Proposal(parcels=codes, members=members, tolerance_m=tolerance,
                                  valuation_date=dt.date(2025, 1, 1))

    engine = make_engine(base_settings, jd_url)
    with engine.connect() as conn:
        # the 0.3 m gap closes with ± 0.5 × 0.5 m = 0.25 m (a gap under 0.5 m) ...
        merged = joint_sql.evaluate(conn, proposal(["GAP-A", "GAP-B"]), PlanningRules())
        assert merged["outline_area_m2"] == pytest.approx(20_030, abs=0.01)
        # ... but not with ± 0.2 × 0.5 m = 0.1 m (a gap under 0.2 m): the outline keeps two parts
        with pytest.raises(NotConnected, match="the merged outline has 2 parts"):
            joint_sql.evaluate(conn, proposal(["GAP-A", "GAP-B"]), PlanningRules(joint_closing_factor=0.2))
        # RNG-S's boundary within 1.1 m of RNG-W: the 100 m shared edge + 1.1 m on along it + 1.1 m of its side =
        # 102.2 m; at least 4 × 1.1 m = 4.4 m by default (adjacent), 100 × 1.1 m = 110 m with the factor 100 (not)
        pair = proposal(["RNG-S", "RNG-W"], tolerance=1.1, owners=("甲公司",))
        assert joint_sql.evaluate(conn, pair, PlanningRules())["land_area_m2"] == pytest.approx(40_000)
        with pytest.raises(NotConnected, match="RNG-W is cut off from RNG-S .no shared boundary within 1.1 m."):
            joint_sql.evaluate(conn, pair, PlanningRules(joint_shared_boundary_factor=100))
    engine.dispose()
    with pytest.raises(ValueError, match="greater than 2"):
        PlanningRules(joint_shared_boundary_factor=2)  # a corner touch would count as adjacency


@pytest.mark.parametrize(("payload", "status", "detail"), [
    (body(["ROW-A"], [("甲公司", 100)]), 400, "parcels: a joint development needs at least two different parcels"),
    (body(["GAP-A", "NOPE"], [("甲公司", 100)]), 404, "parcels: no parcel with code NOPE"),
    (body(["GAP-A", "GAP-B"], [("甲公司", 50), ("乙公司", 49.98)]), 400,
     "members: shares sum to 99.9800%, not 100% (±0.01%)"),
    (body(["GAP-A", "GAP-B"], [("甲公司", 40), ("乙公司", 40), ("戊公司", 20)]), 400,
     "members: '戊公司' holds none of the parcels"),
    (body(["GAP-A", "GAP-B"], [("甲公司", 100)]), 400, "parcels: the holder of GAP-B ('乙公司') is not a member"),
    ({**body(["GAP-A", "GAP-B"], [("甲公司", 50), ("乙公司", 50)]), "valuation_date": "2051-01-01"}, 400,
     "valuation_date: every term has ended by 2051-01-01 (the longest ends 2050-01-01)"),
])
def test_errors(client, payload, status, detail):
    resp = client.post("/api/joint-developments/preview", json=payload)
    assert resp.status_code == status
    assert resp.json()["detail"] == detail


def test_shares_within_a_hundredth_of_a_percent_pass(client):
    resp = client.post("/api/joint-developments/preview",
                       json=body(["GAP-A", "GAP-B"], [("甲公司", 50), ("乙公司", 50.005)]))
    assert resp.status_code == 200, resp.text


def renewal(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "app.cli", *args], capture_output=True, text=True,
                          env={**os.environ, "DATABASE_URL": url}, timeout=120)


def test_cli_create_show_list(jd_url):
    bad = renewal(jd_url, "joint", "create", "-p", "BIG-A", "-p", "BIG-B", "-m", "甲公司:50", "-m", "乙公司:40")
    assert bad.returncode == 2
    assert "members: shares sum to 90.0000%, not 100% (±0.01%)" in bad.stderr
    made = renewal(jd_url, "joint", "create", "-p", "BIG-A", "-p", "BIG-B", "-m", "甲公司:50:100000",
                   "-m", "乙公司:50:100000", "--name", "大项目", "--valuation-date", "2025-01-01")
    assert made.returncode == 0, made.stderr
    saved = json.loads(made.stdout)
    assert saved["planned_floor_area_m2"] == 200_000  # the members' planned areas summed
    assert saved["planned_far"] == pytest.approx(1.25)  # 200 000 / 160 000
    shown = renewal(jd_url, "joint", "show", str(saved["id"]))
    assert json.loads(shown.stdout)["name"] == "大项目"
    listed = renewal(jd_url, "joint", "list")
    assert "大项目" in listed.stdout and "240.00" in listed.stdout
    assert renewal(jd_url, "joint", "show", "424242").returncode == 2


def test_rate_source_is_worded_for_users(client, jd_url, base_settings):
    """Issue 17: the preview cites no internal note; the default rate is provisional and names its setting."""
    pair = body(["GAP-A", "GAP-B"], [("甲公司", 50), ("乙公司", 50)], p50_yuan_per_mu=136_000)
    f = client.post("/api/joint-developments/preview", json=pair).json()
    assert f["rate"] == 0.06 and f["rate_provisional"] is True and f["rate_setting"] == "RENEWAL_LAND_RATE"
    assert f["rate_source"] == ("暂定值 (provisional), 由 RENEWAL_LAND_RATE 设定 (set it to Cixi's value) · "
                                "依据 GB/T 18508-2014《城镇土地估价规程》收益还原法")
    assert f["split_basis"] == "容积率 2 所需建筑面积 (floor area at 容积率 2)"
    given = client.post("/api/joint-developments/preview", json={**pair, "rate": 0.05}).json()
    assert given["rate_source"].startswith("请求给定 (given with the request)") and not given["rate_provisional"]
    configured = base_settings.model_copy(update={"database_url": jd_url, "land_rate": 0.055})
    configured.model_fields_set.add("land_rate")  # as when RENEWAL_LAND_RATE is set
    with TestClient(create_app(configured)) as other:
        mine = other.post("/api/joint-developments/preview", json=pair).json()
    assert mine["rate"] == 0.055 and mine["rate_source"].startswith("RENEWAL_LAND_RATE 设定值 (configured)")
    for answer in (f, given, mine):
        text_ = json.dumps(answer, ensure_ascii=False)
        assert ".md" not in text_ and "§" not in text_ and "assumed" not in text_
    spec = client.get("/openapi.json").text
    assert "6% assumed" not in spec and "RENEWAL_LAND_RATE" in spec
