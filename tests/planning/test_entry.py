"""Entry thresholds of a proposed project (准入门槛), worked by hand: the pure check, then the API on the cases.

The parcel is A4b of tests/planning/cases.py: 100 × 100 = 10 000 m² = 15 亩, in block QK113-001 (no FAR exemption).
With thresholds configured as 投资强度 ≥ 300 万元/亩, 亩均税收 ≥ 15 万元/亩 and the negative list C25, C31:

| threshold | project that passes | project that fails | shortfall of the failing one |
|---|---|---|---|
| 投资强度 | 6 000万 ÷ 15 = 400 万元/亩 | 3 000万 ÷ 15 = 200 | 300 × 10⁴ × 15 − 3 000万 = 15 000 000 元 |
| 容积率 | storeys 9 / 4.5 / 4.5 / 4.5 m of 6 000 m²: 12 000 + 18 000 = 30 000 ÷ 10 000 = 3.0 | 15 000 ÷ 10 000 = 1.5 | 2.0 × 10 000 − 15 000 = 5 000 m² |
| 建筑系数 | 6 000 ÷ 10 000 = 60 % | 2 500 ÷ 10 000 = 25 % | 3 000 − 2 500 = 500 m² |
| 绿地率 | 1 000 ÷ 10 000 = 10 % | 2 500 ÷ 10 000 = 25 % | 2 500 − 2 000 = 500 m² |
| 配套用地 | 500 ÷ 10 000 = 5 % ≤ 7 % | 1 500 (500 dormitories) = 15 % > min(15 %, 7 % + 5 %) = 12 % | 1 500 − 1 200 = 300 m² |
| 配套建筑面积 | 2 400 ÷ 24 000 = 10 % ≤ 15 % | 4 500 (1 500 dormitories) ÷ 15 000 = 30 % > min(30 %, 15 % + 10 %) = 25 % | 4 500 − 3 750 = 750 m² |
| 亩均税收 | 240万 ÷ 15 = 16 万元/亩 | 150万 ÷ 15 = 10 | 15 × 10⁴ × 15 − 1 500 000 = 750 000 元/年 |
| 负面清单 | C3481 (not listed) | 2511 = C2511, under C25 | — |
"""  # noqa: E501 (the table)

from __future__ import annotations

import dataclasses

import pytest
from fastapi.testclient import TestClient

from app.api import create_app
from app.db.engine import make_engine
from app.errors import InvalidParameter
from app.planning import entry
from app.planning.config import PlanningRules
from tests.planning import cases

P = cases.P
DEFAULTS = PlanningRules()
SET = PlanningRules(entry_invest_per_mu_wan_min=300, entry_tax_per_mu_wan_min=15, entry_negative_list=("C25", "C31"))
SITE = entry.EntrySite(parcel_code=P["A4b"], block_code=cases.BA, land_area_m2=10_000.0)

PASSING = entry.ProjectInput(
    invest_yuan=60_000_000, floor_area_m2=24_000, storeys=4, storey_heights_m=(9.0, 4.5, 4.5, 4.5),
    footprint_m2=6_000, green_m2=1_000, supporting_land_m2=500, supporting_floor_area_m2=2_400,
    tax_yuan=2_400_000, output_yuan=90_000_000, industry_code="C3481")
FAILING = entry.ProjectInput(
    invest_yuan=30_000_000, floor_area_m2=15_000, storeys=3, footprint_m2=2_500, green_m2=2_500,
    supporting_land_m2=1_500, dormitory_land_m2=500, supporting_floor_area_m2=4_500, dormitory_floor_area_m2=1_500,
    tax_yuan=1_500_000, output_yuan=20_000_000, industry_code="2511")
IDS = ["invest_intensity_min", "far_min", "building_coefficient_min", "green_ratio_max", "supporting_land_max",
       "supporting_floor_max", "tax_per_mu_min", "negative_list"]


def by_id(check: entry.EntryCheck) -> dict[str, entry.EntryResult]:
    return {r.id: r for r in check.thresholds}


# ---------------------------------------------------------------- the pure check
def test_a_project_that_meets_every_threshold():
    check = entry.check_entry(PASSING, SITE, SET)
    assert [r.id for r in check.thresholds] == IDS
    assert (check.outcome, check.failed, check.not_checked) == ("pass", [], [])
    r = by_id(check)
    assert (r["invest_intensity_min"].value, r["invest_intensity_min"].threshold) == (400.0, 300.0)
    # storeys 9 / 4.5 / 4.5 / 4.5 m of 6 000 m² each: the 9 m storey counts twice, 30 000 m² counted
    assert check.figures.far_floor_area_m2 == 30_000.0 and r["far_min"].value == 3.0
    assert r["building_coefficient_min"].value == 0.6 and r["green_ratio_max"].value == 0.1
    assert r["supporting_land_max"].value == 0.05 and r["supporting_land_max"].threshold == pytest.approx(0.07)
    assert r["supporting_floor_max"].value == 0.1 and r["supporting_floor_max"].threshold == pytest.approx(0.15)
    assert r["tax_per_mu_min"].value == 16.0 and check.figures.output_per_mu_wan == 600.0
    assert (r["negative_list"].value, r["negative_list"].threshold) == ("C3481", ["C25", "C31"])
    assert all(x.shortfall == 0.0 and x.passed for x in check.thresholds if x.id != "negative_list")
    assert check.figures.industry_section == "C" and check.rule_version == SET.rule_version


def test_a_project_that_fails_every_threshold_with_its_shortfall():
    check = entry.check_entry(FAILING, SITE, SET)
    assert check.outcome == "fail" and check.failed == IDS
    got = {x.id: (x.value, x.threshold, x.shortfall, x.shortfall_unit) for x in check.thresholds}
    assert got["invest_intensity_min"] == (200.0, 300.0, 15_000_000.0, "元 investment")
    assert got["far_min"] == (1.5, 2.0, 5_000.0, "m² counted floor area")
    assert got["building_coefficient_min"] == (0.25, 0.3, 500.0, "m² footprint")
    assert got["green_ratio_max"] == (0.25, 0.2, 500.0, "m² green area")
    value, cap, excess, unit = got["supporting_land_max"]
    assert (value, cap, excess, unit) == (0.15, pytest.approx(0.12), pytest.approx(300.0), "m² supporting land")
    value, cap, excess, unit = got["supporting_floor_max"]
    assert (value, cap, excess, unit) == (0.3, pytest.approx(0.25), pytest.approx(750.0), "m² supporting floor area")
    assert got["tax_per_mu_min"] == (10.0, 15.0, 750_000.0, "元/年 tax")
    assert got["negative_list"] == ("C2511", ["C25", "C31"], None, "")
    r = by_id(check)
    assert "industry C2511 is on the negative list (entry C25)" == r["negative_list"].explanation
    assert r["far_min"].explanation.endswith("5,000.00 m² more counted floor area needed")
    assert "no storey heights given" in check.notes[0]


def test_thresholds_without_a_published_value_are_not_checked():
    check = entry.check_entry(FAILING, SITE, DEFAULTS)
    r = by_id(check)
    assert check.not_checked == ["invest_intensity_min", "tax_per_mu_min", "negative_list"]
    for tid in check.not_checked:
        assert (r[tid].outcome, r[tid].passed, r[tid].threshold, r[tid].shortfall) == ("not_checked", None, None,
                                                                                        None)
        assert r[tid].provisional and r[tid].source.startswith("暂定值 (provisional)")
        assert "no published value" in r[tid].explanation
    assert r["invest_intensity_min"].value == 200.0  # the figure is still given
    assert check.failed == ["far_min", "building_coefficient_min", "green_ratio_max", "supporting_land_max",
                            "supporting_floor_max"]
    # published thresholds carry their documents
    assert "国土资发〔2008〕24号" in r["building_coefficient_min"].source and not r["far_min"].provisional
    assert "国办发〔2021〕22号" in r["supporting_land_max"].source
    assert r["far_min"].source.startswith("[plan] 慈溪市老旧工业区块改造提升攻坚行动计划（2022-2026）")
    assert not any("DOMAIN" in x.source for x in check.thresholds)


def test_dormitories_raise_the_supporting_caps_up_to_cixis():
    # land: 1 200 m² with 500 for dormitories = 12 % ≤ min(15 %, 7 % + 5 %) = 12 %: passes at the cap
    at_cap = dataclasses.replace(FAILING, supporting_land_m2=1_200, dormitory_land_m2=500)
    assert by_id(entry.check_entry(at_cap, SITE, DEFAULTS))["supporting_land_max"].outcome == "pass"
    # floor: 30 % with 20 % dormitories: cap min(30 %, 15 % + 20 %) = 30 %: passes; 31 % fails by 150 m²
    floor = dataclasses.replace(FAILING, supporting_floor_area_m2=4_500, dormitory_floor_area_m2=3_000)
    assert by_id(entry.check_entry(floor, SITE, DEFAULTS))["supporting_floor_max"].outcome == "pass"
    over = dataclasses.replace(floor, supporting_floor_area_m2=4_650)
    result = by_id(entry.check_entry(over, SITE, DEFAULTS))["supporting_floor_max"]
    assert (result.outcome, result.threshold, result.shortfall) == ("fail", 0.3, pytest.approx(150.0))


def test_block_exemptions_set_the_far_floor():
    lower = dataclasses.replace(SITE, far_exemption=True, far_exemption_min_far=1.5, far_exemption_reason="低效用地")
    far = by_id(entry.check_entry(FAILING, lower, DEFAULTS))["far_min"]
    assert (far.outcome, far.threshold, far.shortfall) == ("pass", 1.5, 0.0)
    lifted = dataclasses.replace(SITE, far_exemption=True, far_exemption_reason="保留历史厂房")
    far = by_id(entry.check_entry(FAILING, lifted, DEFAULTS))["far_min"]
    assert (far.outcome, far.threshold, far.value) == ("not_checked", None, 1.5)
    assert "exempt from the 容积率 floor (保留历史厂房)" in far.explanation


def test_storeys_above_the_height_threshold_count_twice():
    # the example: 4 000 m² over storeys 9 / 4.5 / 4.5 / 4.5 m counts 5 000 m²; exactly 8.0 m counts once
    tall = dataclasses.replace(PASSING, floor_area_m2=4_000, storey_heights_m=(9.0, 4.5, 4.5, 4.5))
    assert entry.counted_floor_area_m2(tall, DEFAULTS) == 5_000.0
    assert entry.counted_floor_area_m2(dataclasses.replace(tall, storey_heights_m=(8.0, 4.5, 4.5, 4.5)),
                                       DEFAULTS) == 4_000.0
    assert entry.counted_floor_area_m2(dataclasses.replace(tall, storey_heights_m=None), DEFAULTS) == 4_000.0


@pytest.mark.parametrize(("code", "listed"), [
    ("C2511", "C25"), ("2511", "C25"), ("c25", "C25"), ("C3130", "C31"), ("C3481", None), ("C", None),
])
def test_negative_list_entries_cover_their_subdivisions(code, listed):
    assert entry.listed_entry(code, ("C25", "C31")) == listed
    assert entry.listed_entry("C2511", ("C",)) == "C"      # a section covers its divisions
    assert entry.listed_entry("4411", ("C",)) is None      # 44 is in section D


@pytest.mark.parametrize(("change", "field"), [
    ({"footprint_m2": 10_500}, "footprint_m2"),
    ({"green_m2": 12_000}, "green_m2"),
    ({"yards_m2": 8_000}, "yards_m2"),
    ({"supporting_floor_area_m2": 30_000}, "supporting_floor_area_m2"),
    ({"dormitory_land_m2": 600}, "dormitory_land_m2"),
    ({"storey_heights_m": (9.0, 4.5)}, "storey_heights_m"),
    ({"industry_code": "X12"}, "industry_code"),
    ({"industry_code": "C01"}, "industry_code"),   # division 01 is in section A
    ({"industry_code": "99"}, "industry_code"),    # no division 99
    ({"floor_area_m2": 0.0}, "floor_area_m2"),
    ({"tax_yuan": -1.0}, "tax_yuan"),
])
def test_inputs_that_cannot_describe_a_project_name_their_field(change, field):
    with pytest.raises(InvalidParameter) as info:
        entry.check_entry(dataclasses.replace(PASSING, **change), SITE, DEFAULTS)
    assert info.value.field == field and info.value.status == 400


def test_the_negative_list_setting_takes_gb_t_4754_codes():
    assert PlanningRules(entry_negative_list=["c25", " 2511"]).entry_negative_list == ("C25", "2511")
    with pytest.raises(ValueError, match="not GB/T 4754 industry codes: X9"):
        PlanningRules(entry_negative_list=["X9"])
    assert PlanningRules().rule_version == "rules-1"  # the entry settings' defaults are the rule set's


# ---------------------------------------------------------------- the API on the hand-built cases
def body(project: entry.ProjectInput) -> dict[str, object]:
    values = dataclasses.asdict(project)
    values["storey_heights_m"] = list(project.storey_heights_m) if project.storey_heights_m else None
    return values


@pytest.fixture(scope="module")
def api(databases, base_settings, tmp_path_factory):
    url = databases.create()
    engine = make_engine(base_settings, url)
    cases.load(engine, tmp_path_factory.mktemp("entry"))
    engine.dispose()
    settings = base_settings.model_copy(update={"database_url": url, "rules": SET})
    with TestClient(create_app(settings)) as client:
        yield client


def test_entry_check_over_the_api_passes(api):
    resp = api.post(f"/api/parcels/{P['A4b']}/entry-check", json=body(PASSING))
    assert resp.status_code == 200, resp.text
    got = resp.json()
    assert (got["parcel_code"], got["block_code"], got["outcome"], got["failed"]) == (P["A4b"], cases.BA, "pass", [])
    assert got["figures"]["land_area_m2"] == 10_000.0 and got["figures"]["land_area_mu"] == 15.0
    assert got["figures"]["far"] == 3.0 and got["area_crs"] == "EPSG:4549"
    first = got["thresholds"][0]
    assert {k: first[k] for k in ("id", "name_zh", "name_en", "outcome", "value", "threshold", "unit", "shortfall")} \
        == {"id": "invest_intensity_min", "name_zh": "投资强度", "name_en": "investment intensity", "outcome": "pass",
            "value": 400.0, "threshold": 300.0, "unit": "万元/亩", "shortfall": 0.0}


def test_entry_check_over_the_api_fails_with_reasons(api):
    got = api.post(f"/api/parcels/{P['A4b']}/entry-check", json=body(FAILING)).json()
    assert got["outcome"] == "fail" and got["failed"] == IDS
    short = {t["id"]: (t["shortfall"], t["shortfall_unit"]) for t in got["thresholds"]}
    assert short["invest_intensity_min"] == (15_000_000.0, "元 investment")
    assert short["far_min"] == (5_000.0, "m² counted floor area")
    assert short["tax_per_mu_min"] == (750_000.0, "元/年 tax")
    assert all(t["source"] and t["explanation"] for t in got["thresholds"])


def test_entry_check_uses_the_blocks_far_exemption(api):
    b1 = api.post(f"/api/parcels/{P['B1']}/entry-check", json=body(FAILING)).json()   # QK113-002: floor 1.5
    far = next(t for t in b1["thresholds"] if t["id"] == "far_min")
    assert (far["outcome"], far["threshold"]) == ("pass", 1.5)
    c1 = api.post(f"/api/parcels/{P['C1']}/entry-check", json=body(FAILING)).json()   # QK113-003: lifted
    assert "far_min" in c1["not_checked"]


@pytest.mark.parametrize(("change", "field"), [
    ({"invest_yuan": None}, "invest_yuan"),
    ({"storeys": 0}, "storeys"),
    ({"green_m2": -5}, "green_m2"),
    ({"footprint_m2": 20_000}, "footprint_m2"),       # more than the parcel's 10 000 m²
    ({"industry_code": "Z99"}, "industry_code"),
    ({"storey_heights_m": [9, 4.5]}, "storey_heights_m"),
    ({"colour": "red"}, "colour"),                    # unknown fields are refused
])
def test_bad_input_is_a_400_naming_the_field(api, change, field):
    payload = {**body(PASSING), **change}
    if change.get("invest_yuan", 0) is None:
        del payload["invest_yuan"]
    resp = api.post(f"/api/parcels/{P['A4b']}/entry-check", json=payload)
    assert resp.status_code == 400, resp.text
    assert resp.json()["code"] == "InvalidParameterValue" and resp.json()["field"] == field


def test_unknown_parcel_is_a_404(api):
    resp = api.post("/api/parcels/330282113999GB99999/entry-check", json=body(PASSING))
    assert resp.status_code == 404 and {k: v for k, v in resp.json().items() if k != "messages"} == {
        "code": "NotFound", "detail": "no parcel with code '330282113999GB99999'", "field": "code"}
