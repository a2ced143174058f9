"""Before/after of a plan worked by hand; saving records mode and industry on the block."""

from __future__ import annotations

import pytest

from app.planning.config import PlanningRules
from app.programme import plans
from app.programme.config import ProgrammeRules
from tests.programme.data import BA, BC, P

RULES, PRULES = PlanningRules(), ProgrammeRules()


def test_pure_before_after():
    parcels = [plans.ParcelNow("p1", 10_000, 5_000, 4_000, 300_000), plans.ParcelNow("p2", 5_000, 1_000, 800, None)]
    plan = plans.PlanInput(parcel_floor_areas={"p1": 25_000}, tax_assumption_wan_per_mu=15, difficulty_band=1)
    result = plans.before_after("B", parcels, plan, 22.5, RULES, PRULES)
    # before: 6 000 ÷ 15 000 = 0.4; after: (25 000 + 1 000) ÷ 15 000 = 1.7333; p1 alone 2.5
    assert result.before.far == pytest.approx(0.4) and result.after.far == pytest.approx(26_000 / 15_000)
    assert [(r.code, r.far_after) for r in result.parcels] == [("p1", 2.5), ("p2", 0.2)]
    # tax after at 15 万元/亩 on 22.5 亩 of land: 3 375 000 yuan; before 300 000 ÷ 22.5 亩 = 1.33 万元/亩
    assert result.after.tax_yuan == pytest.approx(3_375_000) and result.after.tax_per_mu_wan == pytest.approx(15)
    assert result.before.tax_per_mu_wan == pytest.approx(300_000 / 22.5 / 1e4)
    assert result.far_after_meets_floor is False and result.after.building_density is None
    assert result.incentives.total_yuan == 225_000  # 22.5 亩 × 1 万元/亩
    with pytest.raises(Exception, match="not in block B: p9"):
        plans.before_after("B", parcels, plans.PlanInput(parcel_floor_areas={"p9": 1}), 1, RULES, PRULES)


def test_whole_block_preview_carries_tax_per_floor_area(site):
    body = site.client.post(f"/api/blocks/{BA}/plan/preview",
                            json={"planned_floor_area_m2": 91_000, "planned_footprint_m2": 22_750}).json()
    assert body["basis"] == "block"
    # before: 34 760 ÷ 45 500; after 91 000 ÷ 45 500 = 2.0; density 22 750 ÷ 45 500 = 0.5
    assert body["before"]["far"] == pytest.approx(34_760 / 45_500) and body["after"]["far"] == pytest.approx(2.0)
    assert body["after"]["building_density"] == pytest.approx(0.5) and body["far_after_meets_floor"] is True
    # tax per m² of counted floor area of the parcels reporting tax: 1 800 000 ÷ (20 000 + 3 000 + 3 200 + 0)
    per_m2 = 1_800_000 / 26_200
    assert body["after"]["tax_yuan"] == pytest.approx(per_m2 * 91_000)
    assert body["after"]["tax_per_mu_wan"] == pytest.approx(per_m2 * 91_000 / 68.25 / 1e4)
    assert "carried over" in body["tax_assumption"]


def test_save_plan(fresh_site):
    client = fresh_site.client
    etag = client.get(f"/api/blocks/{BC}").headers["etag"]
    plan = {"actor": "赵六", "mode": "demolition", "industry": "新材料", "parcel_floor_areas": {P["C1"]: 25_000},
            "tax_assumption_wan_per_mu": 15, "difficulty_band": 2, "relocated_floor_area_m2": 5_000}
    assert client.post(f"/api/blocks/{BC}/plan", json=plan).status_code == 428
    resp = client.post(f"/api/blocks/{BC}/plan", json=plan, headers={"If-Match": etag})
    assert resp.status_code == 201, resp.text
    saved = resp.json()
    figures = saved["figures"]
    # C1: 1 600 → 25 000 m² on 10 000 m²: FAR 0.16 → 2.5; 15 万元/亩 × 15 亩 = 2 250 000 yuan
    assert (figures["before"]["far"], figures["after"]["far"]) == (pytest.approx(0.16), pytest.approx(2.5))
    assert figures["after"]["tax_yuan"] == pytest.approx(2_250_000) and figures["before"]["tax_yuan"] is None
    # 45 亩 × 2 万元/亩 = 90 万元; 5 000 m² × 200 元 = 100 万元
    assert figures["incentives"]["total_wan"] == pytest.approx(190.0)
    block = client.get(f"/api/blocks/{BC}").json()
    assert (block["mode"], block["industry"]) == ("demolition", "新材料")
    last = client.get(f"/api/blocks/{BC}/history").json()[-1]
    assert last["changes"] == {"mode": ["sorting", "demolition"], "industry": [None, "新材料"],
                               "plan": [None, saved["id"]]}
    card = client.get(f"/api/blocks/{BC}/programme").json()
    assert card["plan"]["far_after"] == pytest.approx(2.5) and card["plan"]["incentive_cost_wan"] == 190.0
    incentives = client.get(f"/api/blocks/{BC}/incentives").json()
    assert incentives["total_wan"] == pytest.approx(190.0)  # the plan's band and relocation
    stale = client.post(f"/api/blocks/{BC}/plan", json=plan, headers={"If-Match": etag})
    assert stale.status_code == 412


def test_accepted_block_plan_is_refused(fresh_site):
    client = fresh_site.client
    etag = client.get(f"/api/blocks/{BA}").headers["etag"]
    resp = client.post(f"/api/blocks/{BA}/plan", json={"actor": "a", "planned_floor_area_m2": 1},
                       headers={"If-Match": etag})
    assert resp.status_code == 409
    assert client.get(f"/api/blocks/{BA}/plan").json() == {"plan": None}
