""""亩均税收5万元以下" includes 5万 itself: a block at exactly 5.0万元/亩 with a hazard flag is an old block.

Hand-worked: each block holds one parcel of 100 × 60 = 6 000 m² = 9 亩 (6 000 × 15 / 10 000); its tax:

| block | tax (yuan/year) | 亩均税收 | hazard flags | old_block |
|---|---|---|---|---|
| QK120-001 | 450 000 | 450 000 ÷ 9 = 50 000 yuan/亩 = 5.0万 exactly | fire hazard | fail (an old block), shortfall 0 |
| QK120-002 | 450 000 | 5.0万 | none | pass (too few flags) |
| QK120-003 | 450 900 | 50 100 yuan/亩 = 5.01万 | fire hazard | pass (above the line) |
| QK120-004 | 360 000 | 40 000 yuan/亩 = 4.0万 | fire, poor environment | fail, shortfall 450 000 − 360 000 |

The block's 亩均税收 is computed in SQL (``app.planning.sql``, Σ tax ÷ Σ 亩) and judged by ``app.planning.rules``;
both the figure (exactly 5.0) and the judgement are checked here, through the domain, the API and the CLI.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import geopandas as gpd
import pytest
from fastapi.testclient import TestClient
from shapely.geometry import box

from app.api import create_app
from app.db.engine import make_engine
from app.planning import formulas, metrics
from app.planning.config import PlanningRules
from app.planning.rules import RATIO_TOLERANCE, RULES
from tests.conftest import login_as
from tests.planning import cases

TOWN = "330282120"
RULES_ = PlanningRules()
BLOCKS = {  # code: (tax, fire hazard, poor environment)
    "QK120-001": (450_000.0, True, False),
    "QK120-002": (450_000.0, False, False),
    "QK120-003": (450_900.0, True, False),
    "QK120-004": (360_000.0, True, True),
}


def layers() -> dict[str, gpd.GeoDataFrame]:
    x0, y0 = cases.X0 + 9000, cases.Y0
    blocks, parcels, buildings = [], [], []
    for i, (code, (tax, fire, env)) in enumerate(BLOCKS.items()):
        x = x0 + i * 200
        blocks.append({"code": code, "name": f"边界{i + 1}", "town_code": TOWN, "status": "listed",
                       "fire_haz": fire, "illeg_bldg": False, "low_ind": False, "poor_env": env,
                       "geometry": box(x, y0, x + 150, y0 + 100)})
        parcel = f"330282120{i + 1:03d}GB00001"
        parcels.append({"code": parcel, "block_code": code, "tax": tax, "geometry": box(x, y0, x + 100, y0 + 60)})
        buildings.append({"code": parcel + "F0001", "parcel_code": parcel, "floors": 2, "floor_h": 4.0,
                          "use": "production", "illegal": False, "geometry": box(x + 10, y0 + 10, x + 40, y0 + 40)})
    town = gpd.GeoDataFrame({"code": [TOWN], "name": ["测试镇"]}, geometry=[box(x0 - 50, y0 - 50, x0 + 900, y0 + 200)],
                            crs=4549)
    return {"towns": town, "blocks": gpd.GeoDataFrame(blocks, crs=4549),
            "parcels": gpd.GeoDataFrame(parcels, crs=4549), "buildings": gpd.GeoDataFrame(buildings, crs=4549)}


@pytest.fixture(scope="module")
def settings(databases, base_settings, tmp_path_factory):
    url = databases.create()
    engine = make_engine(base_settings, url)
    cases.load(engine, tmp_path_factory.mktemp("old_block"), layers(), exemptions=False)
    engine.dispose()
    return base_settings.model_copy(update={"database_url": url})


@pytest.fixture(scope="module")
def engine(settings):
    eng = make_engine(settings)
    yield eng
    eng.dispose()


def test_the_line_itself_is_below_it():
    # 以下 includes the figure: 5.0 is "5万元以下"; 5.01 is not
    assert formulas.at_or_below(5.0, 5.0) and not formulas.at_or_below(5.01, 5.0)
    assert formulas.is_old_block(5.0, 1, 5.0, 1)
    assert not formulas.is_old_block(5.0, 0, 5.0, 1)          # too few flags
    assert not formulas.is_old_block(5.01, 4, 5.0, 1)         # above the line
    # a computed 5.0 a hair above in floating point is still 5.0
    assert formulas.is_old_block(5.0 + 1e-12, 1, 5.0, 1, RATIO_TOLERANCE)
    assert RULES["old_block"].comparison == ">"


@pytest.mark.parametrize(("code", "outcome", "value", "shortfall"), [
    ("QK120-001", "fail", 5.0, 0.0),
    ("QK120-002", "pass", 5.0, 0.0),
    ("QK120-003", "pass", 5.01, 0.0),
    ("QK120-004", "fail", 4.0, 90_000.0),
])
def test_block_at_exactly_5_wan_is_an_old_block(engine, code, outcome, value, shortfall):
    with engine.connect() as conn:
        m = metrics.block_metrics(conn, code, RULES_)
    assert m.land_area_mu == 9.0
    assert m.tax_per_mu_wan == value  # the SQL figure is exact: 450 000 / 9 / 10 000 = 5.0
    old = next(r for r in m.rules if r.rule == "old_block")
    assert (old.outcome, old.value, old.threshold, old.shortfall, old.comparison) == (outcome, value, 5.0, shortfall,
                                                                                       ">")


def test_boundary_through_the_api(settings):
    with TestClient(create_app(settings)) as client:
        login_as(client, "viewer")  # 亩均税收 is a money figure: readers log in
        body = client.get("/api/blocks/QK120-001/metrics").json()
        old = next(r for r in body["rules"] if r["rule"] == "old_block")
        assert (old["outcome"], old["value"], old["comparison"], old["threshold"]) == ("fail", 5.0, ">", 5.0)
        assert "≤ 5 万元/亩 (以下: the line itself included)" in old["explanation"]
        page = client.get("/api/compliance", params={"rule": "old_block", "town": TOWN}).json()
        assert [i["code"] for i in page["items"]] == ["QK120-004", "QK120-001"]  # worst first


def test_boundary_through_the_cli(settings):
    env = {**os.environ, "DATABASE_URL": str(settings.database_url), "COLUMNS": "200"}
    run = subprocess.run([sys.executable, "-m", "app.cli", "check", "old_block", "--town", TOWN, "--format", "json"],
                         env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 1, run.stderr  # failures exit 1
    (page,) = json.loads(run.stdout)
    assert {i["code"]: i["value"] for i in page["items"]} == {"QK120-004": 4.0, "QK120-001": 5.0}
