"""The plot-ratio rule as SQL fragments, one definition for every statement that applies it.

Which buildings count (违法建筑 left out unless the rule counts them), which storeys count double for height
(国土资发〔2008〕24号), how garage storeys above the second floor and basements count (甬规字〔2010〕122号) and a
building's counted floor area are written here once; so is the per-parcel roll-up, 容积率 =
Σ counted floor area of the parcel's buildings ÷ its land area (:func:`parcel_far_sql`, its ratio
:func:`far_sql`, also the Σ ÷ Σ of blocks and towns). The planning statements (:mod:`app.planning.sql`) and the
map's (tile layers, cards, totals, the SVG and folium report maps) are built from them. The values come from
``app.planning.config`` as bound parameters, and a block's FAR exemption (``far_exemptions``, migration 0002)
takes the place of the citywide floor: its ``min_far``, or no floor at all when that is NULL (rule lifted). The
Python twins are ``app.planning.formulas.counted_storeys_m2`` and ``app.planning.formulas.far``.
"""

from __future__ import annotations

import re
from decimal import Decimal

from app.planning import far_basis
from app.planning.config import PlanningRules
from app.planning.rules import RATIO_TOLERANCE

_PLACEHOLDER = re.compile(r"^(:[a-z_]+|\$[0-9]+)$")
_ALIASES = {"b", "bl", "g", "p", "fe"}


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
    """SQL, true when a storey of a building is higher than the threshold, strictly (国土资发〔2008〕24号: 层高超过
    8米的 … 加倍计算): one of its storey heights (``storey_hs``) when it has them, else its ``floor_h``. Heights are
    compared as stored (numeric, cm): bind the threshold with :func:`height_threshold_param`. No array is
    unnested: ``ANY`` answers NULL without storey heights, and ``floor_h`` decides."""
    _check(height_threshold_m)
    a = _alias(alias)
    threshold = f"CAST({height_threshold_m} AS numeric)"
    return f"COALESCE({threshold} < ANY({a}.storey_hs), {a}.floor_h > {threshold})"


def storey_factor_sql(alias: str = "g", *, height_threshold_m: str = ":height_threshold_m",
                      height_multiplier: str = ":height_multiplier",
                      upper_garage_factor: str = ":upper_garage_factor", doubled: str | None = None) -> str:
    """SQL of the factor a building's floor area above ground counts with: the mean over its storeys of
    (the multiplier when the storey is higher than the threshold, else 1) × (the garage factor for a garage storey
    above the second floor, else 1).

    When every storey is on the same side of the threshold (no storey heights: all have ``floor_h``; or all of
    ``storey_hs`` higher, or none) it is (multiplier or 1) × (1 − garages × (1 − garage factor) ÷ floors), exactly
    the height factor when there is no garage storey (``doubled``: an expression from code holding
    :func:`doubled_sql` where a statement has it already); ``ALL`` tells without unnesting. Only a building whose
    storeys (``storey_hs``, bottom up) lie on both sides sums them, the garages being storeys 3, 4…. Twin:
    ``app.planning.formulas.counted_storeys_m2``.
    """
    _check(height_threshold_m, height_multiplier, upper_garage_factor)
    a = _alias(alias)
    threshold = f"CAST({height_threshold_m} AS numeric)"
    multiplier = f"CAST({height_multiplier} AS float8)"
    garage = f"CAST({upper_garage_factor} AS float8)"
    garages = f"COALESCE({a}.garage_floors, 0)"
    tall = doubled or f"{a}.floor_h > {threshold}"
    share = f"(1 - {garages} * (1 - {garage}) / {a}.floors)"
    return (f"CASE WHEN {a}.storey_hs IS NULL "  # noqa: S608 (alias whitelisted, placeholders checked)
            f"THEN CASE WHEN {tall} THEN {multiplier} ELSE 1 END * {share} "
            f"WHEN {threshold} >= ALL({a}.storey_hs) THEN {share} "
            f"WHEN {threshold} < ALL({a}.storey_hs) THEN {multiplier} * {share} "
            f"ELSE (SELECT sum(CASE WHEN st.h > {threshold} THEN {multiplier} ELSE 1 END "
            f"* CASE WHEN st.i BETWEEN 3 AND 2 + {garages} THEN {garage} ELSE 1 END) "
            f"FROM unnest({a}.storey_hs) WITH ORDINALITY AS st(h, i)) / {a}.floors END")


def basement_area_sql(alias: str = "g", footprint: str | None = None) -> str:
    """SQL of a building's basement floor area (m²): the surveyed ``basement_area`` of all its basement storeys,
    else footprint × basement storeys (planar, storage CRS; ``footprint``: an expression from code holding it where
    a statement has it already); 0 without a basement (no footprint computed)."""
    a = _alias(alias)
    return (f"CASE WHEN {a}.basement_floors > 0 "
            f"THEN COALESCE({a}.basement_area::float8, {footprint or f'ST_Area({a}.geom)'} * {a}.basement_floors) "
            "ELSE 0 END")


def basement_factor_sql(alias: str = "g", *, basement_garage_factor: str = ":basement_garage_factor",
                        basement_plant_factor: str = ":basement_plant_factor",
                        basement_commercial_factor: str = ":basement_commercial_factor") -> str:
    """SQL of the factor a building's basement counts with by its use (甬规字〔2010〕122号: garage and plant room
    ×0, commercial ×0.6 by default); 0 without a basement."""
    _check(basement_garage_factor, basement_plant_factor, basement_commercial_factor)
    a = _alias(alias)
    return (f"CASE {a}.basement_use WHEN 'garage' THEN CAST({basement_garage_factor} AS float8) "
            f"WHEN 'plant' THEN CAST({basement_plant_factor} AS float8) "
            f"WHEN 'commercial' THEN CAST({basement_commercial_factor} AS float8) ELSE 0 END")


def counted_sql(alias: str, floor_area: str, *, doubled: str, footprint: str | None = None,
                height_threshold_m: str = ":height_threshold_m", height_multiplier: str = ":height_multiplier",
                upper_garage_factor: str = ":upper_garage_factor",
                basement_garage_factor: str = ":basement_garage_factor",
                basement_plant_factor: str = ":basement_plant_factor",
                basement_commercial_factor: str = ":basement_commercial_factor") -> str:
    """SQL of a building's counted floor area from its floor area above ground (``floor_area``), whether a storey
    is higher than the threshold (``doubled``) and, where a statement has it, its ``footprint`` (expressions from
    code, not values): floor area × :func:`storey_factor_sql` + basement area × :func:`basement_factor_sql`.

    A building with neither storey heights, nor garage storeys, nor a basement (most of them) takes the short way,
    floor area × (the multiplier when ``doubled``, else 1): the same number without the sums.
    """
    _check(height_multiplier)
    a = _alias(alias)
    plain = f"{floor_area} * CASE WHEN {doubled} THEN CAST({height_multiplier} AS float8) ELSE 1 END"
    storeys = storey_factor_sql(a, height_threshold_m=height_threshold_m, height_multiplier=height_multiplier,
                                upper_garage_factor=upper_garage_factor, doubled=doubled)
    basement = basement_factor_sql(a, basement_garage_factor=basement_garage_factor,
                                   basement_plant_factor=basement_plant_factor,
                                   basement_commercial_factor=basement_commercial_factor)
    return (f"CASE WHEN {a}.storey_hs IS NULL AND {a}.garage_floors IS NULL AND {a}.basement_floors IS NULL "
            f"THEN {plain} ELSE {floor_area} * ({storeys}) + ({basement_area_sql(a, footprint)}) * ({basement}) END")


def counted_floor_area_sql(alias: str = "g", *, height_threshold_m: str = ":height_threshold_m",
                           height_multiplier: str = ":height_multiplier", count_illegal: str = ":count_illegal",
                           upper_garage_factor: str = ":upper_garage_factor",
                           basement_garage_factor: str = ":basement_garage_factor",
                           basement_plant_factor: str = ":basement_plant_factor",
                           basement_commercial_factor: str = ":basement_commercial_factor") -> str:
    """SQL of one building's counted floor area (计容建筑面积, m², planar in the storage CRS).

    Floor area above ground (surveyed, else footprint × floors) × :func:`storey_factor_sql` (storeys above the
    height threshold × the multiplier, garage storeys above the second floor × their factor) + basement floor
    area × :func:`basement_factor_sql` (:func:`counted_sql`); 0 for a building that does not count. The arguments
    name the rule's bind placeholders (``:name`` for SQLAlchemy, ``$n`` for asyncpg: :func:`positional`); alias and
    placeholders are whitelisted.
    """
    _check(height_threshold_m)
    a = _alias(alias)
    counted = counted_sql(
        a, f"COALESCE({a}.floor_area::float8, ST_Area({a}.geom) * {a}.floors)",
        doubled=f"{a}.floor_h > CAST({height_threshold_m} AS numeric)", height_threshold_m=height_threshold_m,
        height_multiplier=height_multiplier, upper_garage_factor=upper_garage_factor,
        basement_garage_factor=basement_garage_factor, basement_plant_factor=basement_plant_factor,
        basement_commercial_factor=basement_commercial_factor)
    return f"CASE WHEN NOT {used_sql(a, count_illegal=count_illegal)} THEN 0 ELSE {counted} END"


def far_sql(counted: str, land: str) -> str:
    """SQL of 容积率: ``counted`` floor area ÷ ``land`` area, NULL without land (expressions from code, not values).

    For one parcel its sums; for a block, a town or a filtered set Σ counted ÷ Σ land, never a mean of ratios.
    Twin: ``app.planning.formulas.far``.
    """
    return f"({counted}) / NULLIF({land}, 0)"


def parcel_far_sql(parcel: str = "p", *, height_threshold_m: str = ":height_threshold_m",
                   height_multiplier: str = ":height_multiplier", count_illegal: str = ":count_illegal",
                   upper_garage_factor: str = ":upper_garage_factor",
                   basement_garage_factor: str = ":basement_garage_factor",
                   basement_plant_factor: str = ":basement_plant_factor",
                   basement_commercial_factor: str = ":basement_commercial_factor") -> str:
    """The per-parcel roll-up: a subquery for ``CROSS JOIN LATERAL … AS pf`` beside ``parcels`` (alias ``parcel``)
    giving one row, ``land_m2`` (planar area in the storage CRS, holes excluded), ``counted_m2`` (Σ counted floor
    area of the buildings whose ``parcel_id`` is the parcel's; 0 without buildings) and ``far`` (their ratio, NULL
    on no land).

    Columns a statement does not use are dropped by the planner, so a tile that reads only ``far`` computes what
    it did when it was written out. The placeholders name the rule's bind parameters (``:name``, or ``$n`` from
    :func:`positional`).
    """
    p = _alias(parcel)
    counted = "COALESCE(sum({}), 0)".format(counted_floor_area_sql(
        "g", height_threshold_m=height_threshold_m, height_multiplier=height_multiplier, count_illegal=count_illegal,
        upper_garage_factor=upper_garage_factor, basement_garage_factor=basement_garage_factor,
        basement_plant_factor=basement_plant_factor, basement_commercial_factor=basement_commercial_factor))
    land = f"ST_Area({p}.geom)"
    return (f"(SELECT {land} AS land_m2, {counted} AS counted_m2, {far_sql(counted, land)} AS far "  # noqa: S608
            f"FROM buildings g WHERE g.parcel_id = {p}.id)")  # (aliases whitelisted, placeholders checked)


def height_threshold_param(rules: PlanningRules) -> Decimal:
    """The height threshold as bound: the shortest decimal that reads back as the float (``repr``). A stored
    storey height (numeric, 2 decimals) exceeds it exactly when its float exceeds the float threshold, so SQL
    and the Python twin double the same storeys."""
    return Decimal(repr(rules.height_threshold_m))


def land_use_class_sql(parcel: str = "p") -> str:
    """SQL of the class of a parcel's recorded land use (用地性质): ``industrial``, ``warehouse``, ``other`` or
    ``unrecorded``. National codes (1001, 100101–100103; 11, 1101, 1102, 110101–110103), GB 50137-2011 letters (M,
    M1–M3; W, W1–W3), else Chinese names (仓储/物流/储备库, then 工业). Twin: ``far_basis.land_use_class`` (the code
    lists and words are its constants)."""
    p = _alias(parcel)
    n = (f"upper(regexp_replace(translate(COALESCE({p}.land_use, ''), '{far_basis._FULL_WIDTH}', "
         f"'{far_basis._HALF_WIDTH}'), '\\s', '', 'g'))")
    def listed(codes: tuple[str, ...]) -> str:
        return ", ".join(f"'{c}'" for c in codes)
    def words(ws: tuple[str, ...]) -> str:
        return " OR ".join(f"strpos(n.v, '{w}') > 0" for w in ws)
    return (f"(SELECT CASE WHEN n.v = '' THEN 'unrecorded' "  # noqa: S608 (constants of far_basis, no values)
            f"WHEN n.v IN ({listed(far_basis.INDUSTRIAL_CODES)}) THEN 'industrial' "
            f"WHEN n.v IN ({listed(far_basis.WAREHOUSE_CODES)}) THEN 'warehouse' "
            f"WHEN {words(far_basis.WAREHOUSE_WORDS)} THEN 'warehouse' "
            f"WHEN {words(far_basis.INDUSTRIAL_WORDS)} THEN 'industrial' ELSE 'other' END "
            f"FROM (SELECT {n} AS v) n)")


def industry_floor_sql(parcel: str = "p", *, national_far_codes: str = ":national_far_codes",
                       national_far_floors: str = ":national_far_floors") -> str:
    """SQL of the national minimum 容积率 of a parcel's firms (国土资发〔2008〕24号 表2): for each firm with an
    industry code, the floor of the longest prefix of its digits in the bound table (``far_basis.table_params``),
    and the lowest of them; NULL when no firm has one. Twin: ``far_basis.industry_floor``."""
    _check(national_far_codes, national_far_floors)
    p = _alias(parcel)
    return (f"(SELECT min(t.floor) FROM enterprises e CROSS JOIN LATERAL ("  # noqa: S608 (placeholders checked)
            f"SELECT n.floor FROM unnest(CAST({national_far_codes} AS text[]), "
            f"CAST({national_far_floors} AS float8[])) AS n(code, floor) "
            f"WHERE starts_with(regexp_replace(e.industry_code, '[^0-9]', '', 'g'), n.code) "
            f"ORDER BY length(n.code) DESC LIMIT 1) t WHERE e.parcel_id = {p}.id)")


def _floor_case(parcel: str, block: str, exemption: str, *, programme: str, exempt: str, national: str,
                warehouse: str, none: str, warehouse_far_min: str, national_far_codes: str,
                national_far_floors: str) -> str:
    """The CASE of :func:`far_basis_sql` and :func:`far_floor_sql`, with what each branch gives."""
    _check(warehouse_far_min)
    p, b, fe = _alias(parcel), _alias(block), _alias(exemption)
    cls = land_use_class_sql(p)
    industry = industry_floor_sql(p, national_far_codes=national_far_codes, national_far_floors=national_far_floors)
    national_branch = national.format(industry=industry)
    return (f"CASE WHEN {cls} IN ('industrial', 'unrecorded') THEN "
            f"CASE WHEN {b}.in_programme THEN CASE WHEN {fe}.block_id IS NULL THEN {programme} ELSE {exempt} END "
            f"WHEN {industry} IS NOT NULL THEN {national_branch} ELSE {none} END "
            f"WHEN {cls} = 'warehouse' AND CAST({warehouse_far_min} AS float8) IS NOT NULL THEN {warehouse} "
            f"ELSE {none} END")


def far_basis_sql(parcel: str = "p", block: str = "b", exemption: str = "fe", *,
                  warehouse_far_min: str = ":warehouse_far_min", national_far_codes: str = ":national_far_codes",
                  national_far_floors: str = ":national_far_floors") -> str:
    """SQL of which minimum 容积率 applies to a parcel (``rule_basis``): ``programme`` (industrial land in a
    programme block), ``exemption`` (the block's FAR exemption), ``national_industry`` (industrial land outside
    the programme, by its firms' industry), ``warehouse`` (warehouse land with a configured floor) or ``none``.

    ``parcel``, ``block`` and ``exemption`` are the aliases of ``parcels``, its ``blocks`` row and
    ``far_exemptions`` LEFT JOINed on the block. Twin: ``app.planning.far_basis.applicable_floor``.
    """
    return _floor_case(parcel, block, exemption, programme="'programme'", exempt="'exemption'",
                       national="'national_industry'", warehouse="'warehouse'", none="'none'",
                       warehouse_far_min=warehouse_far_min, national_far_codes=national_far_codes,
                       national_far_floors=national_far_floors)


def far_floor_sql(exemption: str = "fe", *, parcel: str = "p", block: str = "b", far_min: str = ":far_min",
                  warehouse_far_min: str = ":warehouse_far_min", national_far_codes: str = ":national_far_codes",
                  national_far_floors: str = ":national_far_floors") -> str:
    """SQL of the FAR floor that applies to a parcel (float8), by :func:`far_basis_sql`'s basis: ``far_min`` in a
    programme block, its block's exemption if any (NULL: lifted), the national minimum of its firms' industry
    outside the programme, the warehouse floor on warehouse land; NULL when no floor is claimed.

    ``exemption`` is the alias of ``far_exemptions`` LEFT JOINed on the parcel's block, ``parcel`` and ``block``
    those of ``parcels`` and ``blocks``. Twin: ``app.planning.far_basis.applicable_floor``.
    """
    _check(far_min)
    return _floor_case(parcel, block, exemption, programme=f"CAST({far_min} AS float8)",
                       exempt=f"{_alias(exemption)}.min_far::float8", national="{industry}",
                       warehouse=f"CAST({warehouse_far_min} AS float8)", none="CAST(NULL AS float8)",
                       warehouse_far_min=warehouse_far_min, national_far_codes=national_far_codes,
                       national_far_floors=national_far_floors)


def far_pass_sql(counted: str, land: str, floor: str, basis: str) -> str:
    """SQL of a parcel's pass on the map and in files: NULL when no floor is claimed (``basis`` ``'none'``), else
    not :func:`far_short_sql` (true also when the block's exemption lifts the rule: ``floor`` NULL)."""
    return f"CASE WHEN {basis} = 'none' THEN NULL ELSE COALESCE(NOT {far_short_sql(counted, land, floor)}, true) END"


def far_short_sql(counted: str, land: str, floor: str) -> str:
    """SQL, true when ``counted`` ÷ ``land`` falls short of ``floor`` (expressions from code, not values).

    The same test as the API's rules (``app.planning.rules``): a ratio within RATIO_TOLERANCE of the floor
    passes, so a parcel built to exactly 容积率 2.0 is never red on the map while the API says it passes.
    """
    return f"({counted} < ({floor} - {RATIO_TOLERANCE!r}) * {land})"


RULE_PARAMS = ("far_min", "height_threshold_m", "height_multiplier", "count_illegal", "upper_garage_factor",
               "basement_garage_factor", "basement_plant_factor", "basement_commercial_factor", "warehouse_far_min",
               "national_far_codes", "national_far_floors")
"""The names of the rule's bind parameters, in the order positional statements (the parcels tile, OGC items) bind
them; each is the name of its :class:`PlanningRules` field, but for the national table, bound as two arrays
(``far_basis.table_params``)."""
ROLL_UP_PARAMS = RULE_PARAMS[1:8]
"""The bind parameters of the roll-up (:func:`parcel_far_sql`, :func:`counted_floor_area_sql`)."""
FLOOR_PARAMS = ("far_min", "warehouse_far_min", "national_far_codes", "national_far_floors")
"""The bind parameters of the applicable floor (:func:`far_floor_sql`; :func:`far_basis_sql` all but far_min)."""


def positional(first: int) -> dict[str, str]:
    """The rule's placeholders for a positional statement: ``$first``, ``$first + 1``… in RULE_PARAMS order."""
    return {name: f"${first + i}" for i, name in enumerate(RULE_PARAMS)}


def roll_up_placeholders(placeholders: dict[str, str]) -> dict[str, str]:
    """The keyword arguments of :func:`parcel_far_sql` from the rule's placeholders (e.g. :func:`positional`)."""
    return {name: placeholders[name] for name in ROLL_UP_PARAMS}


def floor_placeholders(placeholders: dict[str, str], *, basis: bool = False) -> dict[str, str]:
    """The keyword arguments of :func:`far_floor_sql` (or, with ``basis``, :func:`far_basis_sql`) from the rule's
    placeholders (e.g. :func:`positional`)."""
    return {name: placeholders[name] for name in FLOOR_PARAMS if not (basis and name == "far_min")}


def rule_params(rules: PlanningRules) -> dict[str, object]:
    """The rule's values as named bind parameters (``:far_min``, ``:height_threshold_m``...), in RULE_PARAMS order."""
    codes, floors = far_basis.table_params(rules)
    values = {name: getattr(rules, name) for name in RULE_PARAMS[:9]}
    return {**values, "height_threshold_m": height_threshold_param(rules), "national_far_codes": codes,
            "national_far_floors": floors}
