"""Joint-development formulas (GB/T 18508-2014 income method; docs/rules.md §7), worked by hand."""

from __future__ import annotations

import datetime as dt

import pytest

from app.planning import joint


def test_domain_check_value():
    # P50 = 13.6万元/亩, r = 6%, m = 20, n = 45:
    # (1.06^-20 - 1.06^-45) / (1 - 1.06^-50) = (0.3118047 - 0.0726483) / 0.9457116 = 0.2528844
    # × 13.6万 = 3.4392万元/亩 (docs/rules.md §7: 3.44万元/亩)
    assert joint.top_up_per_mu(136_000, 20, 45, 0.06) == pytest.approx(34_392.1, abs=0.1)


def test_no_top_up_when_the_term_is_already_the_longest():
    assert joint.top_up_per_mu(136_000, 35, 35, 0.06) == 0.0
    assert joint.top_up_per_mu(136_000, 40, 35, 0.06) == 0.0


def test_price_of_fifty_years_is_the_base_price():
    assert joint.price_of_years(136_000, 50, 0.06) == pytest.approx(136_000)
    # the top-up is the price difference of the two terms
    assert joint.top_up_per_mu(136_000, 20, 35, 0.06) == pytest.approx(
        joint.price_of_years(136_000, 35, 0.06) - joint.price_of_years(136_000, 20, 0.06))


def test_years_between_counts_anniversaries():
    assert joint.years_between(dt.date(2025, 1, 1), dt.date(2045, 1, 1)) == 20
    assert joint.years_between(dt.date(2025, 1, 1), dt.date(2050, 1, 1)) == 25  # 6 leap days inside, still 25
    # 2025-03-01 → 2026-09-01: 1 year, then 184 of the 365 days to 2027-03-01
    assert joint.years_between(dt.date(2025, 3, 1), dt.date(2026, 9, 1)) == pytest.approx(1 + 184 / 365)
    assert joint.years_between(dt.date(2045, 1, 1), dt.date(2025, 1, 1)) == -20


def test_top_ups_for_terms_2045_2050_2060():
    valuation = dt.date(2025, 1, 1)
    parcels = [joint.ParcelTerm("A", "甲", 10_000.0, dt.date(2045, 1, 1)),
               joint.ParcelTerm("B", "乙", 10_000.0, dt.date(2050, 1, 1)),
               joint.ParcelTerm("C", "丙", 10_000.0, dt.date(2060, 1, 1))]
    assert joint.merged_term_end(parcels) == dt.date(2060, 1, 1)
    a, b = joint.top_ups(parcels, valuation, 136_000, 0.06)
    # A: m = 20, n = 35: (0.3118047 - 0.1301052) / 0.9457116 × 136000 = 26129.7 yuan/亩; 10000 m² = 15 亩
    assert (a.code, a.remaining_years, a.years_made_up) == ("A", 20, 15)
    assert a.top_up_per_mu_yuan == pytest.approx(26_129.7, abs=0.1)
    assert a.top_up_yuan == pytest.approx(391_945, abs=1)
    # B: m = 25, n = 35: (0.2329986 - 0.1301052) / 0.9457116 × 136000 = 14796.8 yuan/亩; × 15 亩
    assert (b.code, b.years_made_up) == ("B", 10)
    assert b.top_up_yuan == pytest.approx(221_952, abs=1)


def test_shares_and_split():
    assert joint.shares_sum_ok([40, 35, 25])
    assert joint.shares_sum_ok([40, 35, 25.01])
    assert not joint.shares_sum_ok([40, 35, 24.98])
    # 60 000 m² planned, split 40/35/25
    assert joint.split_floor_area(60_000, [40, 35, 25]) == pytest.approx([24_000, 21_000, 15_000])
    assert joint.land_area_shares_pct([10_000, 30_000]) == pytest.approx([25, 75])


def test_connected_groups():
    codes = ["A", "B", "C", "D"]
    assert joint.connected_groups(codes, [("A", "B"), ("B", "C")]) == [["A", "B", "C"], ["D"]]
    assert joint.connected_groups(codes, [("A", "B"), ("C", "D"), ("B", "C")]) == [codes]
