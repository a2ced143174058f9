"""Planning figures that travel with exported parcels and blocks (FAR, density, 亩均税收...).

The figures are computed by the planning engine's own statements (``app.planning.sql``: every parcel,
or every block, of a scope in one pass) and joined to the export by code; nothing is recomputed here.
Export names are at most 10 characters (shapefiles) and carry their unit in the Chinese label; the rule
version travels with them (DOMAIN.md: a figure can always be traced back to its rules).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Dialect

from app.io.layers import Field, Kind
from app.planning.config import PlanningRules

# (column of the planning statement, export name ≤ 10 characters, Chinese label with unit, kind)
FIGURE_COLUMNS: tuple[tuple[str, str, str, Kind], ...] = (
    ("land_area_m2", "land_m2", "用地面积(m²)", "float"),
    ("land_area_mu", "land_mu", "用地面积(亩)", "float"),
    ("floor_area_m2", "floor_m2", "建筑面积(m²)", "float"),
    ("far_floor_area_m2", "farfl_m2", "计容建筑面积(m²)", "float"),
    ("far", "far", "容积率", "float"),
    ("footprint_m2", "footpr_m2", "基底面积(m²)", "float"),
    ("building_density", "bldg_dens", "建筑密度", "float"),
    ("green_ratio", "green_rat", "绿地率", "float"),
    ("supporting_floor_share", "supp_flr", "配套设施建筑面积占比", "float"),
    ("supporting_land_share", "supp_land", "配套设施用地占比", "float"),
    ("tax_per_mu", "tax_per_mu", "亩均税收(元/亩)", "float"),
    ("tax_per_mu_wan", "tax_mu_wan", "亩均税收(万元/亩)", "float"),
    ("output_per_mu_wan", "out_mu_wan", "亩均产值(万元/亩)", "float"),
    ("invest_per_mu_wan", "inv_mu_wan", "投资强度(万元/亩)", "float"),
)
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
    columns = ", ".join(f"f.{src} AS {name}" for src, name, _, _ in FIGURE_COLUMNS)
    where = " WHERE NOT f.is_total" if layer_name == "blocks" else ""
    params["fig_rule_version"] = rules.rule_version
    source = (f"SELECT f.{key}, {columns}, CAST(%(fig_rule_version)s AS text) AS rule_ver "  # noqa: S608
              f"FROM ({body}) f{where}")
    fields = tuple(Field(name, label, kind, expr=f"fig.{name}", derived=True)
                   for _, name, label, kind in FIGURE_COLUMNS)
    rule_field = Field(RULE_VERSION_FIELD.name, RULE_VERSION_FIELD.label_zh, expr="fig.rule_ver", derived=True,
                       description=RULE_VERSION_FIELD.description)
    return FigureSource(source, params, key, (*fields, rule_field))
