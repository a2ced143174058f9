"""Joint development (联合开发) figures as pure functions: merged term, land-price top-ups, shares.

[plan] 慈溪市老旧工业区块改造提升攻坚行动计划（2022-2026）: merged land, the land-use term is the longest of the
merged parcels, shorter-term holders pay the land price for the difference in years, and the property is split
by the agreed ratio. [national valuation practice: GB/T 18508-2014《城镇土地估价规程》, income method]: for a
parcel with m remaining years extended to the merged term n, the top-up per unit of land is
ΔP = P50 · ((1+r)^−m − (1+r)^−n) / (1 − (1+r)^−50).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from app.planning.formulas import mu_from_m2

INDUSTRIAL_MAX_TERM_YEARS = 50  # [national] 城镇国有土地使用权出让和转让暂行条例: industrial land at most 50 years
SHARE_TOLERANCE_PCT = 0.01  # shares must sum to 100% within 0.01 percentage points (issue 4)


def years_between(start: dt.date, end: dt.date) -> float:
    """Years from ``start`` to ``end``: whole anniversaries plus the fraction of the year in progress.

    Same-day anniversaries give whole numbers (2025-01-01 → 2045-01-01 is exactly 20); negative
    when ``end`` is before ``start``.
    """
    if end < start:
        return -years_between(end, start)

    def anniversary(years: int) -> dt.date:
        year = start.year + years
        try:
            return start.replace(year=year)
        except ValueError:  # 29 February in a common year
            return dt.date(year, 2, 28)

    whole = end.year - start.year
    if anniversary(whole) > end:
        whole -= 1
    lower, upper = anniversary(whole), anniversary(whole + 1)
    return whole + (end - lower).days / (upper - lower).days


def price_of_years(p50_per_mu: float, years: float, rate: float) -> float:
    """Price of an n-year right from the 50-year price: P_n = P50 · (1 − (1+r)^−n) / (1 − (1+r)^−50)."""
    return p50_per_mu * (1 - (1 + rate) ** -years) / (1 - (1 + rate) ** -INDUSTRIAL_MAX_TERM_YEARS)


def top_up_per_mu(p50_per_mu: float, remaining_years: float, merged_years: float, rate: float) -> float:
    """ΔP per 亩 (same money unit as ``p50_per_mu``) to extend m = ``remaining_years`` to n = ``merged_years``.

    ΔP = P50 · ((1+r)^−m − (1+r)^−n) / (1 − (1+r)^−50) (GB/T 18508-2014 income method); zero when m ≥ n.
    Check value: P50 = 13.6万元/亩, r = 6%, m = 20, n = 45 → 3.44万元/亩.
    """
    if remaining_years >= merged_years:
        return 0.0
    m = max(remaining_years, 0.0)
    return p50_per_mu * ((1 + rate) ** -m - (1 + rate) ** -merged_years) / (
        1 - (1 + rate) ** -INDUSTRIAL_MAX_TERM_YEARS
    )


def shares_sum_ok(shares_pct: Iterable[float]) -> bool:
    """Whether the members' shares (percent) sum to 100 within 0.01 percentage points."""
    return abs(sum(shares_pct) - 100.0) <= SHARE_TOLERANCE_PCT + 1e-9


def split_floor_area(total_floor_area_m2: float, shares_pct: Sequence[float]) -> list[float]:
    """Each member's m² of the planned floor area by the agreed ratio (share% × total ÷ 100)."""
    return [total_floor_area_m2 * s / 100.0 for s in shares_pct]


def land_area_shares_pct(areas_m2: Sequence[float]) -> list[float]:
    """Default ratio offered: each holder's share of the merged land area, in percent."""
    total = sum(areas_m2)
    return [100.0 * a / total for a in areas_m2] if total else [0.0 for _ in areas_m2]


@dataclass(frozen=True)
class ParcelTerm:
    """A parcel of the project: its code, holder, land area (m²) and term end."""

    code: str
    owner: str
    land_area_m2: float
    term_end: dt.date


@dataclass(frozen=True)
class TopUp:
    """What one shorter-term parcel's holder pays to extend its term to the merged term."""

    code: str
    owner: str
    land_area_mu: float
    remaining_years: float
    years_made_up: float
    top_up_per_mu_yuan: float
    top_up_yuan: float


def merged_term_end(parcels: Sequence[ParcelTerm]) -> dt.date:
    """The merged land-use term ends with the longest of the parcels' terms ([plan])."""
    return max(p.term_end for p in parcels)


def top_ups(parcels: Sequence[ParcelTerm], valuation_date: dt.date, p50_yuan_per_mu: float,
            rate: float) -> list[TopUp]:
    """Top-ups (yuan) for every parcel whose term ends before the merged term (GB/T 18508-2014 income method)."""
    end = merged_term_end(parcels)
    n = years_between(valuation_date, end)
    out = []
    for p in parcels:
        if p.term_end >= end:
            continue
        m = years_between(valuation_date, p.term_end)
        per_mu = top_up_per_mu(p50_yuan_per_mu, m, n, rate)
        mu = mu_from_m2(p.land_area_m2)
        out.append(TopUp(p.code, p.owner, mu, m, n - max(m, 0.0), per_mu, per_mu * mu))
    return out


def connected_groups(codes: Sequence[str], edges: Iterable[tuple[str, str]]) -> list[list[str]]:
    """Connected groups of parcels given adjacent pairs, largest first, each in the order of ``codes``."""
    parent = {c: c for c in codes}

    def root(c: str) -> str:
        while parent[c] != c:
            parent[c] = parent[parent[c]]
            c = parent[c]
        return c

    for a, b in edges:
        parent[root(a)] = root(b)
    groups: dict[str, list[str]] = {}
    for c in codes:
        groups.setdefault(root(c), []).append(c)
    return sorted(groups.values(), key=lambda g: (-len(g), codes.index(g[0])))
