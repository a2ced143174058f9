"""OGC API – Features at /ogc: Parts 1, 2 and 3 on the 0.02 sample, and GDAL's OAPIF driver reading it."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
import shapely
from fastapi.testclient import TestClient
from pyproj import Transformer
from sqlalchemy import Engine, text

from app.api import create_app
from app.db.engine import make_engine
from app.io import sample_load
from app.settings import Settings

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG = "http://www.opengis.net/def/crs/EPSG/0/{}"
COLLECTIONS = ("towns", "blocks", "parcels", "buildings", "joint_developments")


@pytest.fixture(scope="module")
def sample_url(databases) -> str:
    """A database holding the 0.02 sample (seed 42)."""
    url = databases.create()
    return url


@pytest.fixture(scope="module")
def sample_engine(sample_url, base_settings) -> Iterator[Engine]:
    eng = make_engine(base_settings, sample_url, statement_timeout_ms=0)
    sample_load.load(eng, scale=0.02, seed=42)
    yield eng
    eng.dispose()


@pytest.fixture(scope="module")
def ogc(sample_engine, sample_url, base_settings) -> Iterator[TestClient]:
    settings: Settings = base_settings.model_copy(update={"database_url": sample_url})
    with TestClient(create_app(settings)) as client:
        yield client


def table_counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in COLLECTIONS}  # noqa: S608


def scalar(engine: Engine, sql: str, **params: object) -> object:
    with engine.connect() as conn:
        return conn.execute(text(sql), params).scalar_one()


def test_landing_conformance_and_api(ogc):
    landing = ogc.get("/ogc").json()
    rels = {link["rel"] for link in landing["links"]}
    assert {"self", "service-desc", "service-doc", "conformance", "data"} <= rels
    conformance = ogc.get("/ogc/conformance").json()["conformsTo"]
    for cls in ("ogcapi-features-1/1.0/conf/core", "ogcapi-features-1/1.0/conf/geojson",
                "ogcapi-features-1/1.0/conf/html", "ogcapi-features-1/1.0/conf/oas30",
                "ogcapi-features-2/1.0/conf/crs", "ogcapi-features-3/1.0/conf/filter",
                "ogcapi-features-3/1.0/conf/features-filter", "ogcapi-features-3/1.0/conf/queryables",
                "cql2/1.0/conf/cql2-text", "cql2/1.0/conf/basic-spatial-functions"):
        assert f"http://www.opengis.net/spec/{cls}" in conformance
    api = ogc.get("/ogc/api")
    assert api.headers["content-type"].startswith("application/vnd.oai.openapi+json;version=3.0")
    doc = api.json()
    assert doc["openapi"].startswith("3.0")
    items = doc["paths"]["/ogc/collections/{cid}/items"]["get"]
    limit = next(p for p in items["parameters"] if p["name"] == "limit")
    assert limit["schema"]["maximum"] == 10000 and limit["schema"]["default"] == 100
    assert "'type': 'null'" not in str(doc)  # OpenAPI 3.0: nullable, not 3.1's null type
    html = ogc.get("/ogc", headers={"accept": "text/html"})
    assert html.headers["content-type"].startswith("text/html") and "OGC API" in html.text


def test_collections_have_extents_crs_and_storage_crs(ogc, sample_engine):
    body = ogc.get("/ogc/collections").json()
    assert [c["id"] for c in body["collections"]] == list(COLLECTIONS)
    parcels = next(c for c in body["collections"] if c["id"] == "parcels")
    assert parcels["storageCrs"] == EPSG.format(4549)
    assert parcels["crs"][0] == CRS84
    assert {EPSG.format(c) for c in (4326, 4490, 4549, 4528)} <= set(parcels["crs"])
    minx, miny, maxx, maxy = parcels["extent"]["spatial"]["bbox"][0]
    assert 121.0 < minx < maxx < 121.7 and 30.0 < miny < maxy < 30.4
    assert parcels["extent"]["temporal"]["interval"][0][0].endswith("T00:00:00Z")
    assert "temporal" not in next(c for c in body["collections"] if c["id"] == "towns")["extent"]
    rels = {link["rel"] for link in parcels["links"]}
    assert {"items", "http://www.opengis.net/def/rel/ogc/1.0/queryables", "describedby"} <= rels
    assert ogc.get("/ogc/collections/roads").status_code == 404


def test_queryables_have_chinese_titles(ogc):
    r = ogc.get("/ogc/collections/parcels/queryables")
    assert r.headers["content-type"] == "application/schema+json"
    props = r.json()["properties"]
    assert props["owner"]["title"] == "土地权属人"
    assert props["term_end"] == {"title": "土地使用权终止日期", "type": "string", "format": "date",
                                 "description": "YYYY-MM-DD"}
    assert props["geometry"]["format"] == "geometry-multipolygon"
    assert ogc.get("/ogc/collections/blocks/queryables").json()["properties"]["status"]["enum"][0] == "listed"


def _all_pages(client: TestClient, url: str) -> tuple[list[dict], list[dict]]:
    """Follow next links from ``url``; returns the features and the pages."""
    features, pages = [], []
    while url:
        page = client.get(url).json()
        pages.append(page)
        features += page["features"]
        url = next((link["href"] for link in page["links"] if link["rel"] == "next"), "")
    return features, pages


def test_paging_counts_and_same_properties(ogc, sample_engine):
    counts = table_counts(sample_engine)
    feats, pages = _all_pages(ogc, "/ogc/collections/blocks/items?limit=3")
    assert len(feats) == counts["blocks"] == pages[0]["numberMatched"]
    assert [p["numberReturned"] for p in pages] == [len(p["features"]) for p in pages]
    assert len({f["id"] for f in feats}) == len(feats)
    keys = {tuple(f["properties"]) for f in feats}
    assert len(keys) == 1  # every feature carries the same properties, nulls included
    second = ogc.get("/ogc/collections/blocks/items?limit=3&offset=3").json()
    prev = next(link["href"] for link in second["links"] if link["rel"] == "prev")
    assert parse_qs(urlparse(prev).query)["offset"] == ["0"]
    big = ogc.get("/ogc/collections/parcels/items?limit=50000").json()
    assert big["numberReturned"] == min(10000, counts["parcels"])  # limits above 10,000 are served as 10,000
    assert ogc.get("/ogc/collections/parcels/items?limit=0").status_code == 400
    first = ogc.get("/ogc/collections/parcels/items").json()
    assert first["numberReturned"] == 100 and first["type"] == "FeatureCollection"


def test_crs_and_axis_order(ogc):
    base = "/ogc/collections/blocks/items?limit=1"
    r84 = ogc.get(base)
    assert r84.headers["content-crs"] == f"<{CRS84}>"
    lon, lat = r84.json()["features"][0]["geometry"]["coordinates"][0][0][0]
    assert 121 < lon < 122 and 30 < lat < 31
    for code in (4326, 4490):
        r = ogc.get(base, params={"crs": EPSG.format(code)})
        assert r.headers["content-crs"] == f"<{EPSG.format(code)}>"
        a, b = r.json()["features"][0]["geometry"]["coordinates"][0][0][0]
        assert (a, b) == pytest.approx((lat, lon), abs=1e-5)  # latitude first
    r = ogc.get(base, params={"crs": EPSG.format(4549)})
    x, y = r.json()["features"][0]["geometry"]["coordinates"][0][0][0]
    ex, ey = Transformer.from_crs(4326, 4549, always_xy=True).transform(lon, lat)
    assert (x, y) == pytest.approx((ex, ey), abs=0.01)
    r = ogc.get(base, params={"crs": EPSG.format(4528)})
    assert r.json()["features"][0]["geometry"]["coordinates"][0][0][0][0] == pytest.approx(ex + 40_000_000, abs=0.01)
    bad = ogc.get(base, params={"crs": EPSG.format(3857)})
    assert bad.status_code == 400 and bad.json()["field"] == "crs"


def test_bbox_and_bbox_crs(ogc, sample_engine):
    block = ogc.get("/ogc/collections/blocks/items?limit=1&crs=" + EPSG.format(4549)).json()["features"][0]
    geom = shapely.geometry.shape(block["geometry"])
    minx, miny, maxx, maxy = geom.bounds
    want = scalar(sample_engine, "SELECT count(*) FROM parcels WHERE ST_Intersects(geom, "
                  "ST_MakeEnvelope(:a, :b, :c, :d, 4549))", a=minx, b=miny, c=maxx, d=maxy)
    r = ogc.get("/ogc/collections/parcels/items", params={
        "bbox": f"{minx},{miny},{maxx},{maxy}", "bbox-crs": EPSG.format(4549), "limit": 1})
    assert r.json()["numberMatched"] == want > 0
    tr = Transformer.from_crs(4549, 4326, always_xy=True)
    (lo1, la1), (lo2, la2) = tr.transform(minx, miny), tr.transform(maxx, maxy)
    lonlat = ogc.get("/ogc/collections/parcels/items", params={"bbox": f"{lo1},{la1},{lo2},{la2}", "limit": 1})
    latlon = ogc.get("/ogc/collections/parcels/items", params={"bbox": f"{la1},{lo1},{la2},{lo2}", "limit": 1,
                                                               "bbox-crs": EPSG.format(4326)})
    assert lonlat.json()["numberMatched"] == latlon.json()["numberMatched"] == pytest.approx(want, abs=3)
    world = ogc.get("/ogc/collections/towns/items", params={"bbox": "-180,-90,180,90"}).json()
    assert world["numberMatched"] == table_counts(sample_engine)["towns"]
    assert ogc.get("/ogc/collections/towns/items", params={"bbox": "1,2,3"}).status_code == 400


def test_bbox_pages_follow_next_links_to_exactly_the_matching_features(ogc, sample_engine):
    """A bbox (found once, then counted and paged by key) paged 7 at a time in both sort orders, alone and with
    a filter on a joined table's property: the pages join up to exactly the parcels SQL finds, in order."""
    envelope = ("SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT ST_Expand(ST_Envelope(geom), "
                "150) AS e FROM blocks ORDER BY code LIMIT 1) b")
    matching = ("SELECT p.code, t.code AS town FROM parcels p JOIN blocks b ON b.id = p.block_id "
                "JOIN towns t ON t.id = b.town_id WHERE ST_Intersects(p.geom, ST_MakeEnvelope(:a, :b, :c, :d, 4549)) "
                "ORDER BY p.code")
    with sample_engine.connect() as conn:
        minx, miny, maxx, maxy = (float(v) for v in conn.execute(text(envelope)).one())
        rows = conn.execute(text(matching), {"a": minx, "b": miny, "c": maxx, "d": maxy}).all()
    town = min(r.town for r in rows)
    for extra, want in [({}, [r.code for r in rows]), ({"town_code": town}, [r.code for r in rows if r.town == town])]:
        assert len(want) > 14  # at least three pages
        for sortby, expected in [("code", want), ("-code", want[::-1])]:
            params = {"bbox": f"{minx},{miny},{maxx},{maxy}", "bbox-crs": EPSG.format(4549), "limit": 7,
                      "sortby": sortby, **extra}
            got: list[str] = []
            page = ogc.get("/ogc/collections/parcels/items", params=params).json()
            while True:
                assert page["numberMatched"] == len(want)
                got += [f["id"] for f in page["features"]]
                nxt = [link["href"] for link in page["links"] if link["rel"] == "next"]
                if not nxt:
                    break
                page = ogc.get(nxt[0]).json()
            assert got == expected


def test_property_filters_sortby_properties_datetime(ogc, sample_engine):
    town = scalar(sample_engine, "SELECT t.code FROM towns t JOIN blocks b ON b.town_id = t.id "
                                 "JOIN parcels p ON p.block_id = b.id GROUP BY t.code ORDER BY count(*) DESC LIMIT 1")
    r = ogc.get("/ogc/collections/parcels/items", params={"town_code": town, "limit": 5}).json()
    assert r["numberMatched"] == scalar(sample_engine, "SELECT count(*) FROM parcels p JOIN blocks b ON "
                                                       "b.id = p.block_id JOIN towns t ON t.id = b.town_id "
                                                       "WHERE t.code = :c", c=town)
    assert {f["properties"]["town_code"] for f in r["features"]} == {town}
    status = ogc.get("/ogc/collections/blocks/items", params={"status": "planned,accepted", "limit": 500}).json()
    assert status["numberMatched"] == scalar(sample_engine, "SELECT count(*) FROM blocks WHERE status IN "
                                                            "('planned', 'accepted')")
    years = [f["properties"]["plan_year"] for f in ogc.get(
        "/ogc/collections/blocks/items?sortby=-plan_year,code&limit=500").json()["features"]]
    known = [y for y in years if y is not None]
    assert known == sorted(known, reverse=True) and years[: len(known)] == known  # nulls last
    slim = ogc.get("/ogc/collections/parcels/items?properties=code,owner&limit=2").json()["features"][0]
    assert list(slim["properties"]) == ["code", "owner"]
    dated = ogc.get("/ogc/collections/parcels/items", params={"datetime": "../2040-12-31", "limit": 1}).json()
    assert dated["numberMatched"] == scalar(sample_engine, "SELECT count(*) FROM parcels "
                                                           "WHERE term_end <= '2040-12-31'")
    assert ogc.get("/ogc/collections/parcels/items?colour=red").status_code == 400
    assert ogc.get("/ogc/collections/parcels/items?sortby=colour").status_code == 400
    assert ogc.get("/ogc/collections/parcels/items?datetime=yesterday").status_code == 400


@pytest.mark.parametrize(("cql", "sql"), [
    ("status = 'planned' AND plan_year >= 2024", "SELECT count(*) FROM blocks WHERE status = 'planned' "
                                                 "AND plan_year >= 2024"),
    ("name LIKE '%村%' OR mode IS NULL", "SELECT count(*) FROM blocks WHERE name LIKE '%村%' OR mode IS NULL"),
    ("status IN ('listed','surveyed') AND NOT fire_haz = true",
     "SELECT count(*) FROM blocks WHERE status IN ('listed','surveyed') AND NOT fire_hazard"),
    ("plan_year BETWEEN 2023 AND 2024", "SELECT count(*) FROM blocks WHERE plan_year BETWEEN 2023 AND 2024"),
    ("S_INTERSECTS(geometry, BBOX(121.2, 30.1, 121.3, 30.3))",
     "SELECT count(*) FROM blocks WHERE ST_Intersects(geom, ST_Transform(ST_Segmentize("
     "ST_MakeEnvelope(121.2, 30.1, 121.3, 30.3, 4326), 0.01), 4549))"),
    ("INTERSECTS(geometry, POLYGON((121.2 30.1, 121.3 30.1, 121.3 30.3, 121.2 30.3, 121.2 30.1)))",
     "SELECT count(*) FROM blocks WHERE ST_Intersects(geom, ST_Transform(ST_Segmentize("
     "ST_MakeEnvelope(121.2, 30.1, 121.3, 30.3, 4326), 0.01), 4549))"),
    ("S_WITHIN(geometry, ENVELOPE(121.0, 121.3, 30.4, 30.0)) AND CASEI(town_code) <> 'x'",
     "SELECT count(*) FROM blocks WHERE ST_Within(geom, ST_Transform(ST_Segmentize("
     "ST_MakeEnvelope(121.0, 30.0, 121.3, 30.4, 4326), 0.01), 4549))"),
])
def test_cql2_text_filters(ogc, sample_engine, cql, sql):
    r = ogc.get("/ogc/collections/blocks/items", params={"filter": cql, "limit": 1})
    assert r.status_code == 200, r.text
    assert r.json()["numberMatched"] == scalar(sample_engine, sql)


def test_cql2_dates_quotes_and_errors(ogc, sample_engine):
    r = ogc.get("/ogc/collections/parcels/items", params={"filter": "term_end < DATE('2040-01-01') AND "
                                                                    "owner <> 'it''s'", "limit": 1})
    assert r.json()["numberMatched"] == scalar(sample_engine, "SELECT count(*) FROM parcels "
                                                              "WHERE term_end < '2040-01-01'")
    for bad, where in [("colour = 'red'", "unknown property 'colour'"), ("status = ", "expected a value"),
                       ("status = 'planned' AND", "expected"), ("plan_year = 'x'", "cannot compare"),
                       ("S_INTERSECTS(geometry, POLYGON((1 2, 3)))", "invalid WKT")]:
        r = ogc.get("/ogc/collections/blocks/items", params={"filter": bad})
        assert r.status_code == 400 and r.json()["field"] == "filter", bad
        assert where in r.json()["detail"], (bad, r.json())
    r = ogc.get("/ogc/collections/blocks/items", params={"filter": "x = 1", "filter-lang": "cql2-json"})
    assert r.status_code == 400 and r.json()["field"] == "filter-lang"


def test_single_item_and_html(ogc):
    code = ogc.get("/ogc/collections/parcels/items?limit=1").json()["features"][0]["id"]
    r = ogc.get(f"/ogc/collections/parcels/items/{code}")
    assert r.status_code == 200 and r.headers["content-type"] == "application/geo+json"
    feature = r.json()
    assert feature["type"] == "Feature" and feature["id"] == code and feature["properties"]["code"] == code
    assert any(link["rel"] == "collection" for link in feature["links"])
    assert ogc.get("/ogc/collections/parcels/items/nope").status_code == 404
    page = ogc.get("/ogc/collections/parcels/items?limit=2&f=html")
    assert page.headers["content-type"].startswith("text/html") and "土地权属人" in page.text
    assert ogc.get(f"/ogc/collections/parcels/items/{code}?f=html").status_code == 200
    assert ogc.get("/ogc/collections?f=html").status_code == 200
    assert ogc.get("/ogc/collections/towns/items?limit=1000").json()["numberReturned"] > 0  # the map's request


# --- GDAL's OAPIF driver (ogrinfo from Debian's gdal-bin) against a real server --------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(sample_engine, sample_url) -> Iterator[str]:
    """uvicorn on a free port serving the sample database."""
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": sample_url}
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1",
                             "--port", str(port), "--log-level", "warning"], env=env)
    url = f"http://127.0.0.1:{port}/ogc"
    try:
        for _ in range(100):
            try:
                if httpx.get(url, timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            raise RuntimeError("uvicorn did not start")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_ogrinfo_reads_every_collection(server, sample_engine):
    out = subprocess.run(["ogrinfo", "-ro", "-al", "-so", f"OAPIF:{server}"], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    found = dict(re.findall(r"Layer name: (\w+)\n(?:.*\n)*?Feature Count: (\d+)", out.stdout))
    assert {k: int(v) for k, v in found.items()} == table_counts(sample_engine)
    assert "owner: String" in out.stdout and "plan_year: Integer" in out.stdout


@pytest.mark.parametrize(("collection", "page"), [("blocks", 3), ("parcels", 37)])
def test_ogrinfo_pages_through_next_links(server, sample_engine, collection, page):
    out = subprocess.run(["ogrinfo", "-ro", "-oo", f"PAGE_SIZE={page}", f"OAPIF:{server}", collection],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    codes = re.findall(r"^  code \(String\) = (\S+)$", out.stdout, re.M)
    assert len(codes) == len(set(codes)) == table_counts(sample_engine)[collection]
    assert len(codes) > 2 * page  # several pages


def test_deeply_nested_filter_is_refused_not_crashed(ogc):
    deep = "(" * 400 + "status = 'planned'" + ")" * 400
    r = ogc.get("/ogc/collections/blocks/items", params={"filter": deep})
    assert r.status_code == 400
    assert r.json()["detail"].startswith("filter: nested deeper than 50 levels")
    r = ogc.get("/ogc/collections/blocks/items", params={"filter": "NOT " * 300 + "status = 'planned'"})
    assert r.status_code == 400


# --- issue 17: planning figures on parcel items, HTML errors, bbox hints ----------------------------------------
@pytest.fixture(scope="module")
def cases_ogc(databases, base_settings, tmp_path_factory) -> Iterator[TestClient]:
    """The API on the hand-built planning cases (tests/planning/cases.py), whose figures are worked by hand."""
    from tests.planning import cases

    url = databases.create()
    engine = make_engine(base_settings, url)
    cases.load(engine, tmp_path_factory.mktemp("ogc_cases"))
    engine.dispose()
    with TestClient(create_app(base_settings.model_copy(update={"database_url": url}))) as client:
        yield client


def _figures(client: TestClient, query: str = "") -> dict[str, dict]:
    page = client.get(f"/ogc/collections/parcels/items?limit=100{query}").json()
    return {f["id"]: {k: f["properties"][k] for k in ("far", "building_density", "far_floor", "pass")}
            for f in page["features"]}


def test_parcel_items_carry_the_planning_figures(cases_ogc):
    from tests.planning.cases import P

    got = _figures(cases_ogc)
    # A1: 20 000 m² counted on 10 000 m² (FAR exactly 2.0 passes), footprints 7 000 m²; A3: 8 560 ÷ 8 000 = 1.07,
    # footprints 1 600 + 1 280 = 2 880 m²; A4a: 3 200 m² (the illegal shed left out), footprint 1 600 m²; B1:
    # 5 000 m² against its block's floor of 1.5; C1: its block is exempt (no floor), so it passes
    assert got[P["A1"]] == {"far": 2.0, "building_density": 0.7, "far_floor": 2.0, "pass": True}
    assert got[P["A3"]] == {"far": 1.07, "building_density": 0.36, "far_floor": 2.0, "pass": False}
    assert got[P["A4a"]] == {"far": 0.32, "building_density": 0.16, "far_floor": 2.0, "pass": False}
    assert got[P["A4b"]] == {"far": 0.0, "building_density": 0.0, "far_floor": 2.0, "pass": False}
    assert got[P["B1"]] == {"far": 0.5, "building_density": 0.5, "far_floor": 1.5, "pass": False}
    assert got[P["C1"]] == {"far": 0.16, "building_density": 0.16, "far_floor": None, "pass": True}
    one = cases_ogc.get(f"/ogc/collections/parcels/items/{P['B1']}").json()["properties"]
    assert (one["far"], one["far_floor"], one["pass"]) == (0.5, 1.5, False)


def test_planning_figures_are_queryable_filterable_and_sortable(cases_ogc):
    from tests.planning.cases import P

    props = cases_ogc.get("/ogc/collections/parcels/queryables").json()["properties"]
    assert {k: props[k]["title"] for k in ("far", "building_density", "far_floor", "pass")} == {
        "far": "容积率", "building_density": "建筑密度", "far_floor": "容积率下限", "pass": "容积率达标"}
    assert props["pass"]["type"] == "boolean" and props["far"]["type"] == "number"
    below_one = cases_ogc.get("/ogc/collections/parcels/items", params={"filter": "far < 1"}).json()
    assert below_one["numberMatched"] == 5
    assert {f["id"] for f in below_one["features"]} == {P["A2"], P["A4a"], P["A4b"], P["B1"], P["C1"]}
    failing = cases_ogc.get("/ogc/collections/parcels/items", params={"pass": "false"}).json()
    assert {f["id"] for f in failing["features"]} == {P["A2"], P["A3"], P["A4a"], P["A4b"], P["B1"]}
    assert failing["numberMatched"] == 5
    both = cases_ogc.get("/ogc/collections/parcels/items", params={
        "filter": "pass = false AND far_floor < 2", "sortby": "-far"}).json()
    assert [f["id"] for f in both["features"]] == [P["B1"]]
    top = cases_ogc.get("/ogc/collections/parcels/items", params={"sortby": "-far", "limit": 2}).json()
    assert [f["id"] for f in top["features"]] == [P["A1"], P["A3"]]
    slim = cases_ogc.get("/ogc/collections/parcels/items", params={"properties": "code", "limit": 1}).json()
    assert list(slim["features"][0]["properties"]) == ["code"]  # the figures' joins are not needed then


def test_html_errors_are_pages(ogc):
    for url in ("/ogc/collections/nope?f=html", "/ogc/collections/parcels/items/NOPE?f=html",
                "/ogc/collections/nope/items?f=html", "/ogc/nothing-here?f=html"):
        r = ogc.get(url)
        assert r.status_code == 404, url
        assert r.headers["content-type"].startswith("text/html"), url
        assert "<h1>404 · 未找到 Not found</h1>" in r.text and 'href="http://testserver/ogc"' in r.text
    assert "no collection &#x27;nope&#x27;" in ogc.get("/ogc/collections/nope?f=html").text
    browser = ogc.get("/ogc/collections/nope", headers={"Accept": "text/html,application/xhtml+xml"})
    assert browser.status_code == 404 and browser.headers["content-type"].startswith("text/html")
    bad = ogc.get("/ogc/collections/parcels/items?f=html&limit=0")
    assert bad.status_code == 400 and bad.headers["content-type"].startswith("text/html")
    assert ogc.get("/ogc/collections/nope").json()["code"] == "NotFound"  # JSON stays JSON


def test_bbox_in_metres_without_bbox_crs_gets_a_hint(ogc, sample_engine):
    with sample_engine.connect() as conn:
        minx, miny = (float(v) for v in conn.execute(text(
            "SELECT ST_XMin(geom), ST_YMin(geom) FROM parcels ORDER BY code LIMIT 1")).one())
    bbox = f"{minx:.0f},{miny:.0f},{minx + 1000:.0f},{miny + 1000:.0f}"
    r = ogc.get("/ogc/collections/parcels/items", params={"bbox": bbox})
    assert r.status_code == 400
    body = r.json()
    assert body["field"] == "bbox"
    assert body["detail"] == (f"bbox: {bbox} cannot be degrees: without bbox-crs, bbox is longitude, latitude in "
                              "degrees (CRS84); for metres name their CRS, e.g. "
                              "bbox-crs=http://www.opengis.net/def/crs/EPSG/0/4549 (the storage CRS, EPSG:4549)")
    assert "--" not in body["detail"]  # API parameters, not command-line flags
    ok = ogc.get("/ogc/collections/parcels/items", params={"bbox": bbox, "bbox-crs": EPSG.format(4549)})
    assert ok.status_code == 200 and ok.json()["numberMatched"] > 0
    latlon = ogc.get("/ogc/collections/parcels/items", params={"bbox": bbox, "bbox-crs": EPSG.format(4326)})
    assert latlon.status_code == 400 and "latitude, longitude in degrees" in latlon.json()["detail"]
