"""Planning figures that travel with parcels and blocks: in exports (FAR, density, 亩均税收...) and OGC items.

Exports: the figures are computed by the planning engine's own statements (``app.planning.sql``: every
parcel, or every block, of a scope in one pass) and joined to the export by code; nothing is recomputed
here. Export names are at most 10 characters (shapefiles) and carry their unit in the Chinese label; the
rule version travels with them, so a figure can always be traced back to its rules.

OGC API items: a page of parcels carries 容积率, 建筑密度, the floor that applies and pass/fail from the
per-parcel roll-up every map statement uses (:func:`app.planning.rule_sql.parcel_far_sql`, the block's
exemption by :func:`~app.planning.rule_sql.far_floor_sql`, the test by
:func:`~app.planning.rule_sql.far_short_sql`), joined beside each parcel (:func:`item_layer`): only the
features of the page are computed, and a count that does not filter on them skips the joins.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Dialect

from app.io.layers import M2, MU, RATIO, WAN, YUAN, Field, Kind, Layer, Precision
from app.planning.config import PlanningRules
from app.planning.rule_sql import (
    RULE_PARAMS,
    far_basis_sql,
    far_floor_sql,
    far_pass_sql,
    floor_placeholders,
    parcel_far_sql,
    positional,
    roll_up_placeholders,
    rule_params,
    used_sql,
)

# (column of the planning statement, export name ≤ 10 characters, Chinese label with unit, kind, precision)
FIGURE_COLUMNS: tuple[tuple[str, str, str, Kind, Precision], ...] = (
    ("land_area_m2", "land_m2", "用地面积(m²)", "float", M2),
    ("land_area_mu", "land_mu", "用地面积(亩)", "float", MU),
    ("floor_area_m2", "floor_m2", "建筑面积(m²)", "float", M2),
    ("far_floor_area_m2", "farfl_m2", "计容建筑面积(m²)", "float", M2),
    ("far", "far", "容积率", "float", RATIO),
    ("footprint_m2", "footpr_m2", "基底面积(m²)", "float", M2),
    ("building_density", "bldg_dens", "建筑密度", "float", RATIO),
    ("green_ratio", "green_rat", "绿地率", "float", RATIO),
    ("supporting_floor_share", "supp_flr", "配套设施建筑面积占比", "float", RATIO),
    ("supporting_land_share", "supp_land", "配套设施用地占比", "float", RATIO),
    ("tax_per_mu", "tax_per_mu", "亩均税收(元/亩)", "float", YUAN),
    ("tax_per_mu_wan", "tax_mu_wan", "亩均税收(万元/亩)", "float", WAN),
    ("output_per_mu_wan", "out_mu_wan", "亩均产值(万元/亩)", "float", WAN),
    ("invest_per_mu_wan", "inv_mu_wan", "投资强度(万元/亩)", "float", WAN),
)
PARCEL_FIGURE_COLUMNS: tuple[tuple[str, str, str, Kind, Precision | None], ...] = (
    ("far_floor", "far_min", "容积率下限(适用)", "float", RATIO),
    ("far_basis", "rule_basis", "适用标准", "str", None),
)
"""Parcels only: the minimum 容积率 that applies and why (docs/rules.md §9.3: programme, exemption,
national_industry, warehouse, none)."""
RULE_VERSION_FIELD = Field("rule_ver", "指标规则版本", derived=True, description="planning rule-set version")


@dataclass(frozen=True)
class FigureSource:
    """A statement giving figures per feature (psycopg placeholders), its parameters and join key."""

    sql: str
    params: dict[str, Any]
    key: str  # column of the statement holding the feature's code
    fields: tuple[Field, ...]

    @property
    def prelude(self) -> str:
        """Materialise the figures first (in parallel, once): the export then streams in code order."""
        return f"CREATE TEMP TABLE export_fig ON COMMIT DROP AS {self.sql}"

    table = "export_fig"


def figure_source(layer_name: str, dialect: Dialect, *, rules: PlanningRules, town: str | None = None,
                  block: str | None = None) -> FigureSource | None:
    """The planning figures of ``layer_name`` (parcels, blocks) under ``rules`` for the export's scope, or None."""
    if layer_name not in ("parcels", "blocks"):
        return None
    from app.planning import metrics, sql

    scope, code = ("block", block) if block else ("town", town) if town else ("city", None)
    if layer_name == "parcels":
        statement, key = sql.PARCEL_FIGURES[scope], "parcel_code"
    else:
        statement, key = sql.AREA_FIGURES[scope], "block_code"
    compiled = statement.compile(dialect=dialect)
    values = metrics.sql_params(rules, code=code)
    params = {f"fig_{name}": values[name] for name in compiled.params}
    body = compiled.string
    for name in sorted(compiled.params, key=len, reverse=True):  # own names: no clash with the export's
        body = body.replace(f"%({name})s", f"%(fig_{name})s")
    figure_columns = FIGURE_COLUMNS + (PARCEL_FIGURE_COLUMNS if layer_name == "parcels" else ())
    columns = ", ".join(f"f.{src} AS {name}" for src, name, _, _, _ in figure_columns)
    where = " WHERE NOT f.is_total" if layer_name == "blocks" else ""
    params["fig_rule_version"] = rules.rule_version
    source = (f"SELECT f.{key}, {columns}, CAST(%(fig_rule_version)s AS text) AS rule_ver "  # noqa: S608
              f"FROM ({body}) f{where}")
    fields = tuple(Field(name, label, kind, expr=f"fig.{name}", derived=True, precision=precision)
                   for _, name, label, kind, precision in figure_columns)
    rule_field = Field(RULE_VERSION_FIELD.name, RULE_VERSION_FIELD.label_zh, expr="fig.rule_ver", derived=True,
                       description=RULE_VERSION_FIELD.description)
    return FigureSource(source, params, key, (*fields, rule_field))


# ---------------------------------------------------------------- OGC API items (parcels)
ITEM_RULE_PARAMS = RULE_PARAMS
"""The rule values an items statement over :func:`item_layer`'s parcels binds first, as ``$1``, ``$2``…"""

_RULE = positional(1)
_FLOOR = far_floor_sql("fe", **floor_placeholders(_RULE))
_BASIS = far_basis_sql("p", "b", "fe", **floor_placeholders(_RULE, basis=True))
_ROLL_UP = parcel_far_sql("p", **roll_up_placeholders(_RULE))
# Footprint of the buildings that count (违法建筑 left out unless the rule counts them), for 建筑密度.
_USED = used_sql("g", count_illegal=_RULE["count_illegal"])
_FOOTPRINT = (f"(SELECT sum(ST_Area(g.geom)) FILTER (WHERE {_USED}) AS footprint_m2 "  # noqa: S608 (SQL from code)
              "FROM buildings g WHERE g.parcel_id = p.id)")
# LEFT JOINs of one row each: the planner drops them from a statement that reads none of their columns
# (a count without a condition on the figures). Every rule value appears in them, so a statement binds
# all of them whichever properties it serves.
_ITEM_JOINS = (" LEFT JOIN far_exemptions fe ON fe.block_id = p.block_id"
               f" LEFT JOIN LATERAL (SELECT {_FLOOR} AS far_floor, {_BASIS} AS rule_basis) ff ON TRUE"
               f" LEFT JOIN LATERAL {_ROLL_UP} pf ON TRUE"
               f" LEFT JOIN LATERAL {_FOOTPRINT} pd ON TRUE")


def _shown(expr: str, precision: Precision) -> str:
    """SQL of a figure as served: rounded to its decimals (filters and sorting use the exact value)."""
    return f"round(CAST({expr} AS numeric), {int(precision.decimals)})::float8"


_FAR = "pf.far"
_DENSITY = "COALESCE(pd.footprint_m2, 0) / NULLIF(pf.land_m2, 0)"
_PASS = far_pass_sql("pf.counted_m2", "pf.land_m2", "ff.far_floor", "ff.rule_basis")

ITEM_FIGURES: dict[str, tuple[Field, ...]] = {
    "parcels": (
        Field("far", "容积率", "float", expr=_shown(_FAR, RATIO), filter_expr=_FAR, derived=True, precision=RATIO,
              description="计容建筑面积 ÷ 用地面积 (counted floor area ÷ land area)"),
        Field("building_density", "建筑密度", "float", expr=_shown(_DENSITY, RATIO), filter_expr=_DENSITY,
              derived=True, precision=RATIO, description="基底面积 ÷ 用地面积, 0–1 (footprint ÷ land)"),
        Field("far_floor", "容积率下限", "float", expr="ff.far_floor", derived=True, precision=RATIO,
              description="the floor that applies (rule_basis): the configured floor in a programme block, the "
                          "block's exemption, the national minimum by industry outside the programme, the warehouse "
                          "floor; null when the block is exempt from the rule or no floor is claimed"),
        Field("rule_basis", "适用标准", expr="ff.rule_basis", derived=True,
              description="which minimum applies: programme, exemption, national_industry, warehouse or none "
                          "(docs/rules.md §9.3)"),
        Field("pass", "容积率达标", "bool", expr=_PASS, derived=True,
              description="容积率 ≥ 容积率下限 (true also when the block is exempt; null when no floor is claimed)"),
    ),
}
"""Planning figures of the OGC API's items, per collection: served, filterable and sortable like any property."""


def item_layer(layer: Layer) -> Layer:
    """``layer`` as the OGC API serves it: with its planning figures (parcels) and the joins that give them."""
    extra = ITEM_FIGURES.get(layer.name)
    if not extra:
        return layer
    return replace(layer, fields=(*layer.fields, *extra), from_sql=layer.from_sql + _ITEM_JOINS,
                   rule_params=ITEM_RULE_PARAMS)


def item_rule_values(layer: Layer, rules: PlanningRules) -> list[Any]:
    """The values of ``layer.rule_params`` under ``rules``, in order (bound first, as ``$1``, ``$2``…)."""
    values = rule_params(rules)
    return [values[name] for name in layer.rule_params]
