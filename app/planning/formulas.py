"""The planning formulas as pure functions (areas in m², money in yuan; sources in docs/planning.md).

Each has a twin in the SQL of :mod:`app.planning.sql`; tests check that both give the same numbers.
A ratio whose denominator is zero (no land, no floor area) is ``None``: undefined, not an error.
"""

from __future__ import annotations

from collections.abc import Sequence

M2_PER_HECTARE = 10000
MU_PER_HECTARE = 15
YUAN_PER_WAN = 10000


def mu_from_m2(m2: float) -> float:
    """亩 from m², exactly ``m2 * 15 / 10000`` (1 亩 = 10000/15 m²)."""
    return m2 * MU_PER_HECTARE / M2_PER_HECTARE


def wan_from_yuan(yuan: float) -> float:
    """万元 (10⁴ yuan) from yuan."""
    return yuan / YUAN_PER_WAN


def ratio(numerator: float, denominator: float) -> float | None:
    """``numerator / denominator``, or ``None`` when the denominator is zero."""
    return numerator / denominator if denominator else None


def building_floor_area_m2(footprint_m2: float, floors: int, surveyed_floor_area_m2: float | None = None) -> float:
    """建筑面积 of a building (m²): the surveyed floor area when given, else footprint × floors."""
    return surveyed_floor_area_m2 if surveyed_floor_area_m2 is not None else footprint_m2 * floors


def doubled_for_height(floor_h_m: float, threshold_m: float) -> bool:
    """Whether a storey of ``floor_h_m`` metres counts more: only when it *exceeds* the threshold (8 m).

    [national] 国土资发〔2008〕24号: "层高超过8米的，在计算容积率时该层建筑面积加倍计算";
    a storey of exactly 8.0 m counts once.
    """
    return floor_h_m > threshold_m


def counted_floor_area_m2(floor_area_m2: float, floor_h_m: float, threshold_m: float, multiplier: float) -> float:
    """计容建筑面积 of a building (m²): its floor area × ``multiplier`` when its storeys exceed ``threshold_m``.

    Defaults 8 m and ×2 [national]; all storeys of a building share its ``floor_h``.
    """
    return floor_area_m2 * multiplier if doubled_for_height(floor_h_m, threshold_m) else floor_area_m2


def counted_storeys_m2(floor_area_m2: float, floors: int, floor_h_m: float, threshold_m: float, multiplier: float,
                       storey_heights_m: Sequence[float] | None = None, garage_storeys: int = 0,
                       garage_factor: float = 1.0, basement_m2: float = 0.0, basement_factor: float = 0.0) -> float:
    """计容建筑面积 of a building (m²) storey by storey: the twin of ``app.planning.rule_sql.counted_floor_area_sql``.

    Each of the ``floors`` storeys above ground has floor_area ÷ floors and counts × ``multiplier`` when higher
    than ``threshold_m`` (strictly, [national] 国土资发〔2008〕24号), its height from ``storey_heights_m`` (bottom
    up), else ``floor_h_m``; × ``garage_factor`` when it is one of the ``garage_storeys`` garage storeys above the
    second floor (storeys 3, 4…) [Ningbo] 甬规字〔2010〕122号. Basements add ``basement_m2`` × ``basement_factor``
    (garage or plant room ×0, commercial ×0.6). Without storey heights, garages and basement it is
    :func:`counted_floor_area_m2`: 9 / 4.5 / 4.5 / 4.5 m over 1,000 m² a storey counts 5,000 m².
    """
    tall = [doubled_for_height(h, threshold_m) for h in storey_heights_m or [floor_h_m]]
    if all(tall) or not any(tall):  # every storey on the same side of the threshold
        factor = (multiplier if tall[0] else 1.0) * (1 - garage_storeys * (1 - garage_factor) / floors)
    else:
        weight = sum((multiplier if t else 1.0) * (garage_factor if 3 <= i <= 2 + garage_storeys else 1.0)
                     for i, t in enumerate(tall, start=1))
        factor = weight / floors
    return floor_area_m2 * factor + basement_m2 * basement_factor


def far(far_floor_area_m2: float, land_area_m2: float) -> float | None:
    """容积率 = counted floor area (m²) ÷ land area (m²); for several parcels Σ ÷ Σ."""
    return ratio(far_floor_area_m2, land_area_m2)


def building_density(footprint_m2: float, land_area_m2: float) -> float | None:
    """建筑密度 = Σ building footprints (m²) ÷ land area (m²), a fraction."""
    return ratio(footprint_m2, land_area_m2)


def building_coefficient(footprint_m2: float, land_area_m2: float, structures_m2: float = 0.0,
                         yards_m2: float = 0.0) -> float | None:
    """建筑系数 = (footprints + structures + storage yards) (m²) ÷ land area (m²).

    Without structure and yard data (the schema has none yet) it equals the building density.
    """
    return ratio(footprint_m2 + structures_m2 + yards_m2, land_area_m2)


def green_ratio(green_m2: float, land_area_m2: float) -> float | None:
    """绿地率 = green area (m²) ÷ land area (m²), a fraction."""
    return ratio(green_m2, land_area_m2)


def supporting_floor_share(supporting_floor_area_m2: float, floor_area_m2: float) -> float | None:
    """Floor share of 行政办公及生活服务设施 = their floor area ÷ total floor area."""
    return ratio(supporting_floor_area_m2, floor_area_m2)


def supporting_land_m2(supp_m2: float | None, land_area_m2: float, supporting_floor_area_m2: float,
                       floor_area_m2: float) -> float | None:
    """Land of the supporting facilities (m²): as recorded, else land × their floor share [national].

    ``None`` when nothing is recorded and there is no floor area to apportion by.
    """
    if supp_m2 is not None:
        return supp_m2
    share = supporting_floor_share(supporting_floor_area_m2, floor_area_m2)
    return None if share is None else land_area_m2 * share


def supporting_land_share(supporting_land_m2: float, land_area_m2: float) -> float | None:
    """Land share of 行政办公及生活服务设施 = their land (m²) ÷ project land (m²)."""
    return ratio(supporting_land_m2, land_area_m2)


def supporting_cap(plan_cap: float, national_cap: float, dormitory_share: float) -> float:
    """Effective cap on a supporting-facility share: the plan's cap, but above the national cap only dormitories.

    [plan], [national] 国办发〔2021〕22号: Cixi raises the caps from 7 % (land) / 15 % (floor) to 15 % / 30 %, the
    raised part only for dormitory-type rental housing; so the share may exceed the national cap by the
    dormitories' share.
    """
    return min(plan_cap, national_cap + dormitory_share)


def per_mu(amount_yuan: float, land_area_m2: float) -> float | None:
    """A per-亩 figure (亩均税收, 亩均产值) in yuan/亩 = amount (yuan) ÷ land (亩)."""
    return ratio(amount_yuan, mu_from_m2(land_area_m2))


def investment_intensity(invest_yuan: float, land_area_m2: float) -> float | None:
    """投资强度 = fixed-asset investment (yuan) ÷ land (亩), in yuan/亩."""
    return per_mu(invest_yuan, land_area_m2)


def at_or_below(value: float, line: float, tolerance: float = 0.0) -> bool:
    """Whether ``value`` is at or below ``line``: "以下" includes the figure itself, as in Chinese statutory usage
    (《中华人民共和国刑法》第九十九条, 《民法典》第一千二百五十九条: 以上、以下、以内 include the figure), so
    "亩均税收5万元以下" includes 5万元/亩. ``tolerance`` absorbs floating-point error of a computed value.
    """
    return value <= line + tolerance


def is_old_block(tax_per_mu_wan: float, hazard_flags: int, line_wan: float, min_flags: int,
                 tolerance: float = 0.0) -> bool:
    """The old-block criterion (老旧工业区块) of the action plan's 实施范围: 亩均税收 at or below the line (5万元/亩,
    the line included: :func:`at_or_below`) and at least ``min_flags`` of the hazard flags (fire hazards,
    illegal buildings, low-level industry, a dirty environment)."""
    return at_or_below(tax_per_mu_wan, line_wan, tolerance) and hazard_flags >= min_flags


def far_shortfall_m2(far_min: float, far_floor_area_m2: float, land_area_m2: float) -> float:
    """Counted floor area (m²) still needed to reach ``far_min``: max(far_min × land − counted, 0)."""
    return max(far_min * land_area_m2 - far_floor_area_m2, 0.0)
