"""The SQL engine on the hand-built cases: figures, rules, block and town roll-ups, compliance lists."""

from __future__ import annotations

import inspect
from dataclasses import fields

import psycopg
import pytest

from app.db.engine import make_engine
from app.errors import InvalidParameter, NotFound
from app.planning import metrics, sql
from app.planning.config import PlanningRules
from app.planning.figures import FIGURE_FIELDS, Figures, ParcelFigures, parcel_figures
from tests.planning import cases

P = cases.P
RULES = PlanningRules()


@pytest.fixture(scope="module")
def engine(databases, base_settings, tmp_path_factory):
    """A fresh database holding the cases (with the two block exemptions)."""
    eng = make_engine(base_settings, databases.create())
    cases.load(eng, tmp_path_factory.mktemp("cases"))
    yield eng
    eng.dispose()


@pytest.fixture()
def conn(engine):
    with engine.connect() as c:
        yield c


def by_code(conn, rules=RULES):
    return {f.parcel_code: f for f in metrics.parcel_figures(conn, rules)}


def result(metrics_, rule):
    return next(r for r in metrics_.rules if r.rule == rule)


def assert_same_figures(sql_fig: Figures, twin: Figures) -> None:
    for name in FIGURE_FIELDS:
        got, want = getattr(sql_fig, name), getattr(twin, name)
        if want is None:
            assert got is None, name
        else:
            assert got == pytest.approx(want, rel=1e-12, abs=1e-9), name


def test_sql_figures_worked_by_hand(conn):
    f = by_code(conn)
    assert set(f) == set(P.values())
    a1 = f[P["A1"]]
    # 2 000 × 5 + 2 500 × 2 (exactly 8.0 m: once) + 2 500 × 1 × 2 (12 m) = 20 000 on 10 000 m²
    assert (a1.land_area_m2, a1.floor_area_m2, a1.far_floor_area_m2, a1.far) == (10_000.0, 17_500.0, 20_000.0, 2.0)
    assert a1.doubled_building_count == 1 and a1.building_count == 3
    assert f[P["A2"]].land_area_m2 == 7_500.0 and f[P["A2"]].far == 0.4          # hole excluded: 3 000 / 7 500
    assert f[P["A2"]].supporting_land_apportioned is True
    assert f[P["A3"]].land_area_m2 == 8_000.0 and f[P["A3"]].far == 1.07         # multipolygon: 8 560 / 8 000
    a4a, a4b = f[P["A4a"]], f[P["A4b"]]
    assert (a4a.footprint_m2, a4a.far, a4a.illegal_floor_area_m2) == (1_600.0, 0.32, 400.0)  # whole crossing bldg
    assert (a4b.building_count, a4b.floor_area_m2, a4b.far) == (0, 0.0, 0.0)     # no buildings: FAR 0
    assert f[P["B1"]].far_exemption_min_far == 1.5 and f[P["B1"]].far_exemption_reason == cases.EXEMPTION_B
    assert f[P["C1"]].far_exemption_min_far is None and f[P["C1"]].far_exemption_reason == cases.EXEMPTION_C
    assert a1.land_area_mu == 15.0 and a1.tax_per_mu == 40_000.0 and a1.tax_per_mu_wan == 4.0


@pytest.mark.parametrize("rules", [RULES, PlanningRules(height_threshold_m=7.5, height_multiplier=1.5),
                                   PlanningRules(count_illegal=True, supporting_uses=("office",))],
                         ids=["defaults", "threshold-7.5-x1.5", "illegal-counted"])
def test_sql_and_python_twin_agree(conn, rules):
    twins = {code: parcel_figures(inp, rules) for code, inp in cases.twin_inputs(cases.layers()).items()}
    for code, fig in by_code(conn, rules).items():
        assert_same_figures(fig, twins[code])


def test_configured_threshold_changes_the_8_m_storey(conn):
    a1 = by_code(conn, PlanningRules(height_threshold_m=7.5))[P["A1"]]
    assert a1.far_floor_area_m2 == 25_000.0 and a1.far == 2.5  # 10 000 + 5 000 × 2 + 2 500 × 2


def test_parcel_metrics_far_exactly_2_passes_and_lists_its_buildings(conn):
    m = metrics.parcel_metrics(conn, P["A1"], RULES)
    far = result(m, "far_min")
    assert (far.outcome, far.passed, far.value, far.threshold, far.shortfall) == ("pass", True, 2.0, 2.0, 0.0)
    assert far.buildings_used == [P["A1"] + "F0001", P["A1"] + "F0002", P["A1"] + "F0003"]
    assert far.doubled_for_height == [P["A1"] + "F0003"]    # 12 m; the 8.0 m warehouse is not doubled
    assert far.illegal_left_out == []
    assert far.rule_version == "rules-1" and m.rule_version == "rules-1" and m.area_crs == "EPSG:4549"
    by_building = {b.code: b for b in m.buildings}
    assert by_building[P["A1"] + "F0002"].floor_h_m == 8.0
    assert by_building[P["A1"] + "F0002"].far_floor_area_m2 == 5_000.0
    assert by_building[P["A1"] + "F0003"].far_floor_area_m2 == 5_000.0


def test_parcel_metrics_with_a_hole_fails_with_shortfalls(conn):
    m = metrics.parcel_metrics(conn, P["A2"], RULES)
    far = result(m, "far_min")
    assert far.outcome == "fail" and far.shortfall == 12_000.0          # 2.0 × 7 500 − 3 000
    assert far.relative_gap == pytest.approx(0.8)                      # (2.0 − 0.4) / 2.0
    assert far.explanation.startswith("容积率 0.40 < 2.00: counted floor area (计容建筑面积) 3,000.00 m² on "
                                      "7,500.00 m² of land (11.25 亩); 12,000.00 m² more counted floor area needed")
    floor = result(m, "supporting_floor_max")
    assert (floor.outcome, floor.value, floor.threshold) == ("fail", 0.2, 0.15)  # no dormitory: national 15 %
    assert floor.shortfall == pytest.approx(150.0)                      # 600 − 0.15 × 3 000
    land = result(m, "supporting_land_max")
    assert (land.outcome, land.value, land.threshold) == ("fail", 0.2, 0.07)     # apportioned 1 500 / 7 500
    assert land.shortfall == pytest.approx(975.0)                       # 1 500 − 0.07 × 7 500
    assert "apportioned by floor share" in land.explanation
    coef = result(m, "building_coefficient_min")
    assert coef.outcome == "fail" and coef.shortfall == pytest.approx(1_150.0)   # 0.3 × 7 500 − 1 100
    assert result(m, "green_ratio_max").outcome == "no_data"


def test_parcel_metrics_dormitories_raise_the_caps(conn):
    m = metrics.parcel_metrics(conn, P["A3"], RULES)
    floor = result(m, "supporting_floor_max")
    # dormitory 6 000 of 7 280 m²: cap min(30 %, 15 % + 82.4 %) = 30 %; excess 6 000 − 0.3 × 7 280 = 3 816
    assert (floor.outcome, floor.threshold) == ("fail", 0.30) and floor.shortfall == pytest.approx(3_816.0)
    land = result(m, "supporting_land_max")
    # recorded 1 000 / 8 000 = 12.5 %, all dormitory: cap min(15 %, 7 % + 12.5 %) = 15 % → passes
    assert (land.outcome, land.value, land.threshold, land.shortfall) == ("pass", 0.125, 0.15, 0.0)
    green = result(m, "green_ratio_max")
    assert (green.outcome, green.value) == ("fail", 0.25) and green.shortfall == pytest.approx(400.0)
    assert result(m, "far_min").shortfall == pytest.approx(7_440.0)     # 16 000 − 8 560
    assert result(m, "far_min").doubled_for_height == [P["A3"] + "F0002"]


def test_parcel_metrics_crossing_building_illegal_shed_and_empty_parcel(conn):
    a = metrics.parcel_metrics(conn, P["A4a"], RULES)
    far = result(a, "far_min")
    assert far.buildings_used == [cases.CROSSING] and far.illegal_left_out == [cases.ILLEGAL]
    assert far.shortfall == 16_800.0                                      # 20 000 − 3 200
    assert "illegal buildings left out: 1 (330282113001GB00004F0002)" in far.explanation
    e = metrics.parcel_metrics(conn, P["A4b"], RULES)
    assert e.buildings == [] and e.far == 0.0
    assert (result(e, "far_min").outcome, result(e, "far_min").shortfall) == ("fail", 20_000.0)
    assert result(e, "supporting_floor_max").outcome == "not_applicable"
    assert result(e, "supporting_land_max").outcome == "no_data"
    assert result(e, "building_coefficient_min").shortfall == 3_000.0    # 0.3 × 10 000 − 0
    assert result(e, "green_ratio_max").shortfall == pytest.approx(500.0)  # 2 500 − 0.2 × 10 000


def test_block_exemptions(conn):
    b1 = result(metrics.parcel_metrics(conn, P["B1"], RULES), "far_min")
    # the block's floor is 1.5: 1.5 × 10 000 − 5 000 = 10 000 m² short
    assert (b1.outcome, b1.threshold, b1.shortfall) == ("fail", 1.5, 10_000.0)
    assert b1.exemption_reason == cases.EXEMPTION_B
    c1 = result(metrics.parcel_metrics(conn, P["C1"], RULES), "far_min")
    assert (c1.outcome, c1.passed, c1.threshold, c1.shortfall) == ("exempt", None, None, None)
    assert c1.exemption_reason == cases.EXEMPTION_C


def test_block_metrics_sum_over_sum(conn):
    m = metrics.block_metrics(conn, cases.BA, RULES)
    assert m.parcel_count == 5 and m.land_area_m2 == 45_500.0 and m.land_area_mu == 68.25
    assert m.far_floor_area_m2 == 34_760.0 and m.far == pytest.approx(34_760 / 45_500)
    assert m.tax_per_mu == 32_000.0 and m.tax_per_mu_wan == 3.2   # 1 800 000 / 56.25 亩
    assert m.parcel_rule_failures == {"far_min": 4, "supporting_floor_max": 2, "supporting_land_max": 1,
                                      "building_coefficient_min": 3, "green_ratio_max": 2}
    old, target = result(m, "old_block"), result(m, "target_tax_per_mu")
    # 3.2 < 5 万元/亩 with fire hazard and low industry: an old block; 5 × 10⁴ × 56.25 − 1 800 000 = 1 012 500
    assert (old.outcome, old.value, old.threshold, old.shortfall) == ("fail", 3.2, 5.0, 1_012_500.0)
    assert "fire_hazard, low_industry" in old.explanation
    # accepted, so the 2026 target applies: 15 × 10⁴ × 56.25 − 1 800 000 = 6 637 500 yuan a year short
    assert (target.outcome, target.shortfall) == ("fail", 6_637_500.0)
    assert m.hazard_flags == ["fire_hazard", "low_industry"] and m.status == "accepted"


def test_block_metrics_other_blocks(conn):
    bb = metrics.block_metrics(conn, cases.BB, RULES)
    assert result(bb, "old_block").outcome == "pass"              # 1 200 000 / 15 = 8 万元/亩 ≥ 5
    assert result(bb, "target_tax_per_mu").outcome == "not_applicable"  # in progress
    assert bb.far_exemption_min_far == 1.5
    bc = metrics.block_metrics(conn, cases.BC, RULES)
    assert result(bc, "old_block").outcome == "no_data"           # no tax reported
    assert bc.parcel_rule_failures["far_min"] == 0                # exempt
    bd = metrics.block_metrics(conn, cases.BD, RULES)
    assert (bd.parcel_count, bd.land_area_m2, bd.far, bd.tax_per_mu) == (0, 0.0, None, None)


def test_old_block_needs_enough_hazard_flags(conn):
    m = metrics.block_metrics(conn, cases.BA, PlanningRules(old_block_min_flags=3))
    old = result(m, "old_block")
    assert old.outcome == "pass" and "fewer than the 3 needed" in old.explanation
    assert old.rule_version.startswith("rules-1+")


def test_town_metrics(conn):
    m = metrics.town_metrics(conn, cases.TOWN, RULES)
    assert (m.town_code, m.town_name) == (cases.TOWN, "胜山镇")
    # land 45 500 + 10 000 + 10 000; counted 34 760 + 5 000 + 1 600
    assert m.land_area_m2 == 65_500.0 and m.far == pytest.approx(41_360 / 65_500)
    assert m.tax_per_mu == pytest.approx(3_000_000 / 71.25)       # tax reported on 47 500 m² = 71.25 亩
    assert m.parcel_rule_failures["far_min"] == 5
    assert m.block_rule_failures == {"old_block": 1, "target_tax_per_mu": 1}
    assert [b.block_code for b in m.blocks] == [cases.BA, cases.BB, cases.BC, cases.BD]


def test_town_without_blocks(conn):
    m = metrics.town_metrics(conn, cases.EMPTY_TOWN, RULES)
    assert (m.parcel_count, m.land_area_m2, m.far, m.blocks) == (0, 0.0, None, [])
    assert m.block_rule_failures == {"old_block": 0, "target_tax_per_mu": 0}


def test_unknown_codes(conn):
    with pytest.raises(NotFound, match="no parcel with code 'X'"):
        metrics.parcel_metrics(conn, "X", RULES)
    with pytest.raises(NotFound, match="no block with code 'X'"):
        metrics.block_metrics(conn, "X", RULES)
    with pytest.raises(NotFound, match="no town with code 'X'"):
        metrics.town_metrics(conn, "X", RULES)


def test_compliance_worst_first_paged(conn):
    page = metrics.compliance(conn, RULES, "far_min", town=cases.TOWN)
    # relative gaps: A4b (2 − 0)/2 = 1, A4a 0.84, A2 0.8, B1 (1.5 − 0.5)/1.5 = 0.667, A3 0.465; C1 exempt, A1 passes
    assert [i.code for i in page.items] == [P["A4b"], P["A4a"], P["A2"], P["B1"], P["A3"]]
    assert page.total == 5 and page.rule.threshold == 2.0 and page.rule.comparison == "≥"
    assert [i.shortfall for i in page.items] == [20_000.0, 16_800.0, 12_000.0, 10_000.0, pytest.approx(7_440.0)]
    assert page.items[1].illegal_left_out == [cases.ILLEGAL] and page.items[1].buildings_used == [cases.CROSSING]
    second = metrics.compliance(conn, RULES, "far_min", limit=2, offset=1)
    assert [i.code for i in second.items] == [P["A4a"], P["A2"]] and second.total == 5
    beyond = metrics.compliance(conn, RULES, "far_min", limit=2, offset=10)
    assert beyond.items == [] and beyond.total == 5
    only = metrics.compliance(conn, RULES, "far_min", town=cases.TOWN, block=cases.BB)
    assert [i.code for i in only.items] == [P["B1"]] and only.items[0].threshold == 1.5


def test_compliance_block_rules(conn):
    old = metrics.compliance(conn, RULES, "old_block")
    assert [(i.code, i.level, i.shortfall) for i in old.items] == [(cases.BA, "block", 1_012_500.0)]
    assert old.total == 1
    assert metrics.compliance(conn, RULES, "target_tax_per_mu", block=cases.BB).total == 0


def test_compliance_bad_filters(conn):
    with pytest.raises(InvalidParameter, match="unknown rule 'far'") as info:
        metrics.compliance(conn, RULES, "far")
    assert info.value.field == "rule"
    with pytest.raises(NotFound, match="no town with code '330282999'") as missing:
        metrics.compliance(conn, RULES, "far_min", town="330282999")
    assert missing.value.field == "town"
    with pytest.raises(NotFound, match="no block with code 'QK000'") as missing:
        metrics.compliance(conn, RULES, "far_min", block="QK000")
    assert missing.value.field == "block"
    with pytest.raises(InvalidParameter, match="block 'QK113-002' lies in town '330282113', not '330282107'"):
        metrics.compliance(conn, RULES, "far_min", town=cases.EMPTY_TOWN, block=cases.BB)


def test_response_types_are_complete():
    assert {f.name for f in fields(metrics.ParcelMetrics)} >= {"land_area_m2", "land_area_mu", "floor_area_m2",
                                                                "far_floor_area_m2", "far", "footprint_m2",
                                                                "building_density", "tax_per_mu"}


@pytest.mark.parametrize("statement", ["SELECT 1 / 0", "SELECT 1 / (2500 - g) FROM generate_series(1, 5000) g"],
                         ids=["first-row", "third-chunk"])
def test_driver_errors_surface_as_sqlalchemy_errors(conn, statement):
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    from app.db import streaming

    with pytest.raises(DBAPIError, match="division by zero"):
        streaming.fetch_objects(conn, text(statement), {}, lambda *values: values)


def test_parcel_objects_hold_what_the_full_statement_returns(conn):
    full = [ParcelFigures(*row) for row in conn.execute(sql.PARCEL_FIGURES["city"], metrics.sql_params(RULES))]
    assert any(f.supporting_land_m2 is None for f in full) and any(f.far_exemption_reason for f in full)
    assert by_code(conn) == {f.parcel_code: f for f in full}
    assert list(inspect.signature(metrics.parcel_from_row).parameters) == list(sql.PARCEL_ROW_FIELDS)


def test_parcel_figures_alike_in_chunks_and_in_one_result(conn, monkeypatch):
    whole = by_code(conn)
    from app.db import streaming

    monkeypatch.setattr(streaming, "CHUNK_ROWS", 2)
    assert by_code(conn) == whole
    monkeypatch.setattr(psycopg.capabilities, "has_stream_chunked", lambda check=False: False)  # libpq < 17
    assert by_code(conn) == whole
