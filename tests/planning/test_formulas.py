"""The formulas of docs/rules.md §2 and §3 and the Python twin of the SQL, worked by hand; hypothesis properties."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.planning import formulas
from app.planning.config import PlanningRules
from app.planning.figures import BuildingInput, ParcelInput, add, derive, parcel_figures, parcel_sums
from tests.planning import cases

RULES = PlanningRules()


def test_mu_is_exactly_m2_times_15_over_10000():
    # 1 亩 = 10000/15 m²: 10 000 m² = 15 亩; 666.67 m² is not exactly 1 亩; 7 500 m² = 11.25 亩
    assert formulas.mu_from_m2(10_000) == 15.0
    assert formulas.mu_from_m2(7_500) == 11.25
    assert formulas.mu_from_m2(10_000 / 15) == pytest.approx(1.0, abs=1e-15)
    assert formulas.mu_from_m2(666.67) != 1.0
    assert formulas.wan_from_yuan(150_000) == 15.0


def test_floor_area_surveyed_else_footprint_times_floors():
    # surveyed 6 000 m² wins over 1 600 × 4 = 6 400; without it: 1 600 × 4 = 6 400
    assert formulas.building_floor_area_m2(1600.0, 4, 6000.0) == 6000.0
    assert formulas.building_floor_area_m2(1600.0, 4, None) == 6400.0
    assert formulas.building_floor_area_m2(1600.0, 4, 0.0) == 0.0  # a surveyed zero is a value, not "missing"


@pytest.mark.parametrize(("floor_h", "counted"), [
    (4.0, 5000.0),    # ordinary storeys: 5 000 m² once
    (8.0, 5000.0),    # exactly 8.0 m does not *exceed* 8 m: counted once
    (8.01, 10000.0),  # above 8 m: 5 000 × 2
    (12.0, 10000.0),  # no ×3 tier in 国土资发〔2008〕24号: still × 2
])
def test_counted_floor_area_doubles_only_above_8_m(floor_h, counted):
    assert formulas.counted_floor_area_m2(5000.0, floor_h, 8.0, 2.0) == counted
    assert formulas.doubled_for_height(floor_h, 8.0) == (counted == 10000.0)


def test_height_threshold_and_multiplier_are_configurable():
    # threshold 7.5 m: an 8.0 m storey now exceeds it; multiplier 1.5: 5 000 × 1.5 = 7 500
    assert formulas.counted_floor_area_m2(5000.0, 8.0, 7.5, 1.5) == 7500.0
    assert formulas.counted_floor_area_m2(5000.0, 7.5, 7.5, 1.5) == 5000.0


def test_ratios():
    assert formulas.far(20_000.0, 10_000.0) == 2.0            # 20 000 / 10 000
    assert formulas.far(0.0, 10_000.0) == 0.0                 # no buildings: FAR 0, not an error
    assert formulas.far(100.0, 0.0) is None                   # no land: undefined
    assert formulas.building_density(7_000.0, 10_000.0) == 0.7
    assert formulas.building_coefficient(7_000.0, 10_000.0) == 0.7               # no structures, no yards
    assert formulas.building_coefficient(7_000.0, 10_000.0, 500.0, 500.0) == 0.8  # (7000 + 500 + 500) / 10000
    assert formulas.green_ratio(2_000.0, 8_000.0) == 0.25
    assert formulas.supporting_floor_share(600.0, 3_000.0) == 0.2
    assert formulas.supporting_floor_share(0.0, 0.0) is None
    assert formulas.supporting_land_share(1_500.0, 7_500.0) == 0.2


def test_supporting_land_recorded_else_apportioned_by_floor_share():
    # recorded 1 000 m² is used as is; unrecorded: 7 500 m² × (600 / 3 000) = 1 500 m²; nothing to go by: None
    assert formulas.supporting_land_m2(1000.0, 8000.0, 6000.0, 7280.0) == 1000.0
    assert formulas.supporting_land_m2(None, 7500.0, 600.0, 3000.0) == 1500.0
    assert formulas.supporting_land_m2(None, 7500.0, 0.0, 0.0) is None


def test_supporting_cap_allows_the_raised_part_only_for_dormitories():
    # floor: no dormitories → national 15 %; dormitories 10 % → 25 %; 82 % → Cixi's 30 %
    assert formulas.supporting_cap(0.30, 0.15, 0.0) == 0.15
    assert formulas.supporting_cap(0.30, 0.15, 0.10) == pytest.approx(0.25)
    assert formulas.supporting_cap(0.30, 0.15, 0.82) == 0.30
    # land: 7 % national + 12.5 % dormitory land → capped at 15 %
    assert formulas.supporting_cap(0.15, 0.07, 0.125) == 0.15


def test_per_mu_figures():
    # 600 000 yuan on 10 000 m² = 15 亩 → 40 000 yuan/亩 = 4 万元/亩; 20 000 000 / 15 = 1 333 333.33 yuan/亩
    assert formulas.per_mu(600_000.0, 10_000.0) == 40_000.0
    assert formulas.investment_intensity(20_000_000.0, 10_000.0) == pytest.approx(1_333_333.333333)
    assert formulas.per_mu(1.0, 0.0) is None


def test_far_shortfall():
    # FAR 2.0 on 7 500 m² needs 15 000 m² counted; 3 000 counted → 12 000 m² short; none when above
    assert formulas.far_shortfall_m2(2.0, 3_000.0, 7_500.0) == 12_000.0
    assert formulas.far_shortfall_m2(2.0, 20_000.0, 10_000.0) == 0.0
    assert formulas.far_shortfall_m2(2.0, 25_000.0, 10_000.0) == 0.0


@pytest.fixture(scope="module")
def twin():
    """The Python twin's figures of every case parcel."""
    return {code: parcel_figures(inp, RULES) for code, inp in cases.twin_inputs(cases.layers()).items()}


def test_twin_a1_far_exactly_2_with_an_8_m_storey(twin):
    f = twin[cases.P["A1"]]
    # 2 000 × 5 = 10 000 (4 m) + 2 500 × 2 = 5 000 (exactly 8.0 m: once) + 2 500 × 1 = 2 500 (12 m: × 2 = 5 000)
    assert f.floor_area_m2 == 17_500.0
    assert f.far_floor_area_m2 == 20_000.0
    assert f.far == 2.0                      # 20 000 / 10 000
    assert f.doubled_building_count == 1
    assert f.footprint_m2 == 7_000.0         # 2 000 + 2 500 + 2 500
    assert f.building_density == 0.7
    assert f.land_area_mu == 15.0
    assert f.tax_per_mu == 40_000.0          # 600 000 / 15
    assert f.tax_per_mu_wan == 4.0
    assert f.output_per_mu == 2_000_000.0    # 30 000 000 / 15
    assert f.invest_per_mu == pytest.approx(1_333_333.3333333)
    assert f.supporting_land_share == 0.05   # recorded 500 / 10 000
    assert f.green_ratio == 0.1              # 1 000 / 10 000


def test_twin_a2_parcel_with_a_hole(twin):
    f = twin[cases.P["A2"]]
    assert f.land_area_m2 == 7_500.0          # 100 × 100 − 50 × 50
    assert f.land_area_mu == 11.25            # 7 500 × 15 / 10 000
    assert f.floor_area_m2 == 3_000.0         # 800 × 3 + 300 × 2
    assert f.far == 0.4                       # 3 000 / 7 500
    assert f.supporting_floor_share == 0.2    # office 600 / 3 000
    assert f.supporting_land_m2 == 1_500.0    # no supp_m2: 7 500 × 0.2
    assert f.supporting_land_share == 0.2
    assert f.green_ratio is None and f.green_basis_m2 == 0.0
    assert f.tax_per_mu == pytest.approx(26_666.666667)  # 300 000 / 11.25


def test_twin_a3_multipolygon(twin):
    f = twin[cases.P["A3"]]
    assert f.land_area_m2 == 8_000.0          # 60 × 100 + 20 × 100
    assert f.floor_area_m2 == 7_280.0         # surveyed 6 000 (not 1 600 × 4) + 1 280 × 1
    assert f.far_floor_area_m2 == 8_560.0     # 6 000 + 1 280 × 2 (9 m storeys)
    assert f.far == 1.07                      # 8 560 / 8 000
    assert f.dormitory_floor_share == pytest.approx(6_000 / 7_280)
    assert f.dormitory_land_m2 == 1_000.0     # all of the recorded 1 000 m² is the dormitory's
    assert f.green_ratio == 0.25              # 2 000 / 8 000
    assert f.tax_per_mu is None               # no tax recorded


def test_twin_crossing_building_and_empty_parcel(twin):
    a, e = twin[cases.P["A4a"]], twin[cases.P["A4b"]]
    # the crossing building (1 200 of 1 600 m² in A4a) belongs wholly to A4a; the illegal shed is left out
    assert a.footprint_m2 == 1_600.0 and a.floor_area_m2 == 3_200.0 and a.far == 0.32
    assert a.illegal_building_count == 1 and a.illegal_floor_area_m2 == 400.0 and a.illegal_footprint_m2 == 400.0
    assert e.building_count == 0 and e.floor_area_m2 == 0.0 and e.far == 0.0 and e.building_density == 0.0
    assert e.supporting_floor_share is None and e.supporting_land_m2 is None
    assert e.tax_per_mu == 0.0


def test_counting_illegal_buildings_is_configurable():
    inputs = cases.twin_inputs(cases.layers())
    f = parcel_figures(inputs[cases.P["A4a"]], PlanningRules(count_illegal=True))
    # 3 200 + the shed's 400 m²; counted 3 200 + 400 × 2 (9 m) = 4 000
    assert f.floor_area_m2 == 3_600.0 and f.far_floor_area_m2 == 4_000.0 and f.illegal_floor_area_m2 == 400.0


def test_twin_block_is_sum_over_sum_not_mean_of_ratios(twin):
    inputs = cases.twin_inputs(cases.layers())
    block = derive(add(parcel_sums(inputs[cases.P[k]], RULES) for k in ("A1", "A2", "A3", "A4a", "A4b")))
    # land 10 000 + 7 500 + 8 000 + 10 000 + 10 000 = 45 500; counted 20 000 + 3 000 + 8 560 + 3 200 + 0 = 34 760
    assert block.land_area_m2 == 45_500.0 and block.land_area_mu == 68.25
    assert block.far == pytest.approx(34_760 / 45_500)   # 0.76396…, while the mean of the FARs is 0.758
    assert block.far != pytest.approx((2.0 + 0.4 + 1.07 + 0.32 + 0.0) / 5)
    # tax 600 000 + 300 000 + 900 000 + 0 on the 37 500 m² (56.25 亩) that report it = 32 000 yuan/亩
    assert block.tax_yuan == 1_800_000.0 and block.tax_basis_m2 == 37_500.0
    assert block.tax_per_mu == 32_000.0 and block.tax_per_mu_wan == 3.2
    # green 1 000 + 2 000 + 500 + 2 500 on the 38 000 m² that report it
    assert block.green_ratio == pytest.approx(6_000 / 38_000)


buildings = st.lists(
    st.builds(BuildingInput, code=st.just("x"), footprint_m2=st.floats(1, 5000), floors=st.integers(1, 30),
              floor_h_m=st.sampled_from([3.0, 4.5, 8.0, 8.01, 12.0]), floor_area_m2=st.none(),
              use=st.sampled_from(["production", "office", "dormitory"]), illegal=st.booleans()),
    max_size=8)


@given(buildings, st.floats(100, 100_000), st.integers(1, 6))
def test_scaling_every_floor_count_by_k_scales_far_by_k(blds, land, k):
    scaled = [BuildingInput(b.code, b.footprint_m2, b.floors * k, b.floor_h_m, None, b.use, b.illegal) for b in blds]
    base = parcel_figures(ParcelInput(land, blds), RULES).far
    assert base is not None
    assert parcel_figures(ParcelInput(land, scaled), RULES).far == pytest.approx(base * k, rel=1e-9, abs=1e-12)


@given(buildings, st.floats(100, 100_000), buildings.filter(bool).map(lambda bs: bs[0]),
       st.sampled_from([True, False]))
def test_adding_a_building_never_lowers_floor_area(blds, land, extra, count_illegal):
    rules = PlanningRules(count_illegal=count_illegal)
    before = parcel_figures(ParcelInput(land, blds), rules)
    after = parcel_figures(ParcelInput(land, [*blds, extra]), rules)
    assert after.floor_area_m2 >= before.floor_area_m2
    assert after.far_floor_area_m2 >= before.far_floor_area_m2
    assert after.far is not None and before.far is not None and after.far >= before.far
