"""The planning-figures engine: figures and rule results of parcels, blocks and towns, and compliance lists.

Each function runs one statement of :mod:`app.planning.sql` for its whole scope (plus a look-up of the
scope's code), never one per parcel. The API and the CLI both call these functions.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Annotated, Any

from pydantic import Field
from sqlalchemy import Connection

from app.db import streaming
from app.db.schema import storage_srid
from app.errors import InvalidParameter, NotFound
from app.planning import far_basis, sql
from app.planning.config import PlanningRules
from app.planning.figures import (
    PARCEL_FIELDS,
    AreaFigures,
    BlockFigures,
    BuildingFigures,
    ParcelFigures,
)
from app.planning.rule_sql import height_threshold_param
from app.planning.rules import (
    BLOCK_RULES,
    PARCEL_RULES,
    RATIO_TOLERANCE,
    BuildingCodes,
    Rule,
    RuleResult,
    apply,
    evaluate,
    get_rule,
)


@dataclass(slots=True)
class ParcelMetrics(ParcelFigures):
    """A parcel's figures, its buildings and the results of the parcel rules."""

    buildings: Annotated[list[BuildingFigures], Field(description="The parcel's buildings and their part.")]
    rules: Annotated[list[RuleResult], Field(description="Results of the parcel rules.")]
    rule_version: Annotated[str, Field(description="Version of the rule configuration.")]
    area_crs: Annotated[str, Field(description="CRS in which areas are planar (m²).")]


@dataclass(slots=True)
class BlockMetrics(BlockFigures):
    """A block's figures (Σ ÷ Σ over its parcels) and the results of the block rules."""

    rules: Annotated[list[RuleResult], Field(description="Results of the block rules.")]
    rule_version: Annotated[str, Field(description="Version of the rule configuration.")]
    area_crs: Annotated[str, Field(description="CRS in which areas are planar (m²).")]


@dataclass(slots=True)
class TownMetrics(AreaFigures):
    """A town's figures (Σ ÷ Σ over its parcels) with each of its blocks."""

    town_code: Annotated[str, Field(description="区划代码.")]
    town_name: Annotated[str, Field(description="名称.")]
    block_rule_failures: Annotated[dict[str, int], Field(description="Blocks failing each block rule.")]
    blocks: Annotated[list[BlockMetrics], Field(description="The town's blocks, by code.")]
    rule_version: Annotated[str, Field(description="Version of the rule configuration.")]
    area_crs: Annotated[str, Field(description="CRS in which areas are planar (m²).")]


@dataclass(slots=True)
class RuleInfo:
    """A rule as a compliance list states it."""

    id: Annotated[str, Field(description="Rule id.")]
    level: Annotated[str, Field(description="parcel or block.")]
    title: Annotated[str, Field(description="What it checks.")]
    source: Annotated[str, Field(description="Where the threshold comes from.")]
    comparison: Annotated[str, Field(description="≥ (a floor) or ≤ (a cap).")]
    threshold: Annotated[float, Field(description="Configured threshold (an exemption may change it per block).")]
    unit: Annotated[str, Field(description="Unit of the threshold.")]
    shortfall_unit: Annotated[str, Field(description="Unit of the shortfalls.")]


@dataclass(slots=True)
class ComplianceItem(RuleResult):
    """A failing parcel or block: the rule result with where it is."""

    code: Annotated[str, Field(description="宗地编号 (parcel rules) or 区块编号 (block rules).")]
    block_code: Annotated[str, Field(description="区块编号.")]
    town_code: Annotated[str, Field(description="区划代码.")]
    land_area_m2: Annotated[float, Field(description="Land area, m².")]
    land_area_mu: Annotated[float, Field(description="Land area, 亩.")]


@dataclass(slots=True)
class CompliancePage:
    """One page of the parcels or blocks failing a rule, worst first."""

    rule: Annotated[RuleInfo, Field(description="The rule checked.")]
    town: Annotated[str | None, Field(description="Town filter (区划代码), if any.")]
    block: Annotated[str | None, Field(description="Block filter (区块编号), if any.")]
    total: Annotated[int, Field(description="Failing parcels or blocks in the scope, all pages.")]
    limit: Annotated[int, Field(description="Page size.")]
    offset: Annotated[int, Field(description="Items skipped.")]
    items: Annotated[list[ComplianceItem], Field(description="Failures, worst first: furthest from the "
                                                             "threshold relative to it, then larger shortfall.")]
    rule_version: Annotated[str, Field(description="Version of the rule configuration.")]
    basis: Annotated[str | None, Field(description="rule_basis filter, if any (far_min: programme, exemption, "
                                                   "national_industry, warehouse, none).")] = None


BASES = (*far_basis.BASES, "national")
"""The values of ``rule_basis`` a list can be narrowed to (``national``: a rule whose threshold is national)."""


def check_basis(basis: str | None) -> str | None:
    """``basis`` if it is None or one of :data:`BASES`, else an error naming them."""
    if basis is not None and basis not in BASES:
        raise InvalidParameter(f"unknown basis {basis!r}; bases: {', '.join(BASES)}",
                               zh=f"未知的适用标准 {basis!r}；可选：{'、'.join(BASES)}", field="basis")
    return basis


def sql_params(rules: PlanningRules, **extra: Any) -> dict[str, Any]:
    """The bound parameters of the planning statements for ``rules`` (plus ``extra``: code, paging); the height
    threshold as :func:`app.planning.rule_sql.height_threshold_param` binds it."""
    codes, floors = far_basis.table_params(rules)
    return {**rules.model_dump(), "height_threshold_m": height_threshold_param(rules),
            "national_far_codes": codes, "national_far_floors": floors,
            "supporting_uses": list(rules.supporting_uses), "dormitory_uses": list(rules.dormitory_uses),
            "tolerance": RATIO_TOLERANCE, "code": None, "basis": None, **extra}


def _area_crs(conn: Connection) -> str:
    """The CRS areas are measured in: the storage CRS of the layers, as the database holds them."""
    return f"EPSG:{storage_srid(conn)}"


def parcel_from_row(land_area_m2: float, building_count: int, doubled_building_count: int,
                    illegal_building_count: int, footprint_m2: float, floor_area_m2: float, far_floor_area_m2: float,
                    supporting_floor_area_m2: float, dormitory_floor_area_m2: float, illegal_footprint_m2: float,
                    illegal_floor_area_m2: float, supporting_land_m2: float | None, dormitory_land_m2: float | None,
                    green_m2: float | None, tax_yuan: float | None, output_yuan: float | None,
                    invest_yuan: float | None, far: float | None, building_density: float | None,
                    supporting_floor_share: float | None, dormitory_floor_share: float | None,
                    supporting_land_share: float | None, dormitory_land_share: float | None,
                    green_ratio: float | None, tax_per_mu: float | None, output_per_mu: float | None,
                    invest_per_mu: float | None, parcel_code: str, block_code: str, town_code: str,
                    supporting_land_apportioned: bool, far_exemption_min_far: float | None,
                    far_exemption_reason: str | None, land_use: str | None, land_use_class: str,
                    in_programme: bool, industry_codes: list[str], far_basis: str,
                    far_floor: float | None) -> ParcelFigures:
    """A parcel's figures from a row of ``sql.PARCEL_ROWS`` (parameters in ``sql.PARCEL_ROW_FIELDS`` order),
    with the fields ``sql.PARCEL_FIELDS_DERIVED_IN_PYTHON`` worked out as ``sql.PARCEL_FIGURES`` does: the
    same float operations in the same order, so every value is the one that statement returns."""
    return ParcelFigures(
        1, land_area_m2, building_count, doubled_building_count, illegal_building_count, footprint_m2,
        floor_area_m2, far_floor_area_m2, supporting_floor_area_m2, dormitory_floor_area_m2, illegal_footprint_m2,
        illegal_floor_area_m2, supporting_land_m2, dormitory_land_m2,
        0.0 if supporting_land_m2 is None else land_area_m2,
        green_m2, 0.0 if green_m2 is None else land_area_m2,
        tax_yuan, 0.0 if tax_yuan is None else land_area_m2,
        output_yuan, 0.0 if output_yuan is None else land_area_m2,
        invest_yuan, 0.0 if invest_yuan is None else land_area_m2,
        land_area_m2 * 15 / 10000, far, building_density, building_density, supporting_floor_share,
        dormitory_floor_share, supporting_land_share, dormitory_land_share, green_ratio,
        tax_per_mu, None if tax_per_mu is None else tax_per_mu / 10000,
        output_per_mu, None if output_per_mu is None else output_per_mu / 10000,
        invest_per_mu, None if invest_per_mu is None else invest_per_mu / 10000,
        parcel_code, block_code, town_code, supporting_land_apportioned, far_exemption_min_far,
        far_exemption_reason, land_use, land_use_class, in_programme, industry_codes, far_basis, far_floor)


def parcel_figures(conn: Connection, rules: PlanningRules, scope: str = "city",
                   code: str | None = None, codes: list[str] | None = None) -> list[ParcelFigures]:
    """All figures of every parcel in a scope (``city``, ``town``, ``block``, ``parcel`` by ``code``, or
    ``parcels`` listed in ``codes``), in one statement."""
    if scope not in sql.PARCEL_SCOPES:
        raise InvalidParameter(f"unknown scope {scope!r}; scopes: {', '.join(sql.PARCEL_SCOPES)}",
                               zh=f"未知的范围 {scope!r}；可选：{'、'.join(sql.PARCEL_SCOPES)}", field="scope")
    return streaming.fetch_objects(conn, sql.PARCEL_ROWS[scope], sql_params(rules, code=code, codes=codes or []),
                    parcel_from_row)


def _building_codes(buildings: list[BuildingFigures], rules: PlanningRules) -> BuildingCodes:
    """Which buildings a parcel's figures used, counted double, or left out as illegal."""
    return BuildingCodes(
        used=[b.code for b in buildings if b.used],
        doubled_for_height=[b.code for b in buildings if b.used and b.doubled_for_height],
        illegal_left_out=[b.code for b in buildings if b.illegal and not rules.count_illegal],
    )


def parcel_metrics(conn: Connection, code: str, rules: PlanningRules) -> ParcelMetrics:
    """A parcel's figures, buildings and parcel-rule results; ``NotFound`` for an unknown code."""
    found = parcel_figures(conn, rules, "parcel", code)
    if not found:
        raise NotFound(f"no parcel with code {code!r}",
                       zh=f"没有编号为 {code!r} 的宗地", field="code")
    params = sql_params(rules, code=code)
    buildings = [BuildingFigures(*row) for row in conn.execute(sql.PARCEL_BUILDINGS, params)]
    fig = found[0]
    results = evaluate(fig, rules, PARCEL_RULES, _building_codes(buildings, rules))
    values = {f.name: getattr(fig, f.name) for f in fields(ParcelFigures)}
    return ParcelMetrics(**values, buildings=buildings, rules=results, rule_version=rules.rule_version,
                         area_crs=_area_crs(conn))


def area_figures(conn: Connection, scope: str, code: str | None,
                 rules: PlanningRules) -> tuple[AreaFigures, list[BlockFigures]]:
    """Figures of a scope (``city``, ``town``, ``block``) and of each of its blocks (Σ ÷ Σ), in one statement."""
    total: AreaFigures | None = None
    blocks: list[BlockFigures] = []
    for row in conn.execute(sql.AREA_FIGURES[scope], sql_params(rules, code=code)).mappings():
        values = dict(row)
        is_total = values.pop("is_total")
        values["parcel_rule_failures"] = {rule: values.pop(f"fail_{rule}") for rule in PARCEL_RULES}
        if is_total:
            total = AreaFigures(**{f.name: values[f.name] for f in fields(AreaFigures)})
        else:
            blocks.append(BlockFigures(**values))
    assert total is not None  # GROUPING SETS always yields the () row
    return total, blocks


def _block_metrics(fig: BlockFigures, rules: PlanningRules, area_crs: str) -> BlockMetrics:
    """A block's figures with its block-rule results."""
    values = {f.name: getattr(fig, f.name) for f in fields(BlockFigures)}
    return BlockMetrics(**values, rules=evaluate(fig, rules, BLOCK_RULES), rule_version=rules.rule_version,
                        area_crs=area_crs)


def _town(conn: Connection, code: str, field: str) -> tuple[str, str]:
    """(code, name) of a town, or ``NotFound`` naming ``field``."""
    row = conn.execute(sql.TOWN, {"code": code}).first()
    if row is None:
        raise NotFound(f"no town with code {code!r}",
                       zh=f"没有区划代码为 {code!r} 的镇街", field=field)
    return row[0], row[1]


def _block_town(conn: Connection, code: str, field: str) -> str:
    """The town code of a block, or ``NotFound`` naming ``field``."""
    row = conn.execute(sql.BLOCK, {"code": code}).first()
    if row is None:
        raise NotFound(f"no block with code {code!r}",
                       zh=f"没有编号为 {code!r} 的区块", field=field)
    return str(row.town_code)


def block_metrics(conn: Connection, code: str, rules: PlanningRules) -> BlockMetrics:
    """A block's figures and block-rule results; ``NotFound`` for an unknown code."""
    _block_town(conn, code, "code")
    _, blocks = area_figures(conn, "block", code, rules)
    return _block_metrics(blocks[0], rules, _area_crs(conn))


def town_metrics(conn: Connection, code: str, rules: PlanningRules) -> TownMetrics:
    """A town's figures with each of its blocks; ``NotFound`` for an unknown code."""
    town_code, town_name = _town(conn, code, "code")
    total, blocks = area_figures(conn, "town", code, rules)
    area_crs = _area_crs(conn)
    block_metrics_ = [_block_metrics(b, rules, area_crs) for b in blocks]
    failures = {rule: sum(1 for b in block_metrics_ for r in b.rules if r.rule == rule and r.outcome == "fail")
                for rule in BLOCK_RULES}
    values = {f.name: getattr(total, f.name) for f in fields(AreaFigures)}
    return TownMetrics(**values, town_code=town_code, town_name=town_name, block_rule_failures=failures,
                       blocks=block_metrics_, rule_version=rules.rule_version, area_crs=area_crs)


def _rule_info(rule: Rule, rules: PlanningRules) -> RuleInfo:
    """How a compliance list states its rule."""
    return RuleInfo(id=rule.id, level=rule.level, title=rule.title, source=rule.source, comparison=rule.comparison,
                    threshold=rule.default_threshold(rules), unit=rule.unit, shortfall_unit=rule.shortfall_unit)


def _scope(conn: Connection, town: str | None, block: str | None) -> tuple[str, str | None]:
    """The narrowest scope the filters give, checking that the codes exist and agree."""
    if town is not None:
        _town(conn, town, "town")
    if block is not None:
        block_town = _block_town(conn, block, "block")
        if town is not None and town != block_town:
            raise InvalidParameter(f"block {block!r} lies in town {block_town!r}, not {town!r}",
                                   zh=f"区块 {block!r} 位于镇街 {block_town!r}，而不是 {town!r}", field="block")
        return "block", block
    return ("town", town) if town is not None else ("city", None)


def _item(result: RuleResult, code: str, block_code: str, town_code: str, land_area_m2: float,
          land_area_mu: float) -> ComplianceItem:
    """A rule result placed on its parcel or block."""
    values = {f.name: getattr(result, f.name) for f in fields(RuleResult)}
    return ComplianceItem(**values, code=code, block_code=block_code, town_code=town_code,
                          land_area_m2=land_area_m2, land_area_mu=land_area_mu)


def compliance(conn: Connection, rules: PlanningRules, rule_id: str, *, town: str | None = None,
               block: str | None = None, limit: int = 50, offset: int = 0,
               basis: str | None = None) -> CompliancePage:
    """The parcels (or blocks, for block rules) of a scope that fail ``rule_id``, worst first, one page; ``basis``
    keeps those whose ``rule_basis`` is it."""
    rule = get_rule(rule_id)
    check_basis(basis)
    scope, code = _scope(conn, town, block)
    if rule.level == "parcel":
        total, items = _failing_parcels(conn, rules, rule, scope, code, limit, offset, basis)
    else:
        total, items = _failing_blocks(conn, rules, rule, scope, code, limit, offset, basis)
    return CompliancePage(rule=_rule_info(rule, rules), town=town, block=block, total=total, limit=limit,
                          offset=offset, items=items, rule_version=rules.rule_version, basis=basis)


_CHECK_COLUMNS = 5  # check_value, check_threshold, check_outcome, check_shortfall, check_gap


def _failing_parcels(conn: Connection, rules: PlanningRules, rule: Rule, scope: str, code: str | None, limit: int,
                     offset: int, basis: str | None = None) -> tuple[int, list[ComplianceItem]]:
    """A page of failing parcels: paged and ordered in SQL, explained by the rule's Python twin."""
    statement = sql.COMPLIANCE[(rule.id, scope)]
    rows = conn.execute(statement, sql_params(rules, code=code, limit=limit, offset=offset, basis=basis)).all()
    total = int(rows[0][0])
    items = []
    n = len(PARCEL_FIELDS)
    for row in rows:
        if row[1] is None:  # the lone row of an empty page
            continue
        fig = ParcelFigures(*row[1:1 + n])
        used, doubled, illegal = row[1 + n + _CHECK_COLUMNS:]
        codes = BuildingCodes(used or [], doubled or [], [] if rules.count_illegal else (illegal or []))
        result = apply(rule, fig, rules, codes)
        items.append(_item(result, fig.parcel_code, fig.block_code, fig.town_code, fig.land_area_m2,
                           fig.land_area_mu))
    return total, items


def _failing_blocks(conn: Connection, rules: PlanningRules, rule: Rule, scope: str, code: str | None, limit: int,
                    offset: int, basis: str | None = None) -> tuple[int, list[ComplianceItem]]:
    """A page of failing blocks: block rules run on the block figures of the scope (few hundred rows)."""
    _, blocks = area_figures(conn, scope, code, rules)
    failing = [(b, r) for b in blocks for r in [apply(rule, b, rules)]
               if r.outcome == "fail" and basis in (None, r.rule_basis)]
    failing.sort(key=lambda br: (-(br[1].relative_gap or 0.0), -(br[1].shortfall or 0.0), br[0].block_code))
    page = failing[offset:offset + limit]
    return len(failing), [_item(r, b.block_code, b.block_code, b.town_code, b.land_area_m2, b.land_area_mu)
                          for b, r in page]

