"""Incentive figures worked by hand (yuan; 1 万元 = 10 000 yuan)."""

from __future__ import annotations

import pytest

from app.errors import InvalidParameter
from app.programme import incentives as inc
from app.programme.config import AbsorbTier, ProgrammeRules

RULES = ProgrammeRules()


def test_town_reward():
    # 157.5 亩 × 3 万元/亩 (band 3) = 472.5 万元 = 4 725 000 yuan
    fig = inc.town_reward(157.5, 3, RULES)
    assert (fig.value_yuan, fig.value_wan) == (4_725_000.0, 472.5)
    assert fig.inputs == {"area_mu": 157.5, "difficulty_band": 3, "rate_wan_per_mu": 3.0}
    assert fig.arithmetic == "157.50 亩 × 3 万元/亩 (band 3) = 472.50 万元"
    assert fig.clause.startswith("[plan]") and "1–5万元/亩" in fig.clause
    assert inc.town_reward(10, 5, RULES).value_yuan == 500_000.0  # 10 亩 × 5 万元/亩
    with pytest.raises(InvalidParameter, match="band must be 1 to 5"):
        inc.town_reward(10, 6, RULES)


def test_relocation_reward():
    # 12 000 m² × 200 元/m² = 2 400 000 yuan = 240 万元
    fig = inc.relocation_reward(12_000, RULES)
    assert (fig.value_yuan, fig.value_wan) == (2_400_000.0, 240.0)
    assert fig.arithmetic == "12,000.00 m² × 200 元/m² = 2,400,000.00 元 (240.00 万元)"


def test_state_acquisition_line():
    assert inc.state_acquisition(200, RULES).flag is True  # at the line: 一事一议
    below = inc.state_acquisition(199.99, RULES)
    assert below.flag is False and below.value_yuan is None
    assert "一事一议" in inc.state_acquisition(250, RULES).arithmetic


def test_absorb_reward():
    # 5 000 万元 × 3 % = 150 万元, under the 200 万元 cap
    fig = inc.absorb_reward(50_000_000, "A", 150_000_000, RULES)
    assert (fig.value_yuan, fig.eligible, fig.secondary) == (1_500_000.0, True, True)
    # 8 000 万元 × 3 % = 240 万元, capped at 200 万元
    capped = inc.absorb_reward(80_000_000, "B", 100_000_000, RULES)
    assert capped.value_yuan == 2_000_000.0 and capped.arithmetic.endswith("cap 200.00 万元 → 200.00 万元")
    # a C firm, or revenue below 1 亿元: not eligible, 0
    assert inc.absorb_reward(50_000_000, "C", 150_000_000, RULES).value_yuan == 0.0
    low = inc.absorb_reward(50_000_000, "A", 99_999_999, RULES)
    assert (low.value_yuan, low.eligible) == (0.0, False) and "main revenue" in low.arithmetic


def test_tiers_are_marginal():
    # 3 % up to 5 000 万元, 2 % above: 8 000 万元 → 150 + 60 = 210 万元, cap 200 → 200; without cap 210
    tiers = (AbsorbTier(from_yuan=0, rate=0.03), AbsorbTier(from_yuan=50_000_000, rate=0.02))
    assert inc.tiered(80_000_000, [(0, 0.03), (50_000_000, 0.02)]) == pytest.approx(2_100_000)
    rules = ProgrammeRules(absorb_tiers=tiers, absorb_cap_yuan=None)
    assert inc.absorb_reward(80_000_000, "A", 2e8, rules).value_yuan == pytest.approx(2_100_000)
    assert inc.absorb_reward(80_000_000, "A", 2e8, ProgrammeRules(absorb_tiers=tiers)).value_yuan == 2_000_000


def test_calculate_totals():
    # 472.5 + 240 + 150 = 862.5 万元; the acquisition flag adds nothing
    summary = inc.calculate(RULES, area_mu=157.5, difficulty_band=3, relocated_floor_area_m2=12_000,
                            acquisition_area_mu=157.5, deals=[inc.AbsorbDeal(50_000_000, "A", 1.5e8, "甬兴电器")])
    assert summary.total_yuan == 8_625_000.0 and summary.total_wan == 862.5
    assert [f.key for f in summary.figures] == ["town_reward", "relocation_reward", "state_acquisition",
                                                "absorb_reward"]
    assert summary.figures[-1].inputs["buyer"] == "甬兴电器"


def test_calculator_api(site):
    resp = site.client.post("/api/programme/incentives", json={
        "area_mu": 157.5, "difficulty_band": 3, "relocated_floor_area_m2": 12000,
        "deals": [{"price_yuan": 80000000, "firm_class": "B", "revenue_yuan": 100000000}]})
    assert resp.status_code == 200
    body = resp.json()
    assert body["total_wan"] == 472.5 + 240 + 200
    assert resp.json()["figures"][2]["clause"].count("secondary") == 1
    bad = site.client.post("/api/programme/incentives", json={"area_mu": 10, "difficulty_band": 9})
    assert bad.status_code == 400 and bad.json()["field"] == "difficulty_band"
