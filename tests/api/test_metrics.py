"""The metrics API on the hand-built cases: bodies with units, errors asserted exactly, /docs descriptions."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from app.api import create_app
from app.db.engine import make_engine
from app.planning.config import PlanningRules
from app.planning.rules import RULES
from tests.conftest import login_as
from tests.planning import cases

P = cases.P
RULE_IDS = ("far_min, supporting_floor_max, supporting_land_max, building_coefficient_min, green_ratio_max, "
            "old_block, target_tax_per_mu")


@pytest.fixture(scope="module")
def api(databases, base_settings, tmp_path_factory):
    url = databases.create()
    engine = make_engine(base_settings, url)
    cases.load(engine, tmp_path_factory.mktemp("api"))
    engine.dispose()
    app = create_app(base_settings.model_copy(update={"database_url": url}))
    with TestClient(app) as client:
        yield login_as(client, "viewer")  # tax figures are for logged-in readers (issue 8)


def rule(body, rule_id):
    return next(r for r in body["rules"] if r["rule"] == rule_id)


def test_parcel_metrics(api):
    resp = api.get(f"/api/parcels/{P['A1']}/metrics")
    assert resp.status_code == 200
    body = resp.json()
    # 100 × 100 m = 10 000 m² = 15 亩; counted 20 000 m² (the 12 m hall twice, the 8.0 m warehouse once)
    assert {k: body[k] for k in ("land_area_m2", "land_area_mu", "floor_area_m2", "far_floor_area_m2", "far",
                                 "footprint_m2", "building_density", "tax_per_mu", "tax_per_mu_wan")} == {
        "land_area_m2": 10_000.0, "land_area_mu": 15.0, "floor_area_m2": 17_500.0, "far_floor_area_m2": 20_000.0,
        "far": 2.0, "footprint_m2": 7_000.0, "building_density": 0.7, "tax_per_mu": 40_000.0, "tax_per_mu_wan": 4.0}
    assert (body["parcel_code"], body["block_code"], body["town_code"]) == (P["A1"], cases.BA, cases.TOWN)
    assert body["rule_version"] == "rules-1" and body["area_crs"] == "EPSG:4549"
    far = rule(body, "far_min")
    assert (far["outcome"], far["passed"], far["value"], far["threshold"], far["shortfall"]) == (
        "pass", True, 2.0, 2.0, 0.0)
    assert far["doubled_for_height"] == [P["A1"] + "F0003"]
    assert [b["code"] for b in body["buildings"] if b["doubled_for_height"]] == [P["A1"] + "F0003"]


def test_parcel_metrics_failure_explains_itself(api):
    body = api.get(f"/api/parcels/{P['A4a']}/metrics").json()
    far = rule(body, "far_min")
    assert far == {
        "rule": "far_min", "title": "容积率下限 plot-ratio floor", "level": "parcel",
        "source": far["source"], "outcome": "fail", "passed": False, "value": 0.32, "comparison": "≥",
        "threshold": 2.0, "unit": "ratio", "shortfall": 16_800.0, "shortfall_unit": "m² counted floor area",
        "relative_gap": pytest.approx(0.84),
        "explanation": "容积率 0.32 < 2.00: counted floor area (计容建筑面积) 3,200.00 m² on 10,000.00 m² of land "
                       "(15.00 亩); 16,800.00 m² more counted floor area needed. Buildings used: 1; illegal "
                       "buildings left out: 1 (330282113001GB00004F0002)",
        "exemption_reason": None, "rule_basis": "programme", "buildings_used": [cases.CROSSING],
        "doubled_for_height": [],
        "illegal_left_out": [cases.ILLEGAL], "rule_version": "rules-1"}
    assert far["source"].startswith("[plan] 慈溪市老旧工业区块改造提升攻坚行动计划")
    assert body["illegal_floor_area_m2"] == 400.0


def test_block_and_town_metrics(api):
    block = api.get(f"/api/blocks/{cases.BA}/metrics").json()
    # Σ counted 34 760 ÷ Σ land 45 500; tax 1 800 000 on 56.25 亩 = 32 000 yuan/亩
    assert block["far"] == pytest.approx(34_760 / 45_500) and block["tax_per_mu"] == 32_000.0
    assert rule(block, "old_block")["outcome"] == "fail" and rule(block, "old_block")["shortfall"] == 1_012_500.0
    assert block["parcel_rule_failures"]["far_min"] == 4
    town = api.get(f"/api/towns/{cases.TOWN}/metrics").json()
    assert town["land_area_m2"] == 65_500.0 and town["town_name"] == "胜山镇"
    assert [b["block_code"] for b in town["blocks"]] == [cases.BA, cases.BB, cases.BC, cases.BD]
    assert town["block_rule_failures"] == {"old_block": 1, "target_tax_per_mu": 1}


def test_compliance(api):
    body = api.get("/api/compliance", params={"rule": "far_min", "town": cases.TOWN, "limit": 2, "offset": 1}).json()
    assert body["total"] == 5 and body["limit"] == 2 and body["offset"] == 1
    assert [(i["code"], i["shortfall"]) for i in body["items"]] == [(P["A4a"], 16_800.0), (P["A2"], 12_000.0)]
    assert body["rule"]["id"] == "far_min" and body["rule"]["threshold"] == 2.0
    assert body["items"][0]["land_area_mu"] == 15.0
    default = api.get("/api/compliance").json()
    assert default["rule"]["id"] == "far_min" and default["total"] == 5
    blocks = api.get("/api/compliance", params={"rule": "target_tax_per_mu"}).json()
    assert [(i["code"], i["level"], i["shortfall"]) for i in blocks["items"]] == [(cases.BA, "block", 6_637_500.0)]


@pytest.mark.parametrize(("path", "body"), [
    ("/api/parcels/330282113001GB09999/metrics",
     {"code": "NotFound", "detail": "no parcel with code '330282113001GB09999'", "field": "code"}),
    ("/api/blocks/QK999-999/metrics",
     {"code": "NotFound", "detail": "no block with code 'QK999-999'", "field": "code"}),
    ("/api/towns/330282999/metrics", {"code": "NotFound", "detail": "no town with code '330282999'", "field": "code"}),
    ("/api/compliance?town=330282999", {"code": "NotFound", "detail": "no town with code '330282999'",
                                        "field": "town"}),
    ("/api/compliance?block=QK999-999", {"code": "NotFound", "detail": "no block with code 'QK999-999'",
                                         "field": "block"}),
])
def test_unknown_codes_are_404(api, path, body):
    resp = api.get(path)
    assert resp.status_code == 404
    assert resp.json() == {**body, "messages": {"en": body["detail"], "zh": resp.json()["messages"]["zh"]}}
    assert resp.json()["messages"]["zh"].startswith("没有")


@pytest.mark.parametrize(("query", "body"), [
    ("rule=far", {"code": "InvalidParameterValue", "detail": f"unknown rule 'far'; rules: {RULE_IDS}",
                  "field": "rule"}),
    ("limit=0", {"code": "InvalidParameterValue", "detail": "limit: Input should be greater than or equal to 1",
                 "field": "limit"}),
    ("offset=-1", {"code": "InvalidParameterValue", "detail": "offset: Input should be greater than or equal to 0",
                   "field": "offset"}),
    (f"town=330282107&block={cases.BB}", {"code": "InvalidParameterValue",
                                          "detail": "block 'QK113-002' lies in town '330282113', not '330282107'",
                                          "field": "block"}),
])
def test_bad_parameters_are_400(api, query, body):
    resp = api.get(f"/api/compliance?{query}")
    assert resp.status_code == 400
    assert {k: v for k, v in resp.json().items() if k != "messages"} == body
    assert resp.json()["messages"]["en"] == body["detail"] and resp.json()["messages"]["zh"]


def test_configured_rules_travel_with_results(api):
    settings = api.app.state.settings.model_copy(update={"rules": PlanningRules(far_min=1.5)})
    with TestClient(create_app(settings)) as other:
        body = other.get(f"/api/parcels/{P['A4a']}/metrics").json()
    far = rule(body, "far_min")
    assert far["threshold"] == 1.5 and far["shortfall"] == 11_800.0  # 1.5 × 10 000 − 3 200
    assert far["rule_version"].startswith("rules-1+") and body["rule_version"] == far["rule_version"]


def test_openapi_describes_units(api):
    spec = api.get("/openapi.json").json()
    params = {p["name"]: p["description"] for p in spec["paths"]["/api/compliance"]["get"]["parameters"]}
    assert set(params) == {"rule", "town", "block", "outcome", "format", "limit", "offset", "basis"}
    assert "m²" in params["rule"] and "count" in params["limit"]
    code = spec["paths"]["/api/parcels/{code}/metrics"]["get"]["parameters"][0]
    assert code["name"] == "code" and "宗地编号" in code["description"]
    schema = spec["components"]["schemas"]["ParcelMetrics"]["properties"]
    assert "亩" in schema["land_area_mu"]["description"] and "m²" in schema["far_floor_area_m2"]["description"]


def test_sources_are_cited_for_users_not_developers(api):
    """Issue 17: no answer cites an internal file or an assumption note; a provisional value names its setting."""
    bodies = [api.get(f"/api/parcels/{P['A1']}/metrics").text, api.get(f"/api/blocks/{cases.BA}/metrics").text,
              api.get(f"/api/towns/{cases.TOWN}/metrics").text,
              api.get("/api/compliance", params={"rule": "green_ratio_max"}).text]
    for body in bodies:
        assert ".md" not in body and "§" not in body and "[assumed]" not in body
    green = api.get("/api/compliance", params={"rule": "green_ratio_max"}).json()
    assert "暂定值 (provisional, set by RENEWAL_RULE_GREEN_RATIO_MAX)" in green["rule"]["source"]
    assert all(i["source"] == green["rule"]["source"] for i in green["items"])
    far = rule(api.get(f"/api/parcels/{P['A1']}/metrics").json(), "far_min")
    assert "《工业项目建设用地控制指标》(国土资发〔2008〕24号) 附件1 控制指标应用说明" in far["source"]
    coefficient = rule(api.get(f"/api/parcels/{P['A1']}/metrics").json(), "building_coefficient_min")
    assert "国土资发〔2008〕24号) 第四条(三)" in coefficient["source"]
    block = api.get(f"/api/blocks/{cases.BA}/metrics").json()
    assert "暂定值 (provisional, set by RENEWAL_RULE_OLD_BLOCK_MIN_FLAGS)" in rule(block, "old_block")["source"]
    assert "暂定值 (provisional, set by RENEWAL_RULE_TARGET_STATUSES)" in rule(block, "target_tax_per_mu")["source"]


def test_rule_sources_are_worded_for_users_where_they_are_defined():
    """The sources users read are the rules' own (no rewording at answer time): published documents and clauses,
    and 暂定值 (provisional) with the setting that changes the value."""
    for r in RULES.values():
        assert r.source.startswith(("[plan]", "[national]")), r.id
        assert ".md" not in r.source and "§" not in r.source and "assumed" not in r.source, r.id
        if "暂定值" in r.source:
            assert "(provisional, set by RENEWAL_RULE_" in r.source, r.id
