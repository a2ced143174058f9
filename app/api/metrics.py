"""Planning figures and compliance: 容积率, 建筑密度, 亩均 of parcels, blocks and towns, and failing parcels.

Areas are planar m² in the storage CRS (and 亩 = m² × 15 / 10000); money in yuan per year, per-亩 figures
in yuan/亩 and, where the name ends in ``_wan``, 万元/亩. The formulas live in :mod:`app.planning`. Money
figures are null for anonymous readers (``app.api.redact``). Rule sources come as users read them: the
published document and clause, or 暂定值 (provisional) with its setting (:data:`app.planning.rules.RULES`). The
compliance list also comes as a CSV or XLSX download
(:mod:`app.planning.lists`, the function ``renewal check --format csv|xlsx`` uses).
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response

from app.api.deps import ConnectionDep, OptionalPrincipal, RulesDep
from app.api.redact import for_reader, require_login_for
from app.planning import lists, metrics
from app.planning.money import MONEY_RULES
from app.planning.rules import RULES

router = APIRouter(prefix="/api", tags=["metrics"])

_RULE_IDS = ", ".join(RULES)


@router.get("/parcels/{code}/metrics", response_model=metrics.ParcelMetrics,
            summary="Figures of a parcel and its parcel-rule results")
def parcel_metrics(
    conn: ConnectionDep,
    rules: RulesDep,
    principal: OptionalPrincipal,
    code: Annotated[str, Path(description="宗地编号 (parcel code), e.g. 330282107001GB00001.")],
) -> metrics.ParcelMetrics:
    """Land (m², 亩), floor areas (m²), 容积率, density, shares, per-亩 figures, buildings and rule results."""
    return for_reader(principal, metrics.parcel_metrics(conn, code, rules))


@router.get("/blocks/{code}/metrics", response_model=metrics.BlockMetrics,
            summary="Figures of a block (Σ ÷ Σ over its parcels) and its block-rule results")
def block_metrics(
    conn: ConnectionDep,
    rules: RulesDep,
    principal: OptionalPrincipal,
    code: Annotated[str, Path(description="区块编号 (block code), e.g. QK107-001.")],
) -> metrics.BlockMetrics:
    """The block's figures, hazard flags, failing-parcel counts and the old-block and tax-target results."""
    return for_reader(principal, metrics.block_metrics(conn, code, rules))


@router.get("/towns/{code}/metrics", response_model=metrics.TownMetrics,
            summary="Figures of a town (Σ ÷ Σ over its parcels) with each of its blocks")
def town_metrics(
    conn: ConnectionDep,
    rules: RulesDep,
    principal: OptionalPrincipal,
    code: Annotated[str, Path(description="区划代码 (town code), e.g. 330282107.")],
) -> metrics.TownMetrics:
    """The town's figures, failing-parcel and failing-block counts, and its blocks with their results."""
    return for_reader(principal, metrics.town_metrics(conn, code, rules))


_FILES = {"csv": lists.CSV_MEDIA_TYPE, "xlsx": lists.XLSX_MEDIA_TYPE}
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


@router.get("/compliance", response_model=metrics.CompliancePage,
            summary="Parcels (or blocks) failing a rule, worst first, with their shortfall; also as CSV or XLSX",
            responses={200: {"content": {"application/json": {}, **{m: {} for m in _FILES.values()}},
                             "description": "The page as JSON, or with format=csv|xlsx the whole list as a file "
                                            "(Content-Disposition: attachment)."}})
def compliance(
    conn: ConnectionDep,
    rules: RulesDep,
    principal: OptionalPrincipal,
    rule: Annotated[str, Query(description=f"Rule id: {_RULE_IDS}. Shortfalls are in m² (parcel rules) or "
                                           "yuan of yearly tax (block rules).")] = "far_min",
    town: Annotated[str | None, Query(description="Only this town (区划代码).")] = None,
    block: Annotated[str | None, Query(description="Only this block (区块编号).")] = None,
    outcome: Annotated[Literal["fail", "pass", "all"], Query(
        description="Results listed: fail (default; worst first), pass, or all (failures first).")] = "fail",
    format: Annotated[Literal["json", "csv", "xlsx"], Query(
        description="json (a page), or the whole list as a file: csv (UTF-8 with BOM, Chinese headers) or xlsx "
                    "(number formats, frozen header, notes sheet). limit and offset apply to json only.")] = "json",
    limit: Annotated[int, Query(ge=1, le=1000, description="Items per page (count).")] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000, description="Items to skip (count).")] = 0,
    basis: Annotated[Literal["programme", "exemption", "national_industry", "warehouse", "none", "national"] | None,
                     Query(description="Only results with this rule_basis: for far_min programme (the plan's 2.0 in a "
                                       "programme block), exemption (the block's FAR exemption), national_industry "
                                       "(the national minimum of the firms' industry, outside the programme), "
                                       "warehouse (the warehouse floor), none (no floor claimed: with outcome=all); "
                                       "national for rules with a national threshold.")] = None,
) -> metrics.CompliancePage | Response:
    """One page of results, furthest from the threshold first, with the total count over all pages; or the
    whole list as a CSV or XLSX download (code, 土地权属人, town, block, land m² and 亩, the figure, the threshold
    applied, outcome, shortfall, rule basis)."""
    if rule in MONEY_RULES:
        require_login_for(principal, f"the list of blocks failing {rule}", f"未达到 {rule} 的区块清单")
    if format == "json":
        return lists.compliance_list(conn, rules, rule, town=town, block=block, outcome=outcome, limit=limit,
                                     offset=offset, basis=basis)
    table = lists.build(conn, rules, rule, town=town, block=block, outcome=outcome, basis=basis)
    filename = f"{_UNSAFE.sub('_', table.name)}.{format}"  # codes exist (checked), yet only safe characters
    return Response(lists.file_bytes([table], format, rules), media_type=_FILES[format],
                    headers={"Content-Disposition": f'attachment; filename="{filename}"',
                             "X-Row-Count": str(len(table.rows))})
