"""Floor area as surveyed (issue 14): storey heights, garage storeys above the second floor and basements, hand
worked (tests/planning/storeys.py) through the formulas, the SQL figures, their twin, the map's roll-up and
``renewal check``."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from sqlalchemy import text

from app.db.engine import make_engine
from app.planning import formulas, metrics
from app.planning.config import PlanningRules
from app.planning.figures import BuildingInput, ParcelInput, building_figures, parcel_figures, parcel_sums
from app.planning.rule_sql import parcel_far_sql, rule_params, storey_factor_sql
from tests.planning import cases, storeys
from tests.planning.test_twin import close

S = storeys.S
CONFIGS = {
    "defaults": PlanningRules(),
    "custom": PlanningRules(height_threshold_m=8.005, height_multiplier=1.5, upper_garage_factor=0.25,
                            basement_garage_factor=0.1, basement_plant_factor=0.2, basement_commercial_factor=1.0),
}


# ---------------------------------------------------------------------------------------------- formulas

def test_the_issues_example_by_storey() -> None:
    """Footprint 1,000 m², storeys 9 / 4.5 / 4.5 / 4.5 m: floor area 4,000 m², counted 5,000 m²."""
    rules = PlanningRules()
    fig = building_figures(BuildingInput("x", 1000.0, 4, 9.0, storey_heights_m=(9.0, 4.5, 4.5, 4.5)), rules)
    assert (fig.floor_area_m2, fig.far_floor_area_m2, fig.doubled_for_height, fig.doubled_storeys) == (
        4000.0, 5000.0, True, 1)
    assert parcel_figures(ParcelInput(10_000.0, [BuildingInput("x", 1000.0, 4, 9.0, storey_heights_m=(
        9.0, 4.5, 4.5, 4.5))]), rules).far == 0.5


@pytest.mark.parametrize("floor_h, floors, counted", [(9.0, 2, 4000.0), (8.0, 2, 2000.0), (4.5, 3, 3000.0)])
def test_floor_h_alone_counts_as_before(floor_h: float, floors: int, counted: float) -> None:
    """Without storey heights, garages and basement: exactly formulas.counted_floor_area_m2."""
    area = 1000.0 * floors
    assert formulas.counted_storeys_m2(area, floors, floor_h, 8.0, 2.0) == counted == \
        formulas.counted_floor_area_m2(area, floor_h, 8.0, 2.0)
    assert building_figures(BuildingInput("x", 1000.0, floors, floor_h), PlanningRules()).far_floor_area_m2 == counted


def test_garages_and_basements_by_hand() -> None:
    rules = PlanningRules()
    # 5 storeys of 4.5 m, storeys 3 and 4 garages (×0.5), a 1,200 m² commercial basement (×0.6)
    fig = building_figures(BuildingInput("x", 1000.0, 5, 4.5, garage_storeys=2, basement_storeys=1,
                                         basement_use="commercial", basement_floor_area_m2=1200.0), rules)
    assert (fig.floor_area_m2, fig.far_floor_area_m2, fig.basement_floor_area_m2) == (5000.0, 4720.0, 1200.0)
    # basement garages and plant rooms count nothing; their area is footprint × storeys when not surveyed
    for use in ("garage", "plant"):
        fig = building_figures(BuildingInput("x", 500.0, 2, 4.0, basement_storeys=2, basement_use=use), rules)
        assert (fig.far_floor_area_m2, fig.basement_floor_area_m2) == (1000.0, 1000.0)
    # storeys and garages together: a 9 m storey ×2, storeys 3 and 4 garages ×0.5, a 10 m top storey ×2
    fig = building_figures(BuildingInput("x", 2000.0, 5, 10.0, storey_heights_m=(9, 4.5, 4.5, 4.5, 10),
                                         garage_storeys=2), rules)
    assert fig.far_floor_area_m2 == 12_000.0 and fig.doubled_storeys == 2
    # a surveyed floor area is shared equally by the storeys
    fig = building_figures(BuildingInput("x", 1000.0, 3, 12.0, 3000.0, storey_heights_m=(12, 4, 4)), rules)
    assert fig.far_floor_area_m2 == pytest.approx(4000.0)


def test_coefficients_are_configurable() -> None:
    rules = PlanningRules(upper_garage_factor=1.0, basement_commercial_factor=1.0, basement_garage_factor=0.5)
    fig = building_figures(BuildingInput("x", 1000.0, 5, 4.5, garage_storeys=2, basement_storeys=1,
                                         basement_use="commercial", basement_floor_area_m2=1200.0), rules)
    assert fig.far_floor_area_m2 == 6200.0
    fig = building_figures(BuildingInput("x", 500.0, 2, 4.0, basement_storeys=2, basement_use="garage"), rules)
    assert fig.far_floor_area_m2 == 1500.0
    assert rules.rule_version.startswith("rules-1+")


# ---------------------------------------------------------------------------------------------- SQL

@pytest.fixture(scope="module")
def engine(databases, base_settings, tmp_path_factory):
    url = databases.create()
    eng = make_engine(base_settings, url)
    cases.load(eng, tmp_path_factory.mktemp("storeys"), storeys.layers(), exemptions=False)
    yield eng
    eng.dispose()


def test_sql_figures_by_hand(engine) -> None:
    rules = PlanningRules()
    with engine.connect() as conn:
        figs = {f.parcel_code: f for f in metrics.parcel_figures(conn, rules, "block", storeys.BLOCK)}
    for name, (floor, counted, far, doubled) in storeys.FIGURES.items():
        fig = figs[S[name]]
        assert (fig.floor_area_m2, fig.far_floor_area_m2, fig.doubled_building_count) == pytest.approx(
            (floor, counted, doubled)), name
        assert fig.far == pytest.approx(far) and fig.land_area_m2 == 10_000.0, name


def test_stored_as_imported(engine) -> None:
    with engine.connect() as conn:
        rows = {r.code: r for r in conn.execute(text(
            "SELECT code, floor_h::float8 AS floor_h, storey_hs::float8[] AS storey_hs, basement_floors, "
            "basement_use, basement_area::float8 AS basement_area, garage_floors FROM buildings"))}
    s1, s2, s3, s4 = (rows[storeys.code(c)] for c in ("S1F0001", "S2F0001", "S3F0001", "S4F0002"))
    assert (s1.storey_hs, s1.floor_h) == ([9.0, 4.5, 4.5, 4.5], 9.0)  # floor_h: the highest storey
    assert (s2.storey_hs, s2.basement_floors, s2.basement_use, s2.basement_area, s2.garage_floors) == (
        None, 1, "commercial", 1200.0, 2)
    assert s3.storey_hs == [9.0, 4.5, 4.5, 4.5, 10.0] and (s3.basement_use, s3.basement_area) == ("plant", None)
    assert (s4.storey_hs, s4.basement_floors, s4.basement_use) == ([8.0, 8.01], 0, None)


def test_building_list_shows_storeys_and_basements(engine) -> None:
    with engine.connect() as conn:
        body = metrics.parcel_metrics(conn, S["S3"], PlanningRules())
    first, second = body.buildings
    assert (first.code, first.storey_heights_m, first.doubled_storeys, first.garage_storeys) == (
        storeys.code("S3F0001"), [9.0, 4.5, 4.5, 4.5, 10.0], 2, 2)
    assert (first.basement_storeys, first.basement_use, first.basement_floor_area_m2) == (1, "plant", 2000.0)
    assert (first.floor_area_m2, first.far_floor_area_m2) == (10_000.0, 12_000.0)
    assert second.far_floor_area_m2 == pytest.approx(4_000.0) and second.floor_area_surveyed
    far = next(r for r in body.rules if r.rule == "far_min")
    assert far.doubled_for_height == [storeys.code("S3F0001"), storeys.code("S3F0002")]
    assert far.shortfall == pytest.approx(4_000.0)


@pytest.mark.parametrize("config", CONFIGS)
def test_sql_and_python_agree(engine, config) -> None:
    rules = CONFIGS[config]
    twins = {code: parcel_sums(inp, rules) for code, inp in cases.twin_inputs(storeys.layers()).items()}
    with engine.connect() as conn:
        figs = metrics.parcel_figures(conn, rules, "block", storeys.BLOCK)
        buildings = {b.code: b for name in S.values() for b in metrics.parcel_metrics(conn, name, rules).buildings}
    assert len(figs) == 4
    for fig in figs:
        twin = twins[fig.parcel_code]
        for name in ("floor_area_m2", "far_floor_area_m2", "doubled_building_count", "footprint_m2"):
            assert close(getattr(fig, name), getattr(twin, name)), (fig.parcel_code, name)
    inputs = {b.code: b for p in cases.twin_inputs(storeys.layers()).values() for b in p.buildings}
    for code, sql_building in buildings.items():
        assert close(sql_building.far_floor_area_m2, building_figures(inputs[code], rules).far_floor_area_m2), code
        assert sql_building.doubled_storeys == building_figures(inputs[code], rules).doubled_storeys, code
    if config == "defaults":
        assert {c: b.far_floor_area_m2 for c, b in buildings.items()} == pytest.approx(
            {storeys.code(c): v for c, v in storeys.BUILDING_COUNTED.items()})


@pytest.mark.parametrize("heights, garages, counted", [
    ((9.0, 9.0, 9.0, 9.0), 2, 6000.0),  # all above 8 m: 1,000 × 2 × (4 − 2 × 0.5) (no array unnested)
    ((4.5, 4.5, 4.5, 4.5), 2, 3000.0),  # all at most 8 m: 1,000 × (4 − 2 × 0.5)
    ((8.0, 8.0, 8.0, 8.0), 0, 4000.0),
    ((9.0, 4.5, 4.5, 4.5), 0, 5000.0),  # on both sides: summed storey by storey
    ((9.0, 4.5, 9.0, 4.5), 2, 4500.0),  # 2 + 1 + 2 × 0.5 + 0.5
    (None, 2, 3000.0),  # floor_h 4.5 only
])
def test_storey_factor_branches_by_hand(engine, heights, garages, counted) -> None:
    """Each branch of rule_sql.storey_factor_sql against the hand-worked number and its twin."""
    rules = PlanningRules()
    statement = text(f"SELECT 4000 * {storey_factor_sql('g')} FROM (SELECT CAST(:hs AS numeric[]) AS storey_hs, "  # noqa: S608
                     "4.5::numeric AS floor_h, CAST(:garages AS smallint) AS garage_floors, 4::smallint AS floors) g")
    literal = None if heights is None else "{" + ",".join(map(str, heights)) + "}"
    with engine.connect() as conn:
        got = conn.execute(statement, {**rule_params(rules), "hs": literal, "garages": garages}).scalar_one()
    twin = formulas.counted_storeys_m2(4000.0, 4, 4.5, 8.0, 2.0, heights, garages, rules.upper_garage_factor)
    assert got == twin == counted


@pytest.mark.parametrize("config", CONFIGS)
def test_the_maps_roll_up_counts_storeys_and_basements(engine, config) -> None:
    rules = CONFIGS[config]
    statement = text(f"SELECT p.code, pf.counted_m2, pf.far FROM parcels p "  # noqa: S608 (fragment from code)
                     f"CROSS JOIN LATERAL {parcel_far_sql('p')} pf")
    with engine.connect() as conn:
        figs = {f.parcel_code: f for f in metrics.parcel_figures(conn, rules)}
        rows = conn.execute(statement, rule_params(rules)).all()
    assert len(rows) == 4
    for r in rows:
        assert close(r.counted_m2, figs[r.code].far_floor_area_m2) and close(r.far, figs[r.code].far), r.code


# ---------------------------------------------------------------------------------------------- renewal check

def check(env, *args):
    return subprocess.run([sys.executable, "-m", "app.cli", "check", *args], env=env, capture_output=True,
                          text=True, timeout=120)


@pytest.fixture(scope="module")
def env(engine):
    return {**os.environ, "DATABASE_URL": engine.url.render_as_string(hide_password=False), "COLUMNS": "200"}


def test_check_lists_the_storey_shortfalls(env) -> None:
    """Shortfall = 2.0 × 10,000 − counted; worst first: S1 (5,000), S4 (5,500), S2 (5,720), S3 (16,000)."""
    run = check(env, "far_min", "--block", storeys.BLOCK, "--format", "json")
    assert run.returncode == 1, run.stderr
    (page,) = json.loads(run.stdout)
    assert [(i["code"], i["shortfall"]) for i in page["items"]] == [
        (S["S1"], 15_000.0), (S["S4"], 14_500.0), (S["S2"], 14_280.0), (S["S3"], pytest.approx(4_000.0))]
    assert page["items"][0]["doubled_for_height"] == [storeys.code("S1F0001")]


def test_check_takes_the_configured_coefficients(env) -> None:
    """Commercial basements ×1 and upper garages ×1: S2 counts 5,000 + 1,200 + 1,000 = 7,200 m²."""
    run = check({**env, "RENEWAL_RULE_BASEMENT_COMMERCIAL_FACTOR": "1", "RENEWAL_RULE_UPPER_GARAGE_FACTOR": "1"},
                "far_min", "--block", storeys.BLOCK, "--format", "json")
    assert run.returncode == 1, run.stderr
    (page,) = json.loads(run.stdout)
    s2 = next(i for i in page["items"] if i["code"] == S["S2"])
    assert s2["shortfall"] == 12_800.0 and s2["value"] == pytest.approx(0.72)
    assert page["rule_version"].startswith("rules-1+")
