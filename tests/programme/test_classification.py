"""亩均效益 classes: percentile bands on their boundaries, the score worked by hand, flags on the data set."""

from __future__ import annotations

import pytest

from app.programme import classification as cl
from app.programme.config import ProgrammeRules
from tests.programme.data import BA, BB, P

BANDS = (0.20, 0.60, 0.95)


@pytest.mark.parametrize(("count", "expected"), [
    # percentile (rank − ½) ÷ count, strictly below 20 / 60 / 95 %
    (20, "AAAA" + "B" * 8 + "C" * 7 + "D"),  # rank 4: 17.5 % A, 5: 22.5 % B; 12: 57.5 % B, 13: 62.5 % C; 20: 97.5 % D
    (10, "AA" + "BBBB" + "CCC" + "D"),  # rank 10 sits exactly on 95 %: not below it, so D
    (5, "ABBCC"),  # 10 %, 30 %, 50 %, 70 %, 90 %
    (1, "B"),  # a lone firm is at 50 %
])
def test_bands_on_their_boundaries(count, expected):
    assert "".join(cl.band(rank, count, BANDS) for rank in range(1, count + 1)) == expected


def test_ties_share_the_better_rank_and_missing_scores_get_no_class():
    scores = {"a": 90.0, "b": 90.0, "c": 50.0, "d": 10.0, "e": None}
    # a, b rank 1 (12.5 % of 4: A); c rank 3 (62.5 %: C); d rank 4 (87.5 %: C)
    assert cl.classify(scores, BANDS) == {"a": "A", "b": "A", "c": "C", "d": "C", "e": None}


def test_score_by_hand():
    # 10 亩, tax 1 500 000 → 150 000 yuan/亩 ÷ 100 000 = 1.5; output 30 000 000 → 3 000 000 yuan/亩 ÷ 2 000 000 = 1.5
    # (proxy for 亩均增加值); output ÷ 100 tce = 300 000 yuan/tce ÷ 200 000 = 1.5 (proxy for 单位能耗增加值).
    # Weights 30 + 20 + 10 of 100 are measurable: scaled to 50, 33.33, 16.67; score = 1.5 × 100 = 150.
    firm = cl.FirmInput(above_scale=True, land_mu=10, tax_yuan=1_500_000, output_yuan=30_000_000, energy_tce=100)
    result = cl.score(firm, ProgrammeRules())
    assert result.score == pytest.approx(150.0)
    assert [(t.indicator, t.measured_as, t.proxy) for t in result.terms] == [
        ("tax_per_mu", "tax_per_mu", False), ("value_added_per_mu", "output_per_mu", True),
        ("value_added_per_tce", "output_per_tce", True)]
    assert [round(t.weight_used, 4) for t in result.terms] == [50.0, 33.3333, 16.6667]
    assert result.missing == ["labour_productivity", "value_added_per_emission", "rd_ratio"]


def test_score_caps_and_below_scale():
    rules = ProgrammeRules()
    # 亩均税收 500 000 yuan/亩 ÷ 100 000 = 5, capped at 3: below scale, 100 % weight on tax → 300
    small = cl.score(cl.FirmInput(above_scale=False, land_mu=2, tax_yuan=1_000_000, output_yuan=9e9), rules)
    assert small.score == pytest.approx(300.0) and [t.indicator for t in small.terms] == ["tax_per_mu"]
    no_proxy = cl.score(cl.FirmInput(True, 10, 1_500_000, 30_000_000, 100), ProgrammeRules(class_proxies={}))
    assert no_proxy.score == pytest.approx(150.0) and len(no_proxy.terms) == 1  # tax only, 100 % weight
    assert cl.score(cl.FirmInput(True, None, None), rules).score is None


def test_flags():
    rules = ProgrammeRules()
    assert [cl.flag(c, "sorting", rules) for c in ("A", "B", "C", "D", None)] == [None, None, "upgrade", "exit", None]
    assert cl.flag("C", "demolition", rules) == "exit"


def test_block_classes_on_the_data_set(site):
    body = site.client.get(f"/api/blocks/{BA}/classes").json()
    # published: E1 A, E2 C, E3 D; E4 (below scale) indicative: the only below-scale firm, at 50 % → B
    assert body["counts"] == {"A": 1, "B": 1, "C": 1, "D": 1, "none": 0}
    assert body["exit_parcels"] == [P["A2"], P["A4a"]]  # BA is a demolition block: C exits too
    assert body["upgrade_parcels"] == []
    parcel = site.client.get(f"/api/parcels/{P['A4a']}/classes").json()
    firms = {f["name"]: f for f in parcel["firms"]}
    assert (firms["新华五金厂"]["class_used"], firms["新华五金厂"]["class_basis"]) == ("D", "published")
    small = firms["宏达塑料制品厂"]
    assert (small["class_used"], small["class_basis"], small["published_class"]) == ("B", "indicative", None)
    # A4a is 100 × 100 m = 15 亩, two firms: 7.5 亩 each; 400 000 yuan ÷ 7.5 亩 = 53 333 yuan/亩 = 5.33 万元/亩
    assert small["land_mu"] == pytest.approx(7.5) and small["tax_per_mu_wan"] == pytest.approx(400_000 / 7.5 / 1e4)
    assert (parcel["worst_class"], parcel["flag"]) == ("D", "exit")
    assert "indicative" in parcel["source"]
    sorting = site.client.get(f"/api/blocks/{BB}/classes").json()
    assert sorting["counts"]["B"] == 1 and sorting["exit_parcels"] == []
