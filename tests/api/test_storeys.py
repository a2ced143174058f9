"""Floor area as surveyed (issue 14) through the HTTP API: parcel metrics with their building figures, the parcel
card's building list and the parcels tile, on the hand-worked storey cases (tests/planning/storeys.py)."""

from __future__ import annotations

import math
from collections.abc import Iterator

import mapbox_vector_tile
import pytest
from fastapi.testclient import TestClient
from pyproj import Transformer

from app.api import create_app
from app.db.engine import make_engine
from tests.conftest import login_as
from tests.planning import cases, storeys

S = storeys.S


@pytest.fixture(scope="module")
def api(databases, base_settings, tmp_path_factory) -> Iterator[TestClient]:
    url = databases.create()
    engine = make_engine(base_settings, url)
    cases.load(engine, tmp_path_factory.mktemp("api_storeys"), storeys.layers(), exemptions=False)
    engine.dispose()
    with TestClient(create_app(base_settings.model_copy(update={"database_url": url}))) as client:
        yield login_as(client, "viewer")


def test_the_issues_example(api) -> None:
    """Footprint 1,000 m², storeys 9 / 4.5 / 4.5 / 4.5 m: floor area 4,000 m², counted 5,000 m², 容积率 0.5."""
    body = api.get(f"/api/parcels/{S['S1']}/metrics").json()
    assert (body["floor_area_m2"], body["far_floor_area_m2"], body["far"], body["doubled_building_count"]) == (
        4000.0, 5000.0, 0.5, 1)
    (building,) = body["buildings"]
    assert {k: building[k] for k in ("floors", "floor_h_m", "storey_heights_m", "doubled_storeys",
                                     "doubled_for_height", "floor_area_m2", "far_floor_area_m2")} == {
        "floors": 4, "floor_h_m": 9.0, "storey_heights_m": [9.0, 4.5, 4.5, 4.5], "doubled_storeys": 1,
        "doubled_for_height": True, "floor_area_m2": 4000.0, "far_floor_area_m2": 5000.0}
    far = next(r for r in body["rules"] if r["rule"] == "far_min")
    assert (far["outcome"], far["shortfall"], far["doubled_for_height"]) == ("fail", 15_000.0,
                                                                               [storeys.code("S1F0001")])


def test_garages_and_basements(api) -> None:
    """S2: 1,000 × (1 + 1 + 0.5 + 0.5 + 1) + 1,200 × 0.6 = 4,720 m², and a basement garage adding nothing."""
    body = api.get(f"/api/parcels/{S['S2']}/metrics").json()
    assert (body["floor_area_m2"], body["far_floor_area_m2"]) == (6000.0, 5720.0)
    assert body["far"] == pytest.approx(0.572)
    first, second = body["buildings"]
    assert {k: first[k] for k in ("garage_storeys", "basement_storeys", "basement_use", "basement_floor_area_m2",
                                  "far_floor_area_m2", "storey_heights_m")} == {
        "garage_storeys": 2, "basement_storeys": 1, "basement_use": "commercial", "basement_floor_area_m2": 1200.0,
        "far_floor_area_m2": 4720.0, "storey_heights_m": None}
    assert (second["basement_use"], second["basement_floor_area_m2"], second["far_floor_area_m2"]) == (
        "garage", 1000.0, 1000.0)


@pytest.mark.parametrize("name", list(storeys.FIGURES))
def test_every_parcel_by_hand(api, name) -> None:
    floor, counted, far, doubled = storeys.FIGURES[name]
    body = api.get(f"/api/parcels/{S[name]}/metrics").json()
    assert (body["floor_area_m2"], body["far_floor_area_m2"], body["doubled_building_count"]) == pytest.approx(
        (floor, counted, doubled))
    assert body["far"] == pytest.approx(far)
    for building in body["buildings"]:
        short = building["code"].removeprefix(S[name])
        assert building["far_floor_area_m2"] == pytest.approx(storeys.BUILDING_COUNTED[name + short]), short


def test_block_metrics_add_them_up(api) -> None:
    body = api.get(f"/api/blocks/{storeys.BLOCK}/metrics").json()
    assert body["far_floor_area_m2"] == pytest.approx(5000 + 5720 + 16_000 + 5500)
    assert body["far"] == pytest.approx(32_220 / 40_000)


def test_parcel_card_lists_the_surveyed_buildings(api) -> None:
    card = api.get(f"/api/parcels/{S['S3']}/card").json()
    assert card["far_floor_area_m2"] == pytest.approx(16_000.0) and card["far"] == pytest.approx(1.6)
    assert card["surveyed_buildings"] == [
        {"code": storeys.code("S3F0001"), "floors": 5, "storey_hs": [9.0, 4.5, 4.5, 4.5, 10.0], "garage_floors": 2,
         "basement_floors": 1, "basement_use": "plant"},
        {"code": storeys.code("S3F0002"), "floors": 3, "storey_hs": [12.0, 4.0, 4.0], "garage_floors": None,
         "basement_floors": None, "basement_use": None},
    ]
    plain = api.get(f"/api/parcels/{S['S4']}/card").json()  # S4F0001 has floor_h only; S4F0002 storey heights
    assert [b["code"] for b in plain["surveyed_buildings"]] == [storeys.code("S4F0002")]
    assert plain["far_floor_area_m2"] == 5500.0


def test_parcels_tile_counts_the_storeys(api) -> None:
    """The parcels tile's far is the roll-up's: S1 0.5, S2 0.57, S3 1.6, S4 0.55."""
    lon, lat = Transformer.from_crs(4549, 4326, always_xy=True).transform(storeys.X0 + 300, storeys.Y0 + 50)
    z = 16
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    resp = api.get(f"/tiles/parcels/{z}/{x}/{y}.mvt")
    assert resp.status_code == 200
    features = {f["properties"]["code"]: f["properties"] for f in
                mapbox_vector_tile.decode(resp.content)["parcels"]["features"]}
    assert {code: features[code]["far"] for code in S.values() if code in features} == {
        S["S1"]: 0.5, S["S2"]: 0.57, S["S3"]: 1.6, S["S4"]: 0.55}
    assert not any(p["pass"] for p in features.values())
