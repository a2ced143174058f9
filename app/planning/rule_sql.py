"""The plot-ratio rule as SQL fragments, one definition for every statement that applies it.

Which buildings count (违法建筑 left out unless the rule counts them), which storeys count double for height
and a building's counted floor area (DOMAIN.md §4) are written here once; so is the per-parcel roll-up, 容积率 =
Σ counted floor area of the parcel's buildings ÷ its land area (:func:`parcel_far_sql`, its ratio
:func:`far_sql`, also the Σ ÷ Σ of blocks and towns). The planning statements (:mod:`app.planning.sql`) and the
map's (tile layers, cards, totals, the SVG and folium report maps) are built from them. The values come from
``app.planning.config`` as bound parameters, and a block's FAR exemption (``far_exemptions``, migration 0002)
takes the place of the citywide floor: its ``min_far``, or no floor at all when that is NULL (rule lifted). The
Python twins are ``app.planning.formulas.counted_floor_area_m2`` and ``app.planning.formulas.far``.
"""

from __future__ import annotations

import re
from decimal import Decimal

from app.planning.config import PlanningRules
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
    a = _alias(alias)
    factor = height_factor_sql(doubled_sql(a, height_threshold_m=height_threshold_m),
                               height_multiplier=height_multiplier)
    return (
        f"CASE WHEN NOT {used_sql(a, count_illegal=count_illegal)} THEN 0 ELSE "
        f"COALESCE({a}.floor_area::float8, ST_Area({a}.geom) * {a}.floors) * {factor} END"
    )


def height_factor_sql(doubled: str, *, height_multiplier: str = ":height_multiplier") -> str:
    """SQL of the factor a building's floor area counts with: the multiplier when ``doubled`` (an expression from
    code: :func:`doubled_sql`, or a column holding it) is true, else 1."""
    _check(height_multiplier)
    return f"CASE WHEN {doubled} THEN CAST({height_multiplier} AS float8) ELSE 1 END"


def far_sql(counted: str, land: str) -> str:
    """SQL of 容积率: ``counted`` floor area ÷ ``land`` area, NULL without land (expressions from code, not values).

    For one parcel its sums; for a block, a town or a filtered set Σ counted ÷ Σ land, never a mean of ratios
    (DOMAIN.md §4). Twin: ``app.planning.formulas.far``.
    """
    return f"({counted}) / NULLIF({land}, 0)"


def parcel_far_sql(parcel: str = "p", *, height_threshold_m: str = ":height_threshold_m",
                   height_multiplier: str = ":height_multiplier", count_illegal: str = ":count_illegal") -> str:
    """The per-parcel roll-up: a subquery for ``CROSS JOIN LATERAL … AS pf`` beside ``parcels`` (alias ``parcel``)
    giving one row, ``land_m2`` (planar area in the storage CRS, holes excluded), ``counted_m2`` (Σ counted floor
    area of the buildings whose ``parcel_id`` is the parcel's; 0 without buildings) and ``far`` (their ratio, NULL
    on no land).

    Columns a statement does not use are dropped by the planner, so a tile that reads only ``far`` computes what
    it did when it was written out. The placeholders name the rule's bind parameters (``:name`` or ``$n``).
    """
    p = _alias(parcel)
    counted = "COALESCE(sum({}), 0)".format(counted_floor_area_sql(
        "g", height_threshold_m=height_threshold_m, height_multiplier=height_multiplier, count_illegal=count_illegal))
    land = f"ST_Area({p}.geom)"
    return (f"(SELECT {land} AS land_m2, {counted} AS counted_m2, {far_sql(counted, land)} AS far "  # noqa: S608
            f"FROM buildings g WHERE g.parcel_id = {p}.id)")  # (aliases whitelisted, placeholders checked)


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


RULE_PARAMS = ("far_min", "height_threshold_m", "height_multiplier", "count_illegal")
"""The names of the rule's bind parameters, in the order positional statements (the parcels tile) bind them."""


def rule_params(rules: PlanningRules) -> dict[str, object]:
    """The rule's values as named bind parameters (``:far_min``, ``:height_threshold_m``...), in RULE_PARAMS order."""
    return {"far_min": rules.far_min, "height_threshold_m": height_threshold_param(rules),
            "height_multiplier": rules.height_multiplier, "count_illegal": rules.count_illegal}
