"""Progress against the 2026 targets on the hand-built data set (tests/programme/data.py), worked by hand."""

from __future__ import annotations

import datetime as dt

import pytest

from app.planning.config import PlanningRules
from app.programme import progress
from app.programme.config import ProgrammeRules
from tests.programme.data import BA, BB, BC, BD, EMPTY_TOWN, TOWN

AS_OF = dt.date(2026, 11, 27)


@pytest.fixture(scope="module")
def now(site):
    with site.engine.connect() as conn:
        return progress.progress(conn, PlanningRules(), ProgrammeRules(), AS_OF)


def test_citywide_sums_by_hand(now):
    city = now.city
    # outlines: BA 700 × 150 = 105 000 m² = 157.5 亩; BB, BC 200 × 150 = 45 亩; BD 100 × 150 = 22.5 亩
    assert city.blocks == 4 and city.programme_area_mu == pytest.approx(270.0)
    assert city.blocks_by_status == {"listed": 1, "surveyed": 0, "planned": 0, "in_progress": 1, "accepted": 2}
    # renovated = accepted: BA + BB = 157.5 + 45 = 202.5 亩; BC in progress beside it, not in it
    assert (city.renovated_blocks, city.renovated_area_mu) == (2, pytest.approx(202.5))
    assert (city.in_progress_blocks, city.in_progress_area_mu) == (1, pytest.approx(45.0))
    # parcels' land: BA 10 000 + 7 500 + 8 000 + 10 000 + 10 000 = 45 500 m² = 68.25 亩; BB 10 000 m² = 15 亩
    assert city.renovated_land_area_mu == pytest.approx(83.25)
    # 亩均税收 = Σ tax ÷ Σ 亩 = (1 800 000 + 1 200 000) ÷ (56.25 + 15) = 42 105.26 yuan/亩 = 4.2105 万元/亩,
    # not the mean of the blocks' 3.2 and 8.0 (5.6)
    assert city.renovated_tax_yuan == 3_000_000.0 and city.renovated_tax_land_mu == pytest.approx(71.25)
    assert city.renovated_tax_per_mu_wan == pytest.approx(3_000_000 / 71.25 / 10_000)
    # firms in renovated blocks: E1, E2, E3, E5 above scale; new since 2021: E1 (2023), E5 (2022); E3 no baseline
    assert (city.above_scale_firms, city.new_above_scale_firms, city.unknown_baseline_firms) == (4, 2, 1)
    # overdue on 2026-11-27: BC (works by 2026-09-30) and BD (survey, plans, works); BD has no history
    assert (city.overdue_blocks, city.undated_blocks) == (2, 1)


def test_targets(now):
    targets = {t.key: t for t in now.city.targets}
    assert targets["area_mu"].share == pytest.approx(202.5 / 10_000) and targets["area_mu"].target == 10_000
    assert targets["new_above_scale"].value == 2 and targets["new_above_scale"].share == pytest.approx(0.01)
    tax = targets["tax_per_mu_wan"]
    assert tax.target == 15 and tax.share == pytest.approx(3_000_000 / 71.25 / 10_000 / 15) and not tax.met
    assert all(t.source.startswith("[plan]") for t in targets.values())


def test_per_town(now):
    towns = {t.town_code: t for t in now.towns}
    assert towns[TOWN].town_name == "胜山镇" and towns[TOWN].renovated_area_mu == pytest.approx(202.5)
    empty = towns[EMPTY_TOWN]
    assert (empty.blocks, empty.renovated_area_mu, empty.renovated_tax_per_mu_wan) == (0, 0.0, None)


def test_by_year_and_mode(now):
    years = {y.year: y for y in now.by_year}
    assert [y.year for y in now.by_year] == [2022, 2023, 2024, 2025, 2026]
    assert (years[2023].planned_blocks, years[2023].planned_area_mu) == (2, pytest.approx(202.5))
    assert (years[2024].renovated_blocks, years[2024].renovated_area_mu) == (1, pytest.approx(157.5))
    assert years[2025].renovated_area_mu == pytest.approx(45.0)
    assert years[2026].cumulative_renovated_area_mu == pytest.approx(202.5)
    modes = {m.mode: m for m in now.by_mode}
    assert (modes["demolition"].renovated_area_mu, modes["demolition"].renovated_tax_per_mu_wan) == (
        pytest.approx(157.5), pytest.approx(3.2))  # 1 800 000 ÷ 56.25 亩
    assert (modes["sorting"].blocks, modes["sorting"].renovated_area_mu, modes["sorting"].in_progress_area_mu) == (
        2, pytest.approx(45.0), pytest.approx(45.0))
    assert modes["sorting"].renovated_tax_per_mu_wan == pytest.approx(8.0)  # 1 200 000 ÷ 15 亩
    assert (modes["none"].blocks, modes["none"].area_mu) == (1, pytest.approx(22.5))


def test_timeline(now):
    points = {p.date: p.renovated_area_mu for p in now.timeline}
    assert points[dt.date(2024, 3, 31)] == 0 and points[dt.date(2024, 6, 30)] == pytest.approx(157.5)
    assert points[dt.date(2025, 9, 30)] == pytest.approx(157.5)
    assert points[dt.date(2025, 12, 31)] == pytest.approx(202.5)
    assert now.timeline[0].date == dt.date(2022, 3, 31) and now.timeline[-1].date == AS_OF


def test_as_of_reads_the_history(site):
    with site.engine.connect() as conn:
        then = progress.progress(conn, PlanningRules(), ProgrammeRules(), dt.date(2024, 12, 31))
    city = then.city
    # BA accepted on 2024-05-20; BB still in progress (accepted 2025-11-10)
    assert (city.renovated_area_mu, city.in_progress_area_mu) == (pytest.approx(157.5), pytest.approx(90.0))
    assert city.renovated_tax_per_mu_wan == pytest.approx(3.2) and city.new_above_scale_firms == 1
    assert city.overdue_blocks == 1  # BD: survey and plans; BC reached both, late
    assert city.blocks_by_status["in_progress"] == 2


def test_configured_statuses_count_in_progress(site):
    rules = PlanningRules(target_statuses=("in_progress", "accepted"))
    with site.engine.connect() as conn:
        wider = progress.progress(conn, rules, ProgrammeRules(area_basis="parcels"), AS_OF)
    # BA + BB + BC on the parcels' land: 68.25 + 15 + 15 = 98.25 亩 (C1 100 × 100 = 15 亩)
    assert wider.city.renovated_area_mu == pytest.approx(98.25) and wider.city.in_progress_blocks == 0
    assert wider.city.new_above_scale_firms == 3  # E6 (2024) now counts
    assert wider.rule_version.startswith("rules-1+") and wider.programme_version.startswith("programme-1+")


def test_progress_api(site):
    resp = site.client.get("/api/programme/progress", params={"as_of": "2026-11-27"})
    assert resp.status_code == 200
    body = resp.json()
    assert body["as_of"] == "2026-11-27" and body["city"]["renovated_area_mu"] == pytest.approx(202.5)
    assert body["renovated_statuses"] == ["accepted"] and body["programme_version"] == "programme-1"
    bad = site.client.get("/api/programme/progress", params={"as_of": "2026-13-01"})
    assert bad.status_code == 400 and bad.json()["field"] == "as_of"


def test_overdue_per_town(site):
    body = site.client.get("/api/programme/overdue", params={"as_of": "2026-11-27"}).json()
    assert [t["town_code"] for t in body] == [TOWN]
    blocks = {b["code"]: b for b in body[0]["blocks"]}
    assert set(blocks) == {BC, BD}
    assert [(s["step"], s["due"], s["days_overdue"]) for s in blocks[BC]["steps"]] == [("works", "2026-09-30", 58)]
    assert [s["step"] for s in blocks[BD]["steps"]] == ["surveyed", "planned", "works"]
    assert blocks[BD]["history_recorded"] is False
    early = site.client.get("/api/programme/overdue", params={"as_of": "2022-05-01"}).json()
    assert {b["code"] for b in early[0]["blocks"]} == {BC, BD}  # BC surveyed only on 2022-05-10
    assert BA not in {b["code"] for b in early[0]["blocks"]} and BB not in blocks


def test_config_states_numbers_and_sources(site):
    body = site.client.get("/api/programme/config").json()
    assert body["programme"]["target_area_mu"]["value"] == 10_000
    assert "[plan]" in body["programme"]["target_area_mu"]["description"]
    area_basis = body["programme"]["area_basis"]["description"]
    assert "暂定值 (provisional, RENEWAL_PROGRAMME_AREA_BASIS)" in area_basis
    assert not any("assumed" in v["description"] or ".md" in v["description"] or "§" in v["description"]
                   for v in body["programme"].values())  # what users read cites no developer note (issue 17)
    assert [(d["step"], d["due"]) for d in body["deadlines"]] == [
        ("surveyed", "2022-04-30"), ("planned", "2022-06-30"), ("works", "2026-09-30"), ("accepted", "2026-12-31")]
    assert body["target_tax_per_mu_wan"] == 15 and body["renovated_statuses"] == ["accepted"]


def test_programme_rules_are_validated():
    with pytest.raises(ValueError, match="programme dates must be in order"):
        ProgrammeRules(survey_deadline=dt.date(2022, 7, 1))
    with pytest.raises(ValueError, match="class_bands must be increasing"):
        ProgrammeRules(class_bands=(0.6, 0.2, 0.95))
    with pytest.raises(ValueError, match="unknown class indicators: nope"):
        ProgrammeRules(class_weights={"nope": 1})
