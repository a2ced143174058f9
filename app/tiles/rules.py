"""The plot-ratio rule as the map's SQL binds it: values from ``app.planning.config`` (DOMAIN.md §1, §4).

Every figure the map colours or prints (tiles, cards, totals) is computed in SQL with the configured rule
values bound as parameters, and with a block's FAR exemption (``far_exemptions``, migration 0002) taking
the place of the citywide floor: its ``min_far``, or no floor at all when that is NULL (rule lifted).
The Python twin of the counted floor area is ``app.planning.formulas.counted_floor_area_m2``.
"""

from __future__ import annotations

import re

from app.planning.config import PlanningRules, get_rules
from app.planning.rules import RATIO_TOLERANCE

_PLACEHOLDER = re.compile(r"^(:[a-z_]+|\$[0-9]+)$")
_ALIASES = {"g", "p", "fe"}


def _check(*items: str) -> None:
    """Placeholders must be bind parameters, never text that could carry values."""
    for ph in items:
        if not _PLACEHOLDER.match(ph):
            raise ValueError(f"placeholder {ph!r} is not a bind parameter")


def counted_floor_area_sql(alias: str = "g", *, height_threshold_m: str = ":height_threshold_m",
                           height_multiplier: str = ":height_multiplier",
                           count_illegal: str = ":count_illegal") -> str:
    """SQL of one building's counted floor area (计容建筑面积, m², planar in the storage CRS).

    Surveyed floor area, else footprint × floors; × the multiplier when storeys exceed the threshold
    (strictly); 0 for an illegal building unless the rule counts them. The arguments name the rule's bind
    placeholders (``:name`` for SQLAlchemy, ``$n`` for asyncpg); alias and placeholders are whitelisted.
    """
    if alias not in _ALIASES:
        raise ValueError(f"alias {alias!r} is not whitelisted")
    _check(height_threshold_m, height_multiplier, count_illegal)
    return (
        f"CASE WHEN {alias}.illegal AND NOT CAST({count_illegal} AS boolean) THEN 0 ELSE "
        f"COALESCE({alias}.floor_area::float8, ST_Area({alias}.geom) * {alias}.floors) "
        f"* CASE WHEN {alias}.floor_h > CAST({height_threshold_m} AS float8) "
        f"THEN CAST({height_multiplier} AS float8) ELSE 1 END END"
    )


def far_floor_sql(exemption: str = "fe", *, far_min: str = ":far_min") -> str:
    """SQL of the FAR floor that applies to a parcel: its block's exemption if any (NULL: lifted), else far_min.

    ``exemption`` is the alias of ``far_exemptions`` LEFT JOINed on the parcel's block.
    """
    if exemption not in _ALIASES:
        raise ValueError(f"alias {exemption!r} is not whitelisted")
    _check(far_min)
    return f"CASE WHEN {exemption}.block_id IS NULL THEN CAST({far_min} AS float8) ELSE {exemption}.min_far::float8 END"


def far_short_sql(counted: str, land: str, floor: str) -> str:
    """SQL, true when ``counted`` ÷ ``land`` falls short of ``floor`` (expressions from code, not values).

    The same test as the API's rules (``app.planning.rules``): a ratio within RATIO_TOLERANCE of the floor
    passes, so a parcel built to exactly 容积率 2.0 is never red on the map while the API says it passes.
    """
    return f"({counted} < ({floor} - {RATIO_TOLERANCE!r}) * {land})"


def rule_params(rules: PlanningRules | None = None) -> dict[str, object]:
    """The rule's values as named bind parameters (``:far_min``, ``:height_threshold_m``...)."""
    r = rules or get_rules()
    return {"far_min": r.far_min, "height_threshold_m": r.height_threshold_m,
            "height_multiplier": r.height_multiplier, "count_illegal": r.count_illegal}
