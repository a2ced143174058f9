"""The plot-ratio rule as SQL fragments, one definition for every statement that applies it.

Which buildings count (违法建筑 left out unless the rule counts them), which storeys count double for height
and a building's counted floor area (DOMAIN.md §4) are written here once; the planning statements
(:mod:`app.planning.sql`) and the map's (tiles, cards, totals, the report maps) are built from them. The
values come from ``app.planning.config`` as bound parameters, and a block's FAR exemption (``far_exemptions``,
migration 0002) takes the place of the citywide floor: its ``min_far``, or no floor at all when that is NULL
(rule lifted). The Python twin of the counted floor area is ``app.planning.formulas.counted_floor_area_m2``.
"""

from __future__ import annotations

import re
from decimal import Decimal

from app.planning.config import PlanningRules, get_rules
from app.planning.rules import RATIO_TOLERANCE

_PLACEHOLDER = re.compile(r"^(:[a-z_]+|\$[0-9]+)$")
_ALIASES = {"b", "g", "p", "fe"}


def _check(*items: str) -> None:
    """Placeholders must be bind parameters, never text that could carry values."""
    for ph in items:
        if not _PLACEHOLDER.match(ph):
            raise ValueError(f"placeholder {ph!r} is not a bind parameter")


def _alias(alias: str) -> str:
    """``alias`` when it is whitelisted."""
    if alias not in _ALIASES:
        raise ValueError(f"alias {alias!r} is not whitelisted")
    return alias


def used_sql(alias: str = "g", *, count_illegal: str = ":count_illegal") -> str:
    """SQL, true when a building counts at all: it is not illegal (违法建筑), or the rule counts illegal ones."""
    _check(count_illegal)
    return f"(NOT {_alias(alias)}.illegal OR CAST({count_illegal} AS boolean))"


def doubled_sql(alias: str = "g", *, height_threshold_m: str = ":height_threshold_m") -> str:
    """SQL, true when a building's storeys are higher than the threshold, strictly (国土资发〔2008〕24号: 层高超过
    8米的 … 加倍计算). The storey height is compared as stored (numeric, cm): bind the threshold with
    :func:`height_threshold_param`."""
    _check(height_threshold_m)
    return f"({_alias(alias)}.floor_h > CAST({height_threshold_m} AS numeric))"


def counted_floor_area_sql(alias: str = "g", *, height_threshold_m: str = ":height_threshold_m",
                           height_multiplier: str = ":height_multiplier",
                           count_illegal: str = ":count_illegal") -> str:
    """SQL of one building's counted floor area (计容建筑面积, m², planar in the storage CRS).

    Surveyed floor area, else footprint × floors; × the multiplier when storeys exceed the threshold
    (strictly); 0 for a building that does not count. The arguments name the rule's bind placeholders
    (``:name`` for SQLAlchemy, ``$n`` for asyncpg); alias and placeholders are whitelisted.
    """
    _check(height_multiplier)
    a = _alias(alias)
    return (
        f"CASE WHEN NOT {used_sql(a, count_illegal=count_illegal)} THEN 0 ELSE "
        f"COALESCE({a}.floor_area::float8, ST_Area({a}.geom) * {a}.floors) "
        f"* CASE WHEN {doubled_sql(a, height_threshold_m=height_threshold_m)} "
        f"THEN CAST({height_multiplier} AS float8) ELSE 1 END END"
    )


def height_threshold_param(rules: PlanningRules) -> Decimal:
    """The height threshold as bound: the shortest decimal that reads back as the float (``repr``). A stored
    storey height (numeric, 2 decimals) exceeds it exactly when its float exceeds the float threshold, so SQL
    and the Python twin double the same storeys."""
    return Decimal(repr(rules.height_threshold_m))


def far_floor_sql(exemption: str = "fe", *, far_min: str = ":far_min") -> str:
    """SQL of the FAR floor that applies to a parcel: its block's exemption if any (NULL: lifted), else far_min.

    ``exemption`` is the alias of ``far_exemptions`` LEFT JOINed on the parcel's block.
    """
    _alias(exemption)
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
    return {"far_min": r.far_min, "height_threshold_m": height_threshold_param(r),
            "height_multiplier": r.height_multiplier, "count_illegal": r.count_illegal}
