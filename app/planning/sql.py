"""The planning SQL: every figure of every parcel in a scope (city, town, block, parcel) in one statement.

Statements are module-level ``text()`` constants built once, at import, from the fragments below; the
only pieces put together are SQL text and column names from this module and :mod:`app.planning.figures`,
never values: thresholds, codes and paging are bound ``:parameters``. The Python twin of each step is
named in its comment (:mod:`app.planning.figures`, :mod:`app.planning.rules`); tests check both agree.

Buildings belong to the parcel of their ``parcel_id``. The importer sets it from ``parcel_code``, or,
where that is absent, to the parcel holding the largest part of the footprint; a building is never split.
Areas are planar, in the storage CRS (metres), holes excluded (docs/planning.md).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import TextClause, text

from app.planning.figures import COUNT_SUMS, OPTIONAL_SUMS, PARCEL_FIELDS, SUM_FIELDS
from app.planning.rule_sql import (
    basement_area_sql,
    counted_sql,
    doubled_sql,
    far_basis_sql,
    far_floor_sql,
    far_sql,
    land_use_class_sql,
    used_sql,
)

# Scope predicates over parcels p, blocks bl and towns t; the code is bound as :code.
PARCEL_SCOPES = {
    "city": "TRUE",
    "town": "t.code = :code",
    "block": "bl.code = :code",
    "parcel": "p.code = :code",
    "parcels": "p.code = ANY(:codes)",  # a chosen set, e.g. the parcels of a joint development
}
AREA_SCOPES = ("city", "town", "block")
_BUILDINGS_IN_SCOPE = ("b.parcel_id IN (SELECT p.id FROM parcels p JOIN blocks bl ON bl.id = p.block_id "
                       "JOIN towns t ON t.id = bl.town_id WHERE {predicate})")

# A building counts in the figures unless it is illegal (违法建筑, left out unless :count_illegal; 暂定值). Its
# floor area above ground counts with its storeys' factor (rule_sql.storey_factor_sql: storeys higher than
# :height_threshold_m, strictly, × :height_multiplier, 国土资发〔2008〕24号; garage storeys above the second floor
# × :upper_garage_factor), its basement with the factor of its use (rule_sql.basement_factor_sql, 甬规字〔2010〕122号),
# both joined by rule_sql.counted_sql. Twin: figures.building_figures. The same fragments make the map's counted
# floor area (rule_sql.counted_floor_area_sql) and its per-parcel roll-up (rule_sql.parcel_far_sql); here the
# roll-up is one of the sums of the single pass over the buildings (per_parcel), and its ratio is rule_sql.far_sql
# (_DERIVED), for parcels and for Σ ÷ Σ alike.
_USED = used_sql("b")
_DOUBLED = doubled_sql("b")
_COUNTED = counted_sql("g", "COALESCE(g.surveyed_m2, g.footprint_m2 * g.floors)", doubled="g.doubled_for_height",
                       footprint="g.footprint_m2")
_BASEMENT_AREA = basement_area_sql("g", footprint="g.footprint_m2")
# Which minimum 容积率 applies (docs/rules.md §9.3): the plan's floor for industrial land in programme blocks, the
# block's exemption, the national minimum by the firms' industry outside the programme, the warehouse floor, or
# none. Twin: far_basis.applicable_floor.
_LAND_USE_CLASS = land_use_class_sql("p")
_FAR_BASIS = far_basis_sql("p", "bl", "fe")
_FAR_FLOOR = far_floor_sql("fe", parcel="p", block="bl")
# Storeys higher than the threshold, for the building list only (one parcel): unnested only for buildings with
# storey heights.
_DOUBLED_STOREYS = ("CASE WHEN g.storey_hs IS NULL THEN CASE WHEN g.doubled_for_height THEN g.floors ELSE 0 END "
                    "ELSE (SELECT count(*) FROM unnest(g.storey_hs) AS st(h) "
                    "WHERE st.h > CAST(:height_threshold_m AS numeric)) END")

_BUILDING_CTES = """
building AS (
    -- One row per building of the scope; footprint in m², planar in the storage CRS. OFFSET 0 keeps the
    -- planner from flattening this subquery, so ST_Area runs once per building rather than once per use.
    SELECT b.parcel_id, b.code, b.use, b.floors, b.floor_h::float8 AS floor_h_m, b.storey_hs, b.garage_floors,
           b.basement_floors, b.basement_use, b.basement_area, b.illegal, b.floor_area::float8 AS surveyed_m2,
           {used} AS used, {doubled} AS doubled_for_height, ST_Area(b.geom) AS footprint_m2
    FROM buildings b
    WHERE {building_scope}
    OFFSET 0
),
building_figures AS (
    -- 建筑面积 (above ground): the surveyed floor area, else footprint × floors; 计容建筑面积: × the storeys'
    -- factor, plus the basement × its use's factor. Twin: figures.building_figures.
    SELECT g.parcel_id, g.code, g.use, g.floors, g.floor_h_m, g.illegal, g.used, g.footprint_m2,
           COALESCE(g.surveyed_m2, g.footprint_m2 * g.floors) AS floor_area_m2,
           g.surveyed_m2 IS NOT NULL AS floor_area_surveyed, g.doubled_for_height,
           {counted} AS far_floor_area_m2,
           g.storey_hs::float8[] AS storey_heights_m, {doubled_storeys} AS doubled_storeys,
           COALESCE(g.garage_floors, 0) AS garage_storeys, COALESCE(g.basement_floors, 0) AS basement_storeys,
           g.basement_use, {basement_area} AS basement_floor_area_m2
    FROM building g
)"""

_PARCEL_CTES = """
per_parcel AS (
    -- Building sums per parcel; supporting facilities are the uses in :supporting_uses (office,
    -- dormitory, canteen), dormitory-type housing those in :dormitory_uses. Twin: figures.parcel_sums.
    SELECT g.parcel_id,
           count(*) FILTER (WHERE g.used) AS building_count,
           count(*) FILTER (WHERE g.used AND g.doubled_for_height) AS doubled_building_count,
           count(*) FILTER (WHERE g.illegal) AS illegal_building_count,
           sum(g.footprint_m2) FILTER (WHERE g.used) AS footprint_m2,
           sum(g.floor_area_m2) FILTER (WHERE g.used) AS floor_area_m2,
           sum(g.far_floor_area_m2) FILTER (WHERE g.used) AS far_floor_area_m2,
           sum(g.floor_area_m2) FILTER (WHERE g.used AND g.use = ANY(CAST(:supporting_uses AS text[])))
               AS supporting_floor_area_m2,
           sum(g.floor_area_m2) FILTER (WHERE g.used AND g.use = ANY(CAST(:dormitory_uses AS text[])))
               AS dormitory_floor_area_m2,
           sum(g.footprint_m2) FILTER (WHERE g.illegal) AS illegal_footprint_m2,
           sum(g.floor_area_m2) FILTER (WHERE g.illegal) AS illegal_floor_area_m2
    FROM building_figures g
    GROUP BY g.parcel_id
),
parcel AS (
    -- One row per parcel of the scope: land area in m² (planar, storage CRS, holes excluded), money in
    -- yuan, its block's 容积率 exemption. OFFSET 0: ST_Area once per parcel.
    SELECT p.id AS parcel_id, p.code AS parcel_code, bl.id AS block_id, bl.code AS block_code,
           t.code AS town_code, ST_Area(p.geom) AS land_area_m2,
           p.supp_m2::float8 AS supp_m2, p.green_m2::float8 AS green_m2, p.tax::float8 AS tax_yuan,
           p.output::float8 AS output_yuan, p.invest::float8 AS invest_yuan,
           fe.min_far::float8 AS far_exemption_min_far, fe.reason AS far_exemption_reason,
           p.land_use, {land_use_class} AS land_use_class, bl.in_programme,
           COALESCE(fc.codes, '{{}}') AS industry_codes,
           {far_basis} AS far_basis, {far_floor} AS far_floor,
           COALESCE(s.building_count, 0) AS building_count,
           COALESCE(s.doubled_building_count, 0) AS doubled_building_count,
           COALESCE(s.illegal_building_count, 0) AS illegal_building_count,
           COALESCE(s.footprint_m2, 0) AS footprint_m2,
           COALESCE(s.floor_area_m2, 0) AS floor_area_m2,
           COALESCE(s.far_floor_area_m2, 0) AS far_floor_area_m2,
           COALESCE(s.supporting_floor_area_m2, 0) AS supporting_floor_area_m2,
           COALESCE(s.dormitory_floor_area_m2, 0) AS dormitory_floor_area_m2,
           COALESCE(s.illegal_footprint_m2, 0) AS illegal_footprint_m2,
           COALESCE(s.illegal_floor_area_m2, 0) AS illegal_floor_area_m2
    FROM parcels p
    JOIN blocks bl ON bl.id = p.block_id
    JOIN towns t ON t.id = bl.town_id
    LEFT JOIN per_parcel s ON s.parcel_id = p.id
    LEFT JOIN far_exemptions fe ON fe.block_id = bl.id
    LEFT JOIN LATERAL (
        -- the firms' industry codes (GB/T 4754): the national minimum outside the programme (rule_sql.far_floor_sql)
        SELECT array_agg(ent.industry_code ORDER BY ent.industry_code) AS codes
        FROM enterprises ent WHERE ent.parcel_id = p.id AND ent.industry_code IS NOT NULL) fc ON TRUE
    WHERE {parcel_scope}
    OFFSET 0
),
parcel_sums AS (
    -- Supporting land: recorded (supp_m2), else land × supporting floor share, the dormitories' part
    -- apportioned by floor area [national]. Each per-area figure keeps the land it is
    -- measured on (*_basis_m2), so that roll-ups divide by the land that reports it. Twin: parcel_sums.
    SELECT q.*, 1 AS parcel_count,
           CASE WHEN q.supp_m2 IS NOT NULL THEN q.supp_m2
                WHEN q.floor_area_m2 > 0 THEN q.land_area_m2 * (q.supporting_floor_area_m2 / q.floor_area_m2)
           END AS supporting_land_m2,
           CASE WHEN q.supp_m2 IS NOT NULL THEN
                    CASE WHEN q.supporting_floor_area_m2 > 0
                         THEN q.supp_m2 * q.dormitory_floor_area_m2 / q.supporting_floor_area_m2 ELSE 0 END
                WHEN q.floor_area_m2 > 0 THEN q.land_area_m2 * q.dormitory_floor_area_m2 / q.floor_area_m2
           END AS dormitory_land_m2,
           CASE WHEN q.supp_m2 IS NOT NULL OR q.floor_area_m2 > 0 THEN q.land_area_m2 ELSE 0 END
               AS supporting_land_basis_m2,
           q.supp_m2 IS NULL AND q.floor_area_m2 > 0 AS supporting_land_apportioned,
           CASE WHEN q.green_m2 IS NOT NULL THEN q.land_area_m2 ELSE 0 END AS green_basis_m2,
           CASE WHEN q.tax_yuan IS NOT NULL THEN q.land_area_m2 ELSE 0 END AS tax_basis_m2,
           CASE WHEN q.output_yuan IS NOT NULL THEN q.land_area_m2 ELSE 0 END AS output_basis_m2,
           CASE WHEN q.invest_yuan IS NOT NULL THEN q.land_area_m2 ELSE 0 END AS invest_basis_m2
    FROM parcel q
),
figures AS (
    SELECT s.*, {derived}
    FROM parcel_sums s
)"""

# Ratios from sums, Σ ÷ Σ: 亩 = m² × 15 / 10000; money per 亩 in yuan and 万元.
# 建筑系数 equals the density: there is no structure or storage-yard layer yet. Twin: figures.derive.
_DERIVED = f"""
    s.land_area_m2 * 15 / 10000 AS land_area_mu,
    {far_sql("s.far_floor_area_m2", "s.land_area_m2")} AS far,
    s.footprint_m2 / NULLIF(s.land_area_m2, 0) AS building_density,
    s.footprint_m2 / NULLIF(s.land_area_m2, 0) AS building_coefficient,
    s.supporting_floor_area_m2 / NULLIF(s.floor_area_m2, 0) AS supporting_floor_share,
    s.dormitory_floor_area_m2 / NULLIF(s.floor_area_m2, 0) AS dormitory_floor_share,
    s.supporting_land_m2 / NULLIF(s.supporting_land_basis_m2, 0) AS supporting_land_share,
    s.dormitory_land_m2 / NULLIF(s.supporting_land_basis_m2, 0) AS dormitory_land_share,
    s.green_m2 / NULLIF(s.green_basis_m2, 0) AS green_ratio,
    s.tax_yuan / NULLIF(s.tax_basis_m2 * 15 / 10000, 0) AS tax_per_mu,
    s.tax_yuan / NULLIF(s.tax_basis_m2 * 15 / 10000, 0) / 10000 AS tax_per_mu_wan,
    s.output_yuan / NULLIF(s.output_basis_m2 * 15 / 10000, 0) AS output_per_mu,
    s.output_yuan / NULLIF(s.output_basis_m2 * 15 / 10000, 0) / 10000 AS output_per_mu_wan,
    s.invest_yuan / NULLIF(s.invest_basis_m2 * 15 / 10000, 0) AS invest_per_mu,
    s.invest_yuan / NULLIF(s.invest_basis_m2 * 15 / 10000, 0) / 10000 AS invest_per_mu_wan"""


@dataclass(frozen=True)
class ParcelCheck:
    """The SQL of one parcel rule over a figures row ``f``; twin: the rule of the same id in rules.py.

    ``{threshold}`` in ``shortfall`` stands for the rule's threshold expression.
    """

    value: str
    threshold: str
    at_least: bool  # passes when value ≥ threshold (else ≤)
    shortfall: str  # how far from passing, in the rule's shortfall unit (m²); 0 when it passes
    missing: str  # outcome when the value is NULL
    exempt: str = "FALSE"
    inapplicable: str = "FALSE"  # no threshold is claimed (far_min: rule_basis none)
    basis: str = "NULL"  # rule_basis (far_min: which minimum applied)

    def outcome(self) -> str:
        """``pass``, ``fail``, ``exempt``, ``not_applicable`` or ``no_data``; :tolerance absorbs float noise."""
        test = ">= {threshold} - CAST(:tolerance AS float8)" if self.at_least else \
            "<= {threshold} + CAST(:tolerance AS float8)"
        return (f"CASE WHEN {self.exempt} THEN 'exempt' WHEN {self.inapplicable} THEN 'not_applicable' "
                f"WHEN {{value}} IS NULL THEN '{self.missing}' "
                f"WHEN {{value}} {test} THEN 'pass' ELSE 'fail' END").format(value=self.value,
                                                                               threshold=self.threshold)

    def gap(self) -> str:
        """Distance from the threshold relative to it (0.25 = 25 % short): lists sort worst first by it."""
        diff = "{threshold} - {value}" if self.at_least else "{value} - {threshold}"
        return f"({diff}) / NULLIF({{threshold}}, 0)".format(value=self.value, threshold=self.threshold)

    def shortfall_sql(self) -> str:
        """The shortfall expression with the threshold filled in."""
        return self.shortfall.format(threshold=self.threshold)


PARCEL_CHECKS: dict[str, ParcelCheck] = {
    # 容积率 ≥ the floor that applies (rule_basis: 2.0 [plan] in programme blocks, or the block's exemption; the
    # national minimum by industry outside them; the warehouse floor; none: not_applicable); shortfall = counted
    # floor area still needed (m²).
    "far_min": ParcelCheck(
        value="f.far",
        threshold="f.far_floor",
        at_least=True,
        shortfall="GREATEST({threshold} * f.land_area_m2 - f.far_floor_area_m2, 0)",
        missing="no_data",
        exempt="(f.far_basis = 'exemption' AND f.far_floor IS NULL)",
        inapplicable="(f.far_basis = 'none')",
        basis="f.far_basis",
    ),
    # Supporting floor share ≤ min(30 %, 15 % + dormitory share) [national, plan]; shortfall = excess m².
    "supporting_floor_max": ParcelCheck(
        value="f.supporting_floor_share",
        threshold="LEAST(CAST(:supporting_floor_max AS float8), "
                  "CAST(:supporting_floor_national_max AS float8) + COALESCE(f.dormitory_floor_share, 0))",
        at_least=False,
        shortfall="GREATEST(f.supporting_floor_area_m2 - {threshold} * f.floor_area_m2, 0)",
        missing="not_applicable",
        basis="'national'",
    ),
    # Supporting land share ≤ min(15 %, 7 % + dormitories' land share) [national, plan]; excess m².
    "supporting_land_max": ParcelCheck(
        value="f.supporting_land_share",
        threshold="LEAST(CAST(:supporting_land_max AS float8), "
                  "CAST(:supporting_land_national_max AS float8) + COALESCE(f.dormitory_land_share, 0))",
        at_least=False,
        shortfall="GREATEST(f.supporting_land_m2 - {threshold} * f.supporting_land_basis_m2, 0)",
        missing="no_data",
        basis="'national'",
    ),
    # 建筑系数 ≥ 30 % [national]; shortfall = footprint still needed (m²).
    "building_coefficient_min": ParcelCheck(
        value="f.building_coefficient",
        threshold="CAST(:building_coefficient_min AS float8)",
        at_least=True,
        shortfall="GREATEST({threshold} * f.land_area_m2 - f.footprint_m2, 0)",
        missing="no_data",
        basis="'national'",
    ),
    # 绿地率 ≤ 20 % [national, secondary; assumed]; shortfall = green area above the cap (m²).
    "green_ratio_max": ParcelCheck(
        value="f.green_ratio",
        threshold="CAST(:green_ratio_max AS float8)",
        at_least=False,
        shortfall="GREATEST(f.green_m2 - {threshold} * f.green_basis_m2, 0)",
        missing="no_data",
        basis="'national'",
    ),
}


def _building_ctes(scope: str) -> str:
    """The CTEs ``building`` and ``building_figures`` restricted to ``scope`` (a key of PARCEL_SCOPES)."""
    building_scope = "TRUE" if scope == "city" else _BUILDINGS_IN_SCOPE.format(predicate=PARCEL_SCOPES[scope])
    return _BUILDING_CTES.format(used=_USED, doubled=_DOUBLED, counted=_COUNTED, basement_area=_BASEMENT_AREA,
                                 doubled_storeys=_DOUBLED_STOREYS, building_scope=building_scope)


def _ctes(scope: str) -> str:
    """All figures CTEs, down to ``figures`` (one row per parcel), restricted to ``scope``."""
    parcel_ctes = _PARCEL_CTES.format(parcel_scope=PARCEL_SCOPES[scope], derived=_DERIVED,
                                      land_use_class=_LAND_USE_CLASS, far_basis=_FAR_BASIS, far_floor=_FAR_FLOOR)
    return f"{_building_ctes(scope)},{parcel_ctes}"


def _columns(alias: str, names: tuple[str, ...]) -> str:
    """``alias.name, …`` for column names taken from the dataclasses."""
    return ", ".join(f"{alias}.{name}" for name in names)


def _parcel_figures(scope: str) -> TextClause:
    """All figures of every parcel in ``scope``, in no particular order (columns = ParcelFigures)."""
    return text(f"WITH {_ctes(scope)}\nSELECT {_columns('f', PARCEL_FIELDS)} FROM figures f")


PARCEL_FIGURES: dict[str, TextClause] = {scope: _parcel_figures(scope) for scope in PARCEL_SCOPES}

# The same figures as Python objects take them (metrics.parcel_figures): all but units and per-parcel
# bookkeeping, which metrics.parcel_from_row derives from the columns sent with this module's arithmetic
# (亩 and 万元, the count of 1, the coefficient equal to the density, the land each per-area figure is
# measured on). Sending a column of a city's 50,000 floats costs the server more than the conversion costs
# Python while it waits for the next chunk.
PARCEL_FIELDS_DERIVED_IN_PYTHON = ("parcel_count", "land_area_mu", "building_coefficient",
                                   "supporting_land_basis_m2", "green_basis_m2", "tax_basis_m2", "output_basis_m2",
                                   "invest_basis_m2", "tax_per_mu_wan", "output_per_mu_wan", "invest_per_mu_wan")
PARCEL_ROW_FIELDS = tuple(name for name in PARCEL_FIELDS if name not in PARCEL_FIELDS_DERIVED_IN_PYTHON)


def _parcel_rows(scope: str) -> TextClause:
    """The columns PARCEL_ROW_FIELDS of every parcel in ``scope``, in no particular order."""
    return text(f"WITH {_ctes(scope)}\nSELECT {_columns('f', PARCEL_ROW_FIELDS)} FROM figures f")


PARCEL_ROWS: dict[str, TextClause] = {scope: _parcel_rows(scope) for scope in PARCEL_SCOPES}

# The buildings of one parcel (:code) with their part in its figures (columns = BuildingFigures).
PARCEL_BUILDINGS = text(f"""
WITH {_building_ctes("parcel")}
SELECT g.code, g.use, g.floors::int AS floors, g.floor_h_m, g.illegal, g.used, g.footprint_m2, g.floor_area_m2,
       g.floor_area_surveyed, g.doubled_for_height, g.far_floor_area_m2, g.storey_heights_m,
       g.doubled_storeys::int AS doubled_storeys, g.garage_storeys::int AS garage_storeys,
       g.basement_storeys::int AS basement_storeys, g.basement_use, g.basement_floor_area_m2
FROM building_figures g
ORDER BY g.code
""")  # noqa: S608 (SQL text from this module only)


def _sum_columns() -> str:
    """Roll-up of each additive column over the parcels ``f`` of a group (NULL stays NULL for money)."""
    def total(name: str) -> str:
        if name in OPTIONAL_SUMS:
            return f"sum(f.{name})"
        return f"COALESCE(sum(f.{name}), 0)" + ("::bigint" if name in COUNT_SUMS else "")
    return ",\n    ".join(f"{total(name)} AS {name}" for name in SUM_FIELDS)


def _failure_counts() -> str:
    """Per parcel rule, the parcels of the group that fail it."""
    return ",\n    ".join(f"count(*) FILTER (WHERE {check.outcome()} = 'fail') AS fail_{rule}"
                          for rule, check in PARCEL_CHECKS.items())


_BLOCK_COLUMNS = ("bl.code AS block_code, bl.name AS block_name, t.code AS town_code, bl.status, bl.mode, "
                  "bl.fire_hazard, bl.illegal_buildings, bl.low_industry, bl.poor_environment, "
                  "e.min_far::float8 AS far_exemption_min_far, e.reason AS far_exemption_reason")
_BLOCK_GROUP = ("bl.id, bl.code, bl.name, t.code, bl.status, bl.mode, bl.fire_hazard, bl.illegal_buildings, "
                "bl.low_industry, bl.poor_environment, e.min_far, e.reason")


def _area_figures(scope: str) -> TextClause:
    """Figures of every block in ``scope`` and of the whole scope (``is_total``), Σ ÷ Σ over parcels."""
    return text(f"""
WITH {_ctes(scope)},
rollup AS (
    -- Blocks without parcels keep a row (zero land); GROUPING SETS adds the scope's total in the same pass.
    SELECT GROUPING(bl.id) = 1 AS is_total,
    {_sum_columns()},
    {_failure_counts()},
    {_BLOCK_COLUMNS}
    FROM blocks bl
    JOIN towns t ON t.id = bl.town_id
    LEFT JOIN far_exemptions e ON e.block_id = bl.id
    LEFT JOIN figures f ON f.block_id = bl.id
    WHERE {PARCEL_SCOPES[scope]}
    GROUP BY GROUPING SETS (({_BLOCK_GROUP}), ())
)
SELECT s.*, {_DERIVED}
FROM rollup s
ORDER BY s.is_total, s.block_code
""")  # noqa: S608 (SQL and column names from code)


AREA_FIGURES: dict[str, TextClause] = {scope: _area_figures(scope) for scope in AREA_SCOPES}


def _compliance(rule: str, scope: str) -> TextClause:
    """One page of the parcels of ``scope`` failing ``rule``, worst first, with the total count."""
    check = PARCEL_CHECKS[rule]
    return text(f"""
WITH {_ctes(scope)},
checked AS (
    SELECT f.*, {check.value} AS check_value, {check.threshold} AS check_threshold,
           {check.outcome()} AS check_outcome, {check.shortfall_sql()} AS check_shortfall,
           {check.gap()} AS check_gap, {check.basis} AS check_basis
    FROM figures f
),
failing AS (
    -- :basis narrows to one rule_basis (far_min: programme, exemption, national_industry, warehouse, none)
    SELECT * FROM checked WHERE check_outcome = 'fail' AND (CAST(:basis AS text) IS NULL OR check_basis = :basis)
),
page AS (
    -- Worst first: furthest from the threshold relative to it, then the larger shortfall.
    SELECT * FROM failing
    ORDER BY check_gap DESC NULLS LAST, check_shortfall DESC, parcel_code
    LIMIT :limit OFFSET :offset
)
-- The total comes on every row, and on a lone row of NULLs when the page is empty.
SELECT n.total, {_columns('page', PARCEL_FIELDS)},
       page.check_value, page.check_threshold, page.check_outcome, page.check_shortfall, page.check_gap,
       codes.used, codes.doubled, codes.illegal
FROM (SELECT count(*) AS total FROM failing) n
LEFT JOIN page ON TRUE
LEFT JOIN LATERAL (
    -- The data each failure used: its buildings, those counted double for height, those left out as illegal.
    SELECT array_agg(b.code ORDER BY b.code) FILTER (WHERE {_USED}) AS used,
           array_agg(b.code ORDER BY b.code) FILTER (WHERE {_USED} AND {_DOUBLED}) AS doubled,
           array_agg(b.code ORDER BY b.code) FILTER (WHERE b.illegal) AS illegal
    FROM buildings b
    WHERE b.parcel_id = page.parcel_id
) codes ON TRUE
ORDER BY page.check_gap DESC NULLS LAST, page.check_shortfall DESC, page.parcel_code
""")  # noqa: S608 (SQL and column names from code)


COMPLIANCE: dict[tuple[str, str], TextClause] = {
    (rule, scope): _compliance(rule, scope) for rule in PARCEL_CHECKS for scope in AREA_SCOPES
}

# Scope look-ups: whether a code exists (404 otherwise) and where it lies.
TOWN = text("SELECT t.code, t.name FROM towns t WHERE t.code = :code")
BLOCK = text("SELECT bl.code, bl.name, t.code AS town_code FROM blocks bl JOIN towns t ON t.id = bl.town_id "
             "WHERE bl.code = :code")
