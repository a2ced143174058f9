"""十化 / 三场景 checklist: scoring, proxies marked as proxies, recorded assessments, the town summary."""

from __future__ import annotations

import pytest

from app.planning.config import PlanningRules
from app.programme import tenx
from app.programme.config import ProgrammeRules
from tests.programme.conftest import EDITOR
from tests.programme.data import BA, BB, BC, BD, TOWN

RULES, PRULES = PlanningRules(), ProgrammeRules()


def test_points_and_proxies():
    assert [tenx.points(s, PRULES) for s in ("met", "partly", "not_met", None)] == [1.0, 0.5, 0.0, 0.0]
    assert [tenx.proxy_building_urban(f, 2.0, 1.5) for f in (2.0, 1.99, 1.5, 1.49, None)] == [
        "met", "partly", "partly", "not_met", None]
    assert [tenx.proxy_park_garden(g, 0.15, 0.10) for g in (0.15, 0.1499, 0.10, 0.0999, None)] == [
        "met", "partly", "partly", "not_met", None]


def test_items_come_from_configuration():
    names = [i.name for i in PRULES.tenx_items]
    assert names == ["场地标准化", "厂房数字化", "消防智能化", "仓储立体化", "运输无尘化", "能耗低碳化", "用水循环化",
                     "园区公园化", "建筑城市化", "生活社区化"]
    assert all(s.placeholder and "未公布" in s.name for s in PRULES.scenarios)


def test_block_checklist_with_proxies(site):
    body = site.client.get(f"/api/blocks/{BA}/checklist").json()
    items = {i["item"]: i for i in body["items"]}
    # BA: FAR 34 760 ÷ 45 500 = 0.76 < 1.5 → not met; green 6 000 ÷ 38 000 = 15.8 % ≥ 15 % → met
    urban, park = items["building_urban"], items["park_garden"]
    assert (urban["state"], urban["basis"], park["state"], park["basis"]) == ("not_met", "proxy", "met", "proxy")
    assert urban["proxy"]["value"] == pytest.approx(34_760 / 45_500) and "proxy" in urban["proxy"]["rule"]
    assert (body["tenx_score"], body["tenx_max"], body["scenario_max"], body["proxied"]) == (1.0, 10.0, 3.0, 2)
    assert [i["group"] for i in body["items"]].count("scenario") == 3


def test_town_summary(site):
    body = site.client.get(f"/api/programme/towns/{TOWN}/checklists").json()
    # scores: BA 1 (park met), BB 0.5 (green 10 % partly), BC 0, BD 0 (no parcels) → mean 0.375
    assert body["block_scores"] == {BA: 1.0, BB: 0.5, BC: 0.0, BD: 0.0} and body["tenx_score_mean"] == 0.375
    items = {i["item"]: i for i in body["items"]}
    assert (items["park_garden"]["met"], items["park_garden"]["partly"], items["park_garden"]["not_assessed"]) == (
        1, 1, 2)
    assert (items["building_urban"]["not_met"], items["building_urban"]["not_assessed"]) == (3, 1)


def test_recording_assessments(fresh_site):
    client = fresh_site.client
    etag = client.get(f"/api/blocks/{BC}").headers["etag"]
    body = {"actor": "李四", "items": [
        {"item": "site_standard", "state": "met", "evidence": "场地硬化验收单 2026-05"},
        {"item": "plant_digital", "state": "partly", "evidence": "2 of 5 plants on the platform"},
        {"item": "scenario_1", "state": "met"}]}
    assert client.put(f"/api/blocks/{BC}/checklist", json=body).status_code == 428
    resp = client.put(f"/api/blocks/{BC}/checklist", json=body, headers={"If-Match": etag})
    assert resp.status_code == 200 and resp.headers["etag"] != etag
    got = resp.json()
    assert (got["tenx_score"], got["scenario_score"], got["assessed"]) == (1.5, 1.0, 3)
    site_item = next(i for i in got["items"] if i["item"] == "site_standard")
    assert (site_item["basis"], site_item["actor"]) == ("recorded", EDITOR)
    assert site_item["evidence"] == "场地硬化验收单 2026-05"
    again = client.put(f"/api/blocks/{BC}/checklist", json=body, headers={"If-Match": resp.headers["etag"]})
    assert again.status_code == 422  # nothing to change
    history = client.get(f"/api/blocks/{BC}/history").json()
    assert history[-1]["changes"] == {"checklist.site_standard": [None, "met"], "checklist.scenario_1": [None, "met"],
                                      "checklist.plant_digital": [None, "partly"]}
    unknown = client.put(f"/api/blocks/{BC}/checklist", headers={"If-Match": resp.headers["etag"]},
                         json={"actor": "a", "items": [{"item": "nope", "state": "met"}]})
    assert unknown.status_code == 400 and unknown.json()["field"] == "item"


def test_accepted_block_checklist_is_locked(fresh_site):
    client = fresh_site.client
    etag = client.get(f"/api/blocks/{BA}").headers["etag"]
    resp = client.put(f"/api/blocks/{BA}/checklist", headers={"If-Match": etag},
                      json={"actor": "a", "items": [{"item": "fire_smart", "state": "met"}]})
    assert resp.status_code == 409
