"""The synthetic Cixi sample generator (geodata.sample): determinism, geometry, codes and figures. No database."""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pandas as pd
import pytest
import shapely

from app.planning import far_basis
from app.planning.config import INDUSTRY_CODE, PlanningRules
from geodata.sample import (
    COLUMNS,
    M2_PER_MU,
    SampleData,
    block_code,
    cn_numeral,
    credit_code_check,
    generate,
    load_county,
    parcel_code,
    renovation_uplift,
)

GEOM_TABLES = ("towns", "blocks", "parcels", "buildings")
CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def small() -> SampleData:
    """Scale 0.02 (8 blocks)."""
    return generate(scale=0.02, seed=42)


@pytest.fixture(scope="module")
def tenth() -> SampleData:
    """Scale 0.1 (40 blocks, about 5,000 parcels)."""
    return generate(scale=0.1, seed=42)


def _frames_equal(a: SampleData, b: SampleData) -> bool:
    for name in COLUMNS:
        fa, fb = getattr(a, name), getattr(b, name)
        if list(fa.columns) != list(fb.columns) or len(fa) != len(fb):
            return False
        if "geom" in fa.columns:
            if not np.array_equal(shapely.to_wkb(fa["geom"].to_numpy()), shapely.to_wkb(fb["geom"].to_numpy())):
                return False
            fa, fb = fa.drop(columns="geom"), fb.drop(columns="geom")
        if not fa.equals(fb):
            return False
    return True


def test_same_seed_gives_identical_data(small: SampleData) -> None:
    """Same (scale, seed, srid): identical frames, geometries compared as WKB."""
    again = generate(scale=0.02, seed=42)
    assert _frames_equal(small, again)
    for name in COLUMNS:
        pd.testing.assert_frame_equal(getattr(small, name).drop(columns="geom", errors="ignore"),
                                      getattr(again, name).drop(columns="geom", errors="ignore"))


def test_different_seed_differs(small: SampleData) -> None:
    """Another seed gives other blocks, parcels and firms."""
    other = generate(scale=0.02, seed=43)
    assert not _frames_equal(small, other)
    assert not np.array_equal(shapely.to_wkb(small.blocks["geom"].to_numpy()),
                              shapely.to_wkb(other.blocks["geom"].to_numpy()))


def test_columns_exact(tenth: SampleData) -> None:
    """Column names and order match the tables the loader COPYs into."""
    assert list(COLUMNS) == ["towns", "blocks", "parcels", "buildings", "enterprises"]
    assert COLUMNS["parcels"] == ("id", "code", "block_id", "land_use", "owner", "term_end", "supp_m2", "green_m2",
                                  "invest", "output", "tax", "geom")
    for name, cols in COLUMNS.items():
        df = getattr(tenth, name)
        assert tuple(df.columns) == cols, name
        assert df["id"].tolist() == list(range(1, len(df) + 1)), name
    assert tenth.summary() == {name: len(getattr(tenth, name)) for name in COLUMNS}


def test_counts_near_targets(tenth: SampleData) -> None:
    """Scale 0.1: 40 blocks, about 5,000 parcels, 20,000 buildings and one firm per parcel."""
    s = tenth.summary()
    assert s["towns"] == 24
    assert s["blocks"] == 40
    assert 4250 <= s["parcels"] <= 5750
    assert 17000 <= s["buildings"] <= 23000
    assert 0.95 <= s["enterprises"] / s["parcels"] <= 1.35
    assert generate(scale=0.0001).summary()["blocks"] == 1


def test_foreign_keys(tenth: SampleData) -> None:
    """Every foreign key points at an existing row; each town has its own block sequence."""
    assert tenth.blocks["town_id"].between(1, len(tenth.towns)).all()
    assert tenth.parcels["block_id"].between(1, len(tenth.blocks)).all()
    assert set(tenth.parcels["block_id"]) == set(tenth.blocks["id"])
    assert tenth.buildings["parcel_id"].between(1, len(tenth.parcels)).all()
    assert tenth.enterprises["parcel_id"].between(1, len(tenth.parcels)).all()


def test_geometries_valid_multipolygons(tenth: SampleData) -> None:
    """All geometries are valid, non-empty MultiPolygons."""
    for name in GEOM_TABLES:
        geoms = getattr(tenth, name)["geom"].to_numpy()
        assert (shapely.get_type_id(geoms) == 6).all(), name
        assert shapely.is_valid(geoms).all(), name
        assert not shapely.is_empty(geoms).any(), name


def test_towns_cover_county(tenth: SampleData) -> None:
    """24 towns; Voronoi polygons tile the county; the 9 placed seats are flagged."""
    county = load_county()
    towns = tenth.towns
    assert towns["code"].str.fullmatch(r"330282\d{3}").all()
    assert towns["seat_synthetic"].sum() == 9
    assert set(towns["kind"]) == {"subdistrict", "town", "zone"}
    areas = shapely.area(towns["geom"].to_numpy())
    assert abs(areas.sum() - county.area) < 1.0
    assert abs(shapely.union_all(towns["geom"].to_numpy()).area - county.area) < 1.0
    assert 1.16e9 < county.area < 1.18e9


def test_blocks_do_not_overlap_and_lie_inside(tenth: SampleData) -> None:
    """Blocks are disjoint, inside the county at this scale, and sized 0.4-1.1 km."""
    geoms = tenth.blocks["geom"].to_numpy()
    left, right = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    assert (left == right).all()
    assert shapely.within(geoms, load_county()).all()
    rect = shapely.oriented_envelope(geoms)
    assert np.allclose(shapely.area(rect), shapely.area(geoms))
    assert (shapely.area(geoms) > 0.15e6).all() and (shapely.area(geoms) < 1.25e6).all()


def test_parcels_tessellate_blocks(tenth: SampleData) -> None:
    """Parcels tile their block exactly: no gaps, no overlaps, noded coverage."""
    parcels, blocks = tenth.parcels, tenth.blocks
    parea = shapely.area(parcels["geom"].to_numpy())
    barea = shapely.area(blocks["geom"].to_numpy())
    sums = np.bincount(parcels["block_id"].to_numpy() - 1, parea, len(blocks))
    assert np.abs(sums - barea).max() < 0.01
    for block_id in (1, 17, 40):
        geoms = parcels.loc[parcels["block_id"] == block_id, "geom"].to_numpy()
        block = blocks.loc[blocks["id"] == block_id, "geom"].iat[0]
        union = shapely.union_all(geoms)
        assert abs(union.area - block.area) < 0.01
        assert shapely.symmetric_difference(union, block).area < 0.01
        assert shapely.coverage_is_valid(geoms)
        left, right = shapely.STRtree(geoms).query(geoms, predicate="intersects")
        keep = left < right
        overlap = shapely.area(shapely.intersection(geoms[left[keep]], geoms[right[keep]]))
        assert keep.any() and overlap.max() <= 0.01


def test_parcel_sizes(tenth: SampleData) -> None:
    """0.2-5 ha, aspect at most 4:1, skewed: mostly 0.3-1 ha and a few large."""
    geoms = tenth.parcels["geom"].to_numpy()
    area = shapely.area(geoms)
    assert area.min() >= 2000 and area.max() <= 50000
    assert ((area >= 3000) & (area <= 10000)).mean() > 0.6
    assert (area > 15000).mean() > 0.002
    env = shapely.oriented_envelope(geoms)
    coords = shapely.get_coordinates(env).reshape(-1, 5, 2)
    sides = np.hypot(*np.moveaxis(coords[:, 1:3] - coords[:, 0:2], 2, 0))
    assert (sides.max(axis=1) / sides.min(axis=1)).max() <= 4.0 + 1e-9


def test_buildings_inside_parcels(tenth: SampleData) -> None:
    """Buildings lie within their parcel, 3 m or more from its edge, and do not overlap each other."""
    b, p = tenth.buildings, tenth.parcels
    geoms = b["geom"].to_numpy()
    parcel_geoms = p["geom"].to_numpy()[b["parcel_id"].to_numpy() - 1]
    assert shapely.within(geoms, parcel_geoms).all()
    assert shapely.distance(geoms, shapely.boundary(parcel_geoms)).min() > 2.999
    left, right = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    assert (left == right).all()
    cover = np.bincount(b["parcel_id"].to_numpy() - 1, shapely.area(geoms), len(p)) / shapely.area(p["geom"].to_numpy())
    assert 0.25 <= np.median(cover) <= 0.6
    assert 3.0 <= len(b) / len(p) <= 5.0


def test_building_attributes(tenth: SampleData) -> None:
    """Floors, storey heights (some > 8 m, some exactly 8.0), uses, surveyed areas and illegal sheds."""
    b = tenth.buildings
    assert b["floors"].between(1, 8).all()
    assert (b["floors"] <= 4).mean() > 0.7
    h = b["floor_h"]
    assert (h > 8).any() and (h == 8.0).any()
    assert 0.08 <= (h > 8).mean() <= 0.18
    assert (np.round(h, 1) == h).all()
    assert b["use"].value_counts().idxmax() == "production"
    assert set(b["use"]) <= {"production", "warehouse", "office", "dormitory", "canteen", "other"}
    fa = b["floor_area"]
    assert fa.dtype == object and 0.2 < fa.notna().mean() < 0.4
    surveyed = fa.notna().to_numpy()
    ratio = fa[surveyed].astype(float) / (shapely.area(b["geom"].to_numpy()[surveyed]) * b["floors"][surveyed])
    assert ratio.between(0.949, 1.051).all()
    ill = b[b["illegal"]]
    assert 0.02 < len(ill) / len(b) < 0.1
    assert (ill["floors"] == 1).all() and ill["use"].isin(["other", "warehouse"]).all()
    assert np.median(shapely.area(ill["geom"].to_numpy())) < 300


def test_codes_unique_and_well_formed(tenth: SampleData) -> None:
    """Block, parcel, building and credit codes have the documented forms and are unique."""
    towns, blocks, parcels, b, e = tenth.towns, tenth.blocks, tenth.parcels, tenth.buildings, tenth.enterprises
    assert blocks["code"].str.fullmatch(r"QK\d{3}-\d{3,4}").all() and blocks["code"].is_unique
    town_code = towns["code"].to_numpy()[blocks["town_id"].to_numpy() - 1]
    assert (blocks["code"].str[2:5] == pd.Series(town_code).str[6:]).all()
    assert parcels["code"].str.fullmatch(r"330282\d{6}GB\d{5}").all() and parcels["code"].is_unique
    assert (parcels["code"].str.len() == 19).all()
    block_of = blocks["code"].to_numpy()[parcels["block_id"].to_numpy() - 1]
    assert (parcels["code"].str[6:9] == pd.Series(block_of).str[2:5]).all()
    assert b["code"].str.fullmatch(r"330282\d{6}GB\d{5}F\d{4}").all() and b["code"].is_unique
    assert (b["code"].str[:19] == parcels["code"].to_numpy()[b["parcel_id"].to_numpy() - 1]).all()
    assert e["credit_code"].is_unique
    assert e["credit_code"].str.fullmatch(r"91330282[0-9A-HJ-NPQRTUWXY]{10}").all()
    assert all(credit_code_check(c[:17]) == c[17] for c in e["credit_code"])


def test_code_helpers() -> None:
    """Code helpers: wrap of block numbers >= 1000, check characters of known real codes, numerals."""
    assert block_code("330282107", 12) == "QK107-012"
    assert block_code("330282107", 1012, 4) == "QK107-1012"
    assert parcel_code("330282107", 12, 34) == "330282107012GB00034"
    codes = {parcel_code("330282107", s, q) for s in (5, 1005, 2005) for q in (1, 999)}
    assert len(codes) == 6 and all(len(c) == 19 for c in codes)
    with pytest.raises(ValueError):
        parcel_code("330282107", 1, 1000)
    assert credit_code_check("91330100716105852") == "F"  # 阿里巴巴（中国）有限公司
    assert credit_code_check("91440300708461136") == "T"  # 深圳市腾讯计算机系统有限公司
    assert [cn_numeral(n) for n in (1, 10, 11, 20, 101, 110, 1010)] == ["一", "十", "十一", "二十", "一百零一",
                                                                       "一百一十", "一千零一十"]


def test_tax_spread(tenth: SampleData) -> None:
    """Σ tax ÷ Σ 亩 per block: some under 5万元/亩, most 5-15万, some over 15万."""
    p = tenth.parcels
    mu = shapely.area(p["geom"].to_numpy()) * 15 / 10000
    assert np.allclose(mu, shapely.area(p["geom"].to_numpy()) / M2_PER_MU)
    g = pd.DataFrame({"block": p["block_id"], "tax": p["tax"], "mu": mu}).groupby("block").sum()
    per_mu = g["tax"] / g["mu"]
    assert (per_mu < 50_000).any()
    assert (per_mu > 150_000).any()
    assert per_mu.between(50_000, 150_000).mean() > 0.5


def test_enterprises_consistent_with_parcels(tenth: SampleData) -> None:
    """Parcel tax and output are sums over their firms; scale, classes and names follow the rules."""
    p, e = tenth.parcels, tenth.enterprises
    n = len(p)
    assert np.array_equal(np.bincount(e["parcel_id"] - 1, e["tax"], n), p["tax"].to_numpy())
    assert np.array_equal(np.bincount(e["parcel_id"] - 1, e["output"], n), p["output"].to_numpy())
    assert (e["above_scl"] == (e["revenue"] >= 20_000_000)).all()
    assert e["above_scl"].any() and not e["above_scl"].all()
    assert (e["tax"] < e["revenue"]).all() and (e["energy_tce"] >= 0).all()
    cls = e["class"]
    assert cls.notna().equals(e["above_scl"]) and e["class_year"].notna().equals(e["above_scl"])
    assert set(cls.dropna()) == {"A", "B", "C", "D"}
    assert set(e["class_year"].dropna()) == {2025}
    shares = cls.value_counts(normalize=True)
    assert 0.15 < shares["A"] < 0.25 and 0.02 < shares["D"] < 0.08
    a_blocks = p.loc[e.loc[cls == "A", "parcel_id"] - 1, "block_id"].nunique()
    assert a_blocks >= 5
    assert (np.bincount(e["parcel_id"] - 1, minlength=n) == 0).any()
    assert (np.bincount(e["parcel_id"] - 1, minlength=n) >= 2).any()
    assert e["name"].is_unique


def test_parcel_attributes(tenth: SampleData) -> None:
    """Land use, owners (some holding several parcels), terms, supporting and green land, investment."""
    p = tenth.parcels
    area = shapely.area(p["geom"].to_numpy())
    assert p["land_use"].value_counts().idxmax() == "工业用地"
    # issue 14: both schemes (national codes, GB 50137 letters) and Chinese names, industrial and warehouse land
    assert {"工业用地", "仓储用地", "100102", "M2", "W1", "110101"} <= set(p["land_use"])
    classes = p["land_use"].map(far_basis.land_use_class)
    assert set(classes) == {"industrial", "warehouse"} and 0.04 < (classes == "warehouse").mean() < 0.12
    assert p["owner"].duplicated().any()
    assert all(isinstance(d, dt.date) for d in p["term_end"])
    assert min(p["term_end"]) >= dt.date(2030, 1, 1) and max(p["term_end"]) <= dt.date(2072, 12, 31)
    supp, green = p["supp_m2"] / area, p["green_m2"] / area
    assert supp.between(0, 0.2).all() and (supp > 0.15).any() and (supp == 0).any()
    assert green.between(0, 0.25).all() and (green > 0.2).any()
    assert (p["invest"] > 0).all()
    assert (p.loc[p["tax"] == 0, "output"] == 0).all()


def test_blocks_attributes(tenth: SampleData) -> None:
    """Statuses, modes (None only when listed), plan years (None before planning), industries, flags."""
    b = tenth.blocks
    assert set(b["status"]) <= {"listed", "surveyed", "planned", "in_progress", "accepted"}
    assert b.loc[b["mode"].isna(), "status"].eq("listed").all()
    assert set(b["mode"].dropna()) <= {"demolition", "sorting", "management"}
    planned = b["status"].isin(["planned", "in_progress", "accepted"])
    assert b.loc[planned, "plan_year"].between(2022, 2026).all()
    assert b.loc[~planned, "plan_year"].isna().all()
    assert all(isinstance(v, int) for v in b.loc[planned, "plan_year"])
    for flag in ("fire_hazard", "illegal_buildings", "low_industry", "poor_environment"):
        assert b[flag].dtype == bool and b[flag].any() and not b[flag].all()


def test_statuses_tell_the_programme_at_its_end(small: SampleData, tenth: SampleData) -> None:
    """At the end of 2026 most blocks are accepted, some in progress, a few behind: STATUS_P × n rounded by
    largest remainder (8 blocks: 0.24, 0.32, 0.64, 1.6, 5.2 → 0, 0, 1, 2, 5; 40: 1.2, 1.6, 3.2, 8, 26 → 1, 2, 3, 8,
    26)."""
    assert small.blocks["status"].value_counts().to_dict() == {"accepted": 5, "in_progress": 2, "planned": 1}
    assert tenth.blocks["status"].value_counts().to_dict() == {"accepted": 26, "in_progress": 8, "planned": 3,
                                                                "surveyed": 2, "listed": 1}
    assert generate(scale=0.0001).blocks["status"].tolist() == ["accepted"]  # one block: the largest share
    # the statuses fall on other blocks with another seed, in the same numbers
    other = generate(scale=0.02, seed=43).blocks
    assert other["status"].value_counts().to_dict() == {"accepted": 5, "in_progress": 2, "planned": 1}


def test_plan_years_spread_so_acceptances_spread(small: SampleData, tenth: SampleData) -> None:
    """Accepted blocks' plan years spread evenly over 2022-2026 (5 blocks: one a year; 26: five or six a year);
    blocks in progress and planned ones are for 2025-2026."""
    for data in (small, tenth):
        b = data.blocks
        accepted = b.loc[b["status"] == "accepted", "plan_year"].value_counts()
        assert sorted(accepted.index) == [2022, 2023, 2024, 2025, 2026]
        assert accepted.max() - accepted.min() <= 1
        later = b.loc[b["status"].isin(["planned", "in_progress"]), "plan_year"]
        assert later.between(2025, 2026).all()
    assert set(small.blocks.loc[small.blocks["status"] == "in_progress", "plan_year"]) == {2025, 2026}


def test_renovation_uplift() -> None:
    """An accepted block's tax grows by its mode's share, a third of it at first, all of it three years on."""
    assert renovation_uplift("accepted", "demolition", 2022) == pytest.approx(1.6)
    assert renovation_uplift("accepted", "demolition", 2023) == pytest.approx(1.6)
    assert renovation_uplift("accepted", "sorting", 2024) == pytest.approx(1 + 0.35 * 2 / 3)
    assert renovation_uplift("accepted", "management", 2026) == pytest.approx(1.05)
    assert renovation_uplift("in_progress", "demolition", 2022) == 1.0
    assert renovation_uplift("accepted", None, 2022) == 1.0


def test_accepted_blocks_earn_more_since_their_renovation(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same seed without the uplift draws the same numbers: each block's tax then differs by its uplift
    exactly (up to rounding), and the firms the uplift lifted over 2000万元 are the new above-scale ones."""
    import geodata.sample as gen

    data = generate(scale=0.1, seed=42)
    b = data.blocks
    uplift = np.array([renovation_uplift(s, m, y) for s, m, y in zip(b["status"], b["mode"], b["plan_year"],
                                                                      strict=True)])
    monkeypatch.setattr(gen, "RENOVATION_UPLIFT", dict.fromkeys(gen.RENOVATION_UPLIFT, 0.0))
    before = generate(scale=0.1, seed=42)
    assert before.blocks.drop(columns="geom").equals(b.drop(columns="geom"))
    tax = np.bincount(data.parcels["block_id"] - 1, data.parcels["tax"], len(b))
    tax0 = np.bincount(before.parcels["block_id"] - 1, before.parcels["tax"], len(b))
    ratio = tax / tax0
    forced = np.abs(ratio - uplift) > 1e-3  # the tails: at most one block moved under 5万元/亩
    assert forced.sum() <= 1 and np.allclose(ratio[~forced], uplift[~forced], rtol=1e-3)
    accepted = (b["status"] == "accepted").to_numpy()
    assert (uplift[accepted] > 1).all() and (uplift[~accepted] == 1).all()
    mu = np.bincount(data.parcels["block_id"] - 1, shapely.area(data.parcels["geom"].to_numpy()), len(b)) / M2_PER_MU
    assert tax[accepted].sum() / mu[accepted].sum() > 1.15 * tax0[accepted].sum() / mu[accepted].sum()
    e, e0 = data.enterprises, before.enterprises
    grew = e["above_scl"] & ~e0["above_scl"]
    assert grew.sum() > 100 and not (e0["above_scl"] & ~e["above_scl"]).any()
    block_of = data.parcels["block_id"].to_numpy()[e["parcel_id"].to_numpy() - 1] - 1
    assert accepted[block_of[grew.to_numpy()]].all()  # only firms of accepted blocks grew
    # the baseline rule (app.programme.sample) tells them apart: revenue ÷ uplift under the line
    lifted = e["above_scl"] & (e["revenue"] < 20_000_000 * uplift[block_of])
    assert (lifted == grew).all()


def test_chinese_names(tenth: SampleData) -> None:
    """Town, block, owner and firm names are Chinese; block names use real village names."""
    assert tenth.towns["name"].str.contains(CJK).all()
    assert "观海卫镇" in set(tenth.towns["name"])
    names = tenth.blocks["name"]
    assert names.str.contains("工业区块").all()
    assert names.str.contains(r"[村区]").all()
    assert tenth.parcels["owner"].str.contains(CJK).all()
    assert tenth.parcels["owner"].str.contains(r"(?:公司|厂|合作社)$").all()
    assert tenth.enterprises["name"].str.match(r"(?:慈溪市|宁波)").all()


def test_progress_calls() -> None:
    """progress(stage, done, total) is called a bounded number of times, ending at total."""
    calls: list[tuple[str, int, int]] = []
    generate(scale=0.1, seed=1, progress=lambda s, d, t: calls.append((s, d, t)))
    assert 5 <= len(calls) <= 300
    stages = {c[0] for c in calls}
    assert stages == {"towns", "blocks", "parcels", "buildings", "enterprises"}
    for stage in stages:
        last = [c for c in calls if c[0] == stage][-1]
        assert last[1] == last[2] > 0
    assert all(0 <= d <= t for _, d, t in calls)


def test_other_srid() -> None:
    """Another projected CRS works (zone 41); a geographic one is refused."""
    data = generate(scale=0.02, seed=42, srid=4550)
    ref = generate(scale=0.02, seed=42)
    assert data.summary()["blocks"] == ref.summary()["blocks"]
    assert abs(shapely.area(data.towns["geom"].to_numpy()).sum() / 1.169e9 - 1) < 0.01
    with pytest.raises(ValueError):
        generate(scale=0.02, srid=4326)


def test_firm_industry_codes(tenth: SampleData) -> None:
    """Issue 14: most firms carry a GB/T 4754-2017 class of manufacturing (C13–C43), every one with a row in the
    national minimum 容积率 table; about a tenth none."""
    codes = tenth.enterprises["industry_code"]
    known = codes.dropna()
    assert 0.05 < codes.isna().mean() < 0.15
    assert all(INDUSTRY_CODE.fullmatch(c) and c.startswith("C") and len(c) == 5 for c in known)
    table = far_basis.floor_table(PlanningRules())
    assert all(far_basis.national_floor(c, table) is not None for c in set(known))
    assert known.str[1:3].nunique() >= 10
