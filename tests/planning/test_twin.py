"""SQL and Python twins agree on a seeded random city: figures, roll-ups, rule outcomes, order and counts."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import Polygon, box
from sqlalchemy import text

from app.db.engine import make_engine
from app.planning import metrics, sql
from app.planning.config import PlanningRules
from app.planning.figures import FIGURE_FIELDS, ParcelFigures, add, derive, parcel_sums
from app.planning.rule_sql import far_sql, parcel_far_sql, rule_params
from app.planning.rules import PARCEL_RULES, RULES, apply
from app.programme import svgmap
from tests.planning import cases

CONFIGS = {
    "defaults": PlanningRules(),
    "custom": PlanningRules(height_threshold_m=7.5, height_multiplier=1.5, count_illegal=True, far_min=1.2,
                            supporting_floor_national_max=0.1, green_ratio_max=0.15, upper_garage_factor=0.3,
                            basement_garage_factor=0.1, basement_plant_factor=0.2, basement_commercial_factor=0.9),
}
TOWN = "330282110"
USES = ("production", "warehouse", "office", "dormitory", "canteen", "other")


def random_layers(seed: int = 20240611) -> dict[str, gpd.GeoDataFrame]:
    """Three blocks of 3 × 4 parcels (some holed), 0–5 buildings each, some crossing with no parcel_code."""
    rng = np.random.default_rng(seed)
    x0, y0 = cases.X0 + 5000, cases.Y0
    blocks, parcels, buildings = [], [], []
    for bi in range(3):
        bcode = f"QK110-{bi + 1:03d}"
        bx = x0 + bi * 600
        blocks.append({"code": bcode, "name": f"区块{bi + 1}", "town_code": TOWN,
                       "status": ["accepted", "in_progress", "planned"][bi], "fire_haz": bool(rng.random() < 0.5),
                       "illeg_bldg": bool(rng.random() < 0.5), "low_ind": bool(rng.random() < 0.5),
                       "poor_env": False, "geometry": box(bx, y0, bx + 500, y0 + 500)})
        for i in range(12):
            px, py = bx + (i % 3) * 150, y0 + (i // 3) * 120
            w, h = rng.uniform(60, 140), rng.uniform(50, 110)
            geom: Polygon = box(px, py, px + w, py + h)
            if rng.random() < 0.25:
                geom = Polygon(geom.exterior.coords, [box(px + 10, py + 10, px + 25, py + 30).exterior.coords])
            land = geom.area
            code = f"3302821100{bi + 1:02d}GB{i + 1:05d}"
            def money(p_none: float, high: float) -> float | None:  # numeric(…, 2) columns: cents
                return None if rng.random() < p_none else round(float(rng.uniform(0, high)), 2)

            parcels.append({"code": code, "block_code": bcode, "supp_m2": money(0.4, 0.25 * land),
                            "green_m2": money(0.3, 0.35 * land), "tax": money(0.2, 2e6), "output": money(0.3, 5e7),
                            "invest": money(0.3, 3e7), "geometry": geom})
            for j in range(int(rng.integers(0, 6))):
                crossing = j == 0 and rng.random() < 0.3
                bw, bh = rng.uniform(5, 30), rng.uniform(5, 25)
                sx = px + w - bw * 0.4 if crossing else px + rng.uniform(30, max(31, w - bw))
                sy = py + rng.uniform(32, max(33, h - bh))
                buildings.append({
                    "code": f"{code}F{j + 1:04d}", "parcel_code": None if crossing else code,
                    "floors": int(rng.integers(1, 9)),
                    "floor_h": float(rng.choice([3.0, 4.5, 7.5, 7.99, 8.0, 8.01, 9.0, 12.0])),
                    "floor_area": None if rng.random() < 0.6 else float(round(rng.uniform(100, 5000), 2)),
                    "use": str(rng.choice(USES)), "illegal": bool(rng.random() < 0.15),
                    "geometry": box(sx, sy, sx + bw, sy + bh)})
    surveyed(buildings, np.random.default_rng(seed + 1))
    town = gpd.GeoDataFrame({"code": [TOWN], "name": ["匡堰镇"]},
                            geometry=[box(x0 - 100, y0 - 100, x0 + 2000, y0 + 700)], crs=4549)
    frame = gpd.GeoDataFrame(buildings, crs=4549)
    for name in ("garage_n", "bsmt_n"):
        frame[name] = frame[name].astype("Int32")
    return {"towns": town, "blocks": gpd.GeoDataFrame(blocks, crs=4549),
            "parcels": gpd.GeoDataFrame(parcels, crs=4549), "buildings": frame}


HEIGHTS = (3.0, 4.5, 7.99, 8.0, 8.01, 9.0, 12.0)


def surveyed(buildings: list[dict], rng: np.random.Generator) -> None:
    """Floor area as surveyed on about a third of the buildings each (issue 14), from a generator of its own so
    that the other values stay as they were: storey heights bottom up around the 8 m threshold, garage storeys
    above the second floor, basements of each use with or without a surveyed area."""
    for row in buildings:
        floors = row["floors"]
        row["storey_hs"] = ",".join(str(h) for h in rng.choice(HEIGHTS, floors)) if rng.random() < 0.35 else None
        row["garage_n"] = int(rng.integers(1, floors - 1)) if floors >= 3 and rng.random() < 0.35 else None
        basement = rng.random() < 0.35
        row["bsmt_n"] = int(rng.integers(1, 3)) if basement else None
        row["bsmt_use"] = str(rng.choice(["garage", "plant", "commercial"])) if basement else None
        row["bsmt_m2"] = float(round(rng.uniform(100, 3000), 2)) if basement and rng.random() < 0.5 else None


@pytest.fixture(scope="module")
def city(databases, base_settings, tmp_path_factory):
    data = random_layers()
    eng = make_engine(base_settings, databases.create())
    cases.load(eng, tmp_path_factory.mktemp("random"), data, exemptions=False)
    cases.add_exemption(eng, "QK110-002", 0.8, "测试: lower floor")
    cases.add_exemption(eng, "QK110-003", None, "测试: lifted")
    yield eng, data
    eng.dispose()


def close(a, b):
    return a is None and b is None or (a is not None and b is not None and a == pytest.approx(b, rel=1e-9, abs=1e-6))


@pytest.mark.parametrize("config", CONFIGS)
def test_parcel_and_block_figures_agree(city, config):
    engine, data = city
    rules = CONFIGS[config]
    twins = {code: parcel_sums(inp, rules) for code, inp in cases.twin_inputs(data).items()}
    with engine.connect() as conn:
        figs = metrics.parcel_figures(conn, rules)
        town = metrics.town_metrics(conn, TOWN, rules)
    assert len(figs) == 36
    crossing = data["buildings"]["parcel_code"].isna().sum()
    assert crossing, "the random city should have buildings tied by largest footprint share"
    frame = data["buildings"]
    assert frame["storey_hs"].notna().sum() > 10 and frame["garage_n"].notna().sum() > 5
    assert set(frame["bsmt_use"].dropna()) == {"garage", "plant", "commercial"}
    for fig in figs:
        twin = derive(twins[fig.parcel_code])
        bad = [n for n in FIGURE_FIELDS if not close(getattr(fig, n), getattr(twin, n))]
        assert not bad, (fig.parcel_code, bad)
    for block in town.blocks:
        twin = derive(add(twins[f.parcel_code] for f in figs if f.block_code == block.block_code))
        bad = [n for n in FIGURE_FIELDS if not close(getattr(block, n), getattr(twin, n))]
        assert not bad, (block.block_code, bad)
    whole = derive(add(twins.values()))
    assert not [n for n in FIGURE_FIELDS if not close(getattr(town, n), getattr(whole, n))]


@pytest.mark.parametrize("config", CONFIGS)
def test_parcel_objects_hold_what_the_full_statement_returns(city, config):
    """parcel_figures fetches fewer columns and works out units and bookkeeping in Python: bit for bit."""
    engine, _ = city
    rules = CONFIGS[config]
    with engine.connect() as conn:
        objects = {f.parcel_code: f for f in metrics.parcel_figures(conn, rules)}
        full = [ParcelFigures(*row) for row in conn.execute(sql.PARCEL_FIGURES["city"], metrics.sql_params(rules))]
    assert len(full) == len(objects) == 36
    assert all(any(getattr(f, name) is None for f in full) for name in ("green_m2", "tax_yuan", "invest_yuan"))
    for want in full:
        assert objects[want.parcel_code] == want, want.parcel_code


@pytest.mark.parametrize("threshold", [7.99, 8.01, 7.999999999999999, 8.000000000000002])
def test_storeys_at_the_threshold_agree(city, threshold):
    """A threshold equal to a stored storey height, or a float a hair off one, doubles the same storeys in SQL
    (numeric heights against the threshold's shortest decimal) as in the twin (floats)."""
    engine, data = city
    rules = PlanningRules(height_threshold_m=threshold)
    twins = {code: parcel_sums(inp, rules) for code, inp in cases.twin_inputs(data).items()}
    with engine.connect() as conn:
        figs = metrics.parcel_figures(conn, rules)
    assert sum(f.doubled_building_count for f in figs) > 0
    for fig in figs:
        twin = twins[fig.parcel_code]
        assert fig.doubled_building_count == twin.doubled_building_count, fig.parcel_code
        assert close(fig.far_floor_area_m2, twin.far_floor_area_m2), fig.parcel_code


@pytest.mark.parametrize("config", CONFIGS)
@pytest.mark.parametrize("rule", PARCEL_RULES)
def test_parcel_rule_sql_twin_agrees(city, config, rule):
    engine, _ = city
    rules = CONFIGS[config]
    with engine.connect() as conn:
        figs = metrics.parcel_figures(conn, rules)
        rows = conn.execute(sql.COMPLIANCE[(rule, "city")], metrics.sql_params(rules, limit=10_000, offset=0)).all()
        town = metrics.town_metrics(conn, TOWN, rules)
    python = {f.parcel_code: apply(RULES[rule], f, rules) for f in figs}
    failing = sorted((r for r in python.items() if r[1].outcome == "fail"),
                     key=lambda cr: (-(cr[1].relative_gap or 0), -(cr[1].shortfall or 0), cr[0]))
    sql_rows = [r._mapping for r in rows if r.parcel_code is not None]
    assert rows[0].total == len(failing)
    assert [r["parcel_code"] for r in sql_rows] == [code for code, _ in failing]
    for r in sql_rows:
        twin = python[r["parcel_code"]]
        assert r["check_outcome"] == twin.outcome == "fail"
        assert close(r["check_value"], twin.value) and close(r["check_threshold"], twin.threshold)
        assert close(r["check_shortfall"], twin.shortfall) and close(r["check_gap"], twin.relative_gap)
    for block in town.blocks:
        want = sum(1 for f in figs if f.block_code == block.block_code and python[f.parcel_code].outcome == "fail")
        assert block.parcel_rule_failures[rule] == want
    assert sum(python[f.parcel_code].outcome == "fail" for f in figs) == town.parcel_rule_failures[rule]


def test_compliance_items_match_parcel_metrics(city):
    engine, _ = city
    rules = CONFIGS["defaults"]
    with engine.connect() as conn:
        page = metrics.compliance(conn, rules, "far_min", limit=3)
        for item in page.items:
            single = metrics.parcel_metrics(conn, item.code, rules)
            far = next(r for r in single.rules if r.rule == "far_min")
            assert (far.value, far.shortfall, far.buildings_used, far.doubled_for_height, far.illegal_left_out) == (
                item.value, item.shortfall, item.buildings_used, item.doubled_for_height, item.illegal_left_out)



@pytest.mark.parametrize("config", CONFIGS)
def test_the_maps_roll_up_is_the_figures_far(city, config):
    """The map's per-parcel roll-up (rule_sql.parcel_far_sql) gives each parcel the land, counted floor area and
    容积率 of its figures, and Σ ÷ Σ (rule_sql.far_sql) the block's."""
    engine, _ = city
    rules = CONFIGS[config]
    statement = text(f"""
        SELECT p.code, b.code AS block_code, pf.land_m2, pf.counted_m2, pf.far
        FROM parcels p JOIN blocks b ON b.id = p.block_id CROSS JOIN LATERAL {parcel_far_sql("p")} pf""")  # noqa: S608
    blocks = text(f"""
        SELECT b.code, {far_sql("sum(pf.counted_m2)", "sum(pf.land_m2)")} AS far
        FROM parcels p JOIN blocks b ON b.id = p.block_id CROSS JOIN LATERAL {parcel_far_sql("p")} pf
        GROUP BY b.code""")  # noqa: S608 (fragments from code)
    with engine.connect() as conn:
        figs = {f.parcel_code: f for f in metrics.parcel_figures(conn, rules)}
        rows = conn.execute(statement, rule_params(rules)).all()
        block_far = dict(conn.execute(blocks, rule_params(rules)).all())
        town = metrics.town_metrics(conn, TOWN, rules)
    assert len(rows) == len(figs) == 36
    for r in rows:
        fig = figs[r.code]
        assert r.land_m2 == fig.land_area_m2 and close(r.counted_m2, fig.far_floor_area_m2), r.code
        assert close(r.far, fig.far), r.code
    assert {b.block_code: b.far for b in town.blocks}.keys() == block_far.keys()
    assert all(close(block_far[b.block_code], b.far) for b in town.blocks)


def test_svg_maps_fail_the_parcels_the_rule_fails(city):
    """Red on the dossier map exactly where the API's far_min outcome is fail (exemptions included)."""
    engine, _ = city
    rules = CONFIGS["custom"]
    with engine.connect() as conn:
        failing = {(f.block_code, f.parcel_code) for f in metrics.parcel_figures(conn, rules)
                   if apply(RULES["far_min"], f, rules).outcome == "fail"}
        for block in ("QK110-001", "QK110-002", "QK110-003"):
            drawn = conn.execute(svgmap._PARCELS, {"code": block, **rule_params(rules)}).mappings().all()
            assert {p["code"] for p in drawn if p["failing"]} == {c for b, c in failing if b == block}
        outlined = conn.execute(svgmap._FAILING, {"town": TOWN, **rule_params(rules)}).all()
    assert len(outlined) == len(failing) > 0
